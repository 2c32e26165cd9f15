"""The small-versus-large figure renders, says what the numbers say, and saves atomically."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text

from sim import measures
from sim.tables import DECILE_COLUMNS
from sim.viz.plots import (
    COLORS,
    NO_VALUABLE,
    OKABE_ITO,
    STYLE,
    apply_style,
    finding,
    save_figure,
    small_vs_large_figure,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def synthetic_run(seed: int = 1, n: int = 2000) -> tuple[dict, pd.DataFrame]:
    """Headline numbers and deciles of a made-up run with heavy-tailed audiences."""
    rng = np.random.default_rng(seed)
    audience = np.maximum(1, (rng.pareto(1.5, n) * 5).astype(int))
    is_large, decile = measures.classify_people(audience, 0.1)
    credit_valuable = rng.poisson(0.05 * np.sqrt(audience)).astype(float)
    people = pd.DataFrame(
        {
            "audience": audience,
            "is_large": is_large,
            "decile": decile,
            "credit": credit_valuable + rng.poisson(0.1, n),
            "credit_valuable": credit_valuable,
        }
    )
    kinds = np.array(["referral", "direct"])[rng.integers(0, 2, 40)]
    closures = pd.DataFrame(
        {
            "kind": kinds,
            "valuable": rng.random(40) < 0.3,
            "hops": rng.integers(1, 4, 40),
            "days_to_close": rng.integers(0, 7, 40),
            "arrival_class": np.array(["weak", "strong"])[rng.integers(0, 2, 40)],
        }
    )
    needs = pd.DataFrame({"valuable": rng.random(100) < 0.1})
    return measures.headline(people, closures, needs, 5 * n), measures.decile_table(people)


def all_text(fig: matplotlib.figure.Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def test_figure_renders_png_and_svg(tmp_path: Path) -> None:
    metrics, deciles = synthetic_run()
    fig = small_vs_large_figure(metrics, deciles)
    paths = save_figure(fig, tmp_path / "figs" / "small_vs_large")
    assert paths == [
        tmp_path / "figs" / "small_vs_large.png",
        tmp_path / "figs" / "small_vs_large.svg",
    ]
    png, svg = (p.read_bytes() for p in paths)
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000
    assert b"<svg" in svg[:1000] and len(svg) > 10_000
    # at least 150 dpi: 16 inches wide
    width = int.from_bytes(png[16:20], "big")
    assert width >= 16 * 150
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == [
        "small_vs_large.png", "small_vs_large.svg",
    ]  # fmt: skip


def test_title_states_the_numbers() -> None:
    metrics, deciles = synthetic_run()
    fig = small_vs_large_figure(metrics, deciles)
    title = fig.get_suptitle()
    share = metrics["small_share_valuable_brokered"]
    assert f"{share:.0%}" in title
    assert f"({metrics['small_population_share']:.0%} of people)" in title
    assert title == finding(metrics)
    texts = " ".join(t.get_text() for t in all_text(fig))
    assert f"{metrics['per_audience_ratio_small_large']:.1f}\u00d7" in texts
    assert f"{1 - share:.0%}" in texts  # the large people's share is printed on its bar


def test_finding_uses_exact_rounding() -> None:
    metrics = {"small_share_valuable_brokered": 0.7391, "small_population_share": 0.9}
    assert finding(metrics) == (
        "Small-audience people broker 74% of valuable referrals (90% of people)"
    )
    assert finding({"small_share_valuable_brokered": float("nan")}) == NO_VALUABLE


def test_custom_title_and_large_fonts() -> None:
    metrics, deciles = synthetic_run(seed=2)
    fig = small_vs_large_figure(metrics, deciles, title="My talk")
    assert fig.get_suptitle() == "My talk"
    fig.canvas.draw()  # creates the tick labels
    sizes = [t.get_fontsize() for t in all_text(fig)]
    assert sizes and min(sizes) >= 14


def test_degenerate_run_says_so(tmp_path: Path) -> None:
    people = pd.DataFrame(
        {
            "audience": [1, 2, 3],
            "is_large": [False, False, True],
            "decile": np.array([1, 4, 7], dtype=np.int8),
            "credit": [0.0, 0.0, 0.0],
            "credit_valuable": [0.0, 0.0, 0.0],
        }
    )
    empty = pd.DataFrame({c: [] for c in ("kind", "valuable", "hops", "days_to_close")})
    needs = pd.DataFrame({"valuable": [True, False]})
    metrics = measures.headline(people, empty, needs, 2)
    assert math.isnan(metrics["small_share_valuable_brokered"])
    for deciles in (measures.decile_table(people), pd.DataFrame(columns=list(DECILE_COLUMNS))):
        fig = small_vs_large_figure(metrics, deciles)
        assert NO_VALUABLE in [t.get_text() for t in all_text(fig)]
        paths = save_figure(fig, tmp_path / "empty")
        assert paths[0].read_bytes().startswith(PNG_MAGIC)
    fig = small_vs_large_figure({}, pd.DataFrame())
    assert NO_VALUABLE.lower() in " ".join(t.get_text() for t in all_text(fig)).lower()


def test_missing_deciles_draw_the_share_panel_alone(tmp_path: Path) -> None:
    metrics, _ = synthetic_run()
    fig = small_vs_large_figure(metrics, pd.DataFrame())
    assert len(fig.axes) == 1
    assert fig.get_suptitle() == finding(metrics)
    assert save_figure(fig, tmp_path / "x", formats=("png",))[0].stat().st_size > 0


def test_nan_ratios_still_draw(tmp_path: Path) -> None:
    metrics, deciles = synthetic_run()
    metrics = metrics | {"per_audience_ratio_small_large": float("nan")}
    metrics["per_capita_ratio_large_small"] = float("nan")
    deciles = deciles.assign(credit_valuable_per_audience=np.nan)
    fig = small_vs_large_figure(metrics, deciles)
    assert save_figure(fig, tmp_path / "nan", formats=("png",))[0].stat().st_size > 0


def test_save_is_atomic_and_overwrites(tmp_path: Path) -> None:
    metrics, deciles = synthetic_run()
    fig = small_vs_large_figure(metrics, deciles)
    target = tmp_path / "fig.v1"  # a dot in the name must not be taken for a suffix
    target.with_name("fig.v1.png").write_bytes(b"old")
    (png,) = save_figure(fig, target, formats=("png",))
    assert png.name == "fig.v1.png" and png.read_bytes().startswith(PNG_MAGIC)
    with pytest.raises(ValueError):
        save_figure(fig, tmp_path / "bad", formats=("no-such-format",))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.v1.png"]  # no temp files left


def test_svg_is_reproducible(tmp_path: Path) -> None:
    metrics, deciles = synthetic_run()
    first = save_figure(small_vs_large_figure(metrics, deciles), tmp_path / "a", ("svg",))[0]
    second = save_figure(small_vs_large_figure(metrics, deciles), tmp_path / "b", ("svg",))[0]
    assert first.read_bytes() == second.read_bytes()


def test_style_is_scoped_and_colourblind_safe() -> None:
    before = matplotlib.rcParams["font.size"]
    with apply_style():
        assert matplotlib.rcParams["font.size"] == STYLE["font.size"] >= 14
    assert matplotlib.rcParams["font.size"] == before
    palette = {c.lower() for c in OKABE_ITO.values()}
    for name in ("small", "large", "credit", "per_audience"):
        assert COLORS[name].lower() in palette


# --- the figures on real model output: titles claim only what the intervals support --------

from matplotlib.text import Annotation  # noqa: E402

from experiments.aggregate import knockout_table  # noqa: E402
from experiments.figures import draw_story, knockout_k, removed_per_target  # noqa: E402
from sim import run  # noqa: E402
from sim.config import Config  # noqa: E402
from sim.viz import save_figures  # noqa: E402
from sim.viz import sweep_plots as sp  # noqa: E402

# The real sweeps below test how titles word real findings; they pin the rules of the
# world those findings come from (before issue 11: knowledge of every contact by tie
# strength, reposting seekers, no trust rule, no warm-up), so the findings stay put
# whatever the defaults become.
BASE = {"people.n": 2000, "days": 365, "warmup_days": 0, "response.know": "all",
        "needs.seeker_reposts": True, "trust.enabled": False}


def _config(setting: dict) -> Config:
    cfg = Config()
    for key, value in setting.items():
        if key in ("seed", "days", "warmup_days"):
            setattr(cfg, key, value)
        else:
            section, name = key.split(".")
            setattr(getattr(cfg, section), name, value)
    return cfg


def real_sweep(grid: dict[str, list], seeds: range, base: dict | None = None) -> dict:
    """Run every combination of ``grid`` x ``seeds`` (small, fast runs) and tabulate them
    as a command-line sweep would: summary, groups, audience bins and the people tables."""
    import itertools

    rows, bins, people = [], [], {}
    for values in itertools.product(*grid.values(), seeds):
        setting = dict(zip([*grid, "seed"], values, strict=True))
        result = run(_config({**BASE, **(base or {}), **setting}))
        run_dir = ",".join(f"{k}={v}" for k, v in setting.items())
        rows.append({**setting, "status": "ok", "mode": "referral", "run_dir": run_dir,
                     **result.metrics})
        bins.append(measures.audience_bins(result.people).assign(run_dir=run_dir))
        people[run_dir] = result.people
    summary = pd.DataFrame(rows)
    metrics = [m for m in measures.HEADLINE_KEYS if m in summary]
    return {"summary": summary, "params": list(grid),
            "groups": measures.group_summary(summary, list(grid), metrics),
            "bins": pd.concat(bins, ignore_index=True), "people": people}


@pytest.fixture(scope="module")
def budget_sweep() -> dict:
    """Attention budget 2, 5, 10 (default network), 3 seeds each: 9 runs of 2,000 people."""
    return real_sweep({"people.budget_mean": [10.0, 2.0, 5.0]}, range(3))


@pytest.fixture(scope="module")
def homogeneous_sweep() -> dict:
    """A ring lattice (everyone has 10 ties: large and small differ only by the tie-break of
    the ranking), so both ratios straddle 1. (Erdős–Rényi did until issue 11: with real
    Leiden communities its top-decile audiences, 15 ties against 10, broker clearly more.)"""
    return real_sweep({"network.name": ["watts_strogatz"]}, range(4),
                      {"people.n": 1000, "network.rewire_prob": 0.0})


def _rendered(fig):
    """Draw ``fig`` on an Agg canvas; return its renderer (for text extents)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _finding(claims: pd.DataFrame, metric: str) -> int:
    return int(claims.set_index("metric").loc[metric, "side"])


