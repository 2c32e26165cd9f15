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
        "Small-audience people broker 74% of valuable connections (90% of people)"
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
