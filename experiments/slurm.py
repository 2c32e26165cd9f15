"""Sweeps on a SLURM cluster: a sweep becomes one bounded job array of shards.

``hydra/launcher=slurm`` (:mod:`hydra_plugins.influencer_sim_launcher.slurm`)
calls :func:`submit`, which

1. finds what the sweep still has to run (finished runs are skipped with
   ``resume=true``, in either storage) and refuses while an earlier
   submission of the same sweep is still queued or running;
2. composes every missing job's config once, here, and splits the jobs into
   at most ``max_tasks`` shards of ``shard_size`` runs (default: as few runs
   per shard as ``max_tasks`` allows);
3. writes ``SWEEP/slurm/submit-NNN/``: ``shards/shard-XXXX.json`` (the jobs),
   ``submission.json`` (settings), ``sweep.sbatch`` (the array script), and
   after submitting ``job_id``; each array task's log goes to ``logs/``;
4. submits the array with ``sbatch`` (``--array=0-K%nodes``: at most
   ``nodes`` shards at a time, each on a whole node by default) and either
   waits for it with a progress bar (``wait=true``; the sweep is then
   aggregated here) or returns at once (``wait=false``; the last shard to
   finish aggregates the sweep on its node).

Each array task runs ``python -m experiments.shards SUBMISSION_DIR TASK`` with
``NUMBA_CACHE_DIR`` on node-local storage (``$TMPDIR`` or ``/tmp``).
"""

from __future__ import annotations

import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from experiments import shards, storage
from sim.config import ConfigError

#: Folder of the submissions, inside the sweep folder.
SLURM_DIR = "slurm"
KEY = "hydra.launcher"


def check_settings(s: Any) -> None:
    """Reject settings that cannot work, naming the key (``hydra.launcher.*``).

    Raises:
        ConfigError: A bad value.
    """
    def whole(name: str, low: int, allow_none: bool = False) -> None:
        value = s.get(name)
        if value is None and allow_none:
            return
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ConfigError(f"{KEY}.{name}", f"must be a whole number >= {low}; got {value!r}")

    whole("nodes", 1)
    whole("max_tasks", 1)
    whole("shard_size", 1, allow_none=True)
    whole("flush_rows", 1)
    if s.get("workers") in (0, None) or not isinstance(s.get("workers"), int):
        raise ConfigError(f"{KEY}.workers", "must be a whole number other than 0 (-1: all the "
                          f"node's cores); got {s.get('workers')!r}")
    if not re.fullmatch(r"(\d+-)?\d+(:\d+){0,2}", str(s.get("time"))):
        raise ConfigError(f"{KEY}.time", "must be a SLURM time limit such as 04:00:00, "
                          f"1-00:00:00 or 90 (minutes); got {s.get('time')!r}")
    if not re.fullmatch(r"\d+[KMGT]?", str(s.get("mem"))):
        raise ConfigError(f"{KEY}.mem", "must be a SLURM memory size such as 0 (all the "
                          f"node's memory), 16G or 4000M; got {s.get('mem')!r}")


def split(n_jobs: int, shard_size: int | None, max_tasks: int) -> list[int]:
    """Sizes of the shards for ``n_jobs`` runs (at most ``max_tasks`` of them).

    Raises:
        ConfigError: ``shard_size`` would need more than ``max_tasks`` shards.
    """
    if n_jobs == 0:
        return []
    if shard_size is None:
        shard_size = math.ceil(n_jobs / max_tasks)
    count = math.ceil(n_jobs / shard_size)
    if count > max_tasks:
        raise ConfigError(f"{KEY}.shard_size", f"{n_jobs:,} runs in shards of {shard_size} "
                          f"need {count:,} array tasks, more than {KEY}.max_tasks={max_tasks}; "
                          f"use shard_size >= {math.ceil(n_jobs / max_tasks)} or raise max_tasks")
    base, extra = divmod(n_jobs, count)
    return [base + (1 if i < extra else 0) for i in range(count)]


