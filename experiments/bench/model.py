"""The full model, sweeps and scaling, each measured in fresh processes.

Every measurement runs in its own process (:mod:`experiments.bench.worker`)
started with the one-thread environment and a shared numba cache folder, so
peak memory is that of one run, and each process warms up on a tiny run before
the timed one (compilation is measured once, apart, by :func:`bench_compile`).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from experiments.bench.machine import one_thread_env

Say = Callable[[str], None]
ROOT = Path(__file__).resolve().parents[2]


def _quiet(_: str) -> None:
    pass


class WorkerError(RuntimeError):
    """A benchmark subprocess failed."""


def spawn(job: dict[str, Any], cache_dir: str | os.PathLike | None = None,
          timeout: float = 3600.0) -> dict[str, Any]:
    """Run ``job`` in a fresh Python process and return its JSON result.

    Args:
        job: See :mod:`experiments.bench.worker`; ``cpus`` pins the process.
        cache_dir: ``NUMBA_CACHE_DIR`` of the process (default: numba's own).
        timeout: Seconds before the process is killed.
    """
    env = one_thread_env()
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, "-m", "experiments.bench.worker", json.dumps(job)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise WorkerError(f"benchmark job {job} failed (exit {proc.returncode}):\n{tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, min, max and count of repeated measurements."""
    v = np.asarray(values, np.float64)
    return {"median": float(np.median(v)), "min": float(v.min()), "max": float(v.max()),
            "n": int(v.size)}


# --- compile time ----------------------------------------------------------------------


def bench_compile(cpus: list[int], say: Say = _quiet) -> dict[str, Any]:
    """First-run cost: a tiny run with an empty numba cache, then with a warm one.

    Returns:
        ``cold`` and ``warm`` worker results (import seconds, first and second
        run seconds) and ``compile_s``: the first run with an empty cache minus
        the second run of the same process (compiling every kernel).
    """
    with tempfile.TemporaryDirectory(prefix="bench-numba-cold-") as fresh:
        cold = spawn({"kind": "compile", "cpus": cpus}, cache_dir=fresh)
        warm = spawn({"kind": "compile", "cpus": cpus}, cache_dir=fresh)
    out = {"cold": cold, "warm": warm,
           "compile_s": cold["first_run_s"] - cold["second_run_s"],
           "cache_load_s": warm["first_run_s"] - warm["second_run_s"]}
    say(f"model: compile {out['compile_s']:.1f} s with an empty numba cache, "
        f"{out['cache_load_s']:.2f} s to load a warm one")
    return out


# --- the full model --------------------------------------------------------------------


def model_runs(n: int, days: int, repeats: int, cpus: list[int], cache_dir: str | None,
               say: Say = _quiet, seed: int = 0) -> dict[str, Any]:
    """``repeats`` runs of ``n`` people for ``days``, each in a fresh pinned process.

    Returns:
        Per-run results (``runs``) and the spread of build, run and total
        seconds, peak memory and messages per second.
    """
    runs = []
    for r in range(repeats):
        res = spawn({"kind": "model", "n": n, "days": days, "seed": seed, "cpus": cpus},
                    cache_dir=cache_dir)
        runs.append(res)
        say(f"  n={n:,} repeat {r + 1}/{repeats}: build {res['build_s']:.2f} s, "
            f"run {res['run_s']:.2f} s, peak {res['peak_rss_mb']:.0f} MB")
    total = [r["build_s"] + r["run_s"] for r in runs]
    return {
        "n": n, "days": days, "seed": seed, "runs": runs,
        "build_s": spread([r["build_s"] for r in runs]),
        "run_s": spread([r["run_s"] for r in runs]),
        "total_s": spread(total),
        "cpu_s": spread([r["cpu_s"] for r in runs]),
        "peak_rss_mb": spread([r["peak_rss_mb"] for r in runs]),
        "baseline_rss_mb": spread([r["rss_before_mb"] for r in runs]),
        "load_1min": spread([r["load_average"][0] for r in runs]),
        "messages": runs[0]["messages"],
        "messages_per_s": spread([r["messages"] / r["run_s"] for r in runs]),
    }


# --- sweeps ------------------------------------------------------------------------------


def bench_sweep(runs: int, n: int, days: int, one_core: list[int], all_cpus: list[int],
                cache_dir: str | None, say: Say = _quiet) -> dict[str, Any]:
    """Runs per minute of one sweep, serially on one core and with joblib on all cores."""
    serial = spawn({"kind": "sweep", "runs": runs, "n": n, "days": days, "n_jobs": 1,
                    "cpus": one_core}, cache_dir=cache_dir)
    say(f"sweep: 1 core {serial['runs_per_min']:.1f} runs/min")
    parallel = spawn({"kind": "sweep", "runs": runs, "n": n, "days": days,
                      "n_jobs": len(all_cpus), "cpus": all_cpus}, cache_dir=cache_dir)
    say(f"sweep: {len(all_cpus)} cores {parallel['runs_per_min']:.1f} runs/min")
    return {"runs": runs, "n": n, "days": days, "serial": serial, "parallel": parallel,
            "speedup": parallel["runs_per_min"] / serial["runs_per_min"]}


def bench_sweep_cli(runs: int, repeats: int, one_core: list[int], all_cpus: list[int],
                    overrides: Sequence[str] = (), say: Say = _quiet) -> dict[str, Any]:
    """Wall time of a real ``-m`` sweep through the command line, on 1 core and on all.

    ``python -m experiments.run -m seed=range(runs)`` end to end (start-up,
    checking, runs, aggregation, figures), once with ``hydra.launcher.n_jobs=1``
    pinned to one core, once with every core, alternating ``repeats`` times.
    """
    root = Path(__file__).resolve().parents[2]
    walls: dict[str, list[float]] = {"one": [], "all": []}
    for _ in range(repeats):
        for key, cpus in (("one", one_core), ("all", all_cpus)):
            with tempfile.TemporaryDirectory() as tmp:
                cmd = [sys.executable, "-m", "experiments.run", "-m", f"seed=range({runs})",
                       f"hydra.sweep.dir={tmp}/sweep", f"hydra.launcher.n_jobs={len(cpus)}",
                       *overrides]
                t0 = time.perf_counter()
                subprocess.run(cmd, cwd=root, check=True, capture_output=True,
                               preexec_fn=lambda c=cpus: os.sched_setaffinity(0, c))
                walls[key].append(time.perf_counter() - t0)
            say(f"sweep (command line): {runs} runs on {len(cpus)} core(s) "
                f"{walls[key][-1]:.1f} s")
    one, many = float(np.median(walls["one"])), float(np.median(walls["all"]))
    return {"runs": runs, "overrides": list(overrides), "cores": len(all_cpus),
            "one_core_s": walls["one"], "all_cores_s": walls["all"],
            "ratio": many / one, "ratios": [b / a for a, b in zip(walls["one"], walls["all"],
                                                                   strict=True)]}


# --- scaling -----------------------------------------------------------------------------


def loglog_slope(n: Sequence[float], seconds: Sequence[float]) -> float:
    """Least-squares slope of ``log(seconds)`` against ``log(n)``."""
    x = np.log(np.asarray(n, np.float64))
    y = np.log(np.asarray(seconds, np.float64))
    if x.size < 2:
        return math.nan
    return float(np.polyfit(x, y, 1)[0])


def scaling_summary(points: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Rows (people, build, run, total: medians) and the log-log slope of each."""
    ns = sorted(points)
    rows = [{"n": n, "build_s": p["build_s"]["median"], "run_s": p["run_s"]["median"],
             "total_s": p["total_s"]["median"],
             "total_range": [p["total_s"]["min"], p["total_s"]["max"]],
             "peak_rss_mb": p["peak_rss_mb"]["median"], "repeats": p["total_s"]["n"]}
            for n, p in ((n, points[n]) for n in ns)]
    slopes = {key: loglog_slope(ns, [r[key] for r in rows])
              for key in ("build_s", "run_s", "total_s")}
    return {"rows": rows, "slope": slopes}


def short_count(n: int) -> str:
    """``10k``, ``300k``, ``1M``."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return f"{n:,}"


def scaling_figure(summary: dict[str, Any], path: str | os.PathLike,
                   title: str = "Time against people (365 days, one core)") -> Path:
    """Log-log figure of build, run and total time against people; saved as PNG."""
    from matplotlib.figure import Figure

    from sim.viz.plots import COLORS, OKABE_ITO, apply_style, plain_log_ticks, save_figure

    rows = summary["rows"]
    n = np.array([r["n"] for r in rows], np.float64)
    with apply_style():
        fig = Figure(figsize=(8, 5.5))
        ax = fig.add_subplot()
        series = (("total_s", "total", OKABE_ITO["blue"], "o"),
                  ("run_s", "run", OKABE_ITO["orange"], "s"),
                  ("build_s", "build", OKABE_ITO["bluish_green"], "^"))
        for key, label, color, marker in series:
            y = np.array([r[key] for r in rows])
            slope = summary["slope"][key]
            ax.plot(n, y, marker=marker, color=color, label=f"{label} (slope {slope:.2f})")
        lo = np.array([r["total_range"][0] for r in rows])
        hi = np.array([r["total_range"][1] for r in rows])
        ax.fill_between(n, lo, hi, color=OKABE_ITO["blue"], alpha=0.15, linewidth=0)
        ref = np.array([r["total_s"] for r in rows])[0] * n / n[0]
        ax.plot(n, ref, linestyle="--", color=COLORS["muted"], linewidth=1.5,
                label="slope 1 (linear)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(n, [short_count(int(x)) for x in n])
        ax.minorticks_off()
        plain_log_ticks(ax.yaxis)
        ax.set_xlabel("people")
        ax.set_ylabel("seconds")
        ax.set_title(title)
        ax.legend(loc="upper left", fontsize=12)
        fig.tight_layout()
    path = Path(path)
    return save_figure(fig, path.with_suffix(""), formats=("png",))[0]
