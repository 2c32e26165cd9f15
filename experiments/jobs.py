"""Run one config and save what it produced: the body of every Hydra job.

- :func:`run_and_save` runs a config and writes its tables, ``metrics.json``
  (last, so it marks a complete run) and figures into a folder;
- :func:`sweep_job` is one job of a ``-m`` sweep: a run that fails is recorded
  in its folder (``status: failed`` and the error) instead of stopping the sweep.

The run's summary also goes to the job's log (``run.log`` next to the tables).
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from experiments.convert import to_config
from experiments.errors import one_line
from sim.config import Config, to_dict

if TYPE_CHECKING:
    from sim.run import Result

log = logging.getLogger(__name__)

#: Environment variable naming seeds whose sweep jobs fail on purpose (comma-separated):
#: a fault-injection hook for testing that a sweep records a failed run and goes on.
FAIL_SEEDS_ENV = "INFLUENCER_SIM_FAIL_SEEDS"
#: Environment variable naming seeds whose sweep worker kills itself with SIGKILL, as
#: the out-of-memory killer would (fault injection; only in a pool worker).
KILL_SEEDS_ENV = "INFLUENCER_SIM_KILL_SEEDS"
#: Environment variable naming seeds whose runs hang (fault injection: a test stops a
#: SLURM shard in the middle with ``scancel``).
HANG_SEEDS_ENV = "INFLUENCER_SIM_HANG_SEEDS"


def output_dir() -> Path:
    """The output folder of the current Hydra job."""
    return Path(HydraConfig.get().runtime.output_dir)


def run_and_save(
    config: Config, folder: str | os.PathLike, progress: bool = False, figures: bool = True
) -> Result:
    """Run one simulation and write everything it produced into ``folder``.

    Figures first, then the tables, then ``metrics.json`` (written last by
    :meth:`sim.run.Result.save`, so it marks a complete run). The summary is
    logged (the job's ``run.log``).

    Args:
        config: The config (checked by :func:`sim.config.validate` as the run starts).
        folder: Output folder (created if needed).
        progress: Show a progress bar.
        figures: Also write the run's figures (:func:`sim.viz.save_figures`).

    Returns:
        The run's :class:`sim.run.Result`.

    Raises:
        ConfigError: A bad value or an unusable input file (e.g. a malformed edge list).
    """
    from sim.run import run as sim_run  # the model loads here, not when checking configs

    result = sim_run(config, progress=progress)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if figures:
        from sim.viz import save_figures  # matplotlib only when a figure is drawn

        save_figures(result, folder)
    result.save(folder)
    log.info("%s", result.summary())
    return result


def _seeds(variable: str) -> set[str]:
    return {s.strip() for s in os.environ.get(variable, "").split(",") if s.strip()}


def _inject_faults(config: Config) -> None:
    if str(config.seed) in _seeds(FAIL_SEEDS_ENV):
        raise RuntimeError(f"injected failure for seed {config.seed} ({FAIL_SEEDS_ENV})")
    if str(config.seed) in _seeds(KILL_SEEDS_ENV):
        from experiments import pool

        if pool.in_worker():
            os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer does
    if str(config.seed) in _seeds(HANG_SEEDS_ENV):
        import time

        while True:
            time.sleep(3600)


def failure_record(cfg: DictConfig | None, config: Config | None, error: str) -> dict[str, Any]:
    """The ``metrics.json`` of a run that failed: status, error and the config it had."""
    payload: dict[str, Any] = {"status": "failed", "error": error}
    if config is not None:
        payload["config"] = to_dict(config)
    elif cfg is not None:
        try:
            payload["config"] = OmegaConf.to_container(cfg, resolve=True)
        except Exception:  # noqa: BLE001  (an unresolvable value: keep it as written)
            payload["config"] = OmegaConf.to_container(cfg, resolve=False)
    return payload


def sweep_job(cfg: DictConfig, folder: Path) -> dict[str, Any]:
    """One job of a ``-m`` sweep: run and save, or record why it failed.

    A failure (an exception of any kind, bad input files included) is written
    to ``folder/metrics.json`` as ``{"status": "failed", "error": ..., "config":
    ...}`` so the sweep's summary shows it, and the other jobs go on. Temporary
    files an earlier, killed attempt left in ``folder`` are removed first. A
    full disk or an unwritable folder is not a failure of this run but of the
    sweep: it is raised.

    Returns:
        The run's metrics, or ``{"status": "failed", "error": ...}``.
    """
    from experiments.errors import os_error_line
    from sim.io import remove_stale_temps, write_json

    remove_stale_temps(folder, older_than=0.0)
    config = None
    try:
        config = to_config(cfg)
        _inject_faults(config)
        # Per-run figures would cost more than the run itself; the sweep draws its own.
        return run_and_save(config, folder, figures=False).metrics
    except Exception as exc:  # recorded, not raised: one bad run must not stop a sweep
        if os_error_line(exc) is not None:
            raise  # the sweep cannot write: it stops with one line (experiments.cli)
        error = f"{type(exc).__name__}: {one_line(str(exc))}"
        log.error("run failed: %s", error)
        folder.mkdir(parents=True, exist_ok=True)
        write_json(failure_record(cfg, config, error), folder / "metrics.json")
        return {"status": "failed", "error": error}
