"""Run a list of sweep jobs in the project's process pool: one SLURM shard, or a local sweep.

A *shard* is a list of jobs (run id, overrides, composed config) that one
process runs on one machine with the project's pool (:mod:`experiments.pool`,
all cores by default). It is used

- by every array task of ``hydra/launcher=slurm`` (:mod:`experiments.slurm`):
  ``python -m experiments.shards SUBMISSION_DIR TASK_ID`` on a compute node;
- by the local launcher with ``storage=parquet`` (:func:`launch_local`): the
  whole sweep as one shard, without Hydra's per-job folders.

A shard skips the runs that already finished (so a resubmitted or overlapping
shard never runs one twice), records a failing run and goes on, and, when it
is stopped (``scancel``, its time limit: SIGTERM), writes the rows it holds
before it exits. On a SLURM node it first warms numba's on-disk cache, which
lives on node-local storage (``NUMBA_CACHE_DIR``), once per node under a file
lock, so the pool's workers load the compiled kernels instead of compiling
them side by side.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from experiments import storage

# --- planning ----------------------------------------------------------------------------


def plan(config: Any, job_overrides: Sequence[Sequence[str]], initial_job_idx: int = 0
         ) -> tuple[Path, str, list[str], list[tuple[int, str, list[str]]]]:
    """What a sweep still has to run (``Preflight`` has refused finished runs without resume).

    Returns:
        ``(sweep folder, storage, every run id, jobs to run as (number, id, overrides))``.

    Raises:
        ConfigError: A bad ``storage``, or a run naming the ids cannot follow.
    """
    kind = storage.storage_of(config)
    how = storage.naming(config)
    sweep_dir = Path(str(config.hydra.sweep.dir))
    jobs = [(initial_job_idx + i, storage.run_id(o, how), list(o))
            for i, o in enumerate(job_overrides)]
    ids = [rid for _, rid, _ in jobs]
    done = storage.finished_ids(sweep_dir, kind, ids) if sweep_dir.exists() else set()
    todo = [job for job in jobs if job[1] not in done]
    if done:
        print(f"resuming {sweep_dir}: {len(done & set(ids))} finished, {len(todo)} to run",
              file=sys.stderr)
    return sweep_dir, kind, ids, todo


def compose(config: Any, todo: Sequence[tuple[int, str, list[str]]]
            ) -> tuple[dict[str, bytes], list[dict[str, Any]]]:
    """Jobs of ``todo``, ready to run anywhere, and the base configs they start from.

    The jobs are split by :class:`experiments.preflight.JobComposer` (the one
    way jobs are composed): each distinct base (config groups and ``+``/``~``
    overrides) is composed once, here; the job's plain value overrides
    (``seed=3``) are applied to a copy of its base where the job runs
    (:func:`job_config`), so a login node never composes 100,000 configs.
    Bases travel pickled, by digest.

    Returns:
        ``(bases by digest, jobs)``; a job is ``{"num", "run_id", "overrides",
        "base", "values"}``.
    """
    import hashlib
    import pickle

    from experiments.preflight import JobComposer

    composer = JobComposer(config)
    digests: dict[tuple[str, ...], str] = {}
    bases: dict[str, bytes] = {}
    jobs = []
    for num, rid, overrides in todo:
        structural, plain = composer.split(list(overrides))
        if structural not in digests:
            payload = pickle.dumps(composer.base(structural), protocol=pickle.HIGHEST_PROTOCOL)
            digests[structural] = hashlib.sha256(payload).hexdigest()[:16]
            bases[digests[structural]] = payload
        jobs.append({"num": num, "run_id": rid, "overrides": list(overrides),
                     "base": digests[structural],
                     "values": [str(o.input_line) for o in plain]})
    return bases, jobs


#: Unpickled base configs of this process, by digest.
_BASES: dict[str, Any] = {}


def job_config(job: dict[str, Any], base: bytes) -> Any:
    """The composed config of ``job``: its base with its value overrides applied, as Hydra does."""
    import copy
    import pickle

    from experiments.preflight import apply_values

    if job["base"] not in _BASES:
        _BASES[job["base"]] = pickle.loads(base)
    cfg = copy.deepcopy(_BASES[job["base"]])
    apply_values(_parser().parse_overrides(job["values"]), cfg)
    return cfg


@functools.cache
def _parser() -> Any:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


# --- one job -------------------------------------------------------------------------------


def execute(job: dict[str, Any], base: bytes, sweep_dir: str, kind: str, tables: bool
            ) -> tuple[dict[str, Any], Any]:
    """Run one job (in a pool worker); return ``(row or status, audience bins or None)``.

    ``parquet``: the run's row (:func:`experiments.storage.run_row`).
    ``folders``: the run writes its folder as a Hydra job would (``.hydra/``
    with its overrides and config, then :func:`experiments.jobs.sweep_job`:
    tables and ``metrics.json``), and ``{"run_id", "status"}`` comes back.
    """
    cfg, error = None, None
    try:
        cfg = job_config(job, base)
    except Exception as exc:  # noqa: BLE001  (Preflight checked every job; recorded if not)
        error = exc
    if kind == "parquet":
        if cfg is None:
            return storage.failed_row(job["run_id"], job["overrides"], None, None, error,
                                      0.0), None
        return storage.run_row(job["run_id"], job["overrides"], cfg, sweep_dir, tables)
    from omegaconf import OmegaConf

    from experiments.jobs import sweep_job
    from sim.io import write_text

    folder = Path(sweep_dir) / job["run_id"]
    if cfg is None:
        _record_failed(folder, storage.failed_row(job["run_id"], job["overrides"], None, None,
                                                  error, 0.0)["error"])
        return {"run_id": job["run_id"], "status": "failed"}, None
    write_text(OmegaConf.to_yaml(job["overrides"]), folder / ".hydra" / "overrides.yaml")
    write_text(OmegaConf.to_yaml(cfg), folder / ".hydra" / "config.yaml")
    result = sweep_job(cfg, folder)
    return {"run_id": job["run_id"], "status": result.get("status", "ok")}, None


def _record_failed(folder: Path, error: str) -> None:
    """``metrics.json`` of a run that failed before it had a config (folder storage)."""
    from experiments.jobs import failure_record
    from sim.io import remove_stale_temps, write_json

    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(folder, older_than=0.0)
    write_json(failure_record(None, None, error), folder / "metrics.json")


# --- a list of jobs ------------------------------------------------------------------------


class StoppedError(BaseException):
    """The shard was told to stop (SIGTERM from ``scancel`` or its time limit).

    A ``BaseException``, like ``KeyboardInterrupt``, so that a run's own error
    handling (which records any ``Exception`` as a failed run) lets it through.
    """


def _raise_stopped(signum: int, frame: Any) -> None:
    raise StoppedError(f"signal {signum}")


def run_jobs(jobs: Sequence[dict[str, Any]], bases: dict[str, bytes], sweep_dir: Path,
             kind: str, *,
             tables: bool = False, workers: int = 1, tag: str | None = None,
             flush_rows: int = storage.FLUSH_ROWS,
             flush_seconds: float = storage.FLUSH_SECONDS,
             progress: bool = False, say: Callable[[str], None] | None = None,
             after_first: Callable[[], None] | None = None) -> dict[str, int]:
    """Run ``jobs`` (from :func:`compose`, with their ``bases``) over ``workers`` processes.

    Returns the counts of runs by status.

    Rows (parquet) go to a :class:`experiments.storage.PartWriter` of this
    process; it writes what it holds when the jobs end or the process is
    stopped (SIGTERM), and the pool is stopped then too.
    """
    from experiments import pool

    writer = storage.PartWriter(sweep_dir, tag or f"{storage.writer_name()}-{time.time_ns():x}",
                                flush_rows, flush_seconds) if kind == "parquet" else None
    counts: dict[str, int] = {}
    bar = None
    if progress and sys.stderr.isatty():
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="runs", unit="run")
    t0 = time.perf_counter()
    step = max(1, len(jobs) // 20)

    def record(result: tuple[dict[str, Any], Any]) -> None:
        row, bins = result
        if writer is not None:
            writer.add(row, bins)
        counts[row["status"]] = counts.get(row["status"], 0) + 1
        n = sum(counts.values())
        if bar is not None:
            bar.update(1)
        if say is not None and (n % step == 0 or n == len(jobs)):
            rate = 60 * n / max(time.perf_counter() - t0, 1e-9)
            say(f"{n}/{len(jobs)} runs ({_counts_text(counts)}), {rate:.1f} runs/min")

    previous = None
    if sys.platform != "win32":
        try:
            previous = signal.signal(signal.SIGTERM, _raise_stopped)
        except ValueError:  # not the main thread: no handler (nothing to flush on a signal)
            previous = None
    try:
        if workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                record(execute(job, bases[job["base"]], str(sweep_dir), kind, tables))
        else:
            _run_in_pool(jobs, bases, str(sweep_dir), kind, tables, workers, record,
                         after_first, say)
    except BaseException:
        pool.stop()
        raise
    finally:
        if writer is not None:
            writer.flush()
        if bar is not None:
            bar.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return counts


#: What a run whose worker process died is recorded with (after it ran again alone).
WORKER_DIED = ("WorkerDied: the worker process running this run died (killed by a signal, "
               "e.g. by the out-of-memory killer); the other runs went on")


def _execute_task(task: tuple[dict[str, Any], bytes, str, str, bool]) -> tuple[dict[str, Any],
                                                                                 Any]:
    return execute(*task)


def _run_in_pool(jobs: Sequence[dict[str, Any]], bases: dict[str, bytes], sweep_dir: str,
                 kind: str, tables: bool, workers: int, record: Callable[[Any], None],
                 after_first: Callable[[], None] | None,
                 say: Callable[[str], None] | None) -> None:
    """Run ``jobs`` in the pool with the launcher's policy for dying workers.

    :func:`experiments.pool.run_surviving`: the runs a dead worker took down run
    again, then one at a time; a run that kills its worker alone is recorded
    as failed (:data:`WORKER_DIED`) and the shard goes on.
    """
    from experiments import pool

    def lost(task: tuple[dict[str, Any], bytes, str, str, bool]) -> tuple[dict[str, Any], None]:
        return _died(task[0], sweep_dir, kind)

    tasks = [(job, bases[job["base"]], sweep_dir, kind, tables) for job in jobs]
    for _task, result in pool.run_surviving(_execute_task, tasks, workers, lost,
                                            on_first=after_first,
                                            warn=(lambda line: say(line)) if say else None):
        record(result)


def _died(job: dict[str, Any], sweep_dir: str, kind: str) -> tuple[dict[str, Any], None]:
    """The failed result of a run whose worker died while it ran alone."""
    print(f"warning: {job['run_id']}: run recorded as failed: {WORKER_DIED}", file=sys.stderr)
    if kind == "folders":
        _record_failed(Path(sweep_dir) / job["run_id"], WORKER_DIED)
        return {"run_id": job["run_id"], "status": "failed"}, None
    return storage.failed_row(job["run_id"], job["overrides"], None, None, WORKER_DIED,
                              0.0), None


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "none"


def launch_local(config: Any, job_overrides: Sequence[Sequence[str]], initial_job_idx: int,
                 workers: int, progress: bool) -> list[Any]:
    """The local launcher's sweep with ``storage=parquet``: one shard in this process's pool.

    No Hydra job folders: each job's config is composed once here
    (:class:`experiments.preflight.JobComposer`) and its row written into
    this process's parts.
    """
    from experiments.cleanup import created
    from experiments.pool import import_in_background

    sweep_dir, kind, ids, todo = plan(config, job_overrides, initial_job_idx)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    storage.write_manifest(sweep_dir, ids)
    (sweep_dir / storage.RUNS_PARTS).mkdir(parents=True, exist_ok=True)
    if todo:
        created.forget()  # runs start: the sweep's folder and files are its output now
        bases, jobs = compose(config, todo)
        try:
            run_jobs(jobs, bases, sweep_dir, kind, tables=storage.keeps_tables(config),
                     workers=workers, progress=progress, after_first=import_in_background)
        except StoppedError:
            print("stopped (SIGTERM): finished runs are kept; the same command with "
                  "resume=true runs only what is missing", file=sys.stderr, flush=True)
            raise SystemExit(143) from None
    return []


# --- one SLURM array task --------------------------------------------------------------------


def warm_numba_cache(say: Callable[[str], None]) -> None:
    """Compile the kernels into ``NUMBA_CACHE_DIR`` (node-local), once per node.

    Shards that share a node take a file lock, so one compiles while the
    others wait and then load; later shards on the node find the cache ready
    (a tiny run in well under a second).
    """
    import fcntl

    cache = os.environ.get("NUMBA_CACHE_DIR")
    if not cache:
        say("NUMBA_CACHE_DIR is not set: numba compiles in every worker")
        return
    Path(cache).mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(Path(cache) / ".warm.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        from sim import Config, run
        from sim.config import CascadeConfig, PeopleConfig

        run(Config(days=3, people=PeopleConfig(n=200)))
        run(Config(mode="cascade", people=PeopleConfig(n=200),
                   cascade=CascadeConfig(n_cascades=2)))
    say(f"numba cache {cache}: ready in {time.perf_counter() - t0:.1f} s")


def submission(sub_dir: Path) -> dict[str, Any]:
    """The settings of one SLURM submission (``submission.json``)."""
    return json.loads((sub_dir / "submission.json").read_text())


def shard_file(sub_dir: Path, task: int) -> Path:
    """The jobs of array task ``task`` (pickled ``{"bases", "jobs"}``, see :func:`compose`)."""
    return sub_dir / "shards" / f"shard-{task:04d}.pkl"


def write_shard(path: Path, bases: dict[str, bytes], jobs: list[dict[str, Any]]) -> None:
    """Write one shard's jobs and the bases they use."""
    import pickle

    from sim.io import write_bytes

    used = {job["base"] for job in jobs}
    write_bytes(pickle.dumps({"bases": {d: b for d, b in bases.items() if d in used},
                              "jobs": jobs}, protocol=pickle.HIGHEST_PROTOCOL), path)