def test_middle_setting_is_chosen_by_value_and_named(budget_sweep):
    summary = budget_sweep["summary"]
    as_text = summary.assign(**{"people.budget_mean": summary["people.budget_mean"].map(
        lambda v: f"{v:g}")})  # "10" < "2" < "5" as text: the old bug picked 2
    for table in (summary, as_text):
        runs, setting = sp.representative_runs(table, ["people.budget_mean"])
        assert float(setting["people.budget_mean"]) == 5.0 and len(runs) == 3
    assert sp.ordered_values(["10", "2", "5"]) == ["2", "5", "10"]
    assert sp.ordered_values(["large", "none", "small"]) == ["large", "none", "small"]
    runs, setting = sp.representative_runs(summary, ["people.budget_mean"])
    text = sp.setting_text(setting, len(runs))
    assert text == "shown: budget mean = 5 (the middle swept value), 3 runs pooled"
    data = sp.per_capita_data(budget_sweep["bins"][budget_sweep["bins"]["run_dir"].isin(
        runs["run_dir"])])
    fig = sp.per_capita_figure(data, sp.per_capita_claims(runs), text)
    assert fig.axes[0].get_title("left").startswith(text)


def test_per_capita_title_states_the_class_ratios_when_their_intervals_exclude_1(budget_sweep):
    runs, setting = sp.representative_runs(budget_sweep["summary"], ["people.budget_mean"])
    claims = sp.per_capita_claims(runs)
    head = claims.set_index("metric").loc["per_capita_ratio_large_small"]
    values = runs["per_capita_ratio_large_small"].to_numpy(np.float64)
    assert head["mean"] == pytest.approx(values.mean())
    assert (head["ci_low"], head["ci_high"]) == measures.bootstrap_ci(values, rng=0)
    # In the default world large people broker far more per head: the interval excludes 1.
    assert head["ci_low"] > 1 and _finding(claims, "per_capita_ratio_large_small") == 1
    tie = claims.set_index("metric").loc["per_audience_ratio_small_large"]
    assert tie["ci_high"] < 1 and _finding(claims, "per_audience_ratio_small_large") == -1
    title = sp.per_capita_title(claims)
    assert title.startswith(f"Per person, large audiences broker {head['mean']:.1f}\u00d7")
    assert f"small ones broker only {tie['mean']:.2f}\u00d7 as many" in title
    assert "no clear difference" not in title


