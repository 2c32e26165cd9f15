"""One measurement in a fresh process: ``python -m experiments.bench.worker '<job json>'``.

The parent (:mod:`experiments.bench.model`) starts this module with the
one-thread environment and a numba cache folder, and reads one JSON line from
its standard output (the last line). A job is a dict with ``kind``:

- ``model``: warm up on a tiny run (so compilation is excluded), then time one
  full-model run (``n`` people, ``days``, ``seed``); report build and run
  seconds, messages, and the peak resident memory of this process;
- ``compile``: time importing :mod:`sim.run` and a tiny run twice; with an
  empty numba cache the first run includes compilation;
- ``sweep``: ``runs`` default-scenario runs (``n`` people, ``days``) with seeds
  ``0..runs-1``, serially or with joblib on ``n_jobs`` processes, after a
  warm-up; report the wall time.

``cpus`` (a list of CPU ids) pins the process first; pinning happens before
:mod:`sim` (and numba) is imported.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from typing import Any

#: The tiny run that compiles (or loads) every kernel of the daily step.
WARMUP = {"n": 2_000, "days": 30}


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MiB).

    Reads ``VmHWM`` from ``/proc/self/status``: the high-water mark of this
    process's own address space. ``getrusage(RUSAGE_SELF).ru_maxrss`` would be
    wrong here: Linux carries the parent's peak over ``fork`` + ``exec``, so a
    small child of a big parent would report the parent's size.
    """
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def sweep_one(seed: int, n: int, days: int) -> dict[str, Any]:
    """One run of a sweep: the default scenario with ``seed``, ``n`` people, ``days``."""
    from sim.config import Config, PeopleConfig
    from sim.run import run

    t0 = time.perf_counter()
    res = run(Config(seed=int(seed), days=int(days), warmup_days=0, people=PeopleConfig(n=int(n))))
    return {"seed": int(seed), "wall_s": time.perf_counter() - t0,
            "messages": int(res.metrics["n_messages"]), "pid": os.getpid()}


def _model(job: dict[str, Any]) -> dict[str, Any]:
    from sim.config import Config, PeopleConfig
    from sim.run import run

    t0 = time.perf_counter()
    run(Config(seed=1, days=WARMUP["days"], warmup_days=0, people=PeopleConfig(n=WARMUP["n"])))
    warm_s = time.perf_counter() - t0
    rss_before = _peak_rss_mb()
    # The speed targets are for 365 simulated days: the model's warm-up (730 days by
    # default, docs/model.md 7.17) would triple the work, so it is off here.
    cfg = Config(seed=int(job.get("seed", 0)), days=int(job["days"]), warmup_days=0,
                 people=PeopleConfig(n=int(job["n"])))
    t1 = time.perf_counter()
    c1 = time.process_time()
    res = run(cfg)
    cpu = time.process_time() - c1
    wall = time.perf_counter() - t1
    m = res.metrics
    return {
        "n": int(job["n"]), "days": int(job["days"]), "seed": cfg.seed,
        "build_s": res.timings["build"], "run_s": res.timings["run"], "wall_s": wall,
        "cpu_s": cpu,
        "messages": int(m["n_messages"]), "needs": int(m["n_needs"]),
        "closures": int(m["n_closed"]), "ties": int(m["n_ties"]),
        "peak_rss_mb": _peak_rss_mb(), "rss_before_mb": rss_before, "warmup_s": warm_s,
    }


def _compile(job: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    from sim.config import Config, PeopleConfig
    from sim.run import run

    import_s = time.perf_counter() - t0
    cfg = Config(seed=1, days=WARMUP["days"], warmup_days=0, people=PeopleConfig(n=WARMUP["n"]))
    t1 = time.perf_counter()
    run(cfg)
    first = time.perf_counter() - t1
    t2 = time.perf_counter()
    run(cfg)
    second = time.perf_counter() - t2
    return {"import_s": import_s, "first_run_s": first, "second_run_s": second,
            "cache_dir": os.environ.get("NUMBA_CACHE_DIR", "")}


def _sweep(job: dict[str, Any]) -> dict[str, Any]:
    runs, n, days, n_jobs = int(job["runs"]), int(job["n"]), int(job["days"]), int(job["n_jobs"])
    seeds = list(range(runs))
    if n_jobs == 1:
        t0 = time.perf_counter()
        sweep_one(1000, WARMUP["n"], WARMUP["days"])
        startup = time.perf_counter() - t0
        t1 = time.perf_counter()
        out = [sweep_one(s, n, days) for s in seeds]
        wall = time.perf_counter() - t1
    else:
        from joblib import Parallel, delayed

        pool = Parallel(n_jobs=n_jobs, backend="loky")
        t0 = time.perf_counter()  # start the workers and warm each one up
        pool(delayed(sweep_one)(1000 + i, WARMUP["n"], WARMUP["days"]) for i in range(n_jobs))
        startup = time.perf_counter() - t0
        t1 = time.perf_counter()
        out = pool(delayed(sweep_one)(s, n, days) for s in seeds)
        wall = time.perf_counter() - t1
    return {"runs": runs, "n": n, "days": days, "n_jobs": n_jobs, "wall_s": wall,
            "startup_s": startup, "run_s": [r["wall_s"] for r in out],
            "workers": len({r["pid"] for r in out}),
            "runs_per_min": 60.0 * runs / wall}


JOBS = {"model": _model, "compile": _compile, "sweep": _sweep}


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Run one job in this process (pinning it first if ``job["cpus"]`` is given)."""
    cpus = job.get("cpus")
    if cpus:
        os.sched_setaffinity(0, set(cpus))
    out = JOBS[job["kind"]](job)
    out["cpus"] = sorted(os.sched_getaffinity(0))
    out["load_average"] = list(os.getloadavg())
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the job given as JSON and print the result as the last line."""
    argv = sys.argv[1:] if argv is None else argv
    job = json.loads(argv[0])
    print(json.dumps(run_job(job)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