def read_shard(path: Path) -> tuple[dict[str, bytes], list[dict[str, Any]]]:
    """``(bases, jobs)`` of a shard file written by :func:`write_shard`."""
    import pickle

    data = pickle.loads(path.read_bytes())
    return data["bases"], data["jobs"]


def done_marker(sub_dir: Path, task: int) -> Path:
    """Written when array task ``task`` has run all its jobs."""
    return sub_dir / "done" / f"shard-{task:04d}.json"


def run_shard(sub_dir: Path, task: int) -> int:
    """Run array task ``task`` of the submission in ``sub_dir``; return the exit status."""
    from experiments import pool
    from sim.io import write_json

    settings = submission(sub_dir)
    sweep_dir = Path(settings["sweep_dir"])
    kind = settings["storage"]

    def say(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] shard {task}: {msg}", flush=True)

    bases, jobs = read_shard(shard_file(sub_dir, task))
    done = storage.finished_ids(sweep_dir, kind, [j["run_id"] for j in jobs])
    todo = [j for j in jobs if j["run_id"] not in done]
    workers = pool.worker_count(settings["workers"])
    say(f"{len(jobs)} runs, {len(jobs) - len(todo)} already finished; {workers} workers on "
        f"{os.uname().nodename}")
    warm_numba_cache(say)
    job_id = os.environ.get("SLURM_ARRAY_JOB_ID", "local")
    t0 = time.perf_counter()
    try:
        counts = run_jobs(todo, bases, sweep_dir, kind, tables=settings["tables"],
                          workers=workers,
                          tag=f"slurm-{job_id}-{task:04d}-{time.time_ns():x}",
                          flush_rows=settings["flush_rows"],
                          flush_seconds=settings["flush_seconds"], say=say)
    except StoppedError:
        say("stopped (scancel or time limit): finished runs are kept; resubmit with "
            "resume=true to run the rest")
        return 143
    finally:
        pool.stop()
    seconds = time.perf_counter() - t0
    write_json({"task": task, "runs": len(jobs), "ran": len(todo), "counts": counts,
                "seconds": seconds, "node": os.uname().nodename, "workers": workers},
               done_marker(sub_dir, task))
    say(f"done: {_counts_text(counts)} in {seconds:.0f} s")
    if settings.get("aggregate") and last_to_finish(sub_dir, settings["shards"]):
        aggregate(sweep_dir, workers, say)
    return 0


