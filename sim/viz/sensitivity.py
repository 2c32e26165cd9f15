"""The figure of a global sensitivity analysis (Morris screening or Sobol indices).

One panel per output: the factors that matter most as horizontal bars with 95%
intervals, largest on top, so a speaker can say "this is what the answer
depends on". Morris: ``mu*`` (mean absolute effect of moving a factor across
its range) with ``sigma`` (interactions and non-linearity) as a hollow marker;
Sobol: total index ``ST`` (bar) and first-order ``S1`` (marker). A dashed line
marks what seed noise alone would show (the analysis estimates it from the
replicates), so a factor below it is not distinguishable from noise.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.viz.plots import COLORS, Figure, apply_style, save_figure

#: Factors shown per panel (the rest are listed in the CSV).
TOP = 12


def _panel(ax: Any, part: pd.DataFrame, method: str, title: str, top: int,
           noise: float | None = None) -> None:
    key, second = ("mu_star", "sigma") if method == "morris" else ("ST", "S1")
    part = part.sort_values(key, ascending=False).head(top).iloc[::-1]
    y = np.arange(len(part))
    val = part[key].to_numpy(float)
    err = np.vstack([val - part[f"{key}_low"].to_numpy(float),
                     part[f"{key}_high"].to_numpy(float) - val]).clip(min=0)
    ax.barh(y, val, color=COLORS["credit"], alpha=0.85, height=0.65,
            label="mu* (mean |effect| over the range)" if method == "morris" else
            "total index ST")
    ax.errorbar(val, y, xerr=err, fmt="none", ecolor=COLORS["text"], elinewidth=1.5, capsize=3)
    sec = part[second].to_numpy(float)
    ax.plot(sec, y, "o", mfc="white", mec=COLORS["large"], mew=2,
            label="sigma (interactions)" if method == "morris" else "first-order S1")
    if noise is not None and np.isfinite(noise):
        ax.axvline(noise, color=COLORS["muted"], ls="--", lw=1.5,
                   label="seed noise alone" if method == "morris"
                   else "noise share of the variance")
    ax.set_yticks(y, [str(f) for f in part["factor"]], fontsize=12)
    ax.set_title(title, fontsize=15)
    ax.axvline(0, color=COLORS["muted"], lw=1)
    ax.set_xlabel("change of the output across the factor's range" if method == "morris"
                  else "share of the output's variance", fontsize=13)


def sensitivity_figure(table: pd.DataFrame, outputs: Mapping[str, str], path: Path,
                       about: Mapping[str, Any] | None = None, top: int = TOP) -> list[Path]:
    """Draw and save (PNG) the indices of every output side by side.

    Args:
        table: Indices, one row per (``output``, ``factor``) with ``method`` and the
            index columns of :mod:`experiments.sensitivity` (``mu_star``, ``sigma``
            with ``_low``/``_high``; or ``ST``, ``S1`` with intervals).
        outputs: Output column -> words for the panel title.
        path: Target without suffix.
        about: Design description (method, rows, runs) for the footnote, the
            noise level of each output (``noise_mu_star_<output>`` or
            ``noise_share_<output>``), drawn as a dashed line, and ``around`` (the
            experiment file the design ran on top of), named in the footnote.
        top: Factors shown per panel.

    Returns:
        The files written.
    """
    method = str(table["method"].iloc[0])
    names = [o for o in outputs if o in set(table["output"])]
    with apply_style():
        fig = Figure(figsize=(15, 7.5), layout="constrained")
        axes = fig.subplots(1, len(names), squeeze=False)[0]
        for ax, out in zip(axes, names, strict=True):
            key = f"noise_{'mu_star' if method == 'morris' else 'share'}_{out}"
            noise = (about or {}).get(key)
            _panel(ax, table[table["output"] == out], method, outputs[out], top,
                   None if noise is None else float(noise))
        what = ("Morris screening: what moves the answer" if method == "morris"
                else "Sobol indices: what explains the answer's variance")
        fig.suptitle(what, x=0.01, ha="left")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside upper right", ncols=2, fontsize=12)
        if about:
            # the point the indices belong to (its calibrated parameters held there)
            around = (f"around experiment={about['around']} (its calibrated values held); "
                      if about.get("around") else "")
            fig.supxlabel(f"{around}{about.get('rows')} design points x "
                          f"{about.get('replicates_min')} seeds = {about.get('runs')} runs; "
                          "seeds averaged per point; whiskers: 95% bootstrap intervals",
                          fontsize=11, color=COLORS["muted"], x=0.01, ha="left")
        return save_figure(fig, path, formats=("png",))
