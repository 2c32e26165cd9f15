"""Join the runs of a sweep into tidy tables and figures.

``python -m experiments.aggregate SWEEP_DIR`` (also run automatically at the
end of every ``-m`` sweep) writes into ``SWEEP_DIR``:

- ``summary.parquet`` / ``summary.csv``: one row per run folder, with the swept
  parameters as columns, every headline metric, the seed, ``status``
  (``ok``, ``failed``, or ``corrupt`` for an unreadable folder), ``error`` and
  ``run_dir``;
- ``groups.parquet`` / ``groups.csv``: per group of runs that differ only by
  seed, each metric's mean with a 95% bootstrap confidence interval;
- ``audience_bins.parquet``: per run, valuable brokerage per person in
  logarithmic audience bins (for figure b);
- ``knockout.csv`` / ``.parquet`` (when ``knockout.target`` is swept): per run,
  the drop in valuable closures against ``target=none`` on the same seed and
  other parameters, and per target its mean with a 95% bootstrap interval.

A run folder is a folder holding ``.hydra/overrides.yaml``; its result is
``metrics.json``, written last and atomically, so a folder without it (a run
killed midway) is reported as ``missing`` and never taken for a result.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim import measures
from sim.io import write_csv, write_parquet, write_text

#: Override keys that steer the sweep rather than the model.
CONTROL_KEYS = {"resume", "sweep_name", "experiment", "progress", "storage", "storage_tables"}
#: Metrics summarised per group.
GROUP_METRICS = (
    "small_share_valuable_brokered", "small_population_share", "small_share_brokered",
    "per_capita_ratio_large_small", "per_audience_ratio_small_large",
    "frac_small_brokering_valuable", "frac_large_brokering_valuable", "weak_tie_share_brokered",
    "closure_rate", "valuable_closure_rate", "n_closed", "n_valuable_closed", "n_brokered",
    "mean_hops", "mean_days_to_close", "top_decile_credit_share", "gini_credit_valuable",
    "mean_reach_fraction", "large_cascade_share", "large_cascade_reach_fraction",
    "theory_giant_fraction",
)  # fmt: skip


@functools.cache
def _override_parser() -> Any:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


#: A whole number as Hydra's grammar reads one (``007`` is text to Hydra, not 7).
_HYDRA_INT = re.compile(r"[+-]?(0|[1-9][0-9]*)")


@functools.lru_cache(maxsize=65536)
def _parse_value(key: str, text: str) -> Any:
    """The value of ``key=text`` as Hydra reads it (``1e-3`` is the float 0.001).

    Whole numbers (seeds) skip Hydra's parser, a millisecond each, which a
    100,000-run summary would otherwise spend minutes on.
    """
    if _HYDRA_INT.fullmatch(text):
        return int(text)
    try:
        return _override_parser().parse_overrides([f"{key}={text}"])[0].value()
    except Exception:  # noqa: BLE001  (anything Hydra cannot parse stays text)
        return text


def run_dirs(sweep_dir: Path) -> list[Path]:
    """Every run folder under ``sweep_dir`` (sorted)."""
    return sorted(p.parent.parent for p in sweep_dir.glob("**/.hydra/overrides.yaml"))


def swept_parameters(run_dir: Path) -> dict[str, Any]:
    """The overrides of one run (``key: value``), control keys left out."""
    return parameters_of(yaml.safe_load((run_dir / ".hydra" / "overrides.yaml").read_text())
                         or [])


def parameters_of(overrides: list[str]) -> dict[str, Any]:
    """``key: value`` of a run's overrides, control keys left out."""
    out: dict[str, Any] = {}
    for item in overrides:
        key, _, value = str(item).lstrip("+~").partition("=")
        if key.startswith("hydra.") or key in CONTROL_KEYS:
            continue
        out[key] = _parse_value(key, value)
    return out


def read_run(run_dir: Path) -> tuple[dict[str, Any], str | None]:
    """One summary row for ``run_dir`` and, if the folder is broken, what is wrong."""
    row: dict[str, Any] = {}
    problem = None
    try:
        row.update(swept_parameters(run_dir))
    except (OSError, yaml.YAMLError) as exc:
        problem = f"unreadable overrides: {exc}"
    metrics_file = run_dir / "metrics.json"
    if not metrics_file.exists():
        row.update(status="missing", error="no metrics.json (run did not finish)")
    else:
        try:
            payload = json.loads(metrics_file.read_text())
            status = payload.get("status", "ok")
            row.update(payload.get("metrics", {}))
            row["status"] = status
            row["error"] = payload.get("error", "")
            row.setdefault("seed", payload.get("config", {}).get("seed"))
        except (OSError, ValueError, AttributeError) as exc:
            problem = f"corrupt metrics.json: {exc}"
            row.update(status="corrupt", error=problem)
    row["run_dir"] = str(run_dir)
    return row, problem


