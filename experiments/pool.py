"""Process pool shared by a sweep's runs and its end-of-sweep work.

A ``-m`` sweep runs its jobs in joblib's reusable loky pool (the project's
launcher, :mod:`hydra_plugins.influencer_sim_launcher`). The same warm
workers, with the model already imported, then read the run folders and draw
the figures in parallel: on two cores that halves the serial tail of a sweep.
:func:`start` launches the workers early, so that they import the model while
the main process is still composing and checking the sweep.

Everything here runs in order in the calling process when ``workers`` is 1.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import Any

#: Modules a warm worker imports before its first job.
WARM_MODULES = ("sim.run", "experiments.common", "experiments.figures")


def worker_count(n_jobs: int | None) -> int:
    """Processes for ``n_jobs`` in joblib's convention (``-1``: all cores, ``None``: 1).

    Raises:
        ConfigError: ``n_jobs`` is 0 or not a whole number.
    """
    from joblib import effective_n_jobs

    from sim.config import ConfigError

    try:
        return max(1, effective_n_jobs(None if n_jobs is None else int(n_jobs)))
    except (TypeError, ValueError) as exc:
        raise ConfigError("hydra.launcher.n_jobs", "must be a whole number other than 0 "
                          f"(-1: all cores, 1: no pool); got {n_jobs!r}") from exc


#: The project's launcher, whose pool the end-of-sweep work shares.
LAUNCHER = "hydra_plugins.influencer_sim_launcher.launcher.InfluencerLauncher"


def sweep_workers(config: Any) -> int:
    """Processes of a sweep: the project launcher's ``n_jobs``, else 1.

    The pool always has this size, whatever is left to do, so that the
    launcher and the end of the sweep find the workers :func:`start` warmed.
    """
    from omegaconf import OmegaConf

    if OmegaConf.select(config, "hydra.launcher._target_") != LAUNCHER:
        return 1
    return worker_count(OmegaConf.select(config, "hydra.launcher.n_jobs"))


#: Seconds an idle worker waits for work before it exits (joblib's value).
IDLE_TIMEOUT_S = 300


def executor(workers: int) -> Any:
    """The reusable loky pool with ``workers`` processes (started if needed).

    Each worker gets ``cores // workers`` BLAS/OpenMP/numba threads, as joblib
    gives its workers, so a pool never oversubscribes the machine. Calls with
    the same ``workers`` get the same pool.
    """
    import os

    from joblib.externals.loky import get_reusable_executor

    threads = str(max(1, (os.cpu_count() or 1) // workers))
    env = {name: threads for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                      "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}
    return get_reusable_executor(max_workers=workers, timeout=IDLE_TIMEOUT_S, env=env,
                                 initializer=_ignore_interrupt)


def _ignore_interrupt() -> None:
    """Workers ignore Ctrl-C: the main process stops them (a run cut short is re-run)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _import(names: tuple[str, ...]) -> None:
    import importlib

    for name in names:
        importlib.import_module(name)


def start(workers: int, modules: tuple[str, ...] = WARM_MODULES) -> None:
    """Start ``workers`` pool processes now and have them import ``modules``.

    Returns at once and never raises; nothing happens when ``workers`` is 1.
    """
    if workers <= 1:
        return
    try:
        pool = executor(workers)
        for _ in range(workers):
            pool.submit(_import, modules)
    except Exception:  # noqa: BLE001  (warming up is an optimisation; the launcher retries)
        stop()


#: Modules the main process of a sweep needs at the end (aggregation, figure planning).
END_MODULES = ("experiments.aggregate", "experiments.figures")


def import_in_background(modules: tuple[str, ...] = END_MODULES) -> None:
    """Import ``modules`` in a daemon thread of this process.

    The main process of a sweep waits while the workers run; importing the
    tables and figures code then (~2 s of pandas, Mesa, matplotlib) takes it
    off the start and the end of the sweep, where the workers would wait.
    """
    import threading

    threading.Thread(target=_import, args=(modules,), name="import-end-modules",
                     daemon=True).start()


def _quiet_pool_thread() -> None:
    """Silence the pool's manager thread from now on.

    Killed while jobs are queued, loky's manager thread can trip over its own
    half-removed bookkeeping (a ``KeyError`` traceback) as the process exits;
    the sweep's state is in its folders either way.
    """
    import threading

    previous = threading.excepthook

    def hook(args: Any) -> None:
        if args.thread is not None and args.thread.name == "ExecutorManagerThread":
            return
        previous(args)

    threading.excepthook = hook


def stop() -> None:
    """Shut the pool down now, ending its workers and any work in progress; never raises.

    Used once the pool's work is done (the end of a sweep, saving ~0.5 s of
    winding down), and when it must not go on (bad input, Ctrl-C).
    """
    try:
        from joblib.externals.loky import reusable_executor
        from joblib.externals.loky.backend.utils import kill_process_tree

        pool = getattr(reusable_executor, "_executor", None)
        if pool is None:
            return
        workers = list(getattr(pool, "_processes", {}).values())
        _quiet_pool_thread()
        pool.shutdown(wait=False, kill_workers=True)
        # The pool kills its workers from a thread of its own; end them here too, so
        # that none outlives a process about to exit (e.g. on Ctrl-C).
        for worker in workers:
            with contextlib.suppress(ProcessLookupError, OSError):
                kill_process_tree(worker)
    except Exception:  # noqa: BLE001  (stopping early is an optimisation, never an error)
        pass


def pool_map[T, R](fn: Callable[[T], R], items: Iterable[T], workers: int = 1) -> list[R]:
    """``[fn(x) for x in items]``, in order, over ``workers`` processes.

    ``fn`` must be importable (a module-level function) when ``workers > 1``;
    the first exception raised by a call is raised here.
    """
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    pool = executor(workers)
    return [future.result() for future in [pool.submit(fn, x) for x in items]]
