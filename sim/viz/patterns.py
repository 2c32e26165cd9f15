"""Figures of the published patterns (:mod:`sim.patterns`), one per pattern.

* :func:`onnela_figure`: share of people in the largest component as ties are
  removed weakest first and strongest first, one panel per network;
* :func:`bakshy_figure`: mean cascade size and other people reached per
  follower against the audience of the cascade's seed, one line per
  transmissibility;
* :func:`real_networks_figure`: on each real network, small people's share of
  valuable referrals against their population share, and the per-follower
  ratio small over large.

Each takes the tidy tables of :mod:`sim.patterns` (or :mod:`experiments.patterns`)
and returns a :class:`matplotlib.figure.Figure` in the project's style
(:func:`sim.viz.plots.apply_style`); :func:`save_png` writes it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from sim.io import atomic_path
from sim.viz.plots import COLORS, Figure, apply_style, plain_log_ticks

#: Dots per inch of the validation report's PNGs (slide-sized, small files).
REPORT_DPI = 150

ORDER_STYLE = {
    "weak_first": ("weakest ties removed first", COLORS["large"], "-"),
    "strong_first": ("strongest ties removed first", COLORS["small"], "--"),
}


def save_png(fig: Figure, path: Path, dpi: int = REPORT_DPI) -> Path:
    """Write ``fig`` as a PNG at ``path`` (atomically: readers never see half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle, apply_style():
        fig.savefig(handle, format="png", dpi=dpi, metadata={"Software": None})
    return path


def onnela_figure(curves: Mapping[str, pd.DataFrame], at: float = 0.8) -> Figure:
    """Largest component against share of ties removed, both orders, one panel per network.

    Args:
        curves: Panel title -> output of :func:`sim.patterns.onnela_curves`
            (several seeds: the line is their mean, the band their range).
        at: Share removed marked by a dotted line (the comparison of the text).

    Returns:
        The figure.
    """
    n = len(curves)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    with apply_style():
        fig = Figure(figsize=(5.2 * cols, 4.6 * rows + 0.9), layout="constrained")
        axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
        for ax, (title, df) in zip(axes.flat, curves.items(), strict=False):
            for order, (label, color, dash) in ORDER_STYLE.items():
                part = df[df["order"] == order]
                g = part.groupby("fraction_removed")["lcc_fraction"]
                f = np.asarray(g.mean().index, float)
                ax.fill_between(f, g.min().to_numpy(), g.max().to_numpy(), color=color,
                                alpha=0.2, linewidth=0)
                ax.plot(f, g.mean().to_numpy(), color=color, linestyle=dash, label=label)
            ax.axvline(at, color=COLORS["muted"], linestyle=":", linewidth=1.5)
            seeds = df["seed"].nunique()
            ax.set_title(f"{title}", fontsize=15)
            ax.text(0.03, 0.05, f"{seeds} seed{'s' if seeds != 1 else ''}",
                    transform=ax.transAxes, fontsize=12, color=COLORS["muted"])
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1.02)
            ax.set_xlabel("share of ties removed")
        for ax in axes[:, 0]:
            ax.set_ylabel("share of people in\nlargest component")
        for ax in list(axes.flat)[n:]:
            ax.set_visible(False)
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=2)
        fig.suptitle("Removing weak ties first breaks a network apart sooner (Onnela et al. 2007)")
    return fig


