"""Published patterns (sim.patterns): exact rules on tiny graphs, then the patterns themselves.

Unit tests check the removal curve, the critical fraction, the audience binning and the
pooling on hand-built inputs whose every number is worked out by hand. The statistical
tests (seeds and intervals, slow-marked) are the patterns of docs/model.md §"Published
patterns", each built so it fails if the mechanism behind it stops working:

* Onnela et al. (2007): weak-first removal fragments the default network and Facebook
  sooner than strong-first removal, and on the default network the gap closes when
  ties inside communities are no stronger than bridges (``ties.strength_community=0``).
* Bakshy et al. (2011): larger-audience seeds start larger cascades but reach fewer
  other people per follower.
* Real networks: small people broker more valuable referrals per follower than large
  people, and lose that edge when attention budgets grow with audience.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import connected_components

from sim import patterns as pt
from sim.config import Config, ConfigError, PeopleConfig, from_dict
from sim.model import ReferralModel
from tests.conftest import FACEBOOK

BITCOIN = FACEBOOK.parent / "bitcoin-otc.csv"

# --- a path 0-1-2-3 and an isolated person 4 ---------------------------------------------
PATH_U = np.array([0, 1, 2])
PATH_V = np.array([1, 2, 3])
PATH_W = np.array([0.1, 0.9, 0.5])  # 0-1 weak, 1-2 strong, 2-3 medium
THIRDS = [0.0, 1 / 3, 2 / 3, 1.0]


def test_removal_curve_weak_first_on_a_path():
    curve = pt.removal_curve(5, PATH_U, PATH_V, PATH_W, weakest_first=True, fractions=THIRDS)
    assert curve["ties_removed"].tolist() == [0, 1, 2, 3]
    # 0-1 goes first ({1,2,3},{0},{4}), then 2-3 ({1,2},{0},{3},{4}), then 1-2.
    assert curve["lcc_fraction"].tolist() == pytest.approx([4 / 5, 3 / 5, 2 / 5, 1 / 5])
    # Susceptibility: squared sizes of all components but the largest, over n.
    assert curve["susceptibility"].tolist() == pytest.approx([1 / 5, 2 / 5, 3 / 5, 4 / 5])


def test_removal_curve_strong_first_on_a_path():
    curve = pt.removal_curve(5, PATH_U, PATH_V, PATH_W, weakest_first=False, fractions=THIRDS)
    # 1-2 goes first ({0,1},{2,3},{4}: one pair is the largest, the other counts 2**2).
    assert curve["lcc_fraction"].tolist() == pytest.approx([4 / 5, 2 / 5, 2 / 5, 1 / 5])
    assert curve["susceptibility"].tolist() == pytest.approx([1 / 5, 5 / 5, 3 / 5, 4 / 5])


def test_equal_strengths_are_removed_in_tie_order():
    w = np.array([0.5, 0.2, 0.5, 0.2])
    assert pt.removal_order(w, weakest_first=True).tolist() == [1, 3, 0, 2]
    assert pt.removal_order(w, weakest_first=False).tolist() == [0, 2, 1, 3]


def test_removal_curve_rejects_fractions_outside_0_1():
    with pytest.raises(ValueError, match="fractions"):
        pt.removal_curve(5, PATH_U, PATH_V, PATH_W, True, [0.5, 1.2])


@st.composite
def weighted_graphs(draw):
    n = draw(st.integers(1, 25))
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=60)) if pairs else []
    w = draw(st.lists(st.sampled_from([0.1, 0.3, 0.5, 0.9]), min_size=len(chosen),
                      max_size=len(chosen)))
    u = np.array([a for a, _ in chosen], np.int64)
    v = np.array([b for _, b in chosen], np.int64)
    return n, u, v, np.array(w, np.float64)


@settings(max_examples=60, deadline=None)
@given(weighted_graphs(), st.booleans())
def test_removal_curve_matches_scipy_components_after_every_removal(graph, weakest_first):
    """After each removal the curve equals the components scipy finds in what is left."""
    n, u, v, w = graph
    m = u.size
    fractions = [r / m for r in range(m + 1)] if m else [0.0, 1.0]
    curve = pt.removal_curve(n, u, v, w, weakest_first, fractions)
    order = pt.removal_order(w, weakest_first)
    for row in curve.itertuples():
        kept = order[row.ties_removed:]
        adjacency = scipy.sparse.coo_matrix((np.ones(kept.size), (u[kept], v[kept])),
                                            shape=(n, n))
        _, labels = connected_components(adjacency, directed=False)
        sizes = np.sort(np.bincount(labels))[::-1]
        assert row.lcc_fraction == pytest.approx(sizes[0] / n)
        assert row.susceptibility == pytest.approx(float((sizes[1:] ** 2).sum()) / n)
    assert np.all(np.diff(curve["lcc_fraction"].to_numpy()) <= 1e-12)  # never grows


# --- two triangles joined by one weak bridge (Onnela's picture) -------------------------------
#   A: 0-1 .80, 1-2 .85, 0-2 .90    bridge 2-3 .10    B: 3-4 .81, 4-5 .86, 3-5 .91
BRIDGE_U = np.array([0, 1, 0, 2, 3, 4, 3])
BRIDGE_V = np.array([1, 2, 2, 3, 4, 5, 5])
BRIDGE_W = np.array([0.80, 0.85, 0.90, 0.10, 0.81, 0.86, 0.91])
SEVENTHS = [k / 7 for k in range(8)]


def bridge_curves() -> pd.DataFrame:
    curves = pt.removal_curves(6, BRIDGE_U, BRIDGE_V, BRIDGE_W, SEVENTHS)
    curves.insert(0, "seed", 0)
    return curves


def test_weak_bridge_removed_first_splits_the_network_at_once():
    curves = bridge_curves()
    weak = curves[curves["order"] == "weak_first"]
    strong = curves[curves["order"] == "strong_first"]
    # Weak first: the bridge goes first, two triangles remain; then the triangles thin out.
    assert weak["lcc_fraction"].tolist() == pytest.approx(
        [1, 3 / 6, 3 / 6, 3 / 6, 3 / 6, 2 / 6, 2 / 6, 1 / 6])
    # Strong first: the network holds until its third tie (person 5 left alone) and more.
    assert strong["lcc_fraction"].tolist() == pytest.approx(
        [1, 1, 1, 5 / 6, 3 / 6, 2 / 6, 2 / 6, 1 / 6])
    assert weak["susceptibility"].tolist() == pytest.approx(
        [0, 9 / 6, 9 / 6, 9 / 6, 5 / 6, 6 / 6, 4 / 6, 5 / 6])
    assert strong["susceptibility"].tolist() == pytest.approx(
        [0, 0, 0, 1 / 6, 5 / 6, 6 / 6, 4 / 6, 5 / 6])


def test_critical_fraction_is_the_first_susceptibility_peak():
    fc = pt.critical_fractions(bridge_curves())
    assert fc.to_dict("records") == [pytest.approx(
        {"seed": 0, "fc_weak_first": 1 / 7, "fc_strong_first": 5 / 7, "fc_gap": 4 / 7})]


def test_onnela_table_reads_both_orders_at_each_fraction():
    table = pt.onnela_table(bridge_curves(), at=(2 / 7,))
    row = table.iloc[0]
    assert row["weak_first_29"] == pytest.approx(3 / 6)
    assert row["strong_first_29"] == pytest.approx(1.0)
    assert row["gap_29"] == pytest.approx(3 / 6)
    assert row["fc_gap"] == pytest.approx(4 / 7)
    with pytest.raises(ValueError, match="no point"):
        pt.curve_gap(bridge_curves(), at=0.5)


# --- configuration -----------------------------------------------------------------------


def test_with_overrides_reads_mappings_and_strings_and_keeps_the_base():
    base = Config()
    cfg = pt.with_overrides(base, ["seed=3", "mode=cascade", "ties.strength_community=0",
                                  "trust.enabled=false"])
    assert (cfg.seed, cfg.mode, cfg.trust.enabled) == (3, "cascade", False)
    assert cfg.ties.strength_community == 0.0 and isinstance(cfg.ties.strength_community, float)
    assert pt.with_overrides(base, {"people.n": 500}).people.n == 500
    assert (base.seed, base.mode, base.people.n) == (0, "referral", 10_000)


def test_with_overrides_names_a_bad_key_or_value():
    with pytest.raises(ConfigError, match="ties.nope"):
        pt.with_overrides(Config(), {"ties.nope": 1})
    with pytest.raises(ConfigError, match="network.mixing"):
        pt.with_overrides(Config(), ["network.mixing=2"])
    with pytest.raises(ConfigError, match="key=value"):
        pt.with_overrides(Config(), ["seed"])


def test_tie_network_is_what_a_run_starts_from():
    cfg = Config(seed=4, people=PeopleConfig(n=400))
    net = pt.tie_network(cfg)
    world = ReferralModel(cfg).world
    u, v = world.ties.edges()
    assert np.array_equal(net.u, u) and np.array_equal(net.v, v)
    assert np.array_equal(net.w, world.initial_strength)
    assert np.array_equal(net.community, world.community)


# --- Bakshy binning ---------------------------------------------------------------------------

CASCADES = pd.DataFrame({
    "seed": [0, 0, 0, 0, 0, 1, 1],
    "source": [0, 1, 2, 3, 4, 0, 1],
    "audience": [0, 1, 3, 2, 8, 1, 8],
    "is_large": [False, False, False, False, True, False, True],
    "reach": [1, 2, 7, 3, 9, 1, 17],
})


def test_bakshy_bins_by_powers_of_two():
    bins = pt.bakshy_bins(CASCADES)
    # Edges 1, 2, 4, 8, 16; the source without followers is left out.
    assert bins[["seed", "bin_low", "bin_high", "cascades"]].values.tolist() == [
        [0, 1, 2, 1], [0, 2, 4, 2], [0, 8, 16, 1], [1, 1, 2, 1], [1, 8, 16, 1]]
    row = bins.iloc[1]  # audiences 3 and 2, reaches 7 and 3
    assert row["mean_audience"] == pytest.approx(2.5)
    assert row["mean_reach"] == pytest.approx(5.0)
    assert row["mean_per_follower"] == pytest.approx((7 / 3 + 3 / 2) / 2)
    assert row["mean_others_per_follower"] == pytest.approx((6 / 3 + 2 / 2) / 2)


def test_bin_summary_averages_bins_over_seeds():
    summary = pt.bin_summary(pt.bakshy_bins(CASCADES), min_seeds=2)
    # Only the bins present in both seeds: [1, 2) and [8, 16).
    assert summary["bin_low"].tolist() == [1.0, 8.0]
    assert summary["seeds"].tolist() == [2, 2]
    assert summary["reach"].tolist() == pytest.approx([1.5, 13.0])
    assert summary["others_per_follower"].tolist() == pytest.approx([0.5, (1 + 2) / 2])
    assert summary["reach_low"].iloc[1] <= 13.0 <= summary["reach_high"].iloc[1]


def test_bakshy_ratios_compare_large_with_small_sources():
    ratios = pt.bakshy_ratios(CASCADES).set_index("seed")
    small = np.array([2, 7, 3]), np.array([1, 3, 2])
    assert ratios.loc[0, "n_large"] == 1 and ratios.loc[0, "n_small"] == 3
    assert ratios.loc[0, "reach_ratio"] == pytest.approx(9 / small[0].mean())
    assert ratios.loc[0, "per_follower_ratio"] == pytest.approx(
        (9 / 8) / (small[0] / small[1]).mean())
    assert ratios.loc[0, "others_ratio"] == pytest.approx(
        (8 / 8) / ((small[0] - 1) / small[1]).mean())
    # Seed 1: the small source reached only itself, so "others" has no ratio.
    assert ratios.loc[1, "reach_ratio"] == pytest.approx(17.0)
    assert np.isnan(ratios.loc[1, "others_ratio"])


def test_no_transmission_means_every_cascade_is_its_source():
    cfg = Config(people=PeopleConfig(n=300))
    cascades = pt.cascade_table(cfg, [0, 1], {"cascade.transmissibility": 0.0,
                                             "cascade.n_cascades": 50})
    assert (cascades["reach"] == 1).all() and len(cascades) == 100
    assert pt.bakshy_ratios(cascades)["reach_ratio"].tolist() == [1.0, 1.0]


# --- pooling runs ----------------------------------------------------------------------------


def test_pooled_comparison_pools_class_totals():
    runs = pd.DataFrame({"credit_small": [1.0, 3.0], "credit_large": [1.0, 0.0],
                         "n_small": [9, 9], "n_large": [1, 1],
                         "audience_small": [30.0, 30.0], "audience_large": [20.0, 20.0]})
    pooled = pt.pooled_comparison(runs).set_index("metric")["pooled"]
    # Totals: small 4 credits, 18 people, 60 ties; large 1 credit, 2 people, 40 ties.
    assert pooled["small_share_valuable_brokered"] == pytest.approx(4 / 5)
    assert pooled["per_capita_ratio_large_small"] == pytest.approx((1 / 2) / (4 / 18))
    assert pooled["per_audience_ratio_small_large"] == pytest.approx((4 / 60) / (1 / 40))


def test_small_share_excess_is_share_minus_population_share():
    runs = pd.DataFrame({"small_share_valuable_brokered": [0.8, np.nan],
                         "small_population_share": [0.9, 0.9]})
    excess = pt.small_share_excess(runs)
    assert excess[0] == pytest.approx(-0.1) and np.isnan(excess[1])


# --- the patterns (statistical) ----------------------------------------------------------------


def _facebook() -> Config:
    return from_dict({"network": {"name": "edgelist", "path": str(FACEBOOK)}})


def test_onnela_default_network_weak_ties_bridge_communities():
    """Weak-first removal breaks the default network sooner, because bridges are weak.

    With ``ties.strength_community=0`` (bridges as strong as ties inside communities)
    the network at 90% removed is about as connected either way: the gap collapses.
    """
    seeds = range(5)
    fractions = np.round(np.arange(0, 1.0001, 0.01), 4)
    table = pt.onnela_table(pt.onnela_curves(Config(), seeds, fractions=fractions))
    flat = pt.onnela_table(pt.onnela_curves(Config(), seeds, {"ties.strength_community": 0.0},
                                          fractions=fractions))
    gap = pt.summarize(table["gap_90"])
    assert gap["mean"] > 0.15 and gap["ci_low"] > 0.1, gap
    fc = pt.summarize(table["fc_gap"])
    assert fc["ci_low"] > 0.03, fc  # weak-first reaches its critical point sooner
    collapse = pt.summarize(table["gap_90"].to_numpy() - flat["gap_90"].to_numpy())
    assert collapse["ci_low"] > 0.1, collapse
    assert pt.summarize(flat["gap_90"])["ci_high"] < 0.1
    assert pt.summarize(flat["fc_gap"])["ci_high"] < 0.03


@pytest.mark.skipif(not FACEBOOK.exists(), reason="needs ../shared/data/facebook_combined.txt")
def test_onnela_facebook_falls_apart_weak_first_only():
    table = pt.onnela_table(pt.onnela_curves(_facebook(), range(3)))
    assert (table["weak_first_80"] < 0.2).all()
    assert (table["strong_first_80"] > 0.9).all()
    assert pt.summarize(table["gap_80"])["ci_low"] > 0.6


@pytest.mark.slow
def test_bakshy_large_seeds_start_larger_cascades_but_reach_fewer_per_follower():
    cascades = pt.cascade_table(Config(), range(4), {"cascade.n_cascades": 1000})
    ratios = pt.bakshy_ratios(cascades)
    reach = pt.summarize(ratios["reach_ratio"])
    assert reach["ci_low"] > 1.05, reach
    others = pt.summarize(ratios["others_ratio"])
    assert others["ci_high"] < 0.7, others
    summary = pt.bin_summary(pt.bakshy_bins(cascades))
    first, last = summary.iloc[0], summary.iloc[-1]
    assert last["mean_audience"] > 16 * first["mean_audience"]
    assert last["reach_low"] > first["reach_high"]
    assert last["others_per_follower_high"] < first["others_per_follower_low"]


@pytest.mark.slow
@pytest.mark.skipif(not FACEBOOK.exists(), reason="needs ../shared/data/facebook_combined.txt")
def test_facebook_small_people_broker_more_per_follower_while_attention_is_limited():
    """Per follower, small people broker more valuable referrals than large people on
    Facebook, because attention budgets do not grow with audience: with budgets
    proportional to audience (``people.budget_audience_exponent=1``) the edge reverses."""
    seeds = range(5)
    limited = pt.headline_runs(_facebook(), seeds)
    scaled = pt.headline_runs(_facebook(), seeds, {"people.budget_audience_exponent": 1.0})
    assert pt.summarize(limited["per_audience_ratio_small_large"])["ci_low"] > 2.0
    assert pt.summarize(scaled["per_audience_ratio_small_large"])["ci_high"] < 1.0
    assert pt.summarize(pt.small_share_excess(scaled))["ci_high"] < -0.2


@pytest.mark.slow
@pytest.mark.skipif(not BITCOIN.exists(), reason="needs ../shared/data/bitcoin-otc.csv")
def test_bitcoin_large_people_broker_more_per_person_small_more_per_follower():
    cfg = from_dict({"network": {"name": "edgelist", "path": str(BITCOIN), "directed": True,
                                 "source": "from", "target": "to",
                                 "weight_column": "feature", "weight_as": "trust"}})
    runs = pt.headline_runs(cfg, range(5))
    assert pt.summarize(pt.small_share_excess(runs))["ci_high"] < -0.05
    assert pt.summarize(runs["per_audience_ratio_small_large"])["ci_low"] > 2.0


# --- the report command (experiments.patterns) -------------------------------------------------

@pytest.fixture(scope="module")
def tiny_patterns():
    """The whole report at the smallest size (300 people, 1-3 seeds a part)."""
    from experiments import patterns as ep

    sizes = ep.Sizes(onnela_seeds=2, warmup_seeds=1, cascade_seeds=2, n_cascades=60,
                     real_seeds={"facebook": 2, "bitcoin_otc": 2, "malawi": 2})
    return ep.measure(ep.compose_config(["people.n=300"]), sizes=sizes)


def test_patterns_command_refuses_a_bad_override_before_writing(tmp_path, capsys):
    from experiments import patterns as ep

    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        ep.main(["--out", str(out), "people.nope=1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "people.nope" in err and "\n" not in err
    assert not out.exists()


def test_patterns_command_refuses_a_missing_edge_list_without_writing(tmp_path, capsys):
    from experiments import patterns as ep

    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        ep.main(["--out", str(out), "network=edgelist",
                 f"network.path={tmp_path / 'nowhere.txt'}"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "nowhere.txt" in err and "\n" not in err
    assert not out.exists()


def test_patterns_command_never_writes_into_a_folder_with_files(tmp_path, capsys):
    from experiments import patterns as ep

    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(SystemExit) as exc:
        ep.main(["--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "already holds files" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


@pytest.mark.slow
@pytest.mark.skipif(not (FACEBOOK.exists() and BITCOIN.exists()), reason="needs ../shared/data")
def test_patterns_command_writes_tables_figures_and_report(tmp_path, tiny_patterns, capsys):
    from experiments import patterns as ep

    out = tmp_path / "report"
    seen = []

    def run(base, quick):
        seen.append((base.people.n, quick))
        return tiny_patterns

    assert ep.main(["--out", str(out), "people.n=300"], run=run) == 0
    assert seen == [(300, True)]
    names = {p.name for p in out.iterdir()}
    for table in ("onnela_curves", "onnela_seeds", "cascade_bins", "cascade_summary",
                  "cascade_ratios", "real_runs", "real_pooled", "summary"):
        assert {f"{table}.parquet", f"{table}.csv"} <= names
    assert {"onnela.png", "bakshy.png", "real_networks.png", "patterns.md"} <= names
    report = (out / "patterns.md").read_text()
    assert report.startswith("## Published patterns")
    for figure in ("onnela.png", "bakshy.png", "real_networks.png"):
        assert f"]({figure})" in report  # links relative to the report's folder
    seeds = pd.read_parquet(out / "onnela_seeds.parquet")
    assert set(zip(seeds["network"], seeds["variant"], strict=True)) == {
        ("default", ep.START), ("default", "strength_community=0"),
        ("default", "after warm-up"), ("holme_kim", ep.START), ("facebook", ep.START),
        ("facebook", "after warm-up")}
    assert seeds.groupby(["network", "variant"]).size().max() == 2
    runs = pd.read_parquet(out / "real_runs.parquet")
    assert runs.groupby("network").size().to_dict() == {"facebook": 2, "bitcoin_otc": 2,
                                                         "malawi": 2}
    cascades = pd.read_parquet(out / "cascade_ratios.parquet")
    assert sorted(cascades["transmissibility"].unique()) == [0.02, 0.05, 0.3]
    assert "Published patterns" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.skipif(not (FACEBOOK.exists() and BITCOIN.exists()), reason="needs ../shared/data")
def test_validation_section_links_figures_from_docs(tmp_path, monkeypatch, tiny_patterns):
    from experiments import patterns as ep

    monkeypatch.setattr(ep, "measure", lambda base, quick: tiny_patterns)
    monkeypatch.setattr(ep, "DOCS", tmp_path / "docs")
    figures = tmp_path / "docs" / "figures" / "validation"
    text = ep.validation_section(figures, quick=True, overrides=["people.n=300"])
    assert text.startswith("## Published patterns")
    for name in ("onnela", "bakshy", "real_networks"):
        assert (figures / f"{name}.png").exists()
        assert f"](figures/validation/{name}.png)" in text
