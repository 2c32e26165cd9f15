"""Directed audiences, edge-list tables (trust, contacts), Leiden communities, and where
strong and weak ties sit (issue 11, network side)."""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.config import ConfigError, NetworkConfig, TiesConfig, validate
from sim.network import (
    GENERATORS,
    contact_strength,
    generate,
    leiden_communities,
    read_ties,
    strength_inside_vs_across,
)
from sim.ties import graph_strengths, initial_strengths

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BITCOIN = DATA / "bitcoin-otc.csv"
MALAWI = DATA / "malawi-contacts.csv"
FACEBOOK = DATA / "facebook_combined.txt"


def write(tmp_path: Path, text: str, name: str = "edges.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def pairs(u: np.ndarray, v: np.ndarray) -> list[tuple[int, int]]:
    return list(zip(u.tolist(), v.tolist(), strict=True))


# --- reading tables -------------------------------------------------------------------------


RATINGS = """when,rater,rated,score,note
1,30,10,5,a
2,10,30,-10,b
3,10,20,2,c
4,10,20,4,d
5,40,40,7,self
6,20,40,-1,e
"""


def test_table_columns_by_name_directed_rows_and_trust(tmp_path: Path) -> None:
    t = read_ties(write(tmp_path, RATINGS), source="rater", target="rated",
                  weight_column="score", weight_as="trust")
    # ids 10, 20, 30, 40 -> people 0, 1, 2, 3 (40 appears in a self-rating, then for real)
    assert t.labels.tolist() == [10, 20, 30, 40]
    assert pairs(t.u, t.v) == [(0, 1), (0, 2), (1, 3)]
    assert t.u_follows_v.tolist() == [True, True, True]
    assert t.v_follows_u.tolist() == [False, True, False]
    # trust = mean rating / largest |rating| (10): 10->20 rated 2 and 4
    np.testing.assert_allclose(t.trust_uv, [0.3, -1.0, -0.1])
    assert t.trust_vu[0] != t.trust_vu[0] and t.trust_vu[2] != t.trust_vu[2]  # NaN: unrated
    assert t.trust_vu[1] == pytest.approx(0.5)
    assert t.contacts is None


def test_trust_scale_given_and_clipped(tmp_path: Path) -> None:
    t = read_ties(write(tmp_path, RATINGS), source="rater", target="rated",
                  weight_column="score", weight_as="trust", trust_scale=4)
    np.testing.assert_allclose(t.trust_uv, [0.75, -1.0, -0.25])
    assert t.trust_vu[1] == 1.0  # 5 / 4 clipped


def test_default_columns_are_the_first_two(tmp_path: Path) -> None:
    t = read_ties(write(tmp_path, "a,b,c\n5,7,x\n7,5,y\n7,9,z\n"))
    assert pairs(t.u, t.v) == [(0, 1), (1, 2)]
    assert t.u_follows_v.tolist() == [True, True] and t.v_follows_u.tolist() == [True, False]


def test_snap_pairs_read_as_directed_rows(tmp_path: Path) -> None:
    t = read_ties(write(tmp_path, "# comment\n3 1\n1 2 extra\n2 1\n", "e.txt"))
    assert t.labels.tolist() == [1, 2, 3]
    assert pairs(t.u, t.v) == [(0, 1), (0, 2)]
    assert t.u_follows_v.tolist() == [True, False]  # 1 -> 2 yes; 1 -> 3 no
    assert t.v_follows_u.tolist() == [True, True]   # 2 -> 1 and 3 -> 1


def test_blank_separated_table_with_header(tmp_path: Path) -> None:
    t = read_ties(write(tmp_path, "src dst n\n1 2 3\n2 3 1\n", "e.tsv"), weight_column="n",
                  weight_as="contacts")
    assert pairs(t.u, t.v) == [(0, 1), (1, 2)]
    assert t.contacts.tolist() == [3.0, 1.0]


def test_contacts_are_counted_per_unordered_pair(tmp_path: Path) -> None:
    text = "idx,time,from,to\n0,0,1,2\n1,20,2,1\n2,40,1,2\n3,60,2,3\n4,80,3,4\n5,90,4,3\n"
    t = read_ties(write(tmp_path, text), source="from", target="to", weight_as="contacts")
    assert pairs(t.u, t.v) == [(0, 1), (1, 2), (2, 3)]
    assert t.contacts.tolist() == [3.0, 1.0, 2.0]


def test_contact_strength_is_the_empirical_cdf() -> None:
    np.testing.assert_allclose(contact_strength(np.array([1, 10, 1, 3])), [0.5, 1.0, 0.5, 0.75])
    assert contact_strength(np.array([7.0])).tolist() == [1.0]


@settings(deadline=None, max_examples=60)
@given(st.lists(st.integers(1, 5000), min_size=1, max_size=60))
def test_contact_strength_monotone_in_0_1(counts: list[int]) -> None:
    c = np.array(counts, dtype=np.float64)
    w = contact_strength(c)
    assert np.all(w > 0) and np.all(w <= 1) and w.max() == 1.0
    order = np.argsort(c, kind="stable")
    assert np.all(np.diff(w[order]) >= 0)
    assert np.all((c[:, None] == c[None, :]) <= (w[:, None] == w[None, :]))


@pytest.mark.parametrize(
    ("kwargs", "key", "fragment"),
    [
        ({"source": "who"}, "network.source", "column 'who' is not in"),
        ({"target": "x"}, "network.target", "columns are when, rater, rated, score, note"),
        ({"weight_column": "zzz"}, "network.weight_column", "column 'zzz'"),
        ({"weight_as": "trust"}, "network.weight_column", "required with network.weight_as"),
    ],
)
def test_table_errors_name_the_option(tmp_path: Path, kwargs: dict, key: str,
                                      fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        read_ties(write(tmp_path, RATINGS), **kwargs)
    assert err.value.key == key and fragment in err.value.message


def test_table_bad_id_and_bad_number_name_the_row(tmp_path: Path) -> None:
    path = write(tmp_path, "from,to,r\n1,2,3\n1,x,4\n")
    with pytest.raises(ConfigError) as err:
        read_ties(path)
    assert err.value.key == str(path)
    assert "column 'to', data row 2" in err.value.message and "'x'" in err.value.message
    path = write(tmp_path, "from,to,r\n1,2,3\n1,3,oops\n", "b.csv")
    with pytest.raises(ConfigError) as err:
        read_ties(path, weight_column="r", weight_as="trust")
    assert "column 'r', data row 2" in err.value.message


def test_all_zero_ratings_need_a_scale(tmp_path: Path) -> None:
    path = write(tmp_path, "from,to,r\n1,2,0\n")
    with pytest.raises(ConfigError) as err:
        read_ties(path, weight_column="r", weight_as="trust")
    assert err.value.key == "network.trust_scale"
    t = read_ties(path, weight_column="r", weight_as="trust", trust_scale=10)
    assert t.trust_uv.tolist() == [0.0]


def test_edgelist_generator_directed_or_not(tmp_path: Path) -> None:
    path = str(write(tmp_path, RATINGS))
    cfg = NetworkConfig(name="edgelist", path=path, source="rater", target="rated",
                        weight_column="score", weight_as="trust", directed=True)
    g = generate(cfg, 0, np.random.default_rng(0))
    assert g.directed and g.followers().tolist() == [1, 1, 1, 1]
    assert g.labels.tolist() == [10, 20, 30, 40] and g.weight is None
    np.testing.assert_allclose(g.trust_uv, [0.3, -1.0, -0.1])
    cfg.directed = False
    g = generate(cfg, 0, np.random.default_rng(0))
    assert not g.directed and g.followers().tolist() == [2, 2, 1, 1]
    np.testing.assert_allclose(g.trust_uv, [0.3, -1.0, -0.1])  # ratings kept either way


def test_config_cross_checks() -> None:
    with pytest.raises(ConfigError) as err:
        validate({"network": {"name": "erdos_renyi", "directed": True}})
    assert err.value.key == "network.directed"
    with pytest.raises(ConfigError) as err:
        validate({"network": {"name": "edgelist", "path": "x", "weight_as": "trust"}})
    assert err.value.key == "network.weight_column"
    with pytest.raises(ConfigError) as err:
        validate({"network": {"weight_as": "likes"}})
    assert err.value.key == "network.weight_as"
    with pytest.raises(ConfigError) as err:
        validate({"network": {"reciprocity": 1.5}})
    assert err.value.key == "network.reciprocity"


# --- the real files -------------------------------------------------------------------------


@pytest.mark.skipif(not BITCOIN.exists(), reason=f"{BITCOIN} not found (outside this machine)")
def test_bitcoin_otc_ratings_read_correctly() -> None:
    cfg = NetworkConfig(name="edgelist", path=str(BITCOIN), directed=True,
                        weight_column="feature", weight_as="trust")
    g = generate(cfg, 0, np.random.default_rng(0))
    assert g.n == 5881
    assert int(g.u_follows_v.sum() + g.v_follows_u.sum()) == 35592  # directed ratings
    reciprocated = int((g.u_follows_v & g.v_follows_u).sum())
    assert g.n_edges + reciprocated == 35592
    # Independent count with the csv module: unordered pairs and pairs rated both ways.
    with BITCOIN.open() as fh:
        rows = [(int(r["from"]), int(r["to"]), int(r["feature"])) for r in csv.DictReader(fh)]
    arcs = {(a, b): x for a, b, x in rows}
    assert len(arcs) == 35592
    assert g.n_edges == len({frozenset(p) for p in arcs}) == 21492
    assert reciprocated == sum(1 for a, b in arcs if a < b and (b, a) in arcs) == 14100
    # Trust = rating / 10; a negative rating is distrust.
    rated = np.concatenate([g.trust_uv[g.u_follows_v], g.trust_vu[g.v_follows_u]])
    assert not np.isnan(rated).any()
    assert np.array_equal(np.sort(rated * 10), np.sort([x for *_, x in rows]).astype(float))
    assert int((rated < 0).sum()) == sum(1 for *_, x in rows if x < 0)
    assert np.isnan(g.trust_uv[~g.u_follows_v]).all()
    first = rows[0]
    i, j = np.searchsorted(g.labels, [first[0], first[1]])
    e = np.flatnonzero((g.u == min(i, j)) & (g.v == max(i, j)))[0]
    assert (g.trust_uv if i < j else g.trust_vu)[e] == first[2] / 10
    assert g.community.max() + 1 > 5  # Leiden finds real communities


@pytest.mark.skipif(not MALAWI.exists(), reason=f"{MALAWI} not found (outside this machine)")
def test_malawi_contacts_read_as_weighted_network() -> None:
    cfg = NetworkConfig(name="edgelist", path=str(MALAWI), source="from", target="to",
                        weight_as="contacts")
    g = generate(cfg, 0, np.random.default_rng(0))
    assert (g.n, g.n_edges) == (86, 347) and not g.directed
    t = read_ties(MALAWI, "from", "to", "", "contacts")
    assert t.contacts.sum() == 102293 and np.median(t.contacts) == 12 and t.contacts.max() == 4470
    assert np.array_equal(g.weight, contact_strength(t.contacts))
    assert g.weight.min() > 0 and g.weight.max() == 1.0
    assert g.weight[np.argmax(t.contacts)] == 1.0
    w = graph_strengths(g, TiesConfig(), np.random.default_rng(0))
    np.testing.assert_array_equal(w, np.clip(g.weight, 0.05, 1.0))


@pytest.mark.skipif(not FACEBOOK.exists(), reason=f"{FACEBOOK} not found (outside this machine)")
def test_facebook_gets_leiden_communities() -> None:
    g = generate(NetworkConfig(name="edgelist", path=str(FACEBOOK)), 0, np.random.default_rng(3))
    sizes = np.bincount(g.community)
    assert 8 <= sizes.size <= 40 and sizes.max() < 0.2 * g.n
    again = generate(NetworkConfig(name="edgelist", path=str(FACEBOOK)), 0,
                     np.random.default_rng(3))
    assert np.array_equal(g.community, again.community)


# --- Leiden communities ---------------------------------------------------------------------


def test_leiden_separates_two_cliques_joined_by_one_tie() -> None:
    a = [(i, j) for i in range(5) for j in range(i + 1, 5)]
    b = [(i + 5, j + 5) for i, j in a]
    u, v = np.array(a + b + [(4, 5)]).T
    community = leiden_communities(10, u, v, np.random.default_rng(0))
    assert community.tolist() == [0] * 5 + [1] * 5


def test_leiden_is_seeded_and_leaves_global_random_alone() -> None:
    g = generate(NetworkConfig(name="erdos_renyi"), 2000, np.random.default_rng(1))
    state = random.getstate()
    one = leiden_communities(g.n, g.u, g.v, np.random.default_rng(7))
    two = leiden_communities(g.n, g.u, g.v, np.random.default_rng(7))
    assert random.getstate() == state
    assert np.array_equal(one, two) and one[0] == 0
    other = leiden_communities(g.n, g.u, g.v, np.random.default_rng(8))
    assert not np.array_equal(one, other)


@pytest.mark.parametrize("name", ["erdos_renyi", "barabasi_albert", "holme_kim", "configuration"])
def test_generators_without_planted_communities_get_many(name: str) -> None:
    g = generate(NetworkConfig(name=name), 3000, np.random.default_rng(2))
    sizes = np.bincount(g.community)
    assert sizes.size >= 5 and sizes.max() < 0.5 * g.n


# --- the directed generator -----------------------------------------------------------------


def test_directed_generator_followers_reciprocity_communities() -> None:
    n = 20000
    g = generate(NetworkConfig(name="directed"), n, np.random.default_rng(4))
    assert g.directed and g.name == "directed"
    assert np.all(g.u_follows_v | g.v_follows_u)
    followers = g.followers()
    following = (np.bincount(g.u[g.u_follows_v], minlength=n)
                 + np.bincount(g.v[g.v_follows_u], minlength=n))
    assert followers.sum() == following.sum()
    # heavy-tailed audiences, bounded following (followers' CV about 1.6-1.9, following's 0.55)
    assert followers.max() > 3 * following.max()
    assert followers.std() / followers.mean() > 2 * following.std() / following.mean()
    assert 8.5 < 2 * g.n_edges / n < 10.5
    reciprocated = (g.u_follows_v & g.v_follows_u).mean()
    assert 0.2 < reciprocated < 0.27  # reciprocity 0.22, plus pairs matched both ways
    assert 0.6 < (g.community[g.u] == g.community[g.v]).mean() < 0.8
    none = generate(NetworkConfig(name="directed", reciprocity=0.0), n, np.random.default_rng(4))
    assert (none.u_follows_v & none.v_follows_u).mean() < 0.05


def test_default_directed_is_the_directed_construction() -> None:
    a = generate(NetworkConfig(directed=True), 500, np.random.default_rng(9))
    b = generate(NetworkConfig(name="directed"), 500, np.random.default_rng(9))
    assert a.name == "default" and a.directed
    assert np.array_equal(a.u, b.u) and np.array_equal(a.v_follows_u, b.v_follows_u)
    assert "directed" in GENERATORS


# --- strong inside, weak across -------------------------------------------------------------


def two_triangles() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    u = np.array([0, 0, 1, 2, 3, 3, 4], dtype=np.int32)
    v = np.array([1, 2, 2, 3, 4, 5, 5], dtype=np.int32)
    return u, v, np.array([0, 0, 0, 1, 1, 1], dtype=np.int32)


def test_community_term_exact_on_two_triangles() -> None:
    u, v, community = two_triangles()
    cfg = TiesConfig(strength_base=-1.0, strength_embeddedness=0.0, strength_community=1.4,
                     strength_noise=0.0, min_strength=0.01, floor=0.01)
    w = initial_strengths(6, u, v, cfg, np.random.default_rng(0), community=community)
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    inside, bridge = sig(-1.0 + 1.4 / 7), sig(-1.0 - 1.4 * 6 / 7)
    np.testing.assert_allclose(w, [inside] * 3 + [bridge] + [inside] * 3)
    without = initial_strengths(6, u, v, cfg, np.random.default_rng(0))
    np.testing.assert_allclose(without, [sig(-1.0)] * 7)


def test_measured_weight_replaces_the_rule() -> None:
    u, v, community = two_triangles()
    weight = np.array([0.01, 0.2, 0.3, 0.4, 0.5, 0.9, 1.0])
    w = initial_strengths(6, u, v, TiesConfig(), np.random.default_rng(0), community=community,
                          weight=weight)
    assert w.tolist() == [0.05, 0.2, 0.3, 0.4, 0.5, 0.9, 1.0]


def test_strength_inside_vs_across_exact() -> None:
    u, v, community = two_triangles()
    w = np.array([0.6, 0.1, 0.3, 0.1, 0.5, 0.9, 0.15])
    r = strength_inside_vs_across(community, u, v, w, weak_below=0.2, strong_above=0.5)
    assert r["inside_share"] == pytest.approx(6 / 7)
    assert r["weak_inside"] == pytest.approx(2 / 6) and r["weak_across"] == 1.0
    assert r["strong_inside"] == pytest.approx(3 / 6) and r["strong_across"] == 0.0
    assert r["strong_ties_inside"] == 1.0 and r["weak_ties_across"] == pytest.approx(1 / 3)
    assert r["mean_inside"] == pytest.approx(2.55 / 6) and r["mean_across"] == pytest.approx(0.1)
    assert (r["n_inside"], r["n_across"]) == (6.0, 1.0)
    lone = strength_inside_vs_across(np.array([0, 0]), np.array([0]), np.array([1]),
                                     np.array([0.3]))
    assert math.isnan(lone["weak_across"]) and math.isnan(lone["mean_across"])


def weak_gap(seed: int, strength_community: float) -> float:
    """Share of weak ties among bridges minus among ties inside, default network."""
    g = generate(NetworkConfig(), 4000, np.random.default_rng(seed))
    w = graph_strengths(g, TiesConfig(strength_community=strength_community),
                        np.random.default_rng(seed + 1000))
    r = strength_inside_vs_across(g.community, g.u, g.v, w)
    return r["weak_across"] - r["weak_inside"]


def test_weak_ties_bridge_in_the_default_network() -> None:
    """Statistical: over 10 seeds the weak share among bridges exceeds that inside
    communities by 0.4-0.6 (95% t-interval), and the community term is what does it."""
    gaps = np.array([weak_gap(seed, 1.5) for seed in range(10)])
    half = 2.262 * gaps.std(ddof=1) / math.sqrt(gaps.size)  # t(0.975, 9)
    assert 0.4 < gaps.mean() - half and gaps.mean() + half < 0.6
    flat = np.array([weak_gap(seed, 0.0) for seed in range(10)])
    assert flat.mean() + 2.262 * flat.std(ddof=1) / math.sqrt(flat.size) < 0.15


def test_table_larger_than_memory_allows_is_refused(tmp_path: Path, monkeypatch) -> None:
    from sim import network

    path = write(tmp_path, "from,to\n" + "1,2\n" * 100)  # 408 bytes
    monkeypatch.setattr(network, "machine_memory", lambda: 400 * network.TABLE_BYTES_PER_FILE_BYTE)
    with pytest.raises(ConfigError) as err:
        read_ties(path)
    assert err.value.key == str(path) and "is a table of" in err.value.message
    monkeypatch.setattr(network, "machine_memory", lambda: 408 * network.TABLE_BYTES_PER_FILE_BYTE)
    assert read_ties(path).u.tolist() == [0]


@settings(deadline=None, max_examples=40)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(-10, 10)),
                min_size=1, max_size=40))
def test_read_ties_matches_brute_force(rows: list[tuple[int, int, int]]) -> None:
    import tempfile

    if all(a == b for a, b, _ in rows) or len({x for a, b, _ in rows for x in (a, b)}) < 2:
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.csv"
        path.write_text("a,b,r\n" + "".join(f"{a},{b},{r}\n" for a, b, r in rows))
        t = read_ties(path, weight_column="r", weight_as="trust", trust_scale=10)
    ids = t.labels.tolist()
    arcs: dict[tuple[int, int], list[int]] = {}
    for a, b, r in rows:
        if a != b:
            arcs.setdefault((a, b), []).append(r)
    expected = sorted({(min(a, b), max(a, b)) for a, b in arcs})
    got = [(ids[i], ids[j]) for i, j in pairs(t.u, t.v)]
    assert got == expected
    for e, (a, b) in enumerate(got):
        assert t.u_follows_v[e] == ((a, b) in arcs) and t.v_follows_u[e] == ((b, a) in arcs)
        if (a, b) in arcs:
            assert t.trust_uv[e] == pytest.approx(np.mean(arcs[(a, b)]) / 10)
        else:
            assert math.isnan(t.trust_uv[e])
