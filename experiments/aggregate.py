"""Join the runs of a sweep into tidy tables.

``python -m experiments.aggregate SWEEP_DIR`` (also run automatically at the
end of every ``-m`` sweep) writes into ``SWEEP_DIR``:

- ``summary.parquet`` / ``summary.csv``: one row per run folder, with the swept
  parameters as columns, every headline metric, the seed, ``status`` (``ok``,
  ``failed``, ``missing`` for a run that did not finish, or ``corrupt`` for an
  unreadable folder), ``error`` and ``run_dir`` (relative to ``SWEEP_DIR``, so
  a sweep folder can be moved or copied);
- ``groups.parquet`` / ``groups.csv``: per group of runs that differ only by
  seed, each metric's mean with a 95% bootstrap confidence interval;
- ``audience_bins.parquet``: per run, valuable brokerage per person in
  logarithmic audience bins (for the ``per_capita`` figure);
- ``knockout.csv`` / ``.parquet`` (when ``knockout.target`` is swept): per run,
  the drop in valuable closures against ``target=none`` on the same seed and
  other parameters, and per target its mean with a 95% bootstrap interval;
- ``sweep.json``: the sweep's definition (stored when it started) and its
  swept parameters.

A run's parameters are read from the config stored in its ``metrics.json``
(written last and atomically, so a folder without it is a run that did not
finish, reported as ``missing``). A folder that is not a sweep (a single run's
folder, a folder of several sweeps, anything else) is refused with one line.
"""

from __future__ import annotations

import argparse
import json
import math
import numbers
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments import storage
from sim import measures
from sim.io import write_csv, write_json, write_parquet
from sim.percolation import CASCADE_METRICS

#: The sweep's own file (see :mod:`experiments.preflight`).
SWEEP_FILE = "sweep.json"
#: Override keys that steer the sweep rather than the model.
CONTROL_KEYS = {"resume", "sweep_name", "experiment", "progress", "storage", "storage_tables"}
#: Config groups whose choice is the ``name`` key of their section.
GROUP_KEYS = {"network": "network.name"}
GROUP_METRICS = tuple(m.key for m in (*measures.METRICS, *CASCADE_METRICS))
"""Metrics summarised per group of seeds: every headline number of either mode (one list each,
``sim.measures.METRICS`` and ``sim.percolation.CASCADE_METRICS``)."""
#: Metrics that are text; every other metric must be a number (or null).
TEXT_METRICS = {"mode", "network", "knockout_target"}
#: Tables of a finished referral run that the figures read.
RUN_TABLES = ("people.parquet", "closures.parquet")


class NotASweepError(ValueError):
    """A folder that is not a sweep folder (one line: what it is, what to give instead)."""


# --- finding the runs -------------------------------------------------------------------


def _is_run_dir(path: Path) -> bool:
    return path.is_dir() and ((path / "metrics.json").is_file() or (path / ".hydra").is_dir())


def _is_sweep_dir(path: Path) -> bool:
    return path.is_dir() and ((path / SWEEP_FILE).is_file() or (path / "multirun.yaml").is_file())


def run_dirs(sweep_dir: Path) -> list[Path]:
    """Every run folder of ``sweep_dir`` (its sub-folders with a result or Hydra's configs)."""
    try:
        return sorted(p for p in Path(sweep_dir).iterdir() if _is_run_dir(p))
    except OSError:
        return []


