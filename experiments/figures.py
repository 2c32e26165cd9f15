"""Talk-ready figures of a sweep: ``python -m experiments.figures SWEEP_DIR``.

Reads the tables that :mod:`experiments.aggregate` wrote (building them first
if they are missing) and writes into ``SWEEP_DIR/figures/`` each figure as PNG
and SVG, next to a CSV of exactly the numbers it draws:

a. ``share``: share of valuable connections brokered by small people across
   the first swept parameter (one line per value of the second), 95% CIs,
   against their population share;
b. ``per_capita``: valuable referrals per person against audience (log bins);
c. ``lorenz``: Lorenz curves of audience and of valuable brokerage;
d. ``heatmap``: the small share over the first two swept parameters;
e. ``story``: one valuable referral chain drawn on the network around it;

for knockout sweeps, ``knockout``: the drop in valuable connections per target;
and for cascade-mode sweeps over ``cascade.transmissibility``, ``threshold``:
the large-cascade share and reach against bond-percolation theory.

Figures that do not apply (no second parameter for a heatmap, cascade mode)
are skipped with a note.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.aggregate import parameter_columns, summarize_sweep, sweep_dir_argument
from sim import measures
from sim import sweep_plots as sp
from sim.config import from_dict, validate
from sim.network import generate
from sim.plots import save_figure
from sim.rng import stream
from sim.run import write_csv
from sim.ties import initial_strengths


def _save(fig, data: pd.DataFrame, out: Path, name: str) -> list[Path]:
    written = save_figure(fig, out / name)
    written.append(write_csv(data, out / f"{name}.csv"))
    return written


def _representative_group(summary: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    """The ok referral runs at the middle value of every swept parameter."""
    ok = summary[(summary["status"] == "ok") & (summary.get("mode") == "referral")]
    for p in params:
        values = sorted(ok[p].dropna().unique(), key=str)
        if values:
            ok = ok[ok[p] == values[len(values) // 2]]
    return ok


def make_figures(sweep_dir: str | Path) -> list[Path]:
    """Write every applicable figure of a sweep; return the paths written."""
    sweep_dir = Path(sweep_dir)
    if not (sweep_dir / "summary.parquet").exists():
        summarize_sweep(sweep_dir)
    summary = pd.read_parquet(sweep_dir / "summary.parquet")
    groups = pd.read_parquet(sweep_dir / "groups.parquet")
    out = sweep_dir / "figures"
    written: list[Path] = []
    params = [p for p in parameter_columns(summary, sweep_dir)
              if summary[p].nunique(dropna=True) > 1]
    referral = "mode" in summary and (summary["mode"] == "referral").any()
    if not referral:
        if "cascade.transmissibility" in groups.columns:
            data = sp.threshold_data(groups)
            written += _save(sp.threshold_figure(data), data, out, "threshold")
        else:
            print("note: no referral-mode runs and no swept transmissibility; no figures",
                  file=sys.stderr)
        return written
    gparams = [p for p in params if p in groups.columns]
    if gparams:
        x = gparams[0]
        hue = gparams[1] if len(gparams) > 1 else None
        data = sp.share_data(groups, x, hue)
        written += _save(sp.share_figure(data, x, hue), data, out, "share")
    if len(gparams) >= 2:
        data = sp.heatmap_data(groups, gparams[0], gparams[1])
        written += _save(sp.heatmap_figure(data, gparams[0], gparams[1]), data, out, "heatmap")
    else:
        print("note: heatmap needs two swept parameters; skipped", file=sys.stderr)
    bins_file = sweep_dir / "audience_bins.parquet"
    if bins_file.exists():
        bins = pd.read_parquet(bins_file)
        rep = _representative_group(summary, gparams)
        bins = bins[bins["run_dir"].isin(rep["run_dir"])] if len(rep) else bins
        data = sp.per_capita_data(bins)
        written += _save(sp.per_capita_figure(data), data, out, "per_capita")
    rep = _representative_group(summary, gparams)
    if len(rep):
        written += _lorenz_and_story(rep, out)
    if (sweep_dir / "knockout_groups.csv").exists():
        data = sp.knockout_data(pd.read_csv(sweep_dir / "knockout_groups.csv"))
        k = int(rep["knockout.k"].iloc[0]) if "knockout.k" in rep and len(rep) else None
        written += _save(sp.knockout_figure(data, k), data, out, "knockout")
    return written


def _lorenz_and_story(rep: pd.DataFrame, out: Path) -> list[Path]:
    written: list[Path] = []
    people = pd.concat([pd.read_parquet(Path(d) / "people.parquet") for d in rep["run_dir"]],
                       ignore_index=True)
    data = sp.lorenz_data(people)
    fig = sp.lorenz_figure(data, measures.gini(people["audience"].to_numpy(np.float64)),
                           measures.gini(people["credit_valuable"].to_numpy(np.float64)))
    written += _save(fig, data, out, "lorenz")
    run_dir = Path(rep["run_dir"].iloc[0])
    closures = pd.read_parquet(run_dir / "closures.parquet")
    chosen = closures[(closures["kind"] == "referral") & closures["valuable"]]
    if chosen.empty:
        print(f"note: {run_dir} has no valuable referral; story figure skipped",
              file=sys.stderr)
        return written
    chosen = chosen.sort_values(["hops", "value"], ascending=False).iloc[0]
    config = validate(from_dict(json.loads((run_dir / "metrics.json").read_text())["config"]))
    people_run = pd.read_parquet(run_dir / "people.parquet")
    if config.network.name == "edgelist":
        graph_u, graph_v = _edges_from_path(config)
    else:
        graph = generate(config.network, config.people.n, stream(config.seed, "network"))
        graph_u, graph_v = graph.u, graph.v
    w = initial_strengths(len(people_run), graph_u, graph_v, config.ties,
                          stream(config.seed, "strengths"))
    path = [int(p) for p in chosen["path"]]
    # Ties made during the run (meetups, closures) may lie on the path: add them.
    extra_u = [min(a, b) for a, b in zip(path, path[1:], strict=False)]
    extra_v = [max(a, b) for a, b in zip(path, path[1:], strict=False)]
    u = np.concatenate([graph_u, extra_u]).astype(np.int64)
    v = np.concatenate([graph_v, extra_v]).astype(np.int64)
    ww = np.concatenate([w, np.asarray(chosen["path_strengths"], np.float64)])
    key = u * len(people_run) + v
    _, first = np.unique(key, return_index=True)
    u, v, ww = u[first], v[first], ww[first]
    nodes, edges = sp.story_subgraph(u, v, ww, path, seed=config.seed)
    fig = sp.story_figure(nodes, edges, people_run["audience"].to_numpy(),
                          chosen, people_run["is_large"].to_numpy(), seed=config.seed)
    data = pd.DataFrame({"position": range(len(path)), "person": path,
                         "audience": people_run["audience"].to_numpy()[path],
                         "strength_in": [np.nan, *chosen["path_strengths"]]})
    written += _save(fig, data, out, "story")
    return written


def _edges_from_path(config) -> tuple[np.ndarray, np.ndarray]:
    from sim.network import read_edgelist

    u, v, _ = read_edgelist(config.network.path)
    return u, v


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m experiments.figures SWEEP_DIR``."""
    sweep_dir = sweep_dir_argument(argv, "Regenerate the figures of a sweep.")
    for path in make_figures(sweep_dir):
        if path.suffix == ".png":
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