def test_per_capita_title_makes_no_claim_when_the_interval_straddles_1(homogeneous_sweep):
    runs = homogeneous_sweep["summary"]
    claims = sp.per_capita_claims(runs).set_index("metric")
    for metric in sp.RATIOS:  # real output where the interval straddles 1
        assert claims.loc[metric, "ci_low"] < 1 < claims.loc[metric, "ci_high"], metric
        assert claims.loc[metric, "side"] == 0
    title = sp.per_capita_title(claims.reset_index())
    assert title.count("no clear difference") == 2
    for word in ("large audiences broker", "small audiences broker", "small ones broker"):
        assert word not in title
    fig = sp.per_capita_figure(sp.per_capita_data(homogeneous_sweep["bins"]),
                               claims.reset_index(), "shown: all runs")
    assert fig.get_suptitle() == sp.wrap_title(title)


def test_no_claim_from_fewer_than_three_runs(budget_sweep):
    runs, _ = sp.representative_runs(budget_sweep["summary"], ["people.budget_mean"])
    claims = sp.per_capita_claims(runs.iloc[:2])
    assert (claims["n_runs"] == 2).all() and (claims["side"] == 0).all()
    assert "only 2 runs" in sp.per_capita_title(claims)


def test_lorenz_legend_gives_the_index_of_each_curve_drawn(budget_sweep):
    runs, setting = sp.representative_runs(budget_sweep["summary"], ["people.budget_mean"])
    people = pd.concat([budget_sweep["people"][d] for d in runs["run_dir"]], ignore_index=True)
    data = sp.lorenz_data(people)
    idx = sp.lorenz_indices(people)
    fig = sp.lorenz_figure(data, idx["gini_audience"], idx["concentration_credit"],
                           sp.setting_text(setting, len(runs)))
    ax = fig.axes[0]
    for line in ax.get_lines()[1:]:  # audience curve, brokerage curve
        x, y = (np.asarray(a, np.float64) for a in line.get_data())
        index_of_drawn = 1 - 2 * float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)))
        number = float(line.get_label().rsplit(" ", 1)[-1].rstrip(")"))
        assert number == pytest.approx(index_of_drawn, abs=0.01), line.get_label()
    # The Gini of brokerage (sorted by brokerage) is another, larger number: not in the legend.
    gini_credit = measures.gini(people["credit_valuable"].to_numpy(np.float64))
    assert gini_credit - idx["concentration_credit"] > 0.1
    assert f"{gini_credit:.2f}" not in " ".join(line.get_label() for line in ax.get_lines())
    assert "concentration index" in ax.get_lines()[2].get_label()
    assert "budget mean = 5" in ax.get_title("left")


