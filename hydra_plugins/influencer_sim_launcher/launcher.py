"""The sweep launcher: ``hydra/launcher=influencer`` (the project's default).

It runs a sweep's jobs in parallel on all cores (joblib's loky process pool,
:mod:`experiments.pool`) and adds what a long sweep needs:

- a progress bar over the sweep's runs (on a terminal);
- resuming: a run whose folder already holds a finished ``metrics.json`` is
  not run again (``Preflight`` lets a sweep with finished runs start only with
  ``resume=true``), so a sweep killed midway finishes with exactly one result
  per run;
- surviving a killed worker (the out-of-memory killer's SIGKILL): the runs the
  dead worker took down with the pool are run again once; if the pool breaks
  again, the remaining ones run one at a time, and a run that kills its worker
  on its own is recorded as failed (``metrics.json``: ``status: failed``) while
  the rest finish;
- less overhead per run: the workers get the sweep's Hydra state once per
  worker (:mod:`._worker`).

Structure, for a launcher on another back end (e.g. a cluster scheduler):
:meth:`InfluencerLauncher.launch` decides what is left to run (:meth:`_pending`)
and reports progress; :meth:`InfluencerLauncher._run` is the back end, yielding
one :class:`~hydra.core.utils.JobReturn` per job as jobs finish;
:func:`._worker.execute_job` runs one job anywhere.

Only Hydra's public launcher interface is used (``hydra.plugins.launcher``,
``hydra.core.utils``). Settings under ``hydra.launcher``: ``n_jobs`` (joblib's
convention: ``-1`` all cores, ``1`` in this process) and ``progress``.
"""


import json
import logging
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, configure_log, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict

from experiments.pool import import_in_background, run_surviving, stop, worker_count
from experiments.schema import DIRNAME_RESOLVER, safe_dirname
from hydra_plugins.influencer_sim_launcher import _worker

log = logging.getLogger(__name__)


@dataclass
class InfluencerLauncherConf:
    """Settings of the launcher.

    Attributes:
        n_jobs: Worker processes (joblib's convention: ``-1`` all cores, ``1`` none).
        progress: Show a progress bar over the runs (on a terminal).
    """

    _target_: str = "hydra_plugins.influencer_sim_launcher.launcher.InfluencerLauncher"
    n_jobs: int = -1
    progress: bool = True


ConfigStore.instance().store(group="hydra/launcher", name="influencer",
                             node=InfluencerLauncherConf, provider="influencer-sim")

#: The run-folder naming of ``conf/config.yaml`` that :func:`run_folder_name` reproduces.
FAST_SUBDIR = f"${{{DIRNAME_RESOLVER}:${{hydra.job.override_dirname}}}}"


