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

from collections.abc import Callable, Iterable
from typing import Any

#: Modules a warm worker imports before its first job.
WARM_MODULES = ("sim.run", "experiments.common", "experiments.figures")


def worker_count(n_jobs: int | None, tasks: int | None = None) -> int:
    """Processes for ``n_jobs`` in joblib's convention (``-1``: all cores), at most ``tasks``."""
    from joblib import effective_n_jobs

    count = effective_n_jobs(-1 if n_jobs is None else int(n_jobs))
    return max(1, min(count, tasks) if tasks is not None else count)


#: The project's launcher, whose pool the end-of-sweep work shares.
LAUNCHER = "hydra_plugins.influencer_sim_launcher.launcher.InfluencerLauncher"


def sweep_workers(config: Any, tasks: int | None = None) -> int:
    """Processes of a sweep: the project launcher's ``n_jobs`` (at most ``tasks``), else 1.

    Args:
        config: The sweep's config, with its ``hydra`` node.
        tasks: How many jobs there are to share out, if known.
    """
    from omegaconf import OmegaConf

    if OmegaConf.select(config, "hydra.launcher._target_") != LAUNCHER:
        return 1
    return worker_count(OmegaConf.select(config, "hydra.launcher.n_jobs"), tasks)


def executor(workers: int) -> Any:
    """The reusable loky pool with ``workers`` processes (started if needed)."""
    from joblib.externals.loky import get_reusable_executor

    return get_reusable_executor(max_workers=workers)


def _import(names: tuple[str, ...]) -> None:
    import importlib

    for name in names:
        importlib.import_module(name)


def start(workers: int, modules: tuple[str, ...] = WARM_MODULES) -> None:
    """Start ``workers`` pool processes now and have them import ``modules``.

    Returns at once; nothing happens when ``workers`` is 1.
    """
    if workers <= 1:
        return
    pool = executor(workers)
    for _ in range(workers):
        pool.submit(_import, modules)


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


def stop() -> None:
    """Stop the pool's workers now, without waiting for their work (e.g. on bad input)."""
    from joblib.externals.loky.reusable_executor import _executor

    if _executor is not None:
        _executor.shutdown(wait=False, kill_workers=True)


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
