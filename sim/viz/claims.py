"""The claim map figure: each essay claim under each decisive condition, with intervals.

One panel per claim, one row per condition (the calibrated point first, then the
contested rules flipped and the factors that stand out from seed noise in the
sensitivity analyses around that fit at the ends of their ranges). A
point is the number pooled over seeds, its bar the 95% interval; the dashed line is what the
essay says the number exceeds. Colour says the verdict: the claim holds (interval
above the line), fails (below) or is undecided (the interval crosses it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.viz.plots import COLORS, OKABE_ITO, _ensure_backend, apply_style

#: Colour of each verdict.
VERDICT_COLORS = {"holds": OKABE_ITO["bluish_green"], "fails": OKABE_ITO["vermillion"],
                  "undecided": COLORS["population"]}


def claim_map_figure(summary: pd.DataFrame, claims: Sequence[Any],
                     title: str = "When do the essay's claims hold?") -> Any:
    """Draw the claim map.

    Args:
        summary: :func:`experiments.claims.summarize` output: ``group``, ``condition``,
            ``claim``, ``value``, ``low``, ``high``, ``line``, ``verdict``.
        claims: The claims (``key``, ``label``), one panel each, in order.
        title: Figure title.

    Returns:
        The matplotlib figure.
    """
    _ensure_backend()
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    # Claims measured by the same number (one label) share a panel: the first one's
    # verdict colours it (dashed line), the others add their line (dotted).
    panels: dict[str, list[Any]] = {}
    for claim in claims:
        panels.setdefault(claim.label, []).append(claim)
    order = list(dict.fromkeys(summary["condition"]))
    groups = summary.drop_duplicates("condition").set_index("condition")["group"]
    y = np.arange(len(order))[::-1]
    with apply_style():
        fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels) + 3.5,
                                                          1.6 + 0.55 * len(order)),
                                 sharey=True, squeeze=False)
        for ax, (claim, *more) in zip(axes[0], panels.values(), strict=True):
            part = summary[summary["claim"] == claim.key].set_index("condition").loc[order]
            for yi, (_, r) in zip(y, part.iterrows(), strict=True):
                color = VERDICT_COLORS.get(r["verdict"], COLORS["muted"])
                if np.isfinite(r["low"]) and np.isfinite(r["high"]):
                    ax.plot([r["low"], r["high"]], [yi, yi], color=color, lw=3,
                            solid_capstyle="butt")
                ax.plot([r["value"]], [yi], "o", color=color, ms=9)
            line = float(np.nanmean(part["line"]))
            ax.axvline(line, color=COLORS["muted"], ls="--", lw=1.5)
            for extra in more:
                other = summary[summary["claim"] == extra.key]
                extra_line = float(np.nanmean(other["line"]))
                ax.axvline(extra_line, color=COLORS["muted"], ls=":", lw=1.5)
                if extra.line_label:
                    ax.text(extra_line, y[0] + 0.6, extra.line_label, ha="center",
                            va="bottom", fontsize=10, color=COLORS["muted"])
            if line == 1.0:  # a ratio: equal factors either way look equally far
                ax.set_xscale("log")
                ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
                ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
                ax.xaxis.set_minor_formatter(NullFormatter())
            if claim.line_label:
                ax.text(line, y[0] + 0.6, claim.line_label, ha="center", va="bottom",
                        fontsize=10, color=COLORS["muted"])
            ax.set_xlabel(claim.label, fontsize=14)
            ax.tick_params(axis="x", labelsize=12)
        ax0 = axes[0][0]
        ax0.set_yticks(y, list(order), fontsize=12)
        # Separate the row groups with faint lines.
        previous = None
        for yi, condition in zip(y, order, strict=True):
            if previous is not None and groups[condition] != previous:
                for ax in axes[0]:
                    ax.axhline(yi + 0.5, color="#DDDDDD", lw=1)
            previous = groups[condition]
        handles = [Line2D([0], [0], color=c, marker="o", lw=3, label=f"claim {v}")
                   for v, c in VERDICT_COLORS.items()]
        fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=12,
                   bbox_to_anchor=(0.5, 0.0))
        fig.suptitle(title, x=0.01, ha="left", fontsize=18)
        fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig
