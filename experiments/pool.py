"""Process pool shared by a sweep's runs and its end-of-sweep work.

A ``-m`` sweep runs its jobs in joblib's reusable loky pool (the project's
launcher, :mod:`hydra_plugins.influencer_sim_launcher`). The same warm
workers, with the model already imported, then read the run folders and draw
the figures in parallel: on two cores that halves the serial tail of a sweep.
:func:`start` launches the workers early, so that they import the model while
the main process is still composing and checking the sweep.

Workers never outlive the main process: each asks the kernel to send it
SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)`` on Linux) and also
watches its parent's pid; on SIGTERM a worker unwinds (so files being written
atomically are removed) and exits within two seconds.

Only public names are used: loky's ``get_reusable_executor`` (its documented
entry point, vendored by joblib as ``joblib.externals.loky``; joblib is pinned
in ``pyproject.toml`` and ``tests/test_pool.py`` checks the name), the standard
``concurrent.futures`` interface of the executor it returns, and ``psutil`` to
wait for stopped workers.

Everything here runs in order in the calling process when ``workers`` is 1.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

#: Modules a warm worker imports before its first job.
WARM_MODULES = ("sim.run", "experiments.jobs", "experiments.figures")

#: Exit status of a process ended by SIGTERM (128 + 15), as the shell reports it.
EXIT_TERMINATED = 143


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
#: Seconds between two looks of a worker at its parent.
PARENT_POLL_S = 1.0
#: Seconds a worker told to stop (SIGTERM) has to unwind before it exits regardless.
UNWIND_S = 2.0

_pool: Any = None
_in_worker = False


def in_worker() -> bool:
    """Whether this process is a pool worker."""
    return _in_worker


def executor(workers: int) -> Any:
    """The reusable loky pool with ``workers`` processes (started if needed).

    Each worker gets ``cores // workers`` BLAS/OpenMP/numba threads, as joblib
    gives its workers, so a pool never oversubscribes the machine. Calls with
    the same ``workers`` get the same pool; a pool broken by a killed worker is
    replaced by a fresh one.
    """
    global _pool
    from joblib.externals.loky import get_reusable_executor

    threads = str(max(1, (os.cpu_count() or 1) // workers))
    env = {name: threads for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                      "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}
    _pool = get_reusable_executor(max_workers=workers, timeout=IDLE_TIMEOUT_S, env=env,
                                  initializer=_init_worker, initargs=(os.getpid(),))
    return _pool


def _exit_with_parent(parent: int) -> None:
    """Have the kernel send SIGTERM to this process when its parent dies (Linux)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)

    def watch() -> None:  # everywhere, and for a parent that died before prctl
        import time

        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def _on_terminate(signum: int, frame: Any) -> None:
    """SIGTERM in a worker: unwind the job (atomic writes remove their temporary files)."""
    timer = threading.Timer(UNWIND_S, os._exit, args=(EXIT_TERMINATED,))
    timer.daemon = True
    timer.start()
    raise SystemExit(EXIT_TERMINATED)


def _init_worker(parent: int) -> None:
    """Set up a worker: ignore Ctrl-C (the main process stops it), end with its parent."""
    global _in_worker
    _in_worker = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_terminate)
    _exit_with_parent(parent)


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
    threading.Thread(target=_import, args=(modules,), name="import-end-modules",
                     daemon=True).start()


def _quiet_pool_thread() -> None:
    """Silence the pool's manager thread from now on.

    Killed while jobs are queued, loky's manager thread can trip over its own
    half-removed bookkeeping (a ``KeyError`` traceback) as the process exits;
    the sweep's state is in its folders either way.
    """
    previous = threading.excepthook

    def hook(args: Any) -> None:
        if args.thread is not None and args.thread.name == "ExecutorManagerThread":
            return
        previous(args)

    threading.excepthook = hook


def _worker_processes() -> list[Any]:
    """This process's loky workers (children running loky's worker entry point)."""
    try:
        import psutil

        children = psutil.Process().children(recursive=False)
    except Exception:  # noqa: BLE001
        return []
    workers = []
    for child in children:
        with contextlib.suppress(Exception):
            if any("popen_loky" in part for part in child.cmdline()):
                workers.append(child)
    return workers


def _join_manager_threads(timeout: float) -> None:
    """Wait (up to ``timeout`` seconds) for the pool's manager thread to finish its clean-up.

    The thread releases the pool's semaphores as it ends; a process that exits
    while it is half-way through leaves the semaphore registered with loky's
    resource tracker, which then prints "leaked semlock objects" warnings on
    the user's screen after the run's own one-line message.
    """
    for thread in threading.enumerate():
        if thread.name == "ExecutorManagerThread" and thread is not threading.current_thread():
            thread.join(timeout)


def stop(wait: float = 5.0) -> None:
    """Shut the pool down now, ending its workers and any work in progress; never raises.

    Used once the pool's work is done (the end of a sweep, saving ~0.5 s of
    winding down), and when it must not go on (bad input, Ctrl-C, SIGTERM).
    Waits up to ``wait`` seconds for the workers to be gone.
    """
    global _pool
    pool, _pool = _pool, None
    try:
        workers = _worker_processes()
        if pool is not None:
            _quiet_pool_thread()
            pool.shutdown(wait=False, kill_workers=True)
        for worker in workers:
            with contextlib.suppress(Exception):
                worker.kill()
        if workers:
            import psutil

            psutil.wait_procs(workers, timeout=wait)
        _join_manager_threads(wait)
    except Exception:  # noqa: BLE001  (stopping early is an optimisation, never an error)
        pass


def pool_map[T, R](fn: Callable[[T], R], items: Iterable[T], workers: int = 1,
                  on_each: Callable[[], None] | None = None) -> list[R]:
    """``[fn(x) for x in items]``, in order, over ``workers`` processes.

    ``fn`` must be importable (a module-level function) when ``workers > 1``;
    the first exception raised by a call is raised here. ``on_each`` is called
    once per result, in order (e.g. to move a progress bar).
    """
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        futures = None
    else:
        pool = executor(workers)
        futures = [pool.submit(fn, x) for x in items]
    results = []
    for i, x in enumerate(items):
        results.append(fn(x) if futures is None else futures[i].result())
        if on_each is not None:
            on_each()
    return results


def run_surviving[T, R](fn: Callable[[T], R], items: Iterable[T], workers: int,
                        lost: Callable[[T], R], *,
                        on_first: Callable[[], None] | None = None,
                        warn: Callable[[str], None] | None = None) -> Iterator[tuple[T, R]]:
    """``(item, fn(item))`` as they finish, over ``workers`` processes; survive dying workers.

    The one policy for a worker process that dies (the out-of-memory killer's
    SIGKILL, a crash in compiled code), used by the sweep launcher and by
    every shard of a SLURM sweep. A dead worker breaks the whole pool and
    fails the items in flight: those are run again once, together, in a
    fresh pool; if the pool breaks again, they run one at a time, and an item
    whose worker dies while it runs alone is given ``lost(item)`` (its
    failure record) while the others go on. Items not yet started are never
    affected. At most ``2 * workers`` items are in flight at once, and this
    process wakes every second, so a signal (SIGTERM) is handled promptly.

    Args:
        fn: An importable (module-level) function of one item.
        items: The items, in the order to start them.
        workers: Pool processes (>= 2; use a plain loop for one).
        lost: The result of an item that killed its worker on its own.
        on_first: Called once, after the first result (the workers are busy then).
        warn: Told, in one line, when a worker died.

    Yields:
        ``(item, result)`` in the order results arrive.
    """
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    first = [True]

    def batch(queue: deque[T]) -> Iterator[tuple[T, R]]:
        """Run ``queue`` in the pool until it is empty or the pool breaks; return the lost."""
        pool = executor(workers)
        inflight: dict[Any, T] = {}
        broken: list[T] = []
        while inflight or (queue and not broken):
            while queue and not broken and len(inflight) < 2 * workers:
                item = queue.popleft()
                inflight[pool.submit(fn, item)] = item
            finished, _ = wait(inflight, timeout=1.0, return_when=FIRST_COMPLETED)
            for future in finished:
                item = inflight.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    broken.append(item)
                    continue
                if first[0] and on_first is not None:
                    on_first()
                first[0] = False
                yield item, result
        if broken:
            stop()
        return broken

    def tell(count: int, alone: bool) -> None:
        if warn is not None:
            warn(f"a worker process died (killed, e.g. out of memory); {count} unfinished "
                 f"run(s) run again{', one at a time' if alone else ''}")

    queue = deque(items)
    while queue:
        suspects = yield from batch(queue)
        if not suspects:
            continue
        tell(len(suspects), alone=False)
        again = yield from batch(deque(suspects))
        if not again:
            continue
        tell(len(again), alone=True)
        for item in again:
            alone = yield from batch(deque([item]))
            if alone:
                yield item, lost(item)
