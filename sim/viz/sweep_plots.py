"""Talk-ready figures of a sweep: functions of the sweep's tidy tables.

Each ``*_data`` function computes exactly the numbers a figure draws (a tidy
table, saved next to the figure as CSV so a speaker can quote them), and the
matching ``*_figure`` function draws that table and nothing else. Style,
colours and saving come from :mod:`sim.viz.plots`.

Titles state a finding only where the 95% bootstrap intervals support it
(:func:`sim.measures.excludes`: the interval, from at least
:data:`CLAIM_MIN_RUNS` runs, lies wholly on one side of the value of "no
difference"); otherwise they name what is drawn and leave the
reading to the speaker. The ``*_title`` functions compute those titles from
the same tables, so tests can check each claim against the numbers. Figures
that show one setting of a sweep (per capita, Lorenz, story) say which
(:func:`representative_runs` picks the middle swept value in numeric order).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.text import Text

from sim import measures
from sim.viz.network import place_labels
from sim.viz.plots import COLORS, OKABE_ITO, apply_style, plain_log_ticks

SHARE = "small_share_valuable_brokered"
POPULATION = "small_population_share"
SERIES = [OKABE_ITO[c] for c in ("blue", "vermillion", "bluish_green", "reddish_purple",
                                 "orange", "sky_blue", "black")]
FEW_PEOPLE = 30
"""Audience bins with fewer people than this (over the runs pooled) are drawn hollow."""
CLAIM_MIN_RUNS = 3
"""Fewest runs behind an interval for a title to state a finding from it."""
NOTE = {"fontsize": 14, "fontweight": "normal", "color": COLORS["muted"], "loc": "left"}


def _label(param: str) -> str:
    """``people.budget_mean`` -> ``budget mean``."""
    return param.rsplit(".", 1)[-1].replace("_", " ")


def _fmt(value: Any) -> str:
    """A swept value for a label: ``5.0 -> "5"``, text as is."""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    return str(value)


def ordered_values(values: pd.Series | Sequence[Any]) -> list:
    """The distinct values of a swept parameter in their natural order.

    Numbers (or text that all reads as numbers: ``"2", "5", "10"``) sort by
    value, so 2 < 5 < 10; anything else sorts as text.
    """
    uniq = [v for v in pd.unique(pd.Series(values)) if not pd.isna(v)]
    numbers = pd.to_numeric(pd.Series(uniq, dtype=object), errors="coerce")
    if len(uniq) and numbers.notna().all():
        return [v for _, v in sorted(zip(numbers.tolist(), uniq, strict=True),
                                     key=lambda pair: pair[0])]
    return sorted(uniq, key=str)



def representative_runs(summary: pd.DataFrame,
                        params: Sequence[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The ok referral runs at the middle value of every swept parameter.

    The middle is taken in numeric order (:func:`ordered_values`): budgets 2,
    5, 10 give 5; with an even number of values, the upper of the two middle
    ones.

    Args:
        summary: One row per run (``status``, ``mode``, the swept parameters).
        params: The swept parameters (other than the seed).

    Returns:
        ``(runs, setting)``: the chosen rows and ``{parameter: value}``.
    """
    ok = summary[summary["status"] == "ok"]
    if "mode" in ok:
        ok = ok[ok["mode"] == "referral"]
    setting: dict[str, Any] = {}
    for p in params:
        values = ordered_values(ok[p])
        if values:
            setting[p] = values[len(values) // 2]
            ok = ok[ok[p] == setting[p]]
    return ok, setting


def setting_text(setting: Mapping[str, Any], n_runs: int | None = None) -> str:
    """``{"people.budget_mean": 5}`` -> ``"shown: budget mean = 5 (the middle swept value)"``."""
    if not setting:
        text = "shown: all runs"
    else:
        values = ", ".join(f"{_label(p)} = {_fmt(v)}" for p, v in setting.items())
        middle = "value" if len(setting) == 1 else "values"
        text = f"shown: {values} (the middle swept {middle})"
    if n_runs is not None:
        text += f", {n_runs} run{'s' if n_runs != 1 else ''} pooled"
    return text


def wrap_title(text: str, width: int = 76) -> str:
    """Wrap each line of a title at ``width`` characters (titles are 18-19 pt bold)."""
    return "\n".join(textwrap.fill(line, width) for line in text.split("\n"))


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _population(data: pd.DataFrame, column: str) -> float:
    values = pd.to_numeric(data[column], errors="coerce").to_numpy(np.float64)
    return float(np.nanmean(values)) if np.isfinite(values).any() else math.nan


def claimable(data: pd.DataFrame, prefix: str = "") -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` of each row's interval, nan where fewer than :data:`CLAIM_MIN_RUNS` runs.

    Args:
        data: Rows with columns ``{prefix}ci_low``, ``{prefix}ci_high`` and
            ``{prefix}n_runs``.
        prefix: Column prefix, e.g. ``"small_share_valuable_brokered_"``.
    """
    low = pd.to_numeric(data[f"{prefix}ci_low"], errors="coerce").to_numpy(np.float64)
    high = pd.to_numeric(data[f"{prefix}ci_high"], errors="coerce").to_numpy(np.float64)
    runs = pd.to_numeric(data[f"{prefix}n_runs"], errors="coerce").to_numpy(np.float64)
    few = ~(runs >= CLAIM_MIN_RUNS)
    return np.where(few, np.nan, low), np.where(few, np.nan, high)


def _against_population(low: np.ndarray, high: np.ndarray, pop: float) -> int:
    """+1 if every interval lies above ``pop``, -1 if every one below, else 0."""
    sides = [measures.excludes((lo, hi), pop) for lo, hi in zip(low, high, strict=True)]
    if sides and all(s == 1 for s in sides):
        return 1
    if sides and all(s == -1 for s in sides):
        return -1
    return 0


# --- (a) share of valuable brokerage by small people across a swept parameter --------


def share_data(groups: pd.DataFrame, x: str, hue: str | None = None) -> pd.DataFrame:
    """Rows of ``groups`` (from :func:`sim.measures.group_summary`) the share figure draws."""
    cols = [x] + ([hue] if hue else [])
    keep = groups[groups["metric"].isin([SHARE, POPULATION])]
    stats = ["mean", "ci_low", "ci_high", "n_runs"]
    table = keep.pivot_table(index=cols, columns="metric", values=stats, aggfunc="first",
                             dropna=False)
    table.columns = [f"{metric}_{stat}" for stat, metric in table.columns]
    # A statistic with no value in any group (no interval from single runs) is
    # dropped by pivot_table; the figure still needs its column (all NaN).
    wanted = [f"{metric}_{stat}" for metric in (SHARE, POPULATION) for stat in stats]
    out = table.reindex(columns=wanted).reset_index()
    order = {c: {v: i for i, v in enumerate(ordered_values(out[c]))} for c in cols}
    keys = [out[c].map(order[c]) for c in cols]
    out = out.assign(**{f"_k{i}": k for i, k in enumerate(keys)})
    out = out.sort_values([f"_k{i}" for i in range(len(cols))]).drop(
        columns=[f"_k{i}" for i in range(len(cols))])
    return out.reset_index(drop=True)


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def share_title(data: pd.DataFrame, x: str, hue: str | None = None) -> str:
    """The share figure's title: a finding only where the intervals support it.

    * Every setting's interval below (above) the small people's share of the
      population: "... broker fewer (more) valuable referrals than their share
      of people (90%) in every setting".
    * One line over a numeric ``x`` whose first and last intervals do not
      overlap: "... their share rises (falls) from A% to B% as x goes from a to b".
    * Otherwise a neutral title naming what is drawn.
    """
    low, high = claimable(data, f"{SHARE}_")
    pop = _population(data, f"{POPULATION}_mean")
    parts = []
    side = _against_population(low, high, pop) if math.isfinite(pop) else 0
    if side:
        parts.append(f"Small-audience people broker {'more' if side > 0 else 'fewer'} valuable "
                     f"referrals than their share of people ({_pct(pop)}) in every setting")
    if hue is None and _is_numeric(data[x]) and len(data) >= 2:
        first, last = data.iloc[0], data.iloc[-1]
        lo_first, hi_first, lo_last, hi_last = low[0], high[0], low[-1], high[-1]
        if lo_last > hi_first or hi_last < lo_first:
            word = "rises" if lo_last > hi_first else "falls"
            trend = (f"their share {word} from {_pct(first[f'{SHARE}_mean'])} to "
                     f"{_pct(last[f'{SHARE}_mean'])} as {_label(x)} goes from "
                     f"{_fmt(first[x])} to {_fmt(last[x])}")
            parts.append(trend if parts else "Small-audience people's " + trend[6:])
    if not parts:
        return f"Share of valuable referrals brokered by small-audience people, by {_label(x)}"
    return ";\n".join(parts)


def share_figure(data: pd.DataFrame, x: str, hue: str | None = None) -> Figure:
    """(a) Share of valuable referrals brokered by small people, with 95% intervals.

    A numeric ``x`` is drawn as lines with bands; categories (knockout
    targets, network names) as separate points with error bars, never joined
    by a line.
    """
    numeric = _is_numeric(data[x])
    xs_order = ordered_values(data[x])
    if x == "knockout.target" and "none" in xs_order:  # the baseline first
        xs_order = ["none"] + [v for v in xs_order if v != "none"]
    positions = {v: i for i, v in enumerate(xs_order)}
    hues = ordered_values(data[hue]) if hue else [None]
    with apply_style():
        fig = Figure(figsize=(12, 7.5), layout="constrained")
        ax = fig.subplots()
        for i, h in enumerate(hues):
            part = data if h is None else data[data[hue] == h]
            mean = 100 * part[f"{SHARE}_mean"].to_numpy(np.float64)
            low = 100 * part[f"{SHARE}_ci_low"].to_numpy(np.float64)
            high = 100 * part[f"{SHARE}_ci_high"].to_numpy(np.float64)
            color = SERIES[i % len(SERIES)]
            label = "small people's share" if h is None else f"{_label(hue)} = {_fmt(h)}"
            if numeric:
                xs = part[x].to_numpy(np.float64)
                ax.fill_between(xs, low, high, color=color, alpha=0.18, linewidth=0)
                ax.plot(xs, mean, "o-", color=color, label=label)
            else:
                shift = (i - (len(hues) - 1) / 2) * min(0.5 / max(len(hues), 1), 0.15)
                xs = part[x].map(positions).to_numpy(np.float64) + shift
                err = np.vstack([mean - low, high - mean])
                ax.errorbar(xs, mean, yerr=np.where(np.isfinite(err), err, 0).clip(min=0),
                            fmt="o", color=color, capsize=8, markersize=11, elinewidth=2.5,
                            label=label)
        pop = 100 * _population(data, f"{POPULATION}_mean")
        if math.isfinite(pop):
            ax.axhline(pop, color=COLORS["muted"], linestyle="--", linewidth=2)
            ax.annotate(f"their share of people: {pop:.0f}%", xy=(0.01, pop),
                        xycoords=("axes fraction", "data"), xytext=(0, 6),
                        textcoords="offset points", color=COLORS["muted"], fontsize=14)
        if not numeric:
            ax.set_xticks(list(positions.values()),
                          [KNOCKOUT_LABELS.get(str(v), _fmt(v)) if x == "knockout.target"
                           else _fmt(v) for v in positions])
            ax.set_xlim(-0.6, len(positions) - 0.4)
        ax.set_xlabel(_label(x))
        ax.set_ylabel("valuable referrals brokered by\nsmall-audience people (%)")
        ax.set_ylim(0, 100)
        ax.legend(loc="lower right")
        fig.suptitle(wrap_title(share_title(data, x, hue)), x=0.01, ha="left", fontsize=18)
        runs = pd.to_numeric(data[f"{SHARE}_n_runs"], errors="coerce")
        seeds = (f"{int(runs.min())}" if runs.min() == runs.max()
                 else f"{int(runs.min())}\u2013{int(runs.max())}") if runs.notna().any() else "?"
        ax.set_title(f"mean of {seeds} seeds per setting with 95% bootstrap intervals; dashed: "
                     "their share of people", **NOTE)
    return fig


# --- (b) per-capita brokerage against audience -----------------------------------------


def per_capita_data(bins: pd.DataFrame, n_boot: int = 2000) -> pd.DataFrame:
    """Across runs, mean valuable credit per person in each audience bin, with 95% CI.

    Args:
        bins: One row per run and bin (``run`` and the columns of
            :func:`sim.measures.audience_bins`).
        n_boot: Bootstrap resamples.

    Returns:
        One row per bin: ``bin_low``, ``bin_high``, ``runs``, ``people`` (over
        the runs), ``mean_audience``, ``per_capita`` (mean over runs) with
        ``ci_low`` / ``ci_high`` (:func:`sim.measures.bootstrap_interval` over
        runs) and ``ci_method``, and ``per_audience`` (per capita / mean audience).
    """
    rows = []
    for (low, high), part in bins.groupby(["bin_low", "bin_high"], sort=True):
        values = part["credit_valuable_per_capita"].to_numpy(np.float64)
        ci = measures.bootstrap_interval(values, n_boot=n_boot, rng=0)
        rows.append({"bin_low": low, "bin_high": high, "runs": int(values.size),
                     "people": int(part["people"].sum()),
                     "mean_audience": float(np.average(part["mean_audience"],
                                                       weights=part["people"])),
                     "per_capita": float(values.mean()), "ci_low": ci.low, "ci_high": ci.high,
                     "ci_method": ci.method})
    out = pd.DataFrame(rows)
    if len(out):
        out["per_audience"] = out["per_capita"] / out["mean_audience"]
    return out


RATIOS = ("per_capita_ratio_large_small", "per_audience_ratio_small_large")


def per_capita_claims(runs: pd.DataFrame, n_boot: int = 2000) -> pd.DataFrame:
    """The two small-versus-large ratios of the runs shown, with 95% intervals over runs.

    These (not two extreme audience bins, which hold few people) are what the
    per-capita title states: the class ratios of :func:`sim.measures.headline`.

    Args:
        runs: Summary rows of the runs shown (columns :data:`RATIOS`).
        n_boot: Bootstrap resamples.

    Returns:
        One row per ratio: ``metric``, ``n_runs`` (finite values), ``mean``,
        ``ci_low``, ``ci_high``, ``ci_method`` and ``side`` (+1 / -1: the
        interval lies above / below 1; 0: it does not exclude 1, or it comes
        from fewer than :data:`CLAIM_MIN_RUNS` runs).
    """
    rows = []
    for metric in RATIOS:
        values = (pd.to_numeric(runs[metric], errors="coerce").to_numpy(np.float64)
                  if metric in runs else np.zeros(0))
        values = values[np.isfinite(values)]
        ci = measures.bootstrap_interval(values, n_boot=n_boot, rng=0)
        rows.append({"metric": metric, "n_runs": int(values.size),
                     "mean": float(values.mean()) if values.size else math.nan,
                     "ci_low": ci.low, "ci_high": ci.high, "ci_method": ci.method,
                     "side": (measures.excludes((ci.low, ci.high), 1.0)
                              if values.size >= CLAIM_MIN_RUNS else 0)})
    return pd.DataFrame(rows)


def _ci(row: Mapping[str, Any]) -> str:
    if not (math.isfinite(row["ci_low"]) and math.isfinite(row["ci_high"])):
        return "no interval from fewer than 2 runs"
    text = f"95% CI {row['ci_low']:.2f}\u2013{row['ci_high']:.2f}"
    if row["n_runs"] < CLAIM_MIN_RUNS:
        text += f", only {row['n_runs']} runs"
    return text


def per_capita_title(claims: pd.DataFrame) -> str:
    """Title of the per-capita figure: a direction only where its interval excludes 1."""
    rows = {r["metric"]: r for r in claims.to_dict("records")}
    lines = []
    head = rows.get("per_capita_ratio_large_small")
    if head is not None and math.isfinite(head["mean"]):
        if head["side"] > 0:
            lines.append(f"Per person, large audiences broker {head['mean']:.1f}\u00d7 as many "
                         "valuable referrals")
        elif head["side"] < 0 and head["mean"] > 0:
            lines.append(f"Per person, small audiences broker {1 / head['mean']:.1f}\u00d7 as "
                         "many valuable referrals")
        elif head["side"] < 0:
            lines.append("Per person, large audiences brokered no valuable referrals "
                         f"({_ci(head)})")
        else:
            lines.append("Per person, no clear difference between large and small "
                         f"(ratio {head['mean']:.2f}, {_ci(head)})")
    tie = rows.get("per_audience_ratio_small_large")
    if tie is not None and math.isfinite(tie["mean"]):
        if tie["side"] > 0:
            lines.append(f"per tie of audience, small ones broker {tie['mean']:.1f}\u00d7 as many "
                         "as large ones")
        elif tie["side"] < 0:
            lines.append(f"per tie of audience, small ones broker only {tie['mean']:.2f}\u00d7 "
                         "as many")
        else:
            lines.append("per tie of audience, no clear difference "
                         f"(ratio {tie['mean']:.2f}, {_ci(tie)})")
    if not lines:
        return "Valuable referrals per person, by audience"
    return ";\n".join(lines)


def per_capita_figure(data: pd.DataFrame, claims: pd.DataFrame | None = None,
                      setting: str = "") -> Figure:
    """(b) Valuable referrals per person against audience (log bins), with 95% CIs.

    Args:
        data: From :func:`per_capita_data`.
        claims: From :func:`per_capita_claims` (the title's ratios); without
            it the title only names what is drawn.
        setting: Which setting is shown (:func:`setting_text`).
    """
    with apply_style():
        fig = Figure(figsize=(12, 7.5), layout="constrained")
        ax = fig.subplots()
        shown = data[data["per_capita"] > 0] if len(data) else data
        if len(shown):
            err = np.vstack([shown["per_capita"] - shown["ci_low"],
                             shown["ci_high"] - shown["per_capita"]])
            err = np.where(np.isfinite(err), err, 0).clip(min=0)
            ax.errorbar(shown["mean_audience"], shown["per_capita"], yerr=err, fmt="-",
                        color=COLORS["credit"], capsize=5, label="per person (95% CI)")
            few = shown["people"].to_numpy() < FEW_PEOPLE
            for mask, face in ((~few, COLORS["credit"]), (few, "white")):
                ax.plot(shown["mean_audience"][mask], shown["per_capita"][mask], "o",
                        color=COLORS["credit"], markerfacecolor=face, markeredgewidth=2)
            ax2 = ax.twinx()
            ax2.plot(shown["mean_audience"], shown["per_audience"], "s--",
                     color=COLORS["per_audience"], label="per tie of audience")
            ax2.set_yscale("log")
            plain_log_ticks(ax2.yaxis)
            ax2.set_ylabel("per tie of audience", color=COLORS["per_audience"])
            ax2.spines["right"].set_visible(True)
            ax.set_yscale("log")
            plain_log_ticks(ax.yaxis)
            handles = ax.get_legend_handles_labels()[0][:1] + ax2.get_legend_handles_labels()[0]
            # On the twin axes, so that no point of either curve is drawn over the legend.
            ax2.legend(handles, [h.get_label() for h in handles], loc="lower right")
            title = (per_capita_title(claims) if claims is not None
                     else "Valuable referrals per person, by audience")
            notes = [setting] if setting else []
            if few.any():
                notes.append(f"hollow: bins with fewer than {FEW_PEOPLE} people")
            ax.set_title("; ".join(notes), **NOTE)
        else:
            title = "No valuable referrals closed"
        ax.set_xscale("log")
        plain_log_ticks(ax.xaxis)
        ax.set_xlabel("audience (ties, logarithmic bins)")
        ax.set_ylabel("valuable referrals per person", color=COLORS["credit"])
        fig.suptitle(wrap_title(title), x=0.01, ha="left", fontsize=18)
    return fig


# --- (c) Lorenz curves ------------------------------------------------------------------


def lorenz_data(people: pd.DataFrame, points: int = 201) -> pd.DataFrame:
    """Lorenz curve of audience and concentration curve of valuable brokerage.

    People are ordered by audience (smallest first, ties by row) for both
    curves, so the gap between them shows whether brokerage follows audience.
    """
    grid = np.linspace(0, 1, points)
    order = np.lexsort((np.arange(len(people)), people["audience"].to_numpy()))
    pop = np.arange(len(people) + 1) / max(len(people), 1)
    out = {"population_share": grid}
    for name, col in (("audience", "audience"), ("credit", "credit_valuable")):
        values = people[col].to_numpy(np.float64)[order]
        total = values.sum()
        share = np.concatenate([[0.0], np.cumsum(values) / total]) if total > 0 else pop
        out[f"{name}_share"] = np.interp(grid, pop, share)
    return pd.DataFrame(out)


def lorenz_indices(people: pd.DataFrame) -> dict[str, float]:
    """The indices of the two curves :func:`lorenz_data` draws, in the same order.

    Returns:
        ``gini_audience`` (Gini index of audience: its Lorenz curve) and
        ``concentration_credit`` (concentration index of valuable brokerage over
        people ordered by audience: the brokerage curve drawn).
    """
    audience = people["audience"].to_numpy(np.float64)
    credit = people["credit_valuable"].to_numpy(np.float64)
    return {"gini_audience": measures.gini(audience),
            "concentration_credit": measures.concentration_index(credit, audience)}


def lorenz_figure(data: pd.DataFrame, gini_audience: float, concentration_credit: float,
                  setting: str = "") -> Figure:
    """(c) How concentrated audience and valuable brokerage are, people in audience order.

    Args:
        data: From :func:`lorenz_data`.
        gini_audience: Gini index of audience (the index of the audience curve).
        concentration_credit: Concentration index of valuable brokerage in
            audience order (the index of the brokerage curve drawn).
        setting: Which setting is shown (:func:`setting_text`).
    """
    with apply_style():
        fig = Figure(figsize=(10, 9), layout="constrained")
        ax = fig.subplots()
        ax.plot([0, 1], [0, 1], color=COLORS["population"], linestyle="--", label="equality")
        ax.plot(data["population_share"], data["audience_share"], color=COLORS["large"],
                label=f"audience (Gini {gini_audience:.2f})")
        ax.plot(data["population_share"], data["credit_share"], color=COLORS["small"],
                label="valuable referrals brokered\n(concentration index "
                      f"{concentration_credit:.2f})")
        ax.set_xlabel("share of people, smallest audience first")
        ax.set_ylabel("cumulative share")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.legend(loc="upper left")
        top_aud = 1 - float(np.interp(0.9, data["population_share"], data["audience_share"]))
        top_cred = 1 - float(np.interp(0.9, data["population_share"], data["credit_share"]))
        fig.suptitle(f"The 10% with the largest audiences hold {100 * top_aud:.0f}% of\n"
                     f"all ties and broker {100 * top_cred:.0f}% of valuable referrals",
                     x=0.02, ha="left", fontsize=19)
        ax.set_title((setting + "\n" if setting else "")
                     + "both curves: people in order of audience", **NOTE)
    return fig


# --- (d) heatmap --------------------------------------------------------------------------


def heatmap_data(groups: pd.DataFrame, x: str, y: str, metric: str = SHARE) -> pd.DataFrame:
    """Mean of ``metric`` over seeds for every (x, y) pair, with its 95% interval.

    Returns:
        Columns ``y``, ``x``, ``mean``, ``ci_low``, ``ci_high``, ``n_runs`` and,
        for the small share, ``population`` (small people's share of people).
    """
    part = groups[groups["metric"] == metric]
    out = part.groupby([y, x], sort=True)[["mean", "ci_low", "ci_high", "n_runs"]].first()
    if metric == SHARE:
        pop = groups[groups["metric"] == POPULATION].groupby([y, x], sort=True)["mean"].first()
        out["population"] = pop
    return out.reset_index()


def heatmap_title(data: pd.DataFrame, x: str, y: str, metric: str = SHARE) -> str:
    """The heatmap's title: a finding only where the intervals support it.

    For the small share: "below (above) their share of people in every cell"
    when every interval lies below (above) it, and "highest at ..., lowest at
    ..." when the highest cell's interval lies wholly above the lowest's.
    Otherwise the title names what is drawn.
    """
    name = (measures.METRIC[metric].label if metric in measures.METRIC
            else metric.replace("_", " "))
    neutral = f"{name[0].upper()}{name[1:]}, by {_label(x)} and {_label(y)}"
    low, high = claimable(data)
    finite = data.assign(ci_low=low, ci_high=high)
    finite = finite[np.isfinite(finite["mean"].to_numpy(np.float64))]
    if finite.empty:
        return neutral
    parts = []
    if metric == SHARE and "population" in finite:
        pop = _population(finite, "population")
        side = _against_population(finite["ci_low"].to_numpy(np.float64),
                                   finite["ci_high"].to_numpy(np.float64), pop)
        if side:
            parts.append(f"Small-audience people broker {'more' if side > 0 else 'fewer'} "
                         f"valuable referrals than their share of people ({_pct(pop)}) in every "
                         "cell")
    hi, lo = finite.loc[finite["mean"].idxmax()], finite.loc[finite["mean"].idxmin()]
    if hi["ci_low"] > lo["ci_high"]:
        def show(v: float) -> str:
            return _pct(v) if metric == SHARE else f"{v:.2g}"

        def where(r: pd.Series) -> str:
            return f"{_label(x)} {_fmt(r[x])}, {_label(y)} {_fmt(r[y])}"

        lead = "highest" if parts else f"{name[0].upper()}{name[1:]}: highest"
        parts.append(f"{lead} at {where(hi)} ({show(hi['mean'])}), lowest at {where(lo)} "
                     f"({show(lo['mean'])})")
    return ";\n".join(parts) if parts else neutral


def heatmap_figure(data: pd.DataFrame, x: str, y: str, metric: str = SHARE) -> Figure:
    """(d) A metric over two swept parameters (mean over seeds in each cell)."""
    table = data.pivot(index=y, columns=x, values="mean")
    table = table.reindex(index=ordered_values(table.index), columns=ordered_values(table.columns))
    with apply_style():
        fig = Figure(figsize=(11, 8.5), layout="constrained")
        ax = fig.subplots()
        values = 100 * table.to_numpy(np.float64) if metric == SHARE else table.to_numpy()
        im = ax.imshow(values, cmap="cividis", aspect="auto", origin="lower")
        for (r, c), v in np.ndenumerate(values):
            if math.isfinite(v):
                shade = im.norm(v) if im.norm.vmax != im.norm.vmin else 0.5
                ax.text(c, r, f"{v:.0f}%" if metric == SHARE else f"{v:.2g}", ha="center",
                        va="center", fontsize=15, color="white" if shade < 0.6 else "black")
        ax.set_xticks(range(table.shape[1]), [_fmt(v) for v in table.columns])
        ax.set_yticks(range(table.shape[0]), [_fmt(v) for v in table.index])
        ax.set_xlabel(_label(x))
        ax.set_ylabel(_label(y))
        bar = fig.colorbar(im, ax=ax)
        bar.set_label("% of valuable referrals by small people" if metric == SHARE
                      else metric.replace("_", " "))
        fig.suptitle(wrap_title(heatmap_title(data, x, y, metric), 70), x=0.01, ha="left",
                     fontsize=18)
        ax.set_title("mean over seeds in each cell; findings need non-overlapping 95% "
                     "bootstrap intervals", **NOTE)
    return fig


# --- (e) the story of one connection -----------------------------------------------------


def story_subgraph(u: np.ndarray, v: np.ndarray, w: np.ndarray, path: Sequence[int],
                   max_people: int = 120, seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    """The people around one referral chain: the chain plus a sample of their contacts.

    Returns:
        ``(people, edges)``: sorted person ids, and the ties among them
        (``u``, ``v``, ``strength``).
    """
    rng = np.random.default_rng(seed)
    chain = list(dict.fromkeys(int(p) for p in path))
    touching = np.isin(u, chain) | np.isin(v, chain)
    around = np.setdiff1d(np.unique(np.concatenate([u[touching], v[touching]])), chain)
    room = max(0, max_people - len(chain))
    if around.size > room:
        around = np.sort(rng.choice(around, room, replace=False))
    people = np.union1d(np.array(chain), around)
    inside = np.isin(u, people) & np.isin(v, people)
    edges = pd.DataFrame({"u": u[inside], "v": v[inside], "strength": w[inside]})
    return people, edges


STORY_ROLE_COLORS = {"seeker": OKABE_ITO["bluish_green"], "passed it on": OKABE_ITO["orange"],
                     "broker": OKABE_ITO["reddish_purple"], "provider": OKABE_ITO["sky_blue"]}
"""Label frame colours of the roles in the story figure (as in the animation)."""


def story_roles(closure: pd.Series | Mapping[str, Any]) -> dict[int, str]:
    """Who plays which role in one closure: seeker, those who passed it on, broker, provider."""
    path = [int(p) for p in closure["path"]]
    referral = closure["kind"] == "referral"
    roles = {path[0]: "seeker"}
    for p in path[1:-2 if referral else -1]:
        roles.setdefault(p, "passed it on")
    if referral and len(path) >= 3:
        roles[path[-2]] = "broker"
    roles[path[-1]] = "provider"
    return roles


def _declutter(fig: Figure, labels: list, radius: float, pad_px: float = 9.0) -> None:
    """Move labels (annotations) until their boxes overlap neither each other nor the page edge.

    :func:`sim.viz.network.place_labels` guesses text widths from character
    counts; here each label's rendered box is checked, and a label that
    collides tries 8 directions at 1, 1.6, 2.3 and 3 times ``radius`` (data
    units) around its person, keeping the first free spot (else the least bad).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # settles the layout: display positions are final from here on
    renderer = canvas.get_renderer()
    page = fig.bbox

    def box(label: Any) -> Any:  # the text and its frame, without the leader line
        label.update_positions(renderer)
        return Text.get_window_extent(label, renderer).padded(pad_px)

    def badness(b: Any, placed: list) -> float:
        outside = (max(0.0, page.x0 - b.x0) + max(0.0, b.x1 - page.x1)
                   + max(0.0, page.y0 - b.y0) + max(0.0, b.y1 - page.y1))
        return outside + sum(1000.0 for other in placed if b.overlaps(other))

    placed: list = []
    for label in labels:
        anchor = np.asarray(label.xy, np.float64)
        start = np.asarray(label.xyann, np.float64) - anchor
        spots = [start] + [scale * radius * np.array([math.cos(a), math.sin(a)])
                           for scale in (1.0, 1.6, 2.3, 3.0)
                           for a in np.arange(8) * math.pi / 4 + math.atan2(start[1], start[0])]
        best, best_bad = start, math.inf
        for offset in spots:
            label.xyann = tuple(anchor + offset)
            label.set_horizontalalignment("left" if offset[0] >= 0 else "right")
            bad = badness(box(label), placed)
            if bad < best_bad:
                best, best_bad = offset, bad
            if bad == 0:
                break
        label.xyann = tuple(anchor + best)
        label.set_horizontalalignment("left" if best[0] >= 0 else "right")
        placed.append(box(label))


def story_figure(people: np.ndarray, edges: pd.DataFrame, audience: np.ndarray,
                 closure: pd.Series, is_large: np.ndarray, seed: int = 0,
                 setting: str = "") -> Figure:
    """(e) One valuable referral: seeker, carriers, broker and provider on the network.

    Node size is audience, edge width tie strength; the chain is highlighted.
    Every role gets a label placed clear of the others and of the edges
    (:func:`sim.viz.network.place_labels`), joined to its person by a line.

    Args:
        people: Person ids drawn (:func:`story_subgraph`).
        edges: Ties among them (``u``, ``v``, ``strength``).
        audience: Audience of every person of the run.
        closure: The closure (a row of the ``closures`` table).
        is_large: Large-audience class of every person of the run.
        seed: Seed of the layout.
        setting: Which run and setting is shown, for the note under the title.
    """
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(int(p) for p in people)
    graph.add_weighted_edges_from(edges[["u", "v", "strength"]].itertuples(index=False))
    pos = nx.spring_layout(graph, seed=seed, weight="weight", iterations=200)
    path = [int(p) for p in closure["path"]]
    roles = story_roles(closure)
    with apply_style():
        fig = Figure(figsize=(13, 9.5), layout="constrained")
        ax = fig.subplots()
        segs = [(pos[a], pos[b]) for a, b in zip(edges["u"], edges["v"], strict=True)]
        ax.add_collection(LineCollection(segs, linewidths=0.4 + 3 * edges["strength"],
                                         colors="#C8C8C8", zorder=1))
        chain = [(pos[a], pos[b]) for a, b in zip(path, path[1:], strict=False)]
        ax.add_collection(LineCollection(chain, linewidths=5, colors=OKABE_ITO["bluish_green"],
                                         zorder=2))
        xy = np.array([pos[int(p)] for p in people])
        sizes = 20 + 60 * np.sqrt(audience[people])
        colors = np.where(is_large[people], COLORS["large"], COLORS["small"])
        ax.scatter(xy[:, 0], xy[:, 1], s=sizes, c=colors, alpha=0.75, edgecolors="white",
                   zorder=3)
        ax.set_axis_off()
        ax.autoscale()
        ax.margins(0.12)  # room for the labels inside the axes
        xlim, ylim = ax.get_xlim(), ax.get_ylim()
        index = {int(p): i for i, p in enumerate(people)}
        texts = {p: f"{role} (audience {audience[p]})" for p, role in roles.items()}
        offsets = place_labels(xy, {index[p]: t for p, t in texts.items()}, xlim, ylim)
        labels = []
        for p, role in roles.items():
            x, y = pos[p]
            color = STORY_ROLE_COLORS[role]
            ax.scatter([x], [y], s=20 + 60 * math.sqrt(audience[p]), facecolors="none",
                       edgecolors=COLORS["text"], linewidths=2.5, zorder=4)
            offset = offsets[index[p]]
            label = ax.annotate(
                texts[p], (x, y), xytext=(x + offset[0], y + offset[1]), textcoords="data",
                ha="left" if offset[0] >= 0 else "right", va="center", fontsize=14,
                fontweight="bold", color=COLORS["text"], zorder=6, annotation_clip=False,
                bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": color,
                      "linewidth": 2.5},
                arrowprops={"arrowstyle": "-", "color": color, "linewidth": 2.0})
            label.set_in_layout(False)  # moving a label must not move the axes
            labels.append(label)
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
        broker = path[-2] if closure["kind"] == "referral" else path[0]
        who = "small" if not is_large[broker] else "large"
        fig.suptitle(f"A {who}-audience broker (audience {audience[broker]}) closes a\n"
                     f"valuable referral, {int(closure['hops'])} ties from the seeker",
                     x=0.01, ha="left", fontsize=20)
        legend = ("node size: audience \u00b7 line width: tie strength \u00b7 green: the "
                  "need's path \u00b7 blue: small, vermillion: large")
        ax.set_title((setting + "\n" if setting else "") + legend, **NOTE)
        _declutter(fig, labels, 0.09 * max(xlim[1] - xlim[0], ylim[1] - ylim[0]))
    return fig


# --- cascade mode across the threshold ---------------------------------------------------


def threshold_data(groups: pd.DataFrame, x: str = "cascade.transmissibility") -> pd.DataFrame:
    """Large-cascade share and reach, with theory, for every transmissibility."""
    metrics = ["large_cascade_share", "large_cascade_reach_fraction", "mean_reach_fraction",
               "theory_giant_fraction"]
    part = groups[groups["metric"].isin(metrics)]
    table = part.pivot_table(index=x, columns="metric", values=["mean", "ci_low", "ci_high"],
                             aggfunc="first")
    table.columns = [f"{metric}_{stat}" for stat, metric in table.columns]
    return table.reset_index().sort_values(x).reset_index(drop=True)


def threshold_figure(data: pd.DataFrame, x: str = "cascade.transmissibility") -> Figure:
    """Cascade mode against bond-percolation theory across the threshold."""
    with apply_style():
        fig = Figure(figsize=(12, 7), layout="constrained")
        ax = fig.subplots()
        xs = data[x].to_numpy(np.float64)
        ax.plot(xs, data["theory_giant_fraction_mean"], "-", color=COLORS["muted"],
                label="theory: giant share S")
        for metric, color, label in (
                ("large_cascade_share", COLORS["small"], "share of cascades that are large"),
                ("large_cascade_reach_fraction", COLORS["large"],
                 "reach of a large cascade / people")):
            mean = data[f"{metric}_mean"].to_numpy(np.float64)
            ax.fill_between(xs, data[f"{metric}_ci_low"], data[f"{metric}_ci_high"],
                            color=color, alpha=0.2, linewidth=0)
            ax.plot(xs, mean, "o", color=color, label=label)
        ax.set_xlabel("transmissibility T")
        ax.set_ylabel("share")
        ax.set_ylim(-0.02, 1.02)
        ax.legend(loc="lower right")
        fig.suptitle("Cascade mode follows bond-percolation theory across the threshold",
                     x=0.01, ha="left", fontsize=19)
    return fig


# --- knockout ---------------------------------------------------------------------------

KNOCKOUT_LABELS = {"large": "the k largest", "small_random": "k random small",
                   "small_audience": "small, same total audience", "none": "nobody"}


def knockout_data(groups_ko: pd.DataFrame,
                  removed: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Mean drop in valuable closures per knockout target, without the ``none`` baseline.

    Args:
        groups_ko: ``knockout_groups.csv`` (:func:`sim.measures.group_summary` of the drops).
        removed: Mean number of people each target removed (``n_removed``), if known:
            ``small_audience`` removes as many people as it takes to match the
            audience of the ``k`` largest.

    Returns:
        ``knockout.target``, ``n_runs``, ``mean``, ``ci_low``, ``ci_high`` and
        ``people_removed`` (nan where unknown).
    """
    part = groups_ko[(groups_ko["metric"] == "valuable_drop")
                     & (groups_ko["knockout.target"] != "none")]
    out = part[["knockout.target", "n_runs", "mean", "ci_low", "ci_high"]].reset_index(drop=True)
    out["people_removed"] = [float((removed or {}).get(str(t), math.nan))
                             for t in out["knockout.target"]]
    return out


def _knockout_label(target: str, k: int | None, removed: float) -> str:
    label = KNOCKOUT_LABELS.get(target, target)
    if k:
        label = label.replace("k ", f"{k} ")
    if target == "small_audience" and math.isfinite(removed):
        label += f"\n({removed:,.0f} people)"
    return label


def knockout_title(data: pd.DataFrame, k: int | None = None) -> str:
    """The knockout figure's title: a finding only where the intervals support it.

    * Every interval includes 0: no knockout measurably changes valuable
      connections (at this number of seeds).
    * The largest mean drop has an interval wholly above every other target's:
      removing that group costs the most.
    * Otherwise the title names what is drawn.
    """
    neutral = "Valuable connections lost when a group of people is removed"
    low, high = claimable(data)
    finite = data.assign(ci_low=low, ci_high=high)
    finite = finite[np.isfinite(finite["mean"].to_numpy(np.float64))]
    if finite.empty:
        return neutral
    if not np.isfinite(finite["ci_low"].to_numpy(np.float64)).all():
        return neutral  # some group has too few runs for an interval
    sides = [measures.excludes((lo, hi), 0.0) for lo, hi in
             zip(finite["ci_low"], finite["ci_high"], strict=True)]
    if all(s == 0 for s in sides):
        return ("Removing any of these groups: no loss of valuable connections is clear\n"
                "(every 95% interval includes zero)")
    top = finite.loc[finite["mean"].idxmax()]
    others = finite.drop(index=top.name)
    if len(others) and (top["ci_low"] > others["ci_high"]).all() and top["ci_low"] > 0:
        label = _knockout_label(top["knockout.target"], k, math.nan)
        return (f"Removing {label} costs the most valuable connections: "
                f"{100 * top['mean']:.0f}%")
    return neutral


def knockout_figure(data: pd.DataFrame, k: int | None = None) -> Figure:
    """Drop in valuable connections when a group of ``k`` people is removed (95% CIs).

    Each bar's value is written beside the top of its error bar, never across it.
    """
    with apply_style():
        fig = Figure(figsize=(12, 7.5), layout="constrained")
        ax = fig.subplots()
        removed = (data["people_removed"] if "people_removed" in data
                   else pd.Series(math.nan, index=data.index))
        labels = [_knockout_label(t, k, r) for t, r in zip(data["knockout.target"], removed,
                                                            strict=True)]
        colors = [COLORS["large"] if t == "large" else COLORS["small"]
                  for t in data["knockout.target"]]
        means = 100 * data["mean"].to_numpy(np.float64)
        low = 100 * data["ci_low"].to_numpy(np.float64)
        high = 100 * data["ci_high"].to_numpy(np.float64)
        err = np.vstack([means - low, high - means])
        err = np.where(np.isfinite(err), err, 0).clip(min=0)
        xs = np.arange(len(labels))
        ax.bar(xs, means, color=colors, width=0.6)
        ax.errorbar(xs, means, yerr=err, fmt="none", ecolor=COLORS["text"], capsize=10,
                    elinewidth=2)
        top = np.where(np.isfinite(high), np.maximum(high, means), means)
        span = float(np.nanmax(np.abs(np.concatenate([top, low, [1.0]]))))
        for i, m in enumerate(means):
            ax.annotate(f"{m:.0f}%", (xs[i], max(top[i], 0)), xytext=(0, 10),
                        textcoords="offset points", ha="center", va="bottom", fontsize=16,
                        fontweight="bold", color=COLORS["text"],
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"})
        ax.set_xticks(xs, labels)
        ax.set_xlim(-0.6, len(labels) - 0.4)
        finite_low = low[np.isfinite(low)]
        ax.set_ylim(min(0.0, float(finite_low.min()) * 1.2 if finite_low.size else 0.0),
                    float(np.nanmax(top, initial=0.0)) + 0.18 * span)
        ax.axhline(0, color=COLORS["muted"], linewidth=1)
        ax.set_ylabel("valuable connections lost (%)")
        ax.set_xlabel("people removed" + (f" (k = {k})" if k else ""))
        fig.suptitle(wrap_title(knockout_title(data, k)), x=0.01, ha="left", fontsize=18)
        runs = data["n_runs"].to_numpy() if "n_runs" in data else np.zeros(0)
        seeds = f"{int(runs.min())} seeds; " if runs.size else ""
        ax.set_title(f"drop against the same seed with nobody removed; {seeds}95% bootstrap "
                     "intervals", **NOTE)
    return fig