def test_share_figure_and_title_on_a_numeric_sweep(budget_sweep):
    data = sp.share_data(budget_sweep["groups"], "people.budget_mean")
    assert data["people.budget_mean"].tolist() == [2.0, 5.0, 10.0]
    title = sp.share_title(data, "people.budget_mean")
    low, high = data[f"{sp.SHARE}_ci_low"], data[f"{sp.SHARE}_ci_high"]
    pop = data[f"{sp.POPULATION}_mean"].mean()
    if (high < pop).all():
        assert "fewer valuable referrals than their share of people (90%)" in title
    else:
        assert "than their share of people" not in title
    if low.iloc[-1] > high.iloc[0] or high.iloc[-1] < low.iloc[0]:
        assert "from" in title and "as budget mean goes from 2 to 10" in title
    else:
        assert "rises" not in title and "falls" not in title
    fig = sp.share_figure(data, "people.budget_mean")
    assert fig.get_suptitle() == sp.wrap_title(title)


def test_share_title_is_neutral_when_intervals_do_not_support_a_finding(homogeneous_sweep):
    groups = homogeneous_sweep["groups"].copy()
    data = sp.share_data(groups, "network.name")
    share = data.iloc[0]
    # Real output: with near-equal audiences the interval reaches the population share.
    if share[f"{sp.SHARE}_ci_high"] >= share[f"{sp.POPULATION}_mean"]:
        assert sp.share_title(data, "network.name") == (
            "Share of valuable referrals brokered by small-audience people, by name")


