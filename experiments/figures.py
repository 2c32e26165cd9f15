"""Talk-ready figures of a sweep: ``python -m experiments.figures SWEEP_DIR``.

Reads the tables that :mod:`experiments.aggregate` wrote (building them first
if they are missing) and writes into ``SWEEP_DIR/figures/`` each figure as PNG
and SVG, next to a CSV of exactly the numbers it draws:

a. ``share``: share of valuable connections brokered by small people across
   the first swept parameter (one line per value of the second), 95% CIs,
   against their population share;
b. ``per_capita``: valuable referrals per person against audience (log bins),
   titled with the small-versus-large ratios of the runs shown
   (``per_capita_ratios.csv``);
c. ``lorenz``: Lorenz curve of audience and concentration curve of valuable
   brokerage, people in audience order (over the first 20 runs, by seed, of
   the setting shown);
d. ``heatmap``: the small share over the first two swept parameters;
e. ``story``: one valuable referral chain drawn on the network around it;

(b), (c) and (e) show one setting, the middle value of every swept parameter
in numeric order, and say which. Titles state a finding only where the 95%
bootstrap intervals support it (see :mod:`sim.viz.sweep_plots`);

for knockout sweeps, ``knockout``: the drop in valuable connections per target;
and for cascade-mode sweeps over ``cascade.transmissibility``, ``threshold``:
the large-cascade share and reach against bond-percolation theory.

Figures that do not apply (no second parameter for a heatmap, cascade mode)
are skipped with a note.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from experiments import storage
from experiments.aggregate import parameter_columns, read_tables, sweep_dir_argument
from sim.config import ConfigError, from_dict, validate
from sim.io import write_csv
from sim.network import generate
from sim.rng import stream
from sim.ties import graph_strengths
from sim.viz import sweep_plots as sp
from sim.viz.plots import save_figure

#: Most runs whose per-run tables the Lorenz figure reads (the first representative seeds).
MAX_TABLE_RUNS = 20


def _save(fig, data: pd.DataFrame, out: Path, name: str) -> list[Path]:
    written = save_figure(fig, out / name)
    written.append(write_csv(data, out / f"{name}.csv"))
    return written


def figure_tasks(sweep_dir: str | Path) -> list[tuple[Callable[..., list[Path]], tuple]]:
    """The figures that apply to a sweep, each as ``(draw function, its arguments)``.

    Reads the sweep's tables (building them first if they are missing); the
    drawing is left to :func:`make_figures`, so that figures can be drawn in
    parallel.
    """
    sweep_dir = Path(sweep_dir)
    summary, groups, bins = read_tables(sweep_dir)  # run_dir made absolute
    out = sweep_dir / "figures"
    tasks: list[tuple[Callable[..., list[Path]], tuple]] = []
    params = [p for p in parameter_columns(summary, sweep_dir)
              if summary[p].nunique(dropna=True) > 1]
    referral = "mode" in summary and (summary["mode"] == "referral").any()
    if not referral:
        if "cascade.transmissibility" in groups.columns:
            tasks.append((draw_threshold, (groups, out)))
        else:
            print("note: no referral-mode runs and no swept transmissibility; no figures",
                  file=sys.stderr)
        return tasks
    together = design_factors(sweep_dir)
    if len(together) > 1:
        print(f"note: the sampled design moves {len(together)} factors together, not on a grid, "
              "so figures by setting would mix them; its figures are the sensitivity indices "
              f"(python -m experiments.sensitivity analyse {sweep_dir})", file=sys.stderr)
        return tasks
    gparams = [p for p in params if p in groups.columns]
    if gparams:
        tasks.append((draw_share, (groups, gparams[0],
                                   gparams[1] if len(gparams) > 1 else None, out)))
    if len(gparams) >= 2:
        tasks.append((draw_heatmap, (groups, gparams[0], gparams[1], out)))
    else:
        print("note: heatmap needs two swept parameters; skipped", file=sys.stderr)
    # Figures of one setting: the middle swept value of each parameter, in numeric order.
    rep, setting = sp.representative_runs(summary, gparams)
    if bins is not None and len(rep):
        bins = bins[bins["run_dir"].isin(rep["run_dir"])]
        tasks.append((draw_per_capita, (bins, rep, sp.setting_text(setting, len(rep)), out)))
    # Figures c and e read whole per-run tables: of the runs shown, the first
    # MAX_TABLE_RUNS (by seed) are plenty for a curve and keep a 10,000-seed sweep cheap
    # (storage=parquet keeps no per-run tables: those few runs are run again).
    table_runs = list(rep["run_dir"].head(MAX_TABLE_RUNS)) if len(rep) else []
    if table_runs and storage.is_parquet_sweep(sweep_dir):
        storage.ensure_tables(sweep_dir, table_runs)
    if table_runs:
        tasks.append((draw_lorenz, (table_runs, sp.setting_text(setting, len(table_runs)),
                                    out)))
        first = rep.iloc[0]
        story_setting = sp.setting_text(setting) + (
            f"; run seed {first['seed']}" if "seed" in rep else "")
        tasks.append((draw_story, (str(first["run_dir"]), out, story_setting)))
    if (sweep_dir / "knockout_groups.csv").exists():
        tasks.append((draw_knockout, (pd.read_csv(sweep_dir / "knockout_groups.csv"),
                                      knockout_k(summary), removed_per_target(summary), out)))
    return tasks


def design_factors(sweep_dir: Path) -> list[str]:
    """The factors a sampled design (``experiments.sensitivity sample``) varies.

    Such a table is not a grid: each row sets all its factors at once (a Morris
    or Sobol sample), so a figure by one or two of them would average over the
    others. Only a sweep whose design came with its description (``design.json``,
    which ``experiments.sensitivity analyse`` reads) counts; a hand-written table
    and an unreadable copy count as none.
    """
    from hydra_plugins.influencer_sim_launcher.sweeper import (
        DESIGN_COPY,
        DESIGN_INFO_COPY,
        read_design,
    )

    if not (sweep_dir / DESIGN_INFO_COPY).is_file():
        return []
    try:
        design = read_design(sweep_dir / DESIGN_COPY)  # the sweeper's reader: values as run
    except ConfigError:
        return []
    return [key for key, values in zip(design.keys, zip(*design.rows, strict=True), strict=True)
            if len(set(values)) > 1]


def knockout_k(summary: pd.DataFrame) -> int | None:
    """The swept runs' ``knockout.k`` (people removed by the ``large`` and random targets)."""
    ok = summary[summary["status"] == "ok"]
    for column in ("knockout.k", "n_removed"):
        if column not in ok:
            continue
        rows = ok if column == "knockout.k" else ok[ok["knockout.target"] == "large"]
        values = pd.to_numeric(rows[column], errors="coerce").dropna().unique()
        if len(values) == 1:
            return int(values[0])
    return None