def check_sweep_dir(path: str | Path) -> Path:
    """``path`` if it is a sweep folder; else :class:`NotASweepError` saying what it is.

    Raises:
        NotASweepError: No such folder, a single run's folder, a folder holding
            several sweeps, or a folder with no runs.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise NotASweepError(f"{folder}: no such sweep folder")
    if _is_run_dir(folder) and not _is_sweep_dir(folder):
        raise NotASweepError(f"{folder}: is the folder of a single run, not of a sweep; give the "
                        "sweep folder that holds it (nothing was written)")
    sweeps = sorted(p.name for p in folder.iterdir() if _is_sweep_dir(p))
    if sweeps:
        raise NotASweepError(f"{folder}: holds {len(sweeps)} sweep(s) "
                             f"({', '.join(sweeps[:3])}{', ...' if len(sweeps) > 3 else ''}); "
                             "give one of them (nothing was written)")
    if not run_dirs(folder) and not storage.is_parquet_sweep(folder):
        raise NotASweepError(f"{folder}: holds no runs of a sweep (nothing was written)")
    return folder


# --- reading one run --------------------------------------------------------------------


def _flat(node: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            out.update(_flat(value, f"{prefix}{key}."))
    elif prefix:
        out[prefix[:-1]] = node
    return out


def read_metrics(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """``(row, flattened config, problem)`` of a run's ``metrics.json``.

    The row holds the metrics, ``status`` and ``error``. A file that is not
    valid JSON, not an object, has an unknown status, or text where a metric
    must be a number gives status ``corrupt`` and says why.
    """
    metrics_file = run_dir / "metrics.json"
    if not metrics_file.exists():
        return {"status": "missing", "error": "no metrics.json (run did not finish)"}, {}, None
    try:
        payload = json.loads(metrics_file.read_text())
        if not isinstance(payload, dict):
            raise ValueError("not a JSON object")
        status = payload.get("status", "ok")
        if status not in ("ok", "failed"):
            raise ValueError(f"unknown status {status!r}")
        metrics = payload.get("metrics", {})
        if not isinstance(metrics, dict):
            raise ValueError("'metrics' is not an object")
        for key, value in metrics.items():
            number = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if key not in TEXT_METRICS and value is not None and not number:
                raise ValueError(f"metric {key} is not a number ({value!r})")
        config = payload.get("config", {})
        config = _flat(config) if isinstance(config, dict) else {}
    except (OSError, ValueError) as exc:
        problem = f"corrupt metrics.json: {exc}"
        return {"status": "corrupt", "error": problem}, {}, problem
    row = {**metrics, "status": status, "error": str(payload.get("error", "") or "")}
    return row, config, None


def _tables_problem(run_dir: Path) -> str | None:
    """What is wrong with the tables of a finished referral run, or None."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for name in RUN_TABLES:
        try:
            pq.read_metadata(run_dir / name)
        except (OSError, ValueError, pa.ArrowException) as exc:
            return f"unreadable {name} ({str(exc).splitlines()[0] if str(exc) else exc})"
    return None


def _read_for_summary(task: tuple[Path, Path]) -> tuple[dict[str, Any], dict[str, Any],
                                                       list[str], pd.DataFrame | None]:
    """What the summary needs of one run folder.

    Returns:
        ``(row, flattened config, warnings, audience bins or None)``.
    """
    run_dir, sweep_dir = task
    row, config, problem = read_metrics(run_dir)
    name = run_dir.relative_to(sweep_dir).as_posix()
    warnings = [f"warning: {run_dir}: {problem}"] if problem else []
    table = None
    if row["status"] == "ok" and row.get("mode") == "referral":
        problem = _tables_problem(run_dir)
        if problem is None:
            try:
                people = pd.read_parquet(run_dir / "people.parquet",
                                         columns=["audience", "credit_valuable"])
                table = measures.audience_bins(people)
                table.insert(0, "run_dir", name)
            except (OSError, ValueError, KeyError) as exc:
                problem = f"unreadable people.parquet ({exc})"
        if problem is not None:
            warnings.append(f"warning: {run_dir}: {problem}")
            row.update(status="corrupt", error=problem)
            table = None
    row["run_dir"] = name
    return row, config, warnings, table


# --- the sweep's parameters ---------------------------------------------------------------


