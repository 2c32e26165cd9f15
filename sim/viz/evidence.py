"""The model against Granovetter's (1973) tables: bars of data and model with intervals.

:func:`granovetter_figure` draws the two tables of :mod:`sim.evidence` side by side:
the tie over which help came (often / occasionally / rarely) and the number of
intermediaries (0 / 1 / 2 / 3+). Granovetter's shares carry 95% Wilson intervals of
their counts; each model configuration's bars are means over seeds with 95% bootstrap
intervals (:func:`sim.measures.bootstrap_interval`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from sim import evidence as ev
from sim.measures import bootstrap_interval
from sim.viz.plots import COLORS, OKABE_ITO, apply_style

#: Bar colours: data grey, the defaults orange, calibrated blue, further configs after.
BAR_COLORS = {"Granovetter 1973": COLORS["population"], "before": OKABE_ITO["orange"],
              "after": OKABE_ITO["blue"], "model": OKABE_ITO["blue"],
              "rules_at_defaults": OKABE_ITO["bluish_green"]}
OTHER_COLORS = (OKABE_ITO["reddish_purple"], OKABE_ITO["sky_blue"], OKABE_ITO["vermillion"])
LABELS = {"before": "model, defaults", "after": "model, calibrated", "model": "model",
          "rules_at_defaults": "model, calibrated, contested rules at defaults"}


def wilson(counts: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of each category's share (``counts`` of one table)."""
    c = np.asarray(counts, dtype=np.float64)
    n = c.sum()
    z = stats.norm.ppf(0.5 + level / 2)
    p = c / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _model_bars(rows: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    mean = rows[columns].mean().to_numpy(np.float64)
    err = np.zeros((2, len(columns)))
    for j, col in enumerate(columns):
        ci = bootstrap_interval(rows[col].to_numpy(np.float64))
        if np.isfinite(ci.low):
            err[:, j] = [mean[j] - ci.low, ci.high - mean[j]]
    return mean, np.clip(err, 0, None)


def granovetter_figure(per_seed: pd.DataFrame, mapping: str = "village") -> Figure:
    """Model vs Granovetter bars with intervals, one panel per table.

    Args:
        per_seed: Rows of :func:`sim.evidence.measure`, with a ``config`` column naming
            each configuration (``before`` = defaults, ``after`` = calibrated,
            ``rules_at_defaults``, or any name: one bar each, in order of appearance);
            without it, one model.
        mapping: Which mapping's rows to draw.

    Returns:
        The figure (two panels and a legend below, 13 x 6.5 inches).
    """
    rows = per_seed[per_seed["mapping"] == mapping]
    if "config" not in rows.columns:
        rows = rows.assign(config="model")
    configs = list(dict.fromkeys(rows["config"]))  # in order of appearance
    others = iter(OTHER_COLORS * len(configs))
    colors = {c: BAR_COLORS.get(c) or next(others) for c in configs}
    panels = [
        ("The tie help came over", ev.TIE_CLASSES, [f"share_{c}" for c in ev.TIE_CLASSES],
         ev.GRANOVETTER_TIE, "how often the contact was seen (data N = 54)"),
        ("Intermediaries on the chain", ev.CHAIN_CLASSES,
         [f"share_inter_{c.replace('+', 'plus')}" for c in ev.CHAIN_CLASSES],
         ev.GRANOVETTER_CHAIN, "intermediaries (data N = 64)"),
    ]
    with apply_style():
        fig = Figure(figsize=(13, 6.5), layout="constrained")
        axes = fig.subplots(1, 2)
        n_bars = 1 + len(configs)
        width = 0.84 / n_bars
        for ax, (title, cats, cols, counts, xlabel) in zip(axes, panels, strict=True):
            x = np.arange(len(cats))
            share = counts / counts.sum()
            low, high = wilson(counts)
            ax.bar(x - 0.4 + width / 2, share, width, color=BAR_COLORS["Granovetter 1973"],
                   yerr=[share - low, high - share], capsize=4,
                   label="Granovetter 1973")
            for k, config in enumerate(configs, start=1):
                sub = rows[rows["config"] == config]
                mean, err = _model_bars(sub, cols)
                ax.bar(x - 0.4 + width * (k + 0.5), mean, width, color=colors[config],
                       yerr=err, capsize=4,
                       label=f"{LABELS.get(config, config)} ({sub['seed'].nunique()} seeds)")
            ax.set_xticks(x, list(cats))
            ax.set_xlabel(xlabel)
            ax.set_ylabel("share")
            ax.set_ylim(0, 1)
            ax.set_title(title)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=2)
        fig.suptitle(f"Model vs data (95% intervals; tie classes by rank, {mapping} mapping)",
                     fontsize=16)
    return fig