def last_to_finish(sub_dir: Path, shards: int) -> bool:
    """True for exactly one shard: the one that finds every shard done and takes the lock."""
    if not all(done_marker(sub_dir, t).exists() for t in range(shards)):
        return False
    try:
        fd = os.open(sub_dir / "done" / "aggregate.lock", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def aggregate(sweep_dir: Path, workers: int, say: Callable[[str], None]) -> None:
    """Summary tables and figures of the sweep (the last shard does it on its node)."""
    from experiments.aggregate import summarize_sweep
    from experiments.callbacks import sweep_summary
    from experiments.figures import make_figures

    say("last shard: aggregating the sweep")
    summary = summarize_sweep(sweep_dir, workers=workers)
    figures = make_figures(sweep_dir, workers=workers)
    print(sweep_summary(summary, sweep_dir, len([f for f in figures if f.suffix == ".png"])),
          flush=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m experiments.shards SUBMISSION_DIR TASK_ID`` (what a SLURM array task runs)."""
    import argparse

    parser = argparse.ArgumentParser(description="Run one shard of a SLURM sweep submission.")
    parser.add_argument("submission", type=Path)
    parser.add_argument("task", type=int)
    args = parser.parse_args(argv)
    if not shard_file(args.submission, args.task).exists():
        print(f"error: {shard_file(args.submission, args.task)}: no such shard", file=sys.stderr)
        return 2
    return run_shard(args.submission, args.task)


if __name__ == "__main__":
    # Run from the imported module, not from ``__main__``: the pool's workers must find
    # the job functions as ``experiments.shards.*``.
    from experiments.shards import main as _main

    sys.exit(_main())
