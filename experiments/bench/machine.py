"""The machine a benchmark runs on, and one-core pinning.

Imports only the standard library, so :mod:`experiments.bench.cli` can pin the
process and set the thread variables *before* numba (through :mod:`sim`) is
imported.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import subprocess
import sys
import time
from importlib import metadata

#: Environment that keeps numba, OpenMP and BLAS to one thread.
ONE_THREAD_ENV: dict[str, str] = {
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}

#: Distributions whose versions BENCHMARKS.md records (pip name, label).
PACKAGES: tuple[tuple[str, str], ...] = (
    ("numpy", "numpy"),
    ("numba", "numba"),
    ("mesa", "mesa"),
    ("scipy", "scipy"),
    ("networkx", "networkx"),
    ("joblib", "joblib"),
    ("EoN", "EoN"),
    ("ndlib", "ndlib"),
)


def allowed_cpus() -> list[int]:
    """CPUs this process may run on (sorted)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def pin_to(cpus: list[int] | set[int] | tuple[int, ...]) -> None:
    """Restrict this process (and the children it starts later) to ``cpus``."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(cpus))


def one_thread_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this environment) with every thread pool set to one thread."""
    env = dict(os.environ if base is None else base)
    env.update(ONE_THREAD_ENV)
    return env


def load_average() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages (as ``uptime`` prints them)."""
    try:
        return os.getloadavg()
    except OSError:
        return (float("nan"),) * 3


def wait_for_low_load(threshold: float, max_wait: float, poll: float = 10.0,
                      say: bool = True) -> dict[str, float]:
    """Wait until the 1-minute load average is below ``threshold``, at most ``max_wait`` s.

    Returns:
        ``{"load_before": ..., "load_start": ..., "waited_s": ...}``: the load when
        called, the load when the benchmark starts, and the seconds waited.
    """
    before = load_average()[0]
    t0 = time.monotonic()
    load = before
    while load >= threshold and time.monotonic() - t0 < max_wait:
        if say:
            print(f"load average {load:.2f} >= {threshold:g}: waiting "
                  f"(at most {max_wait - (time.monotonic() - t0):.0f} s more)", flush=True)
        time.sleep(min(poll, max(0.0, max_wait - (time.monotonic() - t0))))
        load = load_average()[0]
    return {"load_before": before, "load_start": load_average()[0],
            "waited_s": time.monotonic() - t0}


def _lscpu() -> dict[str, str]:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10,
                             env={**os.environ, "LC_ALL": "C"}).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    info = {}
    for line in out.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(re.findall(r"\d+", line)[0]) / 1024**2
    except OSError:
        pass
    return float("nan")


def version(dist: str) -> str:
    """Installed version of distribution ``dist``, or ``"not installed"``."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, object]:
    """CPU model, cores, memory, OS, versions, date and load average, for the report."""
    cpu = _lscpu()
    model = cpu.get("Model name") or platform.processor() or "unknown"
    sockets = int(cpu.get("Socket(s)", "1") or 1)
    cores = int(cpu.get("Core(s) per socket", "0") or 0) * sockets
    return {
        "cpu": model,
        "cpu_mhz": cpu.get("CPU max MHz") or cpu.get("CPU MHz") or "",
        "hypervisor": cpu.get("Hypervisor vendor", ""),
        "logical_cpus": os.cpu_count() or 1,
        "cores": cores or (os.cpu_count() or 1),
        "allowed_cpus": len(allowed_cpus()),
        "memory_gib": round(_memory_gib(), 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "python_path": sys.executable,
        "versions": {label: version(dist) for dist, label in PACKAGES},
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": load_average(),
    }
