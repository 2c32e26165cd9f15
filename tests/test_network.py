"""Tests of sim.network: generators, edge-list reading, CSR, overlap, communities."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.config import ConfigError, NetworkConfig, validate
from sim.network import (
    GENERATORS,
    RawGraph,
    generate,
    label_propagation,
    neighbourhood_overlap,
    read_edgelist,
    to_csr,
)

FACEBOOK = Path(__file__).resolve().parents[2] / "shared" / "data" / "facebook_combined.txt"
GENERATED = [name for name in GENERATORS if name != "edgelist"]
HYP = settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])


def arr(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.int32)


def write(tmp_path: Path, text: str, name: str = "edges.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def to_nx(g: RawGraph) -> nx.Graph:
    graph = nx.Graph()
    graph.add_nodes_from(range(g.n))
    graph.add_edges_from(zip(g.u.tolist(), g.v.tolist(), strict=True))
    return graph


def assert_simple(g: RawGraph) -> None:
    """u < v, unique, lexicographically sorted, in range; communities 0..C-1 all used."""
    assert g.u.dtype == np.int32 and g.v.dtype == np.int32
    assert g.u.shape == g.v.shape
    assert np.all(g.u < g.v)
    if g.u.size:
        assert g.u.min() >= 0 and g.v.max() < g.n
    keys = g.u.astype(np.int64) * g.n + g.v
    assert np.all(np.diff(keys) > 0), "pairs must be unique and sorted by (u, v)"
    assert g.community.dtype == np.int32 and g.community.shape == (g.n,)
    assert np.array_equal(np.unique(g.community), np.arange(g.community.max() + 1))


def mean_degree(g: RawGraph) -> float:
    return 2 * g.u.size / g.n


def brute_overlap(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    nbrs: list[set[int]] = [set() for _ in range(n)]
    for a, b in zip(u.tolist(), v.tolist(), strict=True):
        nbrs[a].add(b)
        nbrs[b].add(a)
    out = []
    for a, b in zip(u.tolist(), v.tolist(), strict=True):
        common = len(nbrs[a] & nbrs[b])
        denom = (len(nbrs[a]) - 1) + (len(nbrs[b]) - 1) - common
        out.append(common / denom if denom > 0 else 0.0)
    return np.array(out)


simple_graphs = st.integers(2, 25).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.sets(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1))
            .filter(lambda p: p[0] != p[1])
            .map(lambda p: (min(p), max(p))),
            max_size=80,
        ),
    )
)


# --- to_csr ---------------------------------------------------------------------------------


def test_to_csr_triangle() -> None:
    indptr, indices = to_csr(3, arr([0, 0, 1]), arr([1, 2, 2]))
    assert indptr.dtype == np.int64 and indices.dtype == np.int32
    assert indptr.tolist() == [0, 2, 4, 6]
    assert indices.tolist() == [1, 2, 0, 2, 0, 1]


def test_to_csr_path_with_isolated_person() -> None:
    indptr, indices = to_csr(4, arr([0, 1]), arr([1, 2]))
    assert indptr.tolist() == [0, 1, 3, 4, 4]
    assert indices.tolist() == [1, 0, 2, 1]


def test_to_csr_sorts_rows_of_unsorted_input() -> None:
    indptr, indices = to_csr(4, arr([2, 0, 1, 0]), arr([3, 3, 3, 1]))
    assert indptr.tolist() == [0, 2, 4, 5, 8]
    assert indices.tolist() == [1, 3, 0, 3, 3, 0, 1, 2]


@HYP
@given(simple_graphs)
def test_to_csr_matches_sets(graph: tuple[int, set[tuple[int, int]]]) -> None:
    n, pairs = graph
    pairs_list = sorted(pairs)
    u = arr([p[0] for p in pairs_list])
    v = arr([p[1] for p in pairs_list])
    indptr, indices = to_csr(n, u, v)
    assert indptr.shape == (n + 1,) and indptr[-1] == 2 * len(pairs_list)
    for i in range(n):
        row = indices[indptr[i] : indptr[i + 1]].tolist()
        expected = sorted(
            {b for a, b in pairs_list if a == i} | {a for a, b in pairs_list if b == i}
        )
        assert row == expected


# --- neighbourhood overlap ------------------------------------------------------------------


def test_overlap_triangle_is_one() -> None:
    overlap = neighbourhood_overlap(3, arr([0, 0, 1]), arr([1, 2, 2]))
    assert overlap.dtype == np.float64
    assert overlap.tolist() == [1.0, 1.0, 1.0]


def test_overlap_path_is_zero() -> None:
    assert neighbourhood_overlap(3, arr([0, 1]), arr([1, 2])).tolist() == [0.0, 0.0]


def test_overlap_single_edge_has_zero_denominator() -> None:
    assert neighbourhood_overlap(2, arr([0]), arr([1])).tolist() == [0.0]


def test_overlap_square_with_diagonal() -> None:
    # square 0-1-2-3-0 plus diagonal 0-2; degrees 3, 2, 3, 2
    u = arr([0, 0, 0, 1, 2])
    v = arr([1, 2, 3, 2, 3])
    # (0,1): common {2}, 1/(2+1-1); (0,2): common {1,3}, 2/(2+2-2); others like (0,1)
    assert neighbourhood_overlap(4, u, v).tolist() == [0.5, 1.0, 0.5, 0.5, 0.5]


def test_overlap_follows_input_order() -> None:
    u = arr([2, 0, 1, 0, 0])
    v = arr([3, 2, 2, 1, 3])
    assert neighbourhood_overlap(4, u, v).tolist() == [0.5, 1.0, 0.5, 0.5, 0.5]


@HYP
@given(simple_graphs)
def test_overlap_matches_brute_force(graph: tuple[int, set[tuple[int, int]]]) -> None:
    n, pairs = graph
    pairs_list = sorted(pairs)
    u = arr([p[0] for p in pairs_list])
    v = arr([p[1] for p in pairs_list])
    overlap = neighbourhood_overlap(n, u, v)
    np.testing.assert_allclose(overlap, brute_overlap(n, u, v), rtol=0, atol=1e-12)
    assert np.all((overlap >= 0) & (overlap <= 1))


def test_overlap_on_generated_graph_matches_brute_force() -> None:
    g = generate(NetworkConfig(name="holme_kim"), 600, np.random.default_rng(3))
    np.testing.assert_allclose(
        neighbourhood_overlap(g.n, g.u, g.v), brute_overlap(g.n, g.u, g.v), atol=1e-12
    )


# --- read_edgelist --------------------------------------------------------------------------


def test_read_edgelist_comments_duplicates_relabelling(tmp_path: Path) -> None:
    text = (
        "# a SNAP header\n"
        "% another comment\n"
        "\n"
        "100 7\n"
        "7 100\n"  # reversed duplicate
        "100 7\n"  # exact duplicate
        "  42\t100   extra columns 1 2\n"
        "7 7\n"  # self-loop: dropped
        "   \n"
        "5 42\r\n"
    )
    u, v, labels = read_edgelist(write(tmp_path, text))
    assert labels.dtype == np.int64 and labels.tolist() == [5, 7, 42, 100]
    assert u.dtype == np.int32 and v.dtype == np.int32
    pairs = list(zip(labels[u].tolist(), labels[v].tolist(), strict=True))
    assert pairs == [(5, 42), (7, 100), (42, 100)]
    assert list(zip(u.tolist(), v.tolist(), strict=True)) == [(0, 2), (1, 3), (2, 3)]


def test_read_edgelist_accepts_str_and_no_final_newline(tmp_path: Path) -> None:
    u, v, labels = read_edgelist(str(write(tmp_path, "0 1\n1 2")))
    assert (u.tolist(), v.tolist(), labels.tolist()) == ([0, 1], [1, 2], [0, 1, 2])


def test_read_edgelist_person_seen_only_in_self_loop_is_kept(tmp_path: Path) -> None:
    u, v, labels = read_edgelist(write(tmp_path, "1 2\n9 9\n"))
    assert labels.tolist() == [1, 2, 9] and u.tolist() == [0] and v.tolist() == [1]


@HYP
@given(st.lists(st.tuples(st.integers(0, 10**12), st.integers(0, 10**12)), min_size=1, max_size=40))
def test_read_edgelist_round_trip(pairs: list[tuple[int, int]]) -> None:
    import tempfile

    expected = {(min(a, b), max(a, b)) for a, b in pairs if a != b}
    ids = sorted({x for p in pairs for x in p})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "e.txt"
        path.write_text("".join(f"{a} {b}\n" for a, b in pairs))
        if len(ids) < 2 or not expected:
            with pytest.raises(ConfigError):
                read_edgelist(path)
            return
        u, v, labels = read_edgelist(path)
    assert labels.tolist() == ids
    got = list(zip(labels[u].tolist(), labels[v].tolist(), strict=True))
    assert got == sorted(expected)
    assert list(zip(u.tolist(), v.tolist(), strict=True)) == sorted(
        zip(u.tolist(), v.tolist(), strict=True)
    )


def test_read_edgelist_missing_file(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.txt")
    with pytest.raises(ConfigError) as info:
        read_edgelist(path)
    assert info.value.key == path and info.value.message == "no such file"


def test_read_edgelist_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        read_edgelist(tmp_path)
    assert info.value.key == str(tmp_path) and "directory" in info.value.message


@pytest.mark.parametrize("text", ["", "# only a comment\n\n% and another\n", "   \n\n"])
def test_read_edgelist_no_edges(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        read_edgelist(path)
    assert info.value.key == str(path) and info.value.message == "contains no edges"


def test_read_edgelist_only_self_loops(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="contains no edges"):
        read_edgelist(write(tmp_path, "1 1\n2 2\n"))


def test_read_edgelist_fewer_than_two_people(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="fewer than 2 people"):
        read_edgelist(write(tmp_path, "# one person\n3 3\n"))


def test_read_edgelist_malformed_line_number(tmp_path: Path) -> None:
    lines = ["# header"] + [f"{i} {i + 1}" for i in range(15)] + ["a b", "1 2"]
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as info:
        read_edgelist(path)
    assert info.value.key == str(path)
    assert info.value.message == ("line 17: expected two non-negative integer node ids, got 'a b'")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "line", "shown"),
    [
        ("1 2\n3\n", 2, "3"),
        ("1 2\n\n# c\n3 4x\n", 4, "3 4x"),
        ("1 -2\n", 1, "1 -2"),
        ("1,2\n", 1, "1,2"),
        ("1 2.0\n", 1, "1 2.0"),
        ("0 1\r\n2 x\r\n", 2, "2 x"),
        ("0 1\n1 99999999999999999999\n", 2, "1 99999999999999999999"),
    ],
)
def test_read_edgelist_malformed_variants(tmp_path: Path, text: str, line: int, shown: str) -> None:
    with pytest.raises(ConfigError) as info:
        read_edgelist(write(tmp_path, text))
    assert info.value.message == (
        f"line {line}: expected two non-negative integer node ids, got {shown!r}"
    )


@pytest.mark.skipif(not FACEBOOK.exists(), reason=f"SNAP ego-Facebook file not found at {FACEBOOK}")
def test_read_edgelist_facebook() -> None:
    read_edgelist(FACEBOOK)  # warm up (numba cache)
    start = time.perf_counter()
    u, v, labels = read_edgelist(FACEBOOK)
    elapsed = time.perf_counter() - start
    assert labels.size == 4039 and u.size == 88234
    assert elapsed < 1.0, f"reading took {elapsed:.2f} s"
    g = generate(NetworkConfig(name="edgelist", path=str(FACEBOOK)), 10, np.random.default_rng(0))
    assert g.n == 4039 and g.u.size == 88234 and g.name == "edgelist"
    assert g.labels is not None and g.labels.tolist() == labels.tolist()
    assert_simple(g)
    assert np.mean(g.community[g.u] == g.community[g.v]) > 0.8  # real communities found


# --- generators -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", GENERATED)
@pytest.mark.parametrize("n", [2, 3, 10, 500])
def test_generators_make_simple_graphs(name: str, n: int) -> None:
    g = generate(NetworkConfig(name=name), n, np.random.default_rng(1))
    assert_simple(g)
    assert g.name == name
    if name != "karate":
        assert g.n == n and g.labels is None


@pytest.mark.parametrize("name", GENERATED)
@pytest.mark.parametrize(
    "extra",
    [
        {"mean_degree": 0.5},
        {"mean_degree": 40.0, "rewire_prob": 1.0, "triad_prob": 1.0, "mixing": 1.0},
        {"rewire_prob": 0.0, "triad_prob": 0.0, "mixing": 0.0, "community_size": 2},
        {"max_degree": 5, "degree_exponent": 2.1},
    ],
)
def test_generators_extreme_parameters(name: str, extra: dict[str, float]) -> None:
    g = generate(NetworkConfig(name=name, **extra), 60, np.random.default_rng(2))
    assert_simple(g)


@pytest.mark.parametrize("name", [*GENERATED, "edgelist"])
def test_generators_are_deterministic(name: str, tmp_path: Path) -> None:
    path = write(tmp_path, "".join(f"{i} {(i * 7 + 3) % 50}\n" for i in range(50)))
    cfg = NetworkConfig(name=name, path=str(path))
    g1 = generate(cfg, 3000, np.random.default_rng(11))
    g2 = generate(cfg, 3000, np.random.default_rng(11))
    assert np.array_equal(g1.u, g2.u) and np.array_equal(g1.v, g2.v)
    assert np.array_equal(g1.community, g2.community)
    if name not in ("karate", "edgelist"):  # these two have fixed ties
        g3 = generate(cfg, 3000, np.random.default_rng(12))
        assert not (np.array_equal(g1.u, g3.u) and np.array_equal(g1.v, g3.v))


def test_generators_use_only_the_given_rng() -> None:
    np.random.seed(0)
    g1 = generate(NetworkConfig(), 2000, np.random.default_rng(5))
    np.random.seed(1)
    g2 = generate(NetworkConfig(), 2000, np.random.default_rng(5))
    assert np.array_equal(g1.u, g2.u) and np.array_equal(g1.v, g2.v)


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("default", 10.0),
        ("erdos_renyi", 10.0),
        ("configuration", 10.0),
        ("watts_strogatz", 10.0),
        ("barabasi_albert", 10.0),
        ("holme_kim", 10.0),
        ("default", 4.0),
        ("erdos_renyi", 25.0),
        ("configuration", 6.0),
    ],
)
def test_mean_degree_near_target(name: str, target: float) -> None:
    g = generate(NetworkConfig(name=name, mean_degree=target), 20_000, np.random.default_rng(7))
    assert abs(mean_degree(g) - target) < 0.1 * target


def test_default_degrees_are_heavy_tailed_and_capped() -> None:
    n = 20_000
    g = generate(NetworkConfig(), n, np.random.default_rng(3))
    deg = g.degrees()
    assert deg.max() <= int(np.sqrt(n * 10))
    assert deg.max() > 10 * np.median(deg)  # hubs
    g = generate(NetworkConfig(max_degree=50), n, np.random.default_rng(3))
    assert g.degrees().max() <= 50


def test_default_has_communities() -> None:
    n = 20_000
    g = generate(NetworkConfig(community_size=100, mixing=0.2), n, np.random.default_rng(4))
    n_comm = g.community.max() + 1
    assert 0.7 * n / 100 < n_comm < 1.3 * n / 100
    inside = np.mean(g.community[g.u] == g.community[g.v])
    assert inside > 0.6
    # planted communities are contiguous blocks of people
    assert np.all(np.diff(g.community) >= 0)
    mixed = generate(NetworkConfig(mixing=0.8), n, np.random.default_rng(4))
    assert np.mean(mixed.community[mixed.u] == mixed.community[mixed.v]) < 0.3


def test_clustering_above_erdos_renyi() -> None:
    n = 5000
    rng = np.random.default_rng(9)
    clustering = {
        name: nx.average_clustering(to_nx(generate(NetworkConfig(name=name), n, rng)))
        for name in ("erdos_renyi", "default", "holme_kim")
    }
    assert clustering["erdos_renyi"] < 0.02
    assert clustering["default"] > 5 * clustering["erdos_renyi"] + 0.05
    assert clustering["holme_kim"] > 5 * clustering["erdos_renyi"] + 0.05


def test_holme_kim_clusters_more_than_barabasi_albert() -> None:
    rng = np.random.default_rng(10)
    ba = to_nx(generate(NetworkConfig(name="barabasi_albert"), 3000, rng))
    hk = to_nx(generate(NetworkConfig(name="holme_kim", triad_prob=0.9), 3000, rng))
    assert nx.transitivity(hk) > 3 * nx.transitivity(ba)


def test_barabasi_albert_is_connected_with_m_ties_per_newcomer() -> None:
    g = generate(
        NetworkConfig(name="barabasi_albert", mean_degree=6), 2000, np.random.default_rng(1)
    )
    assert g.u.size == 3 + (2000 - 4) * 3
    assert nx.is_connected(to_nx(g))
    assert g.degrees().min() >= 3


def test_watts_strogatz_lattice_without_rewiring() -> None:
    g = generate(
        NetworkConfig(name="watts_strogatz", mean_degree=4, rewire_prob=0.0, community_size=10),
        20,
        np.random.default_rng(0),
    )
    assert g.u.size == 40 and np.all(g.degrees() == 4)
    assert nx.is_isomorphic(to_nx(g), nx.watts_strogatz_graph(20, 4, 0.0))
    assert g.community.tolist() == [i // 10 for i in range(20)]


def test_watts_strogatz_rewiring_keeps_tie_count() -> None:
    cfg = NetworkConfig(name="watts_strogatz", mean_degree=7, rewire_prob=0.5)
    g = generate(cfg, 1000, np.random.default_rng(0))
    assert g.u.size == 1000 * 8 // 2  # even k nearest 7 is 8
    ring = np.minimum((g.v - g.u) % 1000, (g.u - g.v) % 1000) <= 4
    assert 0.35 < 1 - ring.mean() < 0.65


def test_erdos_renyi_small_and_large_paths() -> None:
    for n in (1000, 3000):  # Bernoulli per pair below 2e6 pairs, sampling above
        g = generate(NetworkConfig(name="erdos_renyi", mean_degree=8), n, np.random.default_rng(0))
        assert abs(mean_degree(g) - 8) < 0.8
        assert g.degrees().max() < 30


def test_configuration_is_erased_power_law() -> None:
    g = generate(NetworkConfig(name="configuration"), 20_000, np.random.default_rng(0))
    deg = g.degrees()
    assert deg.max() > 10 * np.median(deg)


def test_karate() -> None:
    g = generate(NetworkConfig(name="karate"), 999, np.random.default_rng(0))
    assert g.n == 34 and g.u.size == 78
    assert_simple(g)
    assert g.community[0] == 0 and g.community[33] == 1  # Mr. Hi and the Officer
    assert np.bincount(g.community).tolist() == [17, 17]


def test_generate_errors() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError) as info:
        generate(NetworkConfig(name="nope"), 100, rng)
    assert info.value.key == "network.name"
    with pytest.raises(ConfigError):
        generate(NetworkConfig(), 1, rng)
    with pytest.raises(ConfigError) as info:
        generate(NetworkConfig(name="edgelist", path=""), 100, rng)
    assert info.value.key == "network.path"
    with pytest.raises(ConfigError) as info:
        generate(NetworkConfig(name="edgelist", path="/no/such/file.txt"), 100, rng)
    assert info.value.key == "/no/such/file.txt" and info.value.message == "no such file"


# --- label propagation ----------------------------------------------------------------------


def test_label_propagation_separates_cliques() -> None:
    a = nx.complete_graph(6)
    b = nx.relabel_nodes(nx.complete_graph(5), {i: i + 6 for i in range(5)})
    graph = nx.union(a, b)
    graph.add_node(11)  # isolated
    pairs = sorted((min(x, y), max(x, y)) for x, y in graph.edges())
    u = arr([p[0] for p in pairs])
    v = arr([p[1] for p in pairs])
    community = label_propagation(12, u, v, np.random.default_rng(0))
    assert community.dtype == np.int32
    assert community.tolist() == [0] * 6 + [1] * 5 + [2]


def test_label_propagation_deterministic_and_relabelled() -> None:
    g = generate(NetworkConfig(community_size=50), 3000, np.random.default_rng(0))
    c1 = label_propagation(g.n, g.u, g.v, np.random.default_rng(4))
    c2 = label_propagation(g.n, g.u, g.v, np.random.default_rng(4))
    assert np.array_equal(c1, c2)
    assert np.array_equal(np.unique(c1), np.arange(c1.max() + 1))
    assert np.mean(c1[g.u] == c1[g.v]) > 0.5


def test_label_propagation_zero_rounds_keeps_everyone_apart() -> None:
    community = label_propagation(3, arr([0, 0, 1]), arr([1, 2, 2]), np.random.default_rng(0), 0)
    assert community.tolist() == [0, 1, 2]


def test_raw_graph_helpers() -> None:
    g = generate(NetworkConfig(name="karate"), 0, np.random.default_rng(0))
    assert g.n_edges == 78 and int(g.degrees().sum()) == 156
    g2 = replace(g, name="copy")
    assert g2.name == "copy" and g2.n_edges == 78


def reference_lpa(n: int, u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    nbrs: list[list[int]] = [[] for _ in range(n)]
    for a, b in zip(u.tolist(), v.tolist(), strict=True):
        nbrs[a].append(b)
        nbrs[b].append(a)
    labels = list(range(n))
    for _ in range(10):
        changed = 0
        for node in rng.permutation(n).tolist():
            if not nbrs[node]:
                continue
            counts: dict[int, int] = {}
            for x in nbrs[node]:
                counts[labels[x]] = counts.get(labels[x], 0) + 1
            top = max(counts.values())
            best = min(lab for lab, c in counts.items() if c == top)
            if best != labels[node]:
                labels[node] = best
                changed += 1
        if changed == 0:
            break
    return np.unique(np.array(labels), return_inverse=True)[1]


@HYP
@given(st.integers(0, 2**32 - 1), st.sampled_from(["holme_kim", "erdos_renyi", "default"]))
def test_label_propagation_matches_reference(seed: int, name: str) -> None:
    # hubs of holme_kim have more than 48 ties: both tallying paths are exercised
    g = generate(NetworkConfig(name=name, mean_degree=8), 300, np.random.default_rng(seed))
    got = label_propagation(g.n, g.u, g.v, np.random.default_rng(seed))
    assert got.tolist() == reference_lpa(g.n, g.u, g.v, np.random.default_rng(seed)).tolist()


# --- the generator registry ---------------------------------------------------------------------


def test_registry_lists_every_generator_once_in_config_and_conf():
    from sim import network

    names = list(GENERATORS)
    assert names == ["default", "directed", "erdos_renyi", "barabasi_albert", "holme_kim",
                     "watts_strogatz", "configuration", "edgelist", "karate"]
    conf = Path(__file__).resolve().parents[1] / "conf" / "network"
    assert sorted(p.stem for p in conf.glob("*.yaml")) == sorted(names)
    for name, fn in GENERATORS.items():
        assert fn.__name__ == f"{name}_graph" and getattr(network, fn.__name__) is fn
        assert fn.__name__ in network.__all__
        doc = fn.__doc__ or ""
        assert "Source:" in doc and "Cost:" in doc and "Args:" in doc, name


@pytest.mark.parametrize("name", ["erdos_renyi", "holme_kim", "watts_strogatz"])
def test_a_generator_is_usable_on_its_own(name):
    from sim import network

    cfg = NetworkConfig(name=name, mean_degree=4)
    alone = getattr(network, f"{name}_graph")(cfg, 200, np.random.default_rng(5))
    via = generate(cfg, 200, np.random.default_rng(5))
    assert alone.name == name and alone.n == 200
    assert np.array_equal(alone.u, via.u) and np.array_equal(alone.v, via.v)


def test_a_registered_generator_becomes_a_config_choice():
    from sim import network

    @network.generator("test_ring")
    def test_ring_graph(cfg, n, rng):
        u = np.arange(n, dtype=np.int32)
        v = (u + 1) % n
        return RawGraph(n=n, u=np.minimum(u, v), v=np.maximum(u, v),
                        community=np.zeros(n, np.int32), labels=None, name="test_ring")

    try:
        config = validate({"network": {"name": "test_ring"}, "people": {"n": 10}})
        graph = generate(config.network, 10, np.random.default_rng(0))
        assert graph.n_edges == 10
        with pytest.raises(ValueError, match="already registered"):
            network.generator("test_ring")(test_ring_graph)
    finally:
        del network.GENERATORS["test_ring"]
    with pytest.raises(ConfigError):
        validate({"network": {"name": "test_ring"}})


# --- edge lists that must not be read -------------------------------------------------------


def test_edgelist_refuses_a_device_and_a_fifo(tmp_path):
    import os

    with pytest.raises(ConfigError) as info:
        read_edgelist("/dev/zero")
    assert info.value.key == "/dev/zero" and "not a regular file" in info.value.message
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    started = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        read_edgelist(fifo)  # must not wait for a writer
    assert "not a regular file" in info.value.message
    assert time.perf_counter() - started < 5


def test_edgelist_larger_than_memory_allows_is_refused_with_the_estimate(tmp_path, monkeypatch):
    from sim import network

    path = write(tmp_path, "0 1\n1 2\n" * 100)  # 800 bytes
    monkeypatch.setattr(network, "max_edgelist_bytes", lambda: 500)
    with pytest.raises(ConfigError) as info:
        read_edgelist(path)
    assert info.value.key == str(path)
    assert "reading it needs about" in info.value.message
    assert "GB of memory (estimate)" in info.value.message
    monkeypatch.setattr(network, "max_edgelist_bytes", lambda: 800)
    assert read_edgelist(path)[0].size == 2


def test_followers_count_who_follows_whom_and_undirected_is_degree():
    from sim.network import RawGraph

    u = np.array([0, 0, 1], np.int32)
    v = np.array([1, 2, 2], np.int32)
    community = np.zeros(3, np.int32)
    # 0 <-> 1 reciprocated; 2 follows 0 only; 1 follows 2 only.
    g = RawGraph(3, u, v, community, None, "hand", u_follows_v=np.array([True, False, True]),
                 v_follows_u=np.array([True, True, False]))
    assert g.directed
    assert g.followers().tolist() == [2, 1, 1]
    assert g.degrees().tolist() == [2, 2, 2]
    plain = RawGraph(3, u, v, community, None, "hand")
    assert not plain.directed and plain.followers().tolist() == [2, 2, 2]
