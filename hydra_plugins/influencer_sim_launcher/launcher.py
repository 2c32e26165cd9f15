"""The sweep launcher: ``hydra/launcher=influencer`` (the project's default).

It is Hydra's joblib launcher (all cores by default) plus what a long sweep
needs:

- a progress bar over the sweep's runs (on a terminal);
- resuming: a run whose folder already holds a finished ``metrics.json`` is
  not run again when the sweep is started with ``resume=true``, so a sweep
  killed midway finishes with exactly one result per run; without
  ``resume=true`` a sweep folder that holds finished runs is refused, so
  nothing is overwritten;
- less overhead per run: the jobs go to joblib's reusable loky pool
  (:mod:`experiments.pool`, shared with the end of the sweep), which gets the
  sweep's Hydra state once per worker (:mod:`._worker`).

Of the joblib settings under ``hydra.launcher`` only ``n_jobs`` is used
(joblib's convention: ``-1`` all cores, ``1`` in this process); the pool caps
each worker's BLAS/OpenMP/numba threads at cores / workers, as joblib does.
"""


import json
import logging
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra._internal.config_loader_impl import get_overrides_dirname
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, configure_log, setup_globals
from hydra_plugins.hydra_joblib_launcher._core import execute_job
from hydra_plugins.hydra_joblib_launcher.config import JobLibLauncherConf
from hydra_plugins.hydra_joblib_launcher.joblib_launcher import JoblibLauncher
from omegaconf import OmegaConf, open_dict

from experiments.pool import executor, import_in_background, stop, worker_count
from hydra_plugins.influencer_sim_launcher import _worker
from sim.config import ConfigError

log = logging.getLogger(__name__)


@dataclass
class InfluencerLauncherConf(JobLibLauncherConf):
    """Joblib settings (all cores by default) plus the progress bar switch."""

    _target_: str = "hydra_plugins.influencer_sim_launcher.launcher.InfluencerLauncher"
    progress: bool = True


ConfigStore.instance().store(group="hydra/launcher", name="influencer",
                             node=InfluencerLauncherConf, provider="influencer-sim")


class SweepExistsError(ConfigError):
    """A sweep folder already holds finished runs and ``resume`` is off."""


def finished(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a complete result (``metrics.json`` that parses)."""
    try:
        payload = json.loads((run_dir / "metrics.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(payload, dict) and payload.get("status") == "ok"


class InfluencerLauncher(JoblibLauncher):
    """Joblib launcher with a progress bar and resumable sweeps."""

    def __init__(self, progress: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.progress = progress

    def _job_dir(self, overrides: list[str], num: int) -> Path:
        cfg = self.hydra_context.config_loader.load_sweep_config(self.config, overrides)
        with open_dict(cfg):
            cfg.hydra.job.num = num
            cfg.hydra.job.id = f"{cfg.hydra.job.name}_{num}"
        HydraConfig.instance().set_config(cfg)
        return Path(str(cfg.hydra.sweep.dir)) / str(cfg.hydra.sweep.subdir)

    def _finished_jobs(self, job_overrides: Any, initial_job_idx: int) -> set[int]:
        """Numbers of the jobs whose run folder already holds a finished result.

        With the project's folder names (``${hydra.job.override_dirname}``) the
        folder follows from the overrides alone, as Hydra names it; any other
        naming composes each job's config (about 0.1 s a job).
        """
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        if not sweep_dir.exists():
            return set()
        raw = OmegaConf.to_container(self.config.hydra.sweep, resolve=False)
        fast = raw.get("subdir") == "${hydra.job.override_dirname}"
        naming = self.config.hydra.job.config.override_dirname
        parser = OverridesParser.create()
        done = set()
        for idx, overrides in enumerate(job_overrides):
            num = initial_job_idx + idx
            if fast:
                app = [o for o in parser.parse_overrides(list(overrides))
                       if not o.is_hydra_override()]
                run_dir = sweep_dir / get_overrides_dirname(
                    app, list(naming.exclude_keys), naming.item_sep, naming.kv_sep)
            else:
                run_dir = self._job_dir(list(overrides), num)
            if finished(run_dir):
                done.add(num)
        return done

    def launch(self, job_overrides: Any, initial_job_idx: int) -> list[JobReturn]:  # noqa: D102
        setup_globals()
        assert self.config is not None and self.hydra_context is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        from experiments import storage

        if storage.storage_of(self.config) == "parquet":  # rows into Parquet parts, no folders
            from experiments.shards import launch_local

            return launch_local(self.config, job_overrides, initial_job_idx,
                                worker_count(self.joblib.get("n_jobs", -1)), self.progress)
        resume = bool(self.config.get("resume", False))
        done = self._finished_jobs(job_overrides, initial_job_idx)
        jobs = [(initial_job_idx + idx, overrides) for idx, overrides in enumerate(job_overrides)
                if initial_job_idx + idx not in done]
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        if done and not resume:
            raise SweepExistsError(
                str(sweep_dir),
                f"already holds {len(done)} finished run(s) of this sweep; add resume=true to "
                "run only what is missing, or choose another sweep_name")
        sweep_dir.mkdir(parents=True, exist_ok=True)
        if done:
            print(f"resuming {sweep_dir}: {len(done)} finished, {len(jobs)} to run",
                  file=sys.stderr)
        if not jobs:
            return []
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

    def _run(self, jobs: list[tuple[int, Sequence[str]]]) -> Iterator[JobReturn]:
        """Run ``jobs`` (number, overrides) and yield their results as they finish.

        One worker runs them here, in order, as joblib does with ``n_jobs=1``;
        more run them in joblib's loky process pool, which gets the sweep's
        shared state once (see :mod:`._worker`).
        """
        workers = worker_count(self.joblib.get("n_jobs", -1))
        singleton_state = Singleton.get_state()
        if workers <= 1 or len(jobs) <= 1:
            for num, overrides in jobs:
                yield _worker.slim(execute_job(num, list(overrides), self.hydra_context,
                                               self.config, self.task_function,
                                               singleton_state))
            return
        digest, payload = _worker.pack_state(self.hydra_context, self.config,
                                             self.task_function, singleton_state)
        pool = executor(workers)
        futures = [pool.submit(_worker.run_job, digest, payload, num, list(overrides))
                   for num, overrides in jobs]
        try:
            for done, future in enumerate(as_completed(futures)):
                if done == 0:
                    # The workers are busy from here on; meanwhile this process
                    # imports what it needs at the end of the sweep.
                    import_in_background()
                yield future.result()
        except BaseException:
            # Ctrl-C or a job that could not even report: stop at once. Queued jobs
            # cannot be cancelled, so the workers go too (the pool fails the pending
            # futures itself); resume=true finishes the sweep.
            stop()
            raise
