"""Talk-ready figures of a sweep: functions of the sweep's tidy tables.

Each ``*_data`` function computes exactly the numbers a figure draws (a tidy
table, saved next to the figure as CSV so a speaker can quote them), and the
matching ``*_figure`` function draws that table and nothing else. Style,
colours and saving come from :mod:`sim.viz.plots`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from sim import measures
from sim.viz.plots import COLORS, OKABE_ITO, apply_style, plain_log_ticks

SHARE = "small_share_valuable_brokered"
POPULATION = "small_population_share"
SERIES = [OKABE_ITO[c] for c in ("blue", "vermillion", "bluish_green", "reddish_purple",
                                 "orange", "sky_blue", "black")]


def _label(param: str) -> str:
    """``people.budget_mean`` -> ``budget mean``."""
    return param.rsplit(".", 1)[-1].replace("_", " ")


def _sorted_values(values: pd.Series) -> list:
    uniq = list(pd.unique(values))
    try:
        return sorted(uniq)
    except TypeError:
        return uniq


# --- (a) share of valuable brokerage by small people across a swept parameter --------


def share_data(groups: pd.DataFrame, x: str, hue: str | None = None) -> pd.DataFrame:
    """Rows of ``groups`` (from :func:`sim.measures.group_summary`) the share figure draws."""
    cols = [x] + ([hue] if hue else [])
    keep = groups[groups["metric"].isin([SHARE, POPULATION])]
    table = keep.pivot_table(index=cols, columns="metric",
                             values=["mean", "ci_low", "ci_high", "n_runs"], aggfunc="first")
    table.columns = [f"{metric}_{stat}" for stat, metric in table.columns]
    return table.reset_index().sort_values(cols).reset_index(drop=True)


def share_figure(data: pd.DataFrame, x: str, hue: str | None = None) -> Figure:
    """(a) Share of valuable connections brokered by small people, with 95% CI bands."""
    with apply_style():
        fig = Figure(figsize=(12, 7), layout="constrained")
        ax = fig.subplots()
        numeric = pd.api.types.is_numeric_dtype(data[x])
        positions = {v: i for i, v in enumerate(_sorted_values(data[x]))}
        hues = _sorted_values(data[hue]) if hue else [None]
        for i, h in enumerate(hues):
            part = data if h is None else data[data[hue] == h]
            xs = part[x].to_numpy() if numeric else part[x].map(positions).to_numpy()
            color = SERIES[i % len(SERIES)]
            label = "small people's share" if h is None else f"{_label(hue)} = {h}"
            ax.fill_between(xs, 100 * part[f"{SHARE}_ci_low"], 100 * part[f"{SHARE}_ci_high"],
                            color=color, alpha=0.18, linewidth=0)
            ax.plot(xs, 100 * part[f"{SHARE}_mean"], "o-", color=color, label=label)
        pop = 100 * float(data[f"{POPULATION}_mean"].mean())
        ax.axhline(pop, color=COLORS["muted"], linestyle="--", linewidth=2)
        ax.annotate(f"their share of people: {pop:.0f}%", xy=(0.01, pop), xycoords=("axes "
                    "fraction", "data"), xytext=(0, 6), textcoords="offset points",
                    color=COLORS["muted"], fontsize=14)
        if not numeric:
            ax.set_xticks(list(positions.values()), [str(v) for v in positions])
        ax.set_xlabel(_label(x))
        ax.set_ylabel("valuable referrals brokered by\nsmall-audience people (%)")
        ax.set_ylim(0, 100)
        ax.legend(loc="lower right")
        low = 100 * float(data[f"{SHARE}_mean"].min())
        high = 100 * float(data[f"{SHARE}_mean"].max())
        span = f"{low:.0f}%" if round(low) == round(high) else f"{low:.0f}–{high:.0f}%"
        fig.suptitle(f"Small-audience people broker {span} of valuable connections",
                     x=0.01, ha="left")
        ax.set_title(f"across {_label(x)}; mean of seeds with 95% bootstrap intervals",
                     fontsize=15, fontweight="normal", color=COLORS["muted"])
    return fig


# --- (b) per-capita brokerage against audience -----------------------------------------


def per_capita_data(bins: pd.DataFrame, n_boot: int = 2000) -> pd.DataFrame:
    """Across runs, mean valuable credit per person in each audience bin, with 95% CI.

    Args:
        bins: One row per run and bin (``run`` and the columns of
            :func:`sim.measures.audience_bins`).
        n_boot: Bootstrap resamples.
    """
    rows = []
    for (low, high), part in bins.groupby(["bin_low", "bin_high"], sort=True):
        values = part["credit_valuable_per_capita"].to_numpy(np.float64)
        ci = measures.bootstrap_ci(values, n_boot=n_boot, rng=0)
        rows.append({"bin_low": low, "bin_high": high, "runs": int(values.size),
                     "people": int(part["people"].sum()),
                     "mean_audience": float(np.average(part["mean_audience"],
                                                       weights=part["people"])),
                     "per_capita": float(values.mean()), "ci_low": ci[0], "ci_high": ci[1]})
    out = pd.DataFrame(rows)
    if len(out):
        out["per_audience"] = out["per_capita"] / out["mean_audience"]
    return out


def per_capita_figure(data: pd.DataFrame) -> Figure:
    """(b) Valuable referrals per person against audience (log bins), with 95% CIs."""
    with apply_style():
        fig = Figure(figsize=(12, 7), layout="constrained")
        ax = fig.subplots()
        shown = data[data["per_capita"] > 0]
        if len(shown):
            err = np.vstack([shown["per_capita"] - shown["ci_low"],
                             shown["ci_high"] - shown["per_capita"]]).clip(min=0)
            ax.errorbar(shown["mean_audience"], shown["per_capita"], yerr=err, fmt="o-",
                        color=COLORS["credit"], capsize=5, label="per person")
            ax2 = ax.twinx()
            ax2.plot(shown["mean_audience"], shown["per_audience"], "s--",
                     color=COLORS["per_audience"], label="per tie of audience")
            ax2.set_yscale("log")
            plain_log_ticks(ax2.yaxis)
            ax2.set_ylabel("per tie of audience", color=COLORS["per_audience"])
            ax2.spines["right"].set_visible(True)
            ax.set_yscale("log")
            plain_log_ticks(ax.yaxis)
            lo, hi = shown.iloc[0], shown.iloc[-1]
            ratio_head = hi["per_capita"] / lo["per_capita"]
            ratio_aud = lo["per_audience"] / hi["per_audience"]
            per_tie = (f"{ratio_aud:.1f}x more per tie of audience" if ratio_aud >= 1
                       else f"{1 / ratio_aud:.1f}x less per tie of audience")
            title = (f"Per person, the largest audiences broker {ratio_head:.0f}x more "
                     f"valuable referrals;\nthe smallest broker {per_tie}")
            handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
            ax.legend(handles, [h.get_label() for h in handles], loc="upper left")
        else:
            title = "No valuable referrals closed"
        ax.set_xscale("log")
        plain_log_ticks(ax.xaxis)
        ax.set_xlabel("audience (ties, logarithmic bins)")
        ax.set_ylabel("valuable referrals per person", color=COLORS["credit"])
        fig.suptitle(title, x=0.01, ha="left", fontsize=18)
    return fig


# --- (c) Lorenz curves ------------------------------------------------------------------


def lorenz_data(people: pd.DataFrame, points: int = 201) -> pd.DataFrame:
    """Lorenz curve of audience and concentration curve of valuable brokerage.

    People are ordered by audience (smallest first) for both curves, so the
    gap between them shows whether brokerage follows audience.
    """
    grid = np.linspace(0, 1, points)
    # Both curves order people by audience, smallest first: the audience curve is its
    # Lorenz curve, the credit curve the concentration curve of brokerage over audience.
    order = np.lexsort((np.arange(len(people)), people["audience"].to_numpy()))
    pop = np.arange(len(people) + 1) / max(len(people), 1)
    out = {"population_share": grid}
    for name, col in (("audience", "audience"), ("credit", "credit_valuable")):
        values = people[col].to_numpy(np.float64)[order]
        total = values.sum()
        share = np.concatenate([[0.0], np.cumsum(values) / total]) if total > 0 else pop
        out[f"{name}_share"] = np.interp(grid, pop, share)
    return pd.DataFrame(out)


def lorenz_figure(data: pd.DataFrame, gini_audience: float, gini_credit: float) -> Figure:
    """(c) Lorenz curves: how concentrated audience and brokerage are."""
    with apply_style():
        fig = Figure(figsize=(9, 8.5), layout="constrained")
        ax = fig.subplots()
        ax.plot([0, 1], [0, 1], color=COLORS["population"], linestyle="--", label="equality")
        ax.plot(data["population_share"], data["audience_share"], color=COLORS["large"],
                label=f"audience (Gini {gini_audience:.2f})")
        ax.plot(data["population_share"], data["credit_share"], color=COLORS["small"],
                label=f"valuable brokerage (Gini {gini_credit:.2f})")
        ax.set_xlabel("share of people, smallest audience first")
        ax.set_ylabel("cumulative share")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.legend(loc="upper left")
        top_aud = 1 - float(np.interp(0.9, data["population_share"], data["audience_share"]))
        top_cred = 1 - float(np.interp(0.9, data["population_share"], data["credit_share"]))
        fig.suptitle(f"The 10% with the largest audiences hold {100 * top_aud:.0f}% of\n"
                     f"all ties and broker {100 * top_cred:.0f}% of valuable connections",
                     x=0.02, ha="left", fontsize=19)
    return fig


# --- (d) heatmap --------------------------------------------------------------------------


def heatmap_data(groups: pd.DataFrame, x: str, y: str, metric: str = SHARE) -> pd.DataFrame:
    """Mean of ``metric`` over seeds for every (x, y) pair: a tidy table."""
    part = groups[groups["metric"] == metric]
    return part.groupby([y, x], sort=True)["mean"].mean().reset_index()


def heatmap_figure(data: pd.DataFrame, x: str, y: str, metric: str = SHARE) -> Figure:
    """(d) A metric over two swept parameters."""
    table = data.pivot(index=y, columns=x, values="mean")
    with apply_style():
        fig = Figure(figsize=(11, 8), layout="constrained")
        ax = fig.subplots()
        values = 100 * table.to_numpy(np.float64) if metric == SHARE else table.to_numpy()
        im = ax.imshow(values, cmap="cividis", aspect="auto", origin="lower")
        for (r, c), v in np.ndenumerate(values):
            if math.isfinite(v):
                shade = im.norm(v) if im.norm.vmax != im.norm.vmin else 0.5
                ax.text(c, r, f"{v:.0f}%" if metric == SHARE else f"{v:.2g}", ha="center",
                        va="center", fontsize=15, color="white" if shade < 0.6 else "black")
        ax.set_xticks(range(table.shape[1]), [f"{v:g}" if isinstance(v, float) else str(v)
                                               for v in table.columns])
        ax.set_yticks(range(table.shape[0]), [f"{v:g}" if isinstance(v, float) else str(v)
                                               for v in table.index])
        ax.set_xlabel(_label(x))
        ax.set_ylabel(_label(y))
        bar = fig.colorbar(im, ax=ax)
        bar.set_label("% of valuable referrals by small people" if metric == SHARE
                      else metric.replace("_", " "))
        finite = values[np.isfinite(values)]
        rng = (f"{finite.min():.0f}–{finite.max():.0f}%" if finite.size and metric == SHARE
               else "")
        fig.suptitle(f"Small people's share of valuable brokerage: {rng}"
                     if metric == SHARE else metric.replace("_", " "), x=0.01, ha="left")
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


def story_figure(people: np.ndarray, edges: pd.DataFrame, audience: np.ndarray,
                 closure: pd.Series, is_large: np.ndarray, seed: int = 0) -> Figure:
    """(e) One valuable referral: seeker, carriers, broker and provider on the network.

    Node size is audience, edge width tie strength; the chain is highlighted.
    """
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(int(p) for p in people)
    graph.add_weighted_edges_from(edges[["u", "v", "strength"]].itertuples(index=False))
    pos = nx.spring_layout(graph, seed=seed, weight="weight", iterations=200)
    path = [int(p) for p in closure["path"]]
    roles = {path[0]: "seeker", path[-1]: "provider"}
    if closure["kind"] == "referral":
        roles[path[-2]] = "broker"
    for p in path[1:-2 if closure["kind"] == "referral" else -1]:
        roles.setdefault(p, "passed it on")
    with apply_style():
        fig = Figure(figsize=(13, 9), layout="constrained")
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
        for p, role in roles.items():
            x, y = pos[p]
            ax.scatter([x], [y], s=20 + 60 * math.sqrt(audience[p]), facecolors="none",
                       edgecolors=COLORS["text"], linewidths=2.5, zorder=4)
            ax.annotate(f"{role}\n(audience {audience[p]})", (x, y), xytext=(10, 10),
                        textcoords="offset points", fontsize=14, zorder=5,
                        bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "none",
                              "alpha": 0.85})
        ax.set_axis_off()
        ax.autoscale()
        broker = path[-2] if closure["kind"] == "referral" else path[0]
        who = "small" if not is_large[broker] else "large"
        fig.suptitle(f"A {who}-audience broker (audience {audience[broker]}) closes a\n"
                     f"valuable connection, {int(closure['hops'])} ties from the seeker",
                     x=0.01, ha="left", fontsize=20)
        ax.set_title("node size: audience · line width: tie strength · green: the need's "
                     "path · blue: small, vermillion: large", fontsize=14, fontweight="normal",
                     color=COLORS["muted"], loc="left")
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
                   "small_audience": "small, same total audience"}


def knockout_data(groups_ko: pd.DataFrame) -> pd.DataFrame:
    """Mean drop in valuable closures per knockout target, without the ``none`` baseline."""
    part = groups_ko[(groups_ko["metric"] == "valuable_drop")
                     & (groups_ko["knockout.target"] != "none")]
    return part[["knockout.target", "n_runs", "mean", "ci_low", "ci_high"]].reset_index(
        drop=True)


def knockout_figure(data: pd.DataFrame, k: int | None = None) -> Figure:
    """Drop in valuable connections when a group of people is removed (95% CIs)."""
    with apply_style():
        fig = Figure(figsize=(11, 7), layout="constrained")
        ax = fig.subplots()
        labels = [KNOCKOUT_LABELS.get(t, t) for t in data["knockout.target"]]
        colors = [COLORS["large"] if t == "large" else COLORS["small"]
                  for t in data["knockout.target"]]
        means = 100 * data["mean"].to_numpy(np.float64)
        err = 100 * np.vstack([data["mean"] - data["ci_low"], data["ci_high"] - data["mean"]])
        ax.bar(labels, means, color=colors, yerr=np.abs(err), capsize=8)
        for i, m in enumerate(means):
            ax.annotate(f"{m:.0f}%", (i, max(m, 0)), xytext=(0, 8), textcoords="offset points",
                        ha="center", fontsize=16, fontweight="bold")
        ax.axhline(0, color=COLORS["muted"], linewidth=1)
        ax.set_ylabel("valuable connections lost (%)")
        ax.set_xlabel("people removed" + (f" (k = {k})" if k else ""))
        fig.suptitle("What removing people costs in valuable connections",
                     x=0.01, ha="left")
        ax.set_title("drop against the same seed with nobody removed; 95% bootstrap intervals",
                     fontsize=14, fontweight="normal", color=COLORS["muted"], loc="left")
    return fig