def finished(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a complete result (``metrics.json`` that parses)."""
    try:
        payload = json.loads((run_dir / "metrics.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(payload, dict) and payload.get("status") == "ok"


def run_folder_name(overrides: Sequence[str], exclude_keys: Sequence[str], item_sep: str,
                    kv_sep: str) -> str:
    """The folder name Hydra gives a job (``hydra.job.override_dirname``), made safe.

    Hydra's rule: the job's overrides other than ``hydra.*`` and the excluded
    keys, as written, sorted, joined by ``item_sep``, with ``=`` as ``kv_sep``;
    then :func:`experiments.schema.safe_dirname`.
    """
    lines = sorted(str(o.input_line) for o in OverridesParser.create().parse_overrides(
        list(overrides)) if not o.is_hydra_override() and o.key_or_group not in exclude_keys)
    return safe_dirname(item_sep.join(lines).replace("=", kv_sep))


class SweepLauncher(Launcher):
    """What the project's launchers share: the sweep's context, kept by :meth:`setup`."""

    def __init__(self) -> None:
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction,
              config: DictConfig) -> None:
        """Keep what every job of the sweep shares (Hydra calls this before ``launch``)."""
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function


class InfluencerLauncher(SweepLauncher):
    """Parallel launcher with a progress bar, resumable sweeps and survival of killed workers."""

    def __init__(self, n_jobs: int = -1, progress: bool = True) -> None:
        super().__init__()
        self.n_jobs = n_jobs
        self.progress = progress

    # --- what is left to run ---------------------------------------------------------------

    def _job_dir(self, overrides: Sequence[str], num: int) -> Path:
        """The run folder of job ``num`` (composes its config: about 0.1 s)."""
        cfg = _worker.job_config(self.hydra_context, self.config, num, overrides)
        return Path(str(cfg.hydra.sweep.dir)) / str(cfg.hydra.sweep.subdir)

    def _run_dir(self, overrides: Sequence[str], num: int) -> Path:
        """The run folder of job ``num``, from its overrides alone with the project's naming."""
        assert self.config is not None
        raw = OmegaConf.to_container(self.config.hydra.sweep, resolve=False)
        if raw.get("subdir") != FAST_SUBDIR:
            return self._job_dir(overrides, num)
        naming = self.config.hydra.job.config.override_dirname
        return Path(str(self.config.hydra.sweep.dir)) / run_folder_name(
            overrides, list(naming.exclude_keys), naming.item_sep, naming.kv_sep)

    def _pending(self, job_overrides: Sequence[Sequence[str]],
                 initial_job_idx: int) -> tuple[list[tuple[int, list[str]]], int]:
        """``(jobs to run as (number, overrides), number already finished)``."""
        assert self.config is not None
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        jobs, done = [], 0
        for idx, overrides in enumerate(job_overrides):
            num = initial_job_idx + idx
            if sweep_dir.exists() and finished(self._run_dir(overrides, num)):
                done += 1
            else:
                jobs.append((num, list(overrides)))
        return jobs, done

    def launch(self, job_overrides: Sequence[Sequence[str]],
               initial_job_idx: int) -> Sequence[JobReturn]:
        """Run the jobs not yet finished, with a progress bar; return their results."""
        from experiments.cleanup import created

        setup_globals()
        assert self.config is not None and self.hydra_context is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        from experiments import storage

        if storage.storage_of(self.config) == "parquet":  # rows into Parquet parts, no folders
            from experiments.shards import launch_local

            return launch_local(self.config, job_overrides, initial_job_idx,
                                worker_count(self.n_jobs), self.progress)
        jobs, done = self._pending(job_overrides, initial_job_idx)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        if done:
            print(f"resuming {sweep_dir}: {done} finished, {len(jobs)} to run", file=sys.stderr)
        if not jobs:
            return []
        created.forget()  # runs start: the sweep's folder and files are its output now
        bar = None
        if self.progress and sys.stderr.isatty():
            from tqdm.auto import tqdm

            bar = tqdm(total=len(jobs), desc="runs", unit="run")
        results: list[JobReturn] = []
        for ret in self._run(jobs):
            results.append(ret)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        return results

    # --- the back end ---------------------------------------------------------------------

    def _run(self, jobs: list[tuple[int, list[str]]]) -> Iterator[JobReturn]:
        """Run ``jobs`` (number, overrides) and yield their results as they finish.

        One worker runs them here, in order; more run them in the loky pool,
        which gets the sweep's shared state once (see :mod:`._worker`). Jobs a
        dying worker took down are run again (:meth:`_run_in_pool`).
        """
        workers = worker_count(self.n_jobs)
        singleton_state = Singleton.get_state()
        if workers <= 1 or len(jobs) <= 1:
            for num, overrides in jobs:
                yield _worker.execute_job(num, overrides, self.hydra_context, self.config,
                                          self.task_function, singleton_state)
            return
        digest, payload = _worker.pack_state(self.hydra_context, self.config,
                                             self.task_function, singleton_state)
        try:
            yield from self._run_in_pool(jobs, workers, digest, payload)
        except BaseException:
            # Ctrl-C, SIGTERM or a job that could not even report: stop at once. Queued
            # jobs cannot be cancelled, so the workers go too; resume=true finishes.
            stop()
            raise

    def _run_in_pool(self, jobs: list[tuple[int, list[str]]], workers: int, digest: str,
                     payload: bytes) -> Iterator[JobReturn]:
        """Run ``jobs`` in the pool; survive workers that die (e.g. killed for memory).

        The policy is :func:`experiments.pool.run_surviving`'s (shared with
        SLURM shards): the runs a dead worker took down run again once, then
        one at a time, and a run that kills its worker alone is recorded as
        failed (:meth:`_record_lost`) while the others finish.
        """
        def warn(line: str) -> None:
            log.warning("%s", line)
            print(f"warning: {line}", file=sys.stderr)

        tasks = [(digest, payload, num, overrides) for num, overrides in jobs]
        for _task, ret in run_surviving(_worker.run_task, tasks, workers,
                                        lambda task: self._record_lost(task[2], task[3]),
                                        on_first=import_in_background, warn=warn):
            yield ret

    def _record_lost(self, num: int, overrides: list[str]) -> JobReturn:
        """Record job ``num``, whose worker died while it ran alone, as failed."""
        from experiments.jobs import failure_record
        from sim.io import remove_stale_temps, write_json

        error = ("WorkerDied: the worker process running this run died (killed by a signal, "
                 "e.g. by the out-of-memory killer); the other runs went on")
        cfg = _worker.job_config(self.hydra_context, self.config, num, overrides)
        folder = Path(str(cfg.hydra.sweep.dir)) / str(cfg.hydra.sweep.subdir)
        with open_dict(cfg):
            del cfg["hydra"]
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(folder, older_than=0.0)
        write_json(failure_record(cfg, None, error), folder / "metrics.json")
        print(f"warning: {folder}: run recorded as failed: {error}", file=sys.stderr)
        return JobReturn(overrides=overrides, working_dir=str(folder), task_name="run",
                         status=JobStatus.COMPLETED,
                         _return_value={"status": "failed", "error": error})