@pytest.fixture(scope="module")
def knockout_sweep() -> dict:
    """The knockout experiment in small: 4 targets x 4 seeds, k = 20, 2,000 people."""
    sweep = real_sweep({"knockout.target": ["none", "large", "small_random", "small_audience"]},
                       range(4), {"knockout.k": 20})
    drops = knockout_table(sweep["summary"], sweep["params"])
    sweep["knockout"] = measures.group_summary(drops, ["knockout.target"], ["valuable_drop"])
    return sweep


def test_knockout_share_is_not_a_line_through_categories(knockout_sweep):
    data = sp.share_data(knockout_sweep["groups"], "knockout.target")
    fig = sp.share_figure(data, "knockout.target")
    ax = fig.axes[0]
    drawn = [line for line in ax.get_lines() if len(line.get_xdata()) == len(data)]
    assert drawn and all(line.get_linestyle() == "None" for line in drawn)
    assert [t.get_text() for t in ax.get_xticklabels()][0] == "nobody"  # the baseline first


def test_knockout_labels_clear_the_error_bars_and_state_k(knockout_sweep):
    summary = knockout_sweep["summary"]
    k = knockout_k(summary)
    assert k == 20
    data = sp.knockout_data(knockout_sweep["knockout"], removed_per_target(summary))
    fig = sp.knockout_figure(data, k)
    renderer = _rendered(fig)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "people removed (k = 20)"
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert "the 20 largest" in ticks and "20 random small" in ticks
    small_aud = data.set_index("knockout.target").loc["small_audience", "people_removed"]
    assert any(f"({small_aud:,.0f} people)" in t for t in ticks)
    labels = [a for a in ax.texts if isinstance(a, Annotation)]
    assert len(labels) == len(data)
    for label, (_, row) in zip(labels, data.iterrows(), strict=True):
        bottom = label.get_window_extent(renderer).y0
        top_of_bar = ax.transData.transform((0, 100 * max(row["ci_high"], row["mean"])))[1]
        assert bottom > top_of_bar, label.get_text()
        assert label.get_text() == f"{100 * row['mean']:.0f}%"
    title = sp.knockout_title(data, k)
    assert fig.get_suptitle() == sp.wrap_title(title)
    low, high = data["ci_low"], data["ci_high"]
    if ((low <= 0) & (high >= 0)).all():
        assert "no loss of valuable connections is clear" in title
    elif "costs the most" in title:
        top = data.loc[data["mean"].idxmax()]
        assert (top["ci_low"] > data.drop(index=top.name)["ci_high"]).all()
    else:
        assert title == "Valuable connections lost when a group of people is removed"


def test_heatmap_title_agrees_with_the_intervals(budget_sweep):
    sweep = real_sweep({"people.budget_mean": [2.0, 10.0], "network.degree_exponent": [2.2, 3.0]},
                       range(3))
    data = sp.heatmap_data(sweep["groups"], "network.degree_exponent", "people.budget_mean")
    title = sp.heatmap_title(data, "network.degree_exponent", "people.budget_mean")
    hi, lo = data.loc[data["mean"].idxmax()], data.loc[data["mean"].idxmin()]
    if hi["ci_low"] > lo["ci_high"]:
        assert f"highest at degree exponent {hi['network.degree_exponent']:g}" in title
    else:
        assert "highest" not in title
    if (data["ci_high"] < data["population"]).all():
        assert "fewer valuable referrals than their share of people" in title
    fig = sp.heatmap_figure(data, "network.degree_exponent", "people.budget_mean")
    assert fig.get_suptitle() == sp.wrap_title(title, 70)
    # A cell from two runs cannot carry a claim.
    thin = data.assign(n_runs=2)
    assert sp.heatmap_title(thin, "network.degree_exponent", "people.budget_mean") == (
        "Share of valuable referrals brokered by small-audience people, by degree exponent "
        "and budget mean")