def removed_per_target(summary: pd.DataFrame) -> dict[str, float]:
    """Mean number of people each knockout target removed (``n_removed``) over its runs."""
    ok = summary[summary["status"] == "ok"]
    if "knockout.target" not in ok or "n_removed" not in ok:
        return {}
    removed = pd.to_numeric(ok["n_removed"], errors="coerce")
    return {str(t): float(v) for t, v in removed.groupby(ok["knockout.target"]).mean().items()}


def _draw(task: tuple[Callable[..., list[Path]], tuple]) -> list[Path]:
    function, args = task
    return function(*args)


def make_figures(sweep_dir: str | Path, workers: int = 1) -> list[Path]:
    """Write every applicable figure of a sweep; return the paths written.

    Args:
        sweep_dir: The sweep folder.
        workers: Processes that draw figures side by side (see :mod:`experiments.pool`).
    """
    from experiments.pool import pool_map

    return [path for written in pool_map(_draw, figure_tasks(sweep_dir), workers)
            for path in written]


def draw_threshold(groups: pd.DataFrame, out: Path) -> list[Path]:
    """Large-cascade share and reach against bond-percolation theory (cascade sweeps)."""
    data = sp.threshold_data(groups)
    return _save(sp.threshold_figure(data), data, out, "threshold")


