"""Where a sweep stands: ``python -m experiments.status SWEEP_DIR``.

Counts the sweep's runs as *done* (finished ok), *failed* (recorded with its
error; ``resume=true`` runs it again), *running* (in a SLURM shard that is
running now) and *missing* (not run yet, or lost with a shard that was
stopped), with a progress bar; for a SLURM sweep also the state of the latest
submission's shards; and whether the summary tables are there and current.
Works for both storages and for local sweeps (which know their full list of
runs when they were started with ``storage=parquet`` or through SLURM).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from experiments import shards, slurm, storage

BAR_WIDTH = 40


def progress_bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """``[#########.......]  56%``: ``done`` of ``total`` as a text bar."""
    share = done / total if total else 1.0
    filled = int(round(share * width))
    return f"[{'#' * filled}{'.' * (width - filled)}] {100 * share:3.0f}%"


def shard_states(sub_dir: Path) -> dict[str, Any]:
    """The shards of one submission by state: done, running, pending, stopped early."""
    settings = shards.submission(sub_dir)
    n = int(settings["shards"])
    job = slurm.job_id(sub_dir)
    queued = slurm.array_tasks(job) if job else {}
    states: dict[int, str] = {}
    for task in range(n):
        if shards.done_marker(sub_dir, task).exists():
            states[task] = "done"
        elif queued is None:
            states[task] = "unknown"
        elif task in queued:
            states[task] = "running" if queued[task] in ("RUNNING", "COMPLETING") else "pending"
        else:
            states[task] = "stopped"
    return {"job": job, "settings": settings, "states": states}


def sweep_status(sweep_dir: str | Path) -> dict[str, Any]:
    """Everything :func:`main` prints, as a dict (for tests and notebooks)."""
    sweep_dir = Path(sweep_dir)
    kind = "parquet" if storage.is_parquet_sweep(sweep_dir) else "folders"
    ids = storage.read_manifest(sweep_dir)
    states = storage.run_states(sweep_dir, kind, ids or None)
    if not ids:
        ids = sorted(states)
    done = {r for r in ids if states.get(r) == "ok"}
    failed = {r for r in ids if r in states and states[r] != "ok"}
    running: set[str] = set()
    submission = None
    subs = slurm.submissions(sweep_dir)
    if subs:
        submission = shard_states(subs[-1])
        submission["name"] = subs[-1].name
        submission["dir"] = subs[-1]
        for task, state in submission["states"].items():
            if state == "running":
                _, jobs = shards.read_shard(shards.shard_file(subs[-1], task))
                running.update(j["run_id"] for j in jobs)
        running -= done | failed
    missing = set(ids) - done - failed - running
    summary = sweep_dir / "summary.parquet"
    newest = max((p.stat().st_mtime for p in (sweep_dir / storage.RUNS_PARTS).glob("*.parquet")),
                 default=0.0) if kind == "parquet" else 0.0
    return {"sweep_dir": sweep_dir, "storage": kind, "total": len(ids), "done": len(done),
            "failed": len(failed), "running": len(running), "missing": len(missing),
            "submission": submission,
            "summary": summary.exists(),
            "summary_stale": summary.exists() and summary.stat().st_mtime < newest}


def render(status: dict[str, Any]) -> str:
    """The human report of :func:`sweep_status`."""
    d = status["sweep_dir"]
    lines = [f"{d} (storage {status['storage']}): {status['total']:,} runs",
             f"  {progress_bar(status['done'], status['total'])}  {status['done']:,} done, "
             f"{status['failed']:,} failed, {status['running']:,} running, "
             f"{status['missing']:,} missing"]
    sub = status["submission"]
    if sub:
        counts: dict[str, list[int]] = {}
        for task, state in sub["states"].items():
            counts.setdefault(state, []).append(task)
        parts = [f"{len(v)} {k}" for k, v in sorted(counts.items())]
        lines.append(f"  SLURM job {sub['job']} ({sub['name']}, submitted "
                     f"{sub['settings']['submitted_at']}): {len(sub['states'])} shard(s): "
                     f"{', '.join(parts)}")
        stopped = counts.get("stopped", [])
        if stopped:
            logs = ", ".join(str(sub["dir"] / "logs" / f"shard-{t}.out") for t in stopped[:3])
            lines.append(f"  {len(stopped)} shard(s) ended before finishing (scancel, time "
                         f"limit or node failure; logs: {logs}); the same sweep command with "
                         "resume=true runs what is missing")
    active = bool(sub) and any(s in ("running", "pending") for s in sub["states"].values())
    if status["summary"] and not status["summary_stale"]:
        lines.append(f"  summary: {d / 'summary.csv'}, figures in {d / 'figures'}")
    elif active and sub["settings"].get("aggregate"):
        lines.append("  summary: written when the last shard ends (or now, by hand: "
                     f"python -m experiments.aggregate {d})")
    else:
        word = "out of date" if status["summary_stale"] else "not written yet"
        lines.append(f"  summary: {word}; python -m experiments.aggregate {d} "
                     f"(and python -m experiments.figures {d})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m experiments.status SWEEP_DIR``."""
    from experiments.aggregate import sweep_dir_argument

    sweep_dir = sweep_dir_argument(argv, __doc__.splitlines()[0])
    print(render(sweep_status(sweep_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