def test_story_labels_every_role_visibly(tmp_path):
    result = run(_config({**BASE, "seed": 0}))
    folder = tmp_path / "run"
    result.save(folder)
    written = draw_story(folder, tmp_path / "figures", "shown: seed 0")
    assert [p.suffix for p in written] == [".png", ".svg", ".csv"]
    # Rebuild the figure to inspect it (draw_story saves and discards it).
    closures = result.closures
    chosen = closures[(closures["kind"] == "referral") & closures["valuable"]].sort_values(
        ["hops", "value"], ascending=False).iloc[0]
    roles = sp.story_roles(chosen)
    assert set(roles.values()) >= {"seeker", "broker", "provider"}
    table = pd.read_csv(tmp_path / "figures" / "story.csv")
    assert table["person"].tolist() == [int(p) for p in chosen["path"]]


def test_story_figure_labels_do_not_overlap(budget_sweep):
    from sim.network import generate
    from sim.rng import stream
    from sim.ties import initial_strengths

    cfg = _config({**BASE, "seed": 1})
    result = run(cfg)
    graph = generate(cfg.network, cfg.people.n, stream(cfg.seed, "network"))
    w = initial_strengths(cfg.people.n, graph.u, graph.v, cfg.ties, stream(cfg.seed, "strengths"))
    closures = result.closures
    chosen = closures[(closures["kind"] == "referral") & closures["valuable"]].sort_values(
        ["hops", "value"], ascending=False).iloc[0]
    path = [int(p) for p in chosen["path"]]
    nodes, edges = sp.story_subgraph(graph.u, graph.v, w, path, seed=1)
    fig = sp.story_figure(nodes, edges, result.people["audience"].to_numpy(), chosen,
                          result.people["is_large"].to_numpy(), seed=1, setting="shown: seed 1")
    renderer = _rendered(fig)
    labels = [a for a in fig.axes[0].texts if isinstance(a, Annotation)]
    texts = [a.get_text() for a in labels]
    assert any(t.startswith("seeker (audience") for t in texts)
    assert any(t.startswith("broker (audience") for t in texts)
    boxes = [a.get_bbox_patch().get_window_extent(renderer) for a in labels]
    page = fig.bbox
    for i, box in enumerate(boxes):
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0, texts[i]
        for j in range(i):
            assert not box.overlaps(boxes[j]), (texts[i], texts[j])
    assert "valuable referral" in fig.get_suptitle()


def test_save_figures_writes_what_the_command_line_writes(tmp_path):
    result = run(_config({"people.n": 500, "days": 60, "seed": 2}))
    written = save_figures(result, tmp_path / "run")
    assert [p.name for p in written] == ["small_vs_large.png", "small_vs_large.svg"]
    assert written[0].read_bytes().startswith(PNG_MAGIC)
    cfg = _config({"people.n": 300, "seed": 2})
    cfg.mode = "cascade"
    cfg.cascade.n_cascades = 5
    assert save_figures(run(cfg), tmp_path / "cascade") == []
    assert not (tmp_path / "cascade").exists()


def test_run_figure_says_valuable_referrals():
    result = run(_config({"people.n": 2000, "days": 365, "seed": 0}))
    fig = small_vs_large_figure(result.metrics, result.deciles)
    text = " ".join(t.get_text() for t in all_text(fig))
    assert "valuable referrals" in fig.get_suptitle()
    assert "valuable connections" not in text


def test_title_when_large_people_brokered_nothing_names_no_ratio():
    # Every run gave large people zero valuable referrals: the interval (0, 0) excludes 1
    # from below, and there is no "small broker 1/0 x as many" to state.
    claims = pd.DataFrame([{"metric": "per_capita_ratio_large_small", "n_runs": 3, "mean": 0.0,
                            "ci_low": 0.0, "ci_high": 0.0, "ci_method": "BCa", "side": -1}])
    assert sp.per_capita_title(claims) == (
        "Per person, large audiences brokered no valuable referrals (95% CI 0.00\u20130.00)")


def test_share_figure_draws_single_seed_groups_without_intervals(budget_sweep):
    # One run per group has no interval: the CI columns are all NaN and must not vanish.
    one = budget_sweep["summary"].drop_duplicates("people.budget_mean")
    groups = measures.group_summary(one, ["people.budget_mean"],
                                    ["small_share_valuable_brokered", "small_population_share"])
    data = sp.share_data(groups, "people.budget_mean")
    assert data["small_share_valuable_brokered_ci_low"].isna().all()
    assert len(data) == one["people.budget_mean"].nunique()
    sp.share_figure(data, "people.budget_mean")
