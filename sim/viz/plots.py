"""Talk-ready figures of a run: functions of its tables and headline numbers.

Part of :mod:`sim.viz`, the only package of :mod:`sim` that imports matplotlib
(the model's core never does). Figures are
built on :class:`matplotlib.figure.Figure` directly (no pyplot global state), so
they work in scripts, sweeps, notebooks and worker processes alike; if no
backend has been chosen yet, the non-interactive ``Agg`` backend is selected.

One look for every figure of the project lives in :data:`STYLE` (matplotlib
rc settings: large fonts, the Okabe-Ito colourblind-safe palette) and is applied
with :func:`apply_style`::

    with apply_style():
        fig = Figure(figsize=(8, 5))
        ...
    save_figure(fig, out_dir / "my_figure")

:data:`COLORS` names the colours by meaning, so later figures use the same
colour for the same thing (small people, large people, the population, ...).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from cycler import cycler


def _ensure_backend() -> None:
    """Select ``Agg`` if nobody (rc file, ``MPLBACKEND``, pyplot) has chosen a backend."""
    try:
        chosen = matplotlib.get_backend(auto_select=False)  # matplotlib >= 3.10
    except TypeError:  # older matplotlib: respect the environment and pyplot users
        chosen = os.environ.get("MPLBACKEND") or (
            "pyplot" if "matplotlib.pyplot" in sys.modules else None
        )
    if chosen is None:
        matplotlib.use("Agg")


_ensure_backend()

from matplotlib.axes import Axes  # noqa: E402  (after the backend choice)
from matplotlib.axis import Axis  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import LogFormatter  # noqa: E402

from sim.io import atomic_path  # noqa: E402

OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
"""The Okabe-Ito palette (Okabe and Ito 2008), safe for all common colour-vision types."""

COLORS: dict[str, str] = {
    "small": OKABE_ITO["blue"],
    "large": OKABE_ITO["vermillion"],
    "population": "#B8B8B8",
    "credit": OKABE_ITO["blue"],
    "per_audience": OKABE_ITO["orange"],
    "text": "#222222",
    "muted": "#555555",
}
"""Colours by meaning, shared by every figure of the project."""

BASE_FONT_PT = 15
STYLE: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica", "sans-serif"],
    "font.size": BASE_FONT_PT,
    "axes.titlesize": 18,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlepad": 12,
    "axes.labelsize": 16,
    "axes.labelcolor": COLORS["text"],
    "axes.edgecolor": COLORS["muted"],
    "axes.linewidth": 1.2,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "axes.prop_cycle": cycler(color=list(OKABE_ITO.values())[1:] + ["#000000"]),
    "xtick.labelsize": 14,
    "ytick.labelsize": 14,
    "xtick.color": COLORS["text"],
    "ytick.color": COLORS["text"],
    "legend.fontsize": 14,
    "legend.frameon": False,
    "figure.titlesize": 22,
    "figure.titleweight": "bold",
    "figure.facecolor": "white",
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "savefig.facecolor": "white",
    "svg.hashsalt": "influencer-sim",
    "lines.linewidth": 2.5,
    "lines.markersize": 9,
}
"""matplotlib rc settings of every project figure (fonts >= 14 pt, Okabe-Ito colours)."""

PNG_DPI = 200
NO_VALUABLE = "No valuable referrals closed"


@contextlib.contextmanager
def apply_style(extra: Mapping[str, Any] | None = None) -> Iterator[None]:
    """Apply :data:`STYLE` (plus ``extra`` rc settings) inside a ``with`` block.

    Build figures inside the block: fonts and colours are read when artists are
    created.

    Args:
        extra: Further matplotlib rc settings that override :data:`STYLE`.

    Yields:
        Nothing; the previous rc settings are restored on exit.
    """
    settings = dict(STYLE)
    if extra:
        settings.update(extra)
    with matplotlib.rc_context(settings):
        yield


# --- the small-versus-large figure -----------------------------------------------------


def _number(metrics: Mapping[str, Any], key: str) -> float:
    """Return ``metrics[key]`` as a float, nan if missing or not a number."""
    value = metrics.get(key)
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _finite(x: float) -> bool:
    return math.isfinite(x)


def _pct(x: float) -> str:
    """Format a share (0..1) as a whole percentage, e.g. ``0.738 -> "74%"``."""
    return f"{x:.0%}"


def finding(metrics: Mapping[str, Any]) -> str:
    """Return the one-line finding of a run, stated from its headline numbers.

    Args:
        metrics: Headline numbers (see :func:`sim.measures.headline`).

    Returns:
        E.g. ``"Small-audience people broker 74% of valuable referrals (90% of
        people)"``, or :data:`NO_VALUABLE` when no valuable credit was given.
    """
    share = _number(metrics, "small_share_valuable_brokered")
    population = _number(metrics, "small_population_share")
    if not _finite(share):
        return NO_VALUABLE
    text = f"Small-audience people broker {_pct(share)} of valuable referrals"
    if _finite(population):
        text += f" ({_pct(population)} of people)"
    return text


def _subtitle(metrics: Mapping[str, Any]) -> str:
    """Return a second line: the per-audience and per-capita comparisons."""
    parts = []
    per_audience = _number(metrics, "per_audience_ratio_small_large")
    per_capita = _number(metrics, "per_capita_ratio_large_small")
    if _finite(per_audience):
        parts.append(
            f"per tie of audience, small-audience people broker {per_audience:.1f}\u00d7 "
            "as many as large ones"
        )
    if _finite(per_capita):
        parts.append(f"per head, large ones broker {per_capita:.1f}\u00d7 as many")
    if not parts:
        return ""
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def _footnote(metrics: Mapping[str, Any]) -> str:
    """Return the sample sizes behind the figure, e.g. "312 valuable referrals, ..."."""
    facts = []
    for key, label in (
        ("n_valuable_brokered", "valuable referrals"),
        ("n_people", "people"),
        ("n_ties", "ties"),
    ):
        value = _number(metrics, key)
        if _finite(value):
            facts.append(f"{int(value):,} {label}")
    return ", ".join(facts)


def _degenerate(fig: Figure, metrics: Mapping[str, Any], title: str | None) -> Figure:
    """Draw the "nothing to show" figure for runs without valuable referrals."""
    ax = fig.add_subplot()
    ax.set_axis_off()
    fig.suptitle(
        title or "Who brokers the valuable referrals?", x=0.015, y=0.985, ha="left", va="top"
    )
    ax.text(
        0.5, 0.55, NO_VALUABLE, ha="center", va="center", fontsize=26,
        color=COLORS["muted"], transform=ax.transAxes,
    )  # fmt: skip
    facts = []
    for key, label in (("n_needs", "needs posted"), ("n_closed", "closed"),
                       ("n_valuable_needs", "valuable needs")):  # fmt: skip
        value = _number(metrics, key)
        if _finite(value):
            facts.append(f"{int(value):,} {label}")
    if facts:
        ax.text(
            0.5, 0.40, ", ".join(facts), ha="center", va="center", fontsize=18,
            color=COLORS["muted"], transform=ax.transAxes,
        )  # fmt: skip
    return fig


def _share_panel(ax: Axes, metrics: Mapping[str, Any]) -> None:
    """Left panel: valuable-referral share next to population share, small and large."""
    small_share = _number(metrics, "small_share_valuable_brokered")
    small_pop = _number(metrics, "small_population_share")
    if not _finite(small_pop):
        n_people = _number(metrics, "n_people")
        small_pop = _number(metrics, "n_small") / n_people if n_people else math.nan
    pop = np.array([small_pop, 1.0 - small_pop]) * 100.0
    credit = np.array([small_share, 1.0 - small_share]) * 100.0
    x = np.arange(2)
    width = 0.38
    bars_pop = ax.bar(
        x - width / 2, np.nan_to_num(pop), width, color=COLORS["population"],
        label="share of people",
    )  # fmt: skip
    bars_credit = ax.bar(
        x + width / 2, credit, width, color=[COLORS["small"], COLORS["large"]],
        label="share of valuable referrals brokered",
    )  # fmt: skip
    for bars, values, color in ((bars_pop, pop, COLORS["muted"]), (bars_credit, credit, None)):
        labels = [_pct(v / 100.0) if _finite(v) else "n/a" for v in values]
        texts = ax.bar_label(bars, labels=labels, padding=4, fontsize=16, fontweight="bold")
        if color is None:
            for text, c in zip(texts, (COLORS["small"], COLORS["large"]), strict=True):
                text.set_color(c)
        else:
            for text in texts:
                text.set_color(color)
    small_label = f"bottom {_pct(small_pop)}" if _finite(small_pop) else "bottom"
    large_label = f"top {_pct(1.0 - small_pop)}" if _finite(small_pop) else "top"
    ax.set_xticks(x, [f"Small audience\n({small_label})", f"Large audience\n({large_label})"])
    ax.tick_params(axis="x", length=0, labelsize=16)
    ax.set_ylim(0, 118)
    ax.set_yticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
    ax.set_title("Who brokers the valuable referrals?")
    ax.legend(
        handles=[bars_pop[0], bars_credit[0]],
        labels=["share of people", "share of valuable referrals"],
        loc="upper right",
    )


def _decile_panel(ax: Axes, deciles: pd.DataFrame) -> None:
    """Right panel: valuable credit per person (bars) and per tie of audience (line)."""
    table = deciles.sort_values("decile")
    dec = table["decile"].to_numpy(dtype=int)
    per_capita = table["credit_valuable_per_capita"].to_numpy(dtype=float) * 1000.0
    per_audience = table["credit_valuable_per_audience"].to_numpy(dtype=float) * 1000.0
    bars = ax.bar(
        dec, np.nan_to_num(per_capita), 0.72, color=COLORS["credit"],
        label="per 1,000 people (bars, left axis)",
    )  # fmt: skip
    ax.set_xticks(dec, [str(d) for d in dec])
    ax.set_xlabel("audience decile (1 = smallest, 10 = largest)")
    ax.set_ylabel("valuable referrals per 1,000 people", color=COLORS["credit"])
    ax.tick_params(axis="y", colors=COLORS["credit"])
    ax.set_ylim(0, max(1e-9, float(np.nanmax(per_capita, initial=0.0))) * 1.15)
    ax.set_title("Valuable referrals by audience decile")

    twin = ax.twinx()
    twin.spines["right"].set_visible(True)
    twin.spines["right"].set_color(COLORS["per_audience"])
    line = twin.plot(
        dec, per_audience, color=COLORS["per_audience"], marker="D", markeredgecolor="white",
        markeredgewidth=1.2, label="per 1,000 ties of audience (line, right axis)",
    )[0]  # fmt: skip
    twin.set_ylabel("per 1,000 ties of audience", color=COLORS["per_audience"])
    twin.tick_params(axis="y", colors=COLORS["per_audience"])
    top = float(np.nanmax(per_audience, initial=0.0)) if np.isfinite(per_audience).any() else 0.0
    twin.set_ylim(0, max(1e-9, top) * 1.15)
    ax.legend(handles=[bars, line], loc="upper left", fontsize=14)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.25)  # room for the legend
    twin.set_ylim(0, twin.get_ylim()[1] * 1.25)


def small_vs_large_figure(
    metrics: Mapping[str, Any], deciles: pd.DataFrame, title: str | None = None
) -> Figure:
    """Return the talk-ready two-panel figure of who brokers valuable referrals.

    Left: the share of valuable referrals brokered by small and by large
    people, each next to its share of the population. Right: valuable
    referrals per 1,000 people by audience decile (bars) and per 1,000 ties of
    audience (line, right axis: the cost-effectiveness view). The title states
    the finding from the numbers (see :func:`finding`) and a subtitle gives the
    per-audience and per-capita ratios. With rule ``chain`` read "referrals"
    as "credit for valuable connections".

    Runs without valuable credit (no closures, nan metrics) give a figure that
    says :data:`NO_VALUABLE` instead of failing; without a usable decile table
    only the left panel is drawn.

    Args:
        metrics: Headline numbers of a run (:func:`sim.measures.headline`).
        deciles: The ``deciles`` table (:func:`sim.measures.decile_table`).
        title: Title to use instead of the stated finding.

    Returns:
        The figure (16 x 7.5 inches), not yet saved.
    """
    with apply_style():
        fig = Figure(figsize=(16, 7.5), layout="constrained")
        share = _number(metrics, "small_share_valuable_brokered")
        usable = (
            deciles is not None
            and len(deciles) > 0
            and {"decile", "credit_valuable_per_capita", "credit_valuable_per_audience"}
            <= set(deciles.columns)
        )
        if not _finite(share):
            return _degenerate(fig, metrics, title)
        fig.get_layout_engine().set(rect=(0.0, 0.045, 1.0, 0.80), w_pad=0.15, wspace=0.08)
        headline = fig.suptitle(title or finding(metrics), x=0.015, y=0.985, ha="left", va="top")
        headline.set_in_layout(False)  # placed by hand above the layout rectangle
        subtitle = _subtitle(metrics)
        if subtitle:
            fig.text(
                0.015, 0.905, subtitle, ha="left", va="top", fontsize=BASE_FONT_PT + 1,
                color=COLORS["muted"],
            )  # fmt: skip
        footnote = _footnote(metrics)
        if footnote:
            fig.text(
                0.985, 0.012, f"n = {footnote}", ha="right", va="bottom", fontsize=14,
                color=COLORS["muted"],
            )  # fmt: skip
        if not usable:  # no decile table: the share panel alone
            _share_panel(fig.subplots(), metrics)
            return fig
        left, right = fig.subplots(1, 2, width_ratios=(1.0, 1.35))
        _share_panel(left, metrics)
        _decile_panel(right, deciles)
        return fig


# --- saving ----------------------------------------------------------------------------

_METADATA: dict[str, dict[str, Any]] = {
    "svg": {"Date": None},  # no timestamp: same run, same bytes
    "pdf": {"CreationDate": None},
}


class PlainLogFormatter(LogFormatter):
    """Tick labels of a logarithmic axis as plain numbers: 1, 10, 100, 1,000, 0.01.

    A room reads "1,000 ties" faster than 10\u00b3, and plain text needs no
    mathtext (whose parser costs about a second the first time a process uses it).
    Which ticks get labels is :class:`~matplotlib.ticker.LogFormatter`'s choice.
    """

    def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
        return f"{x:,.0f}" if x >= 1 else f"{x:.6g}"


def plain_log_ticks(axis: Axis) -> None:
    """Label a logarithmic ``axis`` (e.g. ``ax.xaxis``) with :class:`PlainLogFormatter`."""
    axis.set_major_formatter(PlainLogFormatter())
    axis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.4)))


def save_figure(
    fig: Figure, path_without_suffix: Path, formats: Sequence[str] = ("png", "svg")
) -> list[Path]:
    """Write a figure in each format, atomically.

    Each file is written to a temporary file in the target folder and then
    moved into place with :func:`os.replace`, so readers never see a partial
    figure. PNGs are written at :data:`PNG_DPI` (200) dots per inch.

    Args:
        fig: The figure.
        path_without_suffix: Target path without extension, e.g.
            ``out / "small_vs_large"``; the folder is created if needed.
        formats: File formats (extensions) to write, e.g. ``("png", "svg", "pdf")``.

    Returns:
        The paths written, in the order of ``formats``.
    """
    base = Path(path_without_suffix)
    base.parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for fmt in formats:
        fmt = fmt.lower().lstrip(".")
        final = base.parent / f"{base.name}.{fmt}"
        with atomic_path(final) as tmp, open(tmp, "wb") as handle, apply_style():
            fig.savefig(handle, format=fmt, dpi=PNG_DPI, metadata=_METADATA.get(fmt))
        written.append(final)
    return written