def sbatch_script(s: Any, sub_dir: Path, n_shards: int, name: str) -> str:
    """The array job script of a submission."""
    python = s.get("python") or sys.executable
    lines = ["#!/bin/bash",
             f"#SBATCH --job-name={_safe(name)}",
             f"#SBATCH --array=0-{n_shards - 1}%{s['nodes']}",
             "#SBATCH --nodes=1",
             "#SBATCH --ntasks=1",
             f"#SBATCH --time={s['time']}",
             f"#SBATCH --mem={s['mem']}",
             f"#SBATCH --output={sub_dir}/logs/shard-%a.out",
             "#SBATCH --open-mode=append"]
    if s.get("exclusive", True):
        lines.append("#SBATCH --exclusive")
    if s.get("cpus_per_task"):
        lines.append(f"#SBATCH --cpus-per-task={int(s['cpus_per_task'])}")
    for key in ("partition", "account", "qos"):
        if s.get(key):
            lines.append(f"#SBATCH --{key}={s[key]}")
    lines += [f"#SBATCH {extra}" for extra in s.get("sbatch") or []]
    lines += ["", "set -eo pipefail", *(s.get("setup") or [])]
    cache = s.get("numba_cache_dir")
    cache_expr = shlex.quote(str(cache)) if cache else \
        '"${TMPDIR:-/tmp}/influencer-sim-numba-$(id -u)"'
    lines += [
        "# numba's on-disk cache on node-local storage (a shared file system is unsafe for it)",
        f"export NUMBA_CACHE_DIR={cache_expr}",
        f"cd {shlex.quote(os.getcwd())}",
        f"exec {shlex.quote(python)} -m experiments.shards {shlex.quote(str(sub_dir))} "
        '"$SLURM_ARRAY_TASK_ID"', ""]
    return "\n".join(lines)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.:-]", "_", name)[:64]


def submissions(sweep_dir: str | os.PathLike) -> list[Path]:
    """The sweep's submission folders, oldest first."""
    return sorted((Path(sweep_dir) / SLURM_DIR).glob("submit-[0-9][0-9][0-9]"))


def job_id(sub_dir: Path) -> str | None:
    """The SLURM job id of a submission (None before ``sbatch`` answered)."""
    path = sub_dir / "job_id"
    return path.read_text().strip() if path.exists() else None


def array_tasks(job: str) -> dict[int, str] | None:
    """``{task: state}`` of the array's tasks still known to ``squeue`` (None: no squeue)."""
    if shutil.which("squeue") is None:
        return None
    proc = subprocess.run(["squeue", "-h", "-r", "-j", job, "-o", "%K %T"],
                          capture_output=True, text=True)
    if proc.returncode != 0:  # an old job id SLURM has forgotten
        return {}
    tasks = {}
    for line in proc.stdout.splitlines():
        index, _, state = line.strip().partition(" ")
        if index.isdigit():
            tasks[int(index)] = state
        elif "-" in index or "[" in index:  # pending tasks not yet split
            for i in _expand(index):
                tasks[i] = state
    return tasks


def _expand(spec: str) -> list[int]:
    out = []
    for part in spec.strip("[]").split("%")[0].split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out += range(int(lo), int(hi) + 1)
        elif part.isdigit():
            out.append(int(part))
    return out


def active_job(sweep_dir: Path) -> str | None:
    """The job id of a submission of this sweep that still has tasks queued or running."""
    for sub in reversed(submissions(sweep_dir)):
        job = job_id(sub)
        if job and array_tasks(job):
            return job
    return None