def read_sweep_file(sweep_dir: Path) -> dict[str, Any]:
    """``sweep.json`` as a dict (empty if missing or unreadable)."""
    try:
        payload = json.loads((Path(sweep_dir) / SWEEP_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def defined_parameters(sweep_dir: Path) -> list[str]:
    """Config keys set by the sweep's definition (``sweep.json``), control keys left out."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    definition = read_sweep_file(sweep_dir).get("definition")
    if not isinstance(definition, list):
        return []
    keys = []
    try:
        for override in OverridesParser.create().parse_overrides([str(d) for d in definition]):
            key = override.key_or_group
            if not override.is_hydra_override() and key not in CONTROL_KEYS:
                keys.append(GROUP_KEYS.get(key, key))
    except Exception:  # noqa: BLE001  (a damaged definition: fall back to what varies)
        return []
    return keys


def swept_parameters(configs: list[dict[str, Any]], defined: list[str]) -> list[str]:
    """Parameters of a sweep: those its definition sets and those that vary across runs."""
    configs = list({id(c): c for c in configs}.values())  # runs may share one config
    keys = {k for k in defined if any(k in c for c in configs)}
    columns = {k for c in configs for k in c}
    for key in columns - keys:
        values = {json.dumps(c.get(key), sort_keys=True, default=str) for c in configs}
        if len(values) > 1:
            keys.add(key)
    return sorted(keys - {"seed", *CONTROL_KEYS})


# --- the tables ---------------------------------------------------------------------------


def summarize_sweep(sweep_dir: str | Path, quiet: bool = False, workers: int = 1) -> pd.DataFrame:
    """Build and write ``summary``, ``groups``, ``audience_bins`` and ``sweep.json`` of a sweep.

    Broken run folders are reported on stderr (one line each) and kept in the
    summary with their status; they never stop the aggregation.

    Args:
        sweep_dir: The sweep folder.
        quiet: Do not print warnings.
        workers: Processes that read the run folders (see :mod:`experiments.pool`).

    Returns:
        The summary table.

    Raises:
        NotASweepError: ``sweep_dir`` is not a sweep folder (nothing is written).
    """
    from experiments.pool import pool_map

    sweep_dir = check_sweep_dir(sweep_dir)
    rows, configs, bins = [], [], []
    if storage.is_parquet_sweep(sweep_dir):  # storage=parquet: the same rows, from the parts
        rows, configs, bins = storage.collect(sweep_dir, quiet=quiet)
    else:
        tasks = [(run_dir, sweep_dir) for run_dir in run_dirs(sweep_dir)]
        for row, config, warnings, table in pool_map(_read_for_summary, tasks, workers):
            if not quiet:
                for line in warnings:
                    print(line, file=sys.stderr)
            rows.append(row)
            configs.append(config)
            if table is not None:
                bins.append(table)
    params = swept_parameters([c for c in configs if c], defined_parameters(sweep_dir))
    for row, config in zip(rows, configs, strict=True):
        row.update({key: config.get(key) for key in params})
        if "seed" in config:
            row["seed"] = config["seed"]
    summary = pd.DataFrame(rows)
    if summary.empty:
        summary = pd.DataFrame(columns=["status", "error", "run_dir"])
    for key in params:
        if key not in summary:
            summary[key] = None
    summary.attrs["parameters"] = params
    front = params + [c for c in ("seed", "status", "error") if c in summary.columns]
    summary = summary[front + [c for c in summary.columns if c not in front]]
    summary = summary.sort_values(params + (["seed"] if "seed" in summary else []),
                                  kind="stable", na_position="last").reset_index(drop=True)
    write_parquet(_arrow_safe(summary), sweep_dir / "summary.parquet")
    write_csv(summary, sweep_dir / "summary.csv")
    groups = group_table(summary, params)
    write_json({**read_sweep_file(sweep_dir), "parameters": params}, sweep_dir / SWEEP_FILE)
    write_parquet(_arrow_safe(groups), sweep_dir / "groups.parquet")
    write_csv(groups, sweep_dir / "groups.csv")
    if bins:
        write_parquet(pd.concat(bins, ignore_index=True), sweep_dir / "audience_bins.parquet")
    if "knockout.target" in summary.columns:
        drops = knockout_table(summary, params)
        write_parquet(_arrow_safe(drops), sweep_dir / "knockout.parquet")
        write_csv(drops, sweep_dir / "knockout.csv")
        groups_ko = measures.group_summary(drops, ["knockout.target"], ["valuable_drop"])
        write_csv(groups_ko, sweep_dir / "knockout_groups.csv")
    return summary


def knockout_table(summary: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    """Drop in valuable closures of each knockout run against ``target=none``.

    Runs are paired with the ``none`` run of the same seed and the same other
    swept parameters (common random numbers). ``valuable_drop`` is
    ``1 - valuable closed / valuable closed without knockout``.
    """
    ok = summary[summary["status"] == "ok"]
    keys = [c for c in params if c != "knockout.target"] + ["seed"]
    base = ok[ok["knockout.target"] == "none"][keys + ["n_valuable_closed", "n_closed"]]
    base = base.rename(columns={"n_valuable_closed": "baseline_valuable_closed",
                                "n_closed": "baseline_closed"})
    rows = ok[keys + ["knockout.target", "n_removed", "removed_audience", "n_valuable_closed",
                      "n_closed"]].merge(base, on=keys, how="inner")
    rows["valuable_drop"] = 1 - rows["n_valuable_closed"] / rows["baseline_valuable_closed"]
    rows["closed_drop"] = 1 - rows["n_closed"] / rows["baseline_closed"]
    rows["status"] = "ok"
    return rows.sort_values(["knockout.target", *keys]).reset_index(drop=True)


def parameter_columns(summary: pd.DataFrame, sweep_dir: Path | None = None) -> list[str]:
    """Swept parameters of a sweep (other than seed).

    Read from ``sweep.json`` when ``sweep_dir`` is given, else from the table.
    """
    if sweep_dir is not None:
        params = read_sweep_file(sweep_dir).get("parameters")
        if isinstance(params, list):
            return [p for p in params if isinstance(p, str) and p in summary.columns]
    return list(summary.attrs.get("parameters", [c for c in summary.columns if "." in c]))


def group_table(summary: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group of runs that differ only by seed: mean and 95% CI of every metric."""
    metrics = [m for m in GROUP_METRICS if m in summary.columns]
    if summary.empty or not metrics or not (summary["status"] == "ok").any():
        return pd.DataFrame(columns=[*by, "metric", "n_runs", "mean", "std", "ci_low",
                                     "ci_high"])
    return measures.group_summary(summary, by, metrics)


def _arrow_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Columns of mixed types (e.g. a swept value that is sometimes text) become text."""
    out = df.copy()
    for col in out.columns:
        kinds = {type(v) for v in out[col].dropna()}
        if len(kinds) > 1 and not kinds <= {int, float, np.int64, np.float64}:
            out[col] = out[col].map(lambda v: v if v is None or (isinstance(v, float)
                                                                 and math.isnan(v)) else str(v))
    return out


def status_counts(summary: pd.DataFrame) -> str:
    """``"8 ok, 4 failed"``: runs of a summary by status."""
    counts = summary["status"].value_counts().to_dict() if len(summary) else {}
    return ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "none"


# --- reading what was written ---------------------------------------------------------------


def _read_table(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001  (pyarrow raises many kinds for a damaged file)
        raise ValueError(f"{path}: unreadable ({one_line(exc)})") from exc


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (or its type)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read_tables(sweep_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """``(summary, groups, audience bins or None)`` of a sweep, with absolute ``run_dir``.

    The tables are (re)built when missing or damaged.
    """
    sweep_dir = check_sweep_dir(sweep_dir)
    try:
        summary = _read_table(sweep_dir / "summary.parquet")
        groups = _read_table(sweep_dir / "groups.parquet")
        if not {"status", "run_dir"} <= set(summary.columns):
            raise ValueError("summary.parquet: not a summary table")
    except ValueError as exc:
        if (sweep_dir / "summary.parquet").exists():
            print(f"warning: {exc}; rebuilding the tables", file=sys.stderr)
        summary = summarize_sweep(sweep_dir)
        groups = _read_table(sweep_dir / "groups.parquet")
    bins = None
    if (sweep_dir / "audience_bins.parquet").exists():
        try:
            bins = _read_table(sweep_dir / "audience_bins.parquet")
            bins["run_dir"] = [str(sweep_dir / d) for d in bins["run_dir"]]
        except (ValueError, KeyError) as exc:
            print(f"warning: {exc}; per_capita figure skipped", file=sys.stderr)
            bins = None
    summary["run_dir"] = [str(sweep_dir / str(d)) for d in summary["run_dir"]]
    return summary, groups, bins


# --- command line ------------------------------------------------------------------------


def sweep_dir_argument(argv: list[str] | None, description: str) -> Path:
    """Parse ``SWEEP_DIR`` from the command line; not a sweep folder exits with status 2."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("sweep_dir", type=Path)
    args = parser.parse_args(argv)
    try:
        return check_sweep_dir(args.sweep_dir)
    except NotASweepError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m experiments.aggregate SWEEP_DIR``."""
    sweep_dir = sweep_dir_argument(argv, __doc__.splitlines()[0])
    try:
        summary = summarize_sweep(sweep_dir)
    except OSError as exc:
        print(f"error: {exc.filename or sweep_dir}: {exc.strerror or one_line(exc)}",
              file=sys.stderr)
        return 1
    print(f"{len(summary)} runs ({status_counts(summary)}) -> {sweep_dir / 'summary.parquet'}")
    return 0 if (summary["status"] == "ok").any() else 1


if __name__ == "__main__":
    sys.exit(main())