def bakshy_figure(summary: pd.DataFrame) -> Figure:
    """Cascade size and others reached per follower against the seed's audience.

    Args:
        summary: Rows of :func:`sim.patterns.bin_summary` with a column
            ``transmissibility`` (one line each).

    Returns:
        The figure (log-log axes; bars are 95% intervals over seeds).
    """
    palette = [COLORS["small"], COLORS["per_audience"], COLORS["large"], "#009E73", "#CC79A7"]
    with apply_style():
        fig = Figure(figsize=(13, 5.6), layout="constrained")
        left, right = fig.subplots(1, 2)
        for color, (t, part) in zip(palette, summary.groupby("transmissibility", sort=True),
                                    strict=False):
            x = part["mean_audience"].to_numpy(float)
            for ax, name in ((left, "reach"), (right, "others_per_follower")):
                y = part[name].to_numpy(float)
                low = np.clip(y - part[f"{name}_low"].to_numpy(float), 0, None)
                high = np.clip(part[f"{name}_high"].to_numpy(float) - y, 0, None)
                ax.errorbar(x, y, yerr=np.nan_to_num([low, high]), color=color, marker="o",
                            capsize=3, label=f"T = {t:g}")
        for ax in (left, right):
            ax.set_xscale("log")
            ax.set_yscale("log")
            plain_log_ticks(ax.xaxis)
            plain_log_ticks(ax.yaxis)
            ax.set_xlabel("audience of the cascade's seed (followers)")
        left.set_ylabel("mean cascade size (people)")
        left.set_title("Larger audiences start larger cascades", fontsize=15)
        right.set_ylabel("other people reached per follower")
        right.set_title("... but reach fewer people per follower", fontsize=15)
        right.legend(title="transmissibility", fontsize=12, title_fontsize=12)
        fig.suptitle("Cascades by the audience of their seed (Bakshy et al. 2011)")
    return fig


def real_networks_figure(pooled: pd.DataFrame, population: Mapping[str, float],
                         labels: Mapping[str, str] | None = None) -> Figure:
    """Small people's share of valuable referrals and the per-follower ratio, per network.

    Args:
        pooled: Rows of :func:`sim.patterns.pooled_comparison` with a column
            ``network``.
        population: Network -> small people's share of the population.
        labels: Network -> label on the axis (default the network's name).

    Returns:
        The figure (bars are 95% intervals over seeds).
    """
    networks = list(dict.fromkeys(pooled["network"]))
    y = np.arange(len(networks))[::-1]
    with apply_style():
        fig = Figure(figsize=(14, 2.4 + 1.3 * len(networks)), layout="constrained")
        left, right = fig.subplots(1, 2, sharey=True)
        for i, name in zip(y, networks, strict=True):
            rows = pooled[pooled["network"] == name].set_index("metric")
            share = rows.loc["small_share_valuable_brokered"]
            ratio = rows.loc["per_audience_ratio_small_large"]
            left.barh(i + 0.18, population[name], height=0.34, color=COLORS["population"],
                      label="share of people" if i == y[0] else None)
            left.barh(i - 0.18, share["pooled"], height=0.34, color=COLORS["small"],
                      xerr=[[max(share["pooled"] - share["ci_low"], 0)],
                            [max(share["ci_high"] - share["pooled"], 0)]], capsize=4,
                      label="share of valuable referrals" if i == y[0] else None)
            if math.isfinite(ratio["pooled"]):
                right.errorbar(ratio["pooled"], i,
                               xerr=[[max(ratio["pooled"] - ratio["ci_low"], 0)],
                                     [max(ratio["ci_high"] - ratio["pooled"], 0)]],
                               color=COLORS["per_audience"], marker="o", capsize=4,
                               markersize=10)
        left.set_yticks(y, [(labels or {}).get(name, name) for name in networks])
        left.set_xlim(0, 1)
        left.set_xlabel("small-audience people")
        fig.legend(loc="outside lower center", ncols=2)
        left.set_title("Share of valuable referrals", fontsize=15)
        right.axvline(1.0, color=COLORS["muted"], linestyle=":", linewidth=1.5)
        right.set_xscale("log")
        plain_log_ticks(right.xaxis)
        right.set_xlabel("valuable referrals per follower, small over large")
        right.set_title("Per follower", fontsize=15)
        fig.suptitle("Who brokers valuable referrals on real networks")
    return fig


__all__ = ["REPORT_DPI", "bakshy_figure", "onnela_figure", "real_networks_figure", "save_png"]