def submit(config: Any, settings: Any, job_overrides: Sequence[Sequence[str]],
           initial_job_idx: int = 0) -> list[Any]:
    """Submit the sweep's missing runs as one SLURM job array (see the module docstring).

    Raises:
        ConfigError: Bad settings, finished runs without ``resume=true``, an
            earlier submission still running, or no ``sbatch``.
    """
    check_settings(settings)
    if shutil.which("sbatch") is None:
        raise ConfigError("hydra/launcher=slurm", "sbatch not found on this machine: submit "
                          "from a SLURM login node (or start one with scripts/start-slurm)")
    sweep_dir, kind, ids, todo = shards.plan(config, job_overrides, initial_job_idx)
    sweep_dir = sweep_dir.absolute()
    if sweep_dir.exists():
        running = active_job(sweep_dir)
        if running:
            raise ConfigError(str(sweep_dir), f"SLURM job {running} of this sweep is still "
                              f"queued or running; follow it with python -m experiments.status "
                              f"{sweep_dir}, or cancel it with scancel {running}")
    sweep_dir.mkdir(parents=True, exist_ok=True)
    storage.write_manifest(sweep_dir, ids)
    if kind == "parquet":
        (sweep_dir / storage.RUNS_PARTS).mkdir(parents=True, exist_ok=True)
    if not todo:
        print(f"{sweep_dir}: every run has finished; nothing to submit", file=sys.stderr)
        return []
    sizes = split(len(todo), settings.get("shard_size"), settings["max_tasks"])
    bases, jobs = shards.compose(config, todo)
    sub_dir = _new_submission(sweep_dir)
    from sim.io import write_json, write_text

    start = 0
    for task, size in enumerate(sizes):
        shards.write_shard(shards.shard_file(sub_dir, task), bases, jobs[start:start + size])
        start += size
    wait = bool(settings.get("wait", True))
    write_json({"sweep_dir": str(sweep_dir), "storage": kind,
                "tables": storage.keeps_tables(config), "workers": settings["workers"],
                "flush_rows": settings["flush_rows"], "flush_seconds": settings["flush_seconds"],
                "shards": len(sizes), "runs": len(todo), "aggregate": not wait,
                "submitted_at": time.strftime("%Y-%m-%d %H:%M:%S")},
               sub_dir / "submission.json")
    (sub_dir / "logs").mkdir(exist_ok=True)
    script = write_text(sbatch_script(settings, sub_dir, len(sizes),
                                      f"influencer-sim:{sweep_dir.name}"),
                        sub_dir / "sweep.sbatch")
    proc = subprocess.run(["sbatch", "--parsable", str(script)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise ConfigError("hydra/launcher=slurm", "sbatch refused the job: "
                          + " ".join(proc.stderr.split()))
    job = proc.stdout.strip().split(";")[0]
    write_text(job + "\n", sub_dir / "job_id")
    from experiments.cleanup import created

    created.forget()  # submitted: the sweep's folder and files are its output now
    print(f"submitted {len(todo):,} runs in {len(sizes)} shard(s) of up to {max(sizes)} as SLURM "
          f"job {job} ({sub_dir.name}); follow it with: python -m experiments.status "
          f"{sweep_dir}", flush=True)
    if wait:
        wait_for(sweep_dir, job, kind, ids, float(settings.get("poll_seconds", 10.0)),
                 bool(settings.get("progress", True)))
    return []


def _new_submission(sweep_dir: Path) -> Path:
    for n in range(1, 1000):
        sub = sweep_dir / SLURM_DIR / f"submit-{n:03d}"
        try:
            sub.mkdir(parents=True)
            return sub
        except FileExistsError:
            continue
    raise ConfigError(str(sweep_dir), "holds 999 submissions; start a new sweep_name")


def wait_for(sweep_dir: Path, job: str, kind: str, ids: list[str], poll: float,
             progress: bool) -> None:
    """Block until the array ``job`` has left the queue, with a bar over finished runs."""
    bar = None
    if progress and sys.stderr.isatty():
        from tqdm.auto import tqdm

        bar = tqdm(total=len(ids), desc="runs", unit="run")
    while True:
        tasks = array_tasks(job)
        if bar is not None:
            bar.n = len(storage.run_states(sweep_dir, kind, ids))
            bar.refresh()
        if not tasks:
            break
        time.sleep(poll)
    if bar is not None:
        bar.close()
    states = storage.run_states(sweep_dir, kind, ids)
    missing = len(set(ids) - set(states))
    if missing:
        print(f"warning: SLURM job {job} ended with {missing} run(s) missing (a shard was "
              "stopped or hit its time limit); the same command with resume=true runs them",
              file=sys.stderr)