def draw_share(groups: pd.DataFrame, x: str, hue: str | None, out: Path) -> list[Path]:
    """(a) Small people's share of valuable brokerage across ``x`` (lines by ``hue``)."""
    data = sp.share_data(groups, x, hue)
    return _save(sp.share_figure(data, x, hue), data, out, "share")


def draw_heatmap(groups: pd.DataFrame, x: str, y: str, out: Path) -> list[Path]:
    """(d) The small share over two swept parameters."""
    data = sp.heatmap_data(groups, x, y)
    return _save(sp.heatmap_figure(data, x, y), data, out, "heatmap")


def draw_per_capita(bins: pd.DataFrame, runs: pd.DataFrame, setting: str,
                    out: Path) -> list[Path]:
    """(b) Valuable referrals per person against audience; the title states ``runs``' ratios.

    Writes ``per_capita.csv`` (the bins drawn) and ``per_capita_ratios.csv``
    (the small-versus-large ratios and intervals the title states).
    """
    data = sp.per_capita_data(bins)
    claims = sp.per_capita_claims(runs)
    written = _save(sp.per_capita_figure(data, claims, setting), data, out, "per_capita")
    written.append(write_csv(claims, out / "per_capita_ratios.csv"))
    return written


def draw_knockout(knockout_groups: pd.DataFrame, k: int | None, removed: dict[str, float],
                  out: Path) -> list[Path]:
    """The drop in valuable connections per knockout target (``removed``: people per target)."""
    data = sp.knockout_data(knockout_groups, removed)
    return _save(sp.knockout_figure(data, k), data, out, "knockout")


def draw_lorenz(run_dirs: list[str], setting: str, out: Path) -> list[Path]:
    """(c) Lorenz curves of audience and valuable brokerage over ``run_dirs``."""
    columns = ["audience", "credit_valuable"]
    people = pd.concat([pd.read_parquet(Path(d) / "people.parquet", columns=columns)
                        for d in run_dirs], ignore_index=True)
    data = sp.lorenz_data(people)
    indices = sp.lorenz_indices(people)
    fig = sp.lorenz_figure(data, indices["gini_audience"], indices["concentration_credit"],
                           setting)
    return _save(fig, data, out, "lorenz")


def draw_story(run_dir: str | Path, out: Path, setting: str = "") -> list[Path]:
    """(e) The longest valuable referral chain of ``run_dir`` on the network around it."""
    run_dir = Path(run_dir)
    closures = pd.read_parquet(run_dir / "closures.parquet")
    chosen = closures[(closures["kind"] == "referral") & closures["valuable"]]
    if chosen.empty:
        print(f"note: {run_dir} has no valuable referral; story figure skipped",
              file=sys.stderr)
        return []
    chosen = chosen.sort_values(["hops", "value"], ascending=False).iloc[0]
    config = validate(from_dict(json.loads((run_dir / "metrics.json").read_text())["config"]))
    people_run = pd.read_parquet(run_dir / "people.parquet")
    # The run's own network and starting strengths (same streams as sim.engine.World).
    graph = generate(config.network, config.people.n, stream(config.seed, "network"))
    graph_u, graph_v = graph.u, graph.v
    w = graph_strengths(graph, config.ties, stream(config.seed, "strengths"))
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
                          chosen, people_run["is_large"].to_numpy(), seed=config.seed,
                          setting=setting)
    data = pd.DataFrame({"position": range(len(path)), "person": path,
                         "audience": people_run["audience"].to_numpy()[path],
                         "strength_in": [np.nan, *chosen["path_strengths"]]})
    return _save(fig, data, out, "story")


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m experiments.figures SWEEP_DIR``."""
    sweep_dir = sweep_dir_argument(argv, "Regenerate the figures of a sweep.")
    try:
        written = make_figures(sweep_dir)
    except (OSError, ValueError, KeyError) as exc:  # a damaged folder: one line
        print(f"error: {sweep_dir}: cannot draw the figures ({exc})", file=sys.stderr)
        return 1
    for path in written:
        if path.suffix == ".png":
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