def _read_for_summary(run_dir: Path) -> tuple[dict[str, Any], list[str], list[str],
                                               pd.DataFrame | None]:
    """What the summary needs of one run folder.

    Returns:
        ``(row, swept keys, warnings, audience bins or None)``.
    """
    row, problem = read_run(run_dir)
    warnings = [f"warning: {run_dir}: {problem}"] if problem else []
    keys = _safe_params(run_dir)
    people = run_dir / "people.parquet"
    table = None
    if row.get("status") == "ok" and row.get("mode") == "referral" and people.exists():
        try:
            table = measures.audience_bins(pd.read_parquet(people,
                                                           columns=["audience",
                                                                    "credit_valuable"]))
            table.insert(0, "run_dir", str(run_dir))
        except (OSError, ValueError) as exc:
            warnings.append(f"warning: {people}: unreadable ({exc})")
            table = None
    return row, keys, warnings, table


def summarize_sweep(sweep_dir: str | Path, quiet: bool = False, workers: int = 1) -> pd.DataFrame:
    """Build and write ``summary``, ``groups`` and ``audience_bins`` of a sweep.

    Broken run folders are reported on stderr (one line each) and kept in the
    summary with their status; they never stop the aggregation.

    Args:
        sweep_dir: The sweep folder.
        quiet: Do not print warnings.
        workers: Processes that read the run folders (see :mod:`experiments.pool`).

    Returns:
        The summary table.
    """
    from experiments import storage
    from experiments.pool import pool_map

    sweep_dir = Path(sweep_dir)
    rows = []
    bins = []
    keys: set[str] = set()
    if storage.is_parquet_sweep(sweep_dir):  # storage=parquet: rows from the parts
        rows, bins, keys = storage.collect(sweep_dir, quiet=quiet)
    for row, run_keys, warnings, table in pool_map(_read_for_summary, run_dirs(sweep_dir),
                                                   workers):
        if not quiet:
            for line in warnings:
                print(line, file=sys.stderr)
        rows.append(row)
        keys.update(run_keys)
        if table is not None:
            bins.append(table)
    summary = pd.DataFrame(rows)
    if summary.empty:
        summary = pd.DataFrame(columns=["status", "error", "run_dir"])
    params = sorted(keys - {"seed"})
    summary.attrs["parameters"] = params
    front = params + [c for c in ("seed", "status", "error") if c in summary.columns]
    summary = summary[front + [c for c in summary.columns if c not in front]]
    summary = summary.sort_values(params + (["seed"] if "seed" in summary else []),
                                  kind="stable", na_position="last").reset_index(drop=True)
    write_parquet(_arrow_safe(summary), sweep_dir / "summary.parquet")
    write_csv(summary, sweep_dir / "summary.csv")
    groups = group_table(summary, params)
    write_text(json.dumps({"parameters": params}, indent=2) + "\n", sweep_dir / "sweep.json")
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


def _safe_params(run_dir: Path) -> list[str]:
    try:
        return list(swept_parameters(run_dir))
    except (OSError, yaml.YAMLError):
        return []


def parameter_columns(summary: pd.DataFrame, sweep_dir: Path | None = None) -> list[str]:
    """Swept parameters of a sweep (override keys other than seed).

    Read from ``sweep.json`` when ``sweep_dir`` is given, else from the table.
    """
    if sweep_dir is not None and (sweep_dir / "sweep.json").exists():
        params = json.loads((sweep_dir / "sweep.json").read_text())["parameters"]
        return [p for p in params if p in summary.columns]
    return list(summary.attrs.get("parameters", [c for c in summary.columns if "." in c]))


def group_table(summary: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group of runs that differ only by seed: mean and 95% CI of every metric."""
    metrics = [m for m in GROUP_METRICS if m in summary.columns]
    if summary.empty or not metrics:
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


def sweep_dir_argument(argv: list[str] | None, description: str) -> Path:
    """Parse ``SWEEP_DIR`` from the command line; a missing folder exits with status 2."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("sweep_dir", type=Path)
    args = parser.parse_args(argv)
    if not args.sweep_dir.is_dir():
        print(f"error: {args.sweep_dir}: no such sweep folder", file=sys.stderr)
        raise SystemExit(2)
    return args.sweep_dir


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m experiments.aggregate SWEEP_DIR``."""
    sweep_dir = sweep_dir_argument(argv, __doc__.splitlines()[0])
    summary = summarize_sweep(sweep_dir)
    print(f"{len(summary)} runs ({status_counts(summary)}) -> {sweep_dir / 'summary.parquet'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
