"""Check a run or a whole sweep before Hydra writes anything: the ``Preflight`` callback.

:class:`Preflight` (listed in ``conf/config.yaml``) checks the config of the run,
or of every point of a ``-m`` sweep, with :func:`sim.config.validate`, and the
folders it will write to: a run folder must be new or empty; a sweep folder must
be new, or hold this very sweep (the stored definition in ``sweep.json`` is
compared), and a sweep with finished runs goes on only with ``resume=true``.
``sweep_name`` must be one folder name. It records what Hydra is about to
create (:mod:`experiments.cleanup`) so a refused job removes exactly that.

:func:`sweep_jobs` and :func:`sweep_configs` expand a basic-sweeper sweep into
its jobs and their configs, the same way Hydra does, without Hydra's serial
re-composition of every job.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType, ValueType
from hydra.errors import ConfigCompositionException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, InterpolationResolutionError

from experiments.cleanup import created
from experiments.convert import check_overrides, to_config
from experiments.errors import EXIT_FAILED, error_line, exit_bad_input, exit_with, os_error_line
from sim.config import Config, ConfigError, check_value, validate

#: Sweepers whose job list :func:`sweep_configs` can expand (the basic one and ours).
BASIC_SWEEPERS = (
    "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
    "hydra_plugins.influencer_sim_launcher.sweeper.InfluencerSweeper",
)

#: The sweep's own file: its definition (to refuse a different sweep into the same
#: folder) and, once aggregated, its swept parameters.
SWEEP_FILE = "sweep.json"

#: Override keys that do not change what a sweep computes.
NOT_DEFINITION = ("resume", "sweep_name", "storage_tables")


# --- the jobs of a sweep -----------------------------------------------------------------


def _sweep_arguments(config: DictConfig) -> list[str]:
    params = OmegaConf.select(config, "hydra.sweeper.params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()]
    return arguments + [str(o) for o in OmegaConf.select(config, "hydra.overrides.task") or []]


def sweep_jobs(config: DictConfig) -> list[list[str]] | None:
    """The overrides of every job of a ``-m`` sweep, as the basic sweeper splits them.

    ``None`` for other sweepers, which choose their points as they go.
    """
    if OmegaConf.select(config, "hydra.sweeper._target_") not in BASIC_SWEEPERS:
        return None
    from hydra_plugins.influencer_sim_launcher.sweeper import design_of, split_jobs

    parser = OverridesParser.create(config_loader=GlobalHydra.instance().config_loader())
    return split_jobs(parser.parse_overrides(_sweep_arguments(config)), design_of(config))


def _config_groups(loader: Any, parent: str = "") -> set[str]:
    groups = set()
    for name in loader.list_groups(parent):
        path = f"{parent}/{name}" if parent else name
        groups.add(path)
        groups |= _config_groups(loader, path)
    return groups


def apply_values(values: list[Any], config: DictConfig) -> None:
    """Apply plain ``key=value`` overrides (parsed) to ``config`` as Hydra does after composing."""
    for override in values:
        key = override.key_or_group
        try:
            OmegaConf.update(config, key, override.value(), merge=True)
        except (ConfigAttributeError, ConfigKeyError) as exc:
            raise ConfigCompositionException(
                f"Could not override '{key}'. To append to your config use "
                f"+{override.input_line}") from exc


class JobComposer:
    """Compose the configs of a sweep's jobs: each distinct base once, values per job.

    Composing with Hydra takes about 0.1 s a job, so the config groups chosen by
    a job (``network=...``, ``experiment=...``) and any ``+``/``++``/``~``
    override (its *structural* overrides) are composed once per distinct set
    (:meth:`base`), and the job's plain value overrides (``seed=3``) are
    applied to a copy (:func:`apply_values`), exactly as Hydra applies them
    after composing. The one way jobs are composed: :class:`Preflight` checks
    them with it, and SLURM shards and ``storage=parquet`` run them with it
    (:mod:`experiments.shards`).

    Args:
        config: The sweep's config.
    """

    def __init__(self, config: DictConfig) -> None:
        self.config = config
        self.loader = GlobalHydra.instance().config_loader()
        self.groups = _config_groups(self.loader)
        self.bases: dict[tuple[str, ...], DictConfig] = {}

    def split(self, job: list[str]) -> tuple[tuple[str, ...], list[Any]]:
        """``(structural overrides, plain value overrides parsed)`` of one job."""
        parsed = [parse_override(o) for o in job]
        plain = [o for o in parsed
                 if o.package is None and not (o.is_delete() or o.is_add() or o.is_force_add())
                 and o.key_or_group not in self.groups]
        structural = tuple(str(o.input_line) for o in parsed
                           if not any(o is p for p in plain))
        return structural, plain

    def base(self, structural: tuple[str, ...]) -> DictConfig:
        """The composed config (without ``hydra``) of a set of structural overrides (cached)."""
        if structural not in self.bases:
            base = self.loader.load_sweep_config(self.config, list(structural))
            with open_dict(base):
                del base["hydra"]
            self.bases[structural] = base
        return self.bases[structural]

    def compose(self, job: list[str]) -> DictConfig:
        """The config of one job (a fresh copy; without its ``hydra`` node)."""
        structural, plain = self.split(job)
        job_config = copy.deepcopy(self.base(structural))
        apply_values(plain, job_config)
        return job_config


@functools.lru_cache(maxsize=65536)
def parse_override(text: str) -> Any:
    """One override parsed by Hydra's grammar (cached: a sweep repeats its values).

    Hydra's parser takes about a millisecond an override, so ``key=N`` with a
    whole number ``N`` (a sweep's seeds) is built directly, exactly as Hydra's
    grammar reads it (``007`` is text to Hydra, and goes through its parser).
    """
    plain_int = _PLAIN_INT.fullmatch(text)
    if plain_int:
        return Override(type=OverrideType.CHANGE, key_or_group=plain_int.group(1),
                        value_type=ValueType.ELEMENT, _value=int(plain_int.group(2)),
                        input_line=text)
    return _parser().parse_overrides([text])[0]


#: ``key=N``: a dotted key and a whole number as Hydra's grammar reads one.
_PLAIN_INT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
                        r"=([+-]?(?:0|[1-9][0-9]*))")


@functools.cache
def _parser() -> OverridesParser:
    return OverridesParser.create(config_loader=GlobalHydra.instance().config_loader())


def sweep_configs(config: DictConfig,
                  jobs: list[list[str]] | None = None) -> Iterator[DictConfig]:
    """Compose the config of every job of a ``-m`` sweep (basic sweeper only).

    See :class:`JobComposer`. Other sweepers choose their points as they go;
    they yield nothing here.

    Args:
        config: The sweep's config.
        jobs: Its jobs, if :func:`sweep_jobs` has already split them.

    Yields:
        The config of each job (without its ``hydra`` node).
    """
    if jobs is None:
        jobs = sweep_jobs(config)
    if jobs is None:
        return
    composer = JobComposer(config)
    for job in jobs:
        yield composer.compose(list(job))


#: Plain overrides checked on their own: a sweep over thousands of seeds validates each
#: distinct config of its other values once, then only the seed of every job.
SEED_KEY = "seed"


def check_jobs(config: DictConfig, jobs: list[list[str]]) -> None:
    """Check the config of every job of a sweep (:func:`sim.config.validate`).

    Jobs that differ only by their seed share one composed and checked config;
    every other job's seed is then checked on its own (:func:`sim.config.check_value`),
    so 10,000 seeds cost about as much as one job of each setting of the other
    values. The outcome is the same as composing and checking every job: the
    seed enters no cross-check.

    Raises:
        ConfigError: The first bad value, naming the key.
    """
    check_overrides(_sweep_arguments(config))
    composer = JobComposer(config)
    checked: dict[tuple[Any, ...], Config] = {}
    for job in jobs:
        structural, plain = composer.split(list(job))
        seeds = [o for o in plain if o.key_or_group == SEED_KEY]
        seed = seeds[-1].value() if seeds else None
        if len(seeds) != 1 or not isinstance(seed, int) or isinstance(seed, bool):
            validate(to_config(composer.compose(list(job))))  # the general path
            continue
        rest = tuple(str(o.input_line) for o in plain if o.key_or_group != SEED_KEY)
        key = (structural, rest)
        if key not in checked:
            try:
                checked[key] = validate(to_config(composer.compose(list(job))))
            except ConfigError as exc:  # name the design row the bad value comes from
                from hydra_plugins.influencer_sim_launcher.sweeper import DESIGN_ROW_KEY

                rows = [o.input_line for o in plain if o.key_or_group == DESIGN_ROW_KEY]
                if rows:
                    raise ConfigError(exc.key, f"{exc.message} ({rows[0]} of the design "
                                      "table)") from exc
                raise
        else:
            check_value(SEED_KEY, seed)  # the only value that differs (no cross-check reads it)


# --- folders -----------------------------------------------------------------------------


def check_sweep_name(name: Any) -> None:
    """``sweep_name`` must be one folder name inside ``sweeps/``.

    Raises:
        ConfigError: Empty, ``.`` or ``..``, containing a slash, or absolute.
    """
    text = str(name)
    if (not text.strip() or text in (".", "..") or "/" in text or "\\" in text
            or "\0" in text or Path(text).is_absolute()):
        raise ConfigError("sweep_name", "must be one folder name inside sweeps/ (not empty, "
                          f"no '/', not '.' or '..'); got {text!r}")


def sweep_definition(config: DictConfig) -> list[str]:
    """What a sweep computes: its overrides and sweeper parameters, sorted.

    Keys that do not change the runs (``resume``, ``sweep_name``, ``hydra.*``)
    are left out.
    """
    parser = OverridesParser.create()
    out = []
    for override in parser.parse_overrides(_sweep_arguments(config)):
        key = override.key_or_group
        if override.is_hydra_override() or key in NOT_DEFINITION:
            continue
        out.append(str(override.input_line))
    design = OmegaConf.select(config, "hydra.sweeper.design")
    if design not in (None, ""):  # the table's content, so a changed table is another sweep
        from hydra_plugins.influencer_sim_launcher.sweeper import read_design

        out.append(f"design_sha256={read_design(str(design)).digest}")
    return sorted(out)


def stored_definition(sweep_dir: Path) -> list[str] | None:
    """The definition of the sweep already in ``sweep_dir``, or None if there is none.

    Read from ``sweep.json``, or, for a sweep of an older version, from Hydra's
    ``multirun.yaml``.

    Raises:
        ConfigError: The folder holds files but no readable sweep definition.
    """
    stored = sweep_dir / SWEEP_FILE
    try:
        payload = json.loads(stored.read_text())
        definition = payload.get("definition") if isinstance(payload, dict) else None
        if isinstance(definition, list):
            return [str(d) for d in definition]
    except (OSError, ValueError):
        pass
    legacy = sweep_dir / "multirun.yaml"
    if legacy.is_file():
        try:
            return sweep_definition(OmegaConf.load(legacy))
        except Exception:  # noqa: BLE001  (unreadable: treated as foreign below)
            pass
    if any(sweep_dir.iterdir()):
        raise ConfigError(str(sweep_dir), "holds files that are not a sweep of this project; "
                          "choose another sweep_name or hydra.sweep.dir (nothing was touched)")
    return None


def finished_runs(sweep_dir: Path) -> int:
    """Runs of ``sweep_dir`` that finished ``ok``.

    Folders whose ``metrics.json`` says so, or, with ``storage=parquet``, runs
    with an ``ok`` row.
    """
    from experiments import storage

    if storage.is_parquet_sweep(sweep_dir):
        return len(storage.finished_ids(sweep_dir, "parquet"))
    count = 0
    for metrics in sweep_dir.glob("*/metrics.json"):
        try:
            payload = json.loads(metrics.read_text())
        except (OSError, ValueError):
            continue
        count += isinstance(payload, dict) and payload.get("status") == "ok"
    return count


def check_sweep_dir(config: DictConfig) -> Path:
    """Refuse a sweep folder that holds another sweep, or finished runs without resume.

    Returns:
        The sweep folder.
    """
    sweep_dir = Path(str(OmegaConf.select(config, "hydra.sweep.dir")))
    if sweep_dir.exists() and not sweep_dir.is_dir():
        raise ConfigError(str(sweep_dir), "is a file, not a sweep folder")
    if not sweep_dir.is_dir():
        return sweep_dir
    stored = stored_definition(sweep_dir)
    mine = sweep_definition(config)
    if stored is not None and stored != mine:
        raise ConfigError(str(sweep_dir), f"holds a different sweep ({' '.join(stored)}); "
                          "choose another sweep_name or hydra.sweep.dir (nothing was touched)")
    done = finished_runs(sweep_dir)
    if done and not bool(OmegaConf.select(config, "resume", default=False)):
        raise ConfigError(str(sweep_dir), f"already holds {done} finished run(s) of this "
                          "sweep; add resume=true to run only what is missing, or choose "
                          "another sweep_name")
    return sweep_dir


def write_definition(sweep_dir: Path, config: DictConfig) -> None:
    """Store the sweep's definition in ``sweep.json`` (keeping what else is there)."""
    from sim.io import write_json

    try:
        payload = json.loads((sweep_dir / SWEEP_FILE).read_text())
    except (OSError, ValueError):
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    payload["definition"] = sweep_definition(config)
    write_json(payload, sweep_dir / SWEEP_FILE)


def check_run_dir(config: DictConfig) -> Path:
    """A run folder must be new or empty: never write over a finished run or user files."""
    run_dir = Path(str(OmegaConf.select(config, "hydra.run.dir")))
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(str(run_dir), "is a file, not a folder; choose another hydra.run.dir")
    if (run_dir / "metrics.json").exists():
        raise ConfigError(str(run_dir), "already holds a finished run; choose another "
                          "hydra.run.dir (nothing was overwritten)")
    if run_dir.is_dir() and any(run_dir.iterdir()):
        example = sorted(p.name for p in run_dir.iterdir())[0]
        raise ConfigError(str(run_dir), f"holds other files (e.g. {example}) but no finished "
                          "run; choose a new or empty hydra.run.dir (nothing was touched)")
    return run_dir


def _expect_hydra_files(config: DictConfig, folder: Path) -> None:
    created.expect_dir(folder)
    subdir = OmegaConf.select(config, "hydra.output_subdir")
    if subdir:
        created.expect_dir(folder / str(subdir))
        for name in ("config.yaml", "hydra.yaml", "overrides.yaml"):
            created.expect_file(folder / str(subdir) / name)
    name = OmegaConf.select(config, "hydra.job.name")
    if name:
        created.expect_file(folder / f"{name}.log")


# --- the callback --------------------------------------------------------------------------


class Preflight(Callback):
    """Hydra callback: reject bad input before Hydra writes any folder.

    ``on_run_start`` checks the run's config and folder; ``on_multirun_start``
    checks ``sweep_name``, the sweep folder and the config of every point of a
    basic-sweeper sweep, so one bad value stops the whole sweep before its first
    job. Hydra turns exceptions of callbacks into warnings, so this one reports
    the error itself and exits with status 2.
    """

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Check the folder and the config of a single run."""
        _check(lambda: check_run_dir(config))

        def check_config() -> None:
            check_overrides(OmegaConf.select(config, "hydra.overrides.task") or [])
            validate(to_config(config))

        _check(check_config)
        run_dir = Path(str(OmegaConf.select(config, "hydra.run.dir")))
        _expect_hydra_files(config, run_dir)
        created.top = run_dir.absolute()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Check a sweep's folder and every job (while the sweep's workers start)."""
        from experiments import pool

        def check_names() -> None:  # instant: before any worker starts
            check_sweep_name(OmegaConf.select(config, "sweep_name"))
            pool.sweep_workers(config)  # a bad hydra.launcher.n_jobs, in one line

        try:
            _check(check_names)
        except SystemExit:
            created.discard()
            raise
        jobs = None
        try:
            jobs = sweep_jobs(config)
            workers = pool.sweep_workers(config) if jobs is not None and len(jobs) > 1 else 1
        except Exception:  # noqa: BLE001  (the checks below report it in one line)
            workers = 1
        # The workers import the model meanwhile (~2.5 s on a 2-core machine).
        pool.start(workers)

        def check_folder() -> None:
            from experiments import storage

            launcher = str(OmegaConf.select(config, "hydra.launcher._target_") or "")
            if storage.storage_of(config) == "parquet" or launcher.endswith("SlurmLauncher"):
                storage.naming(config)  # runs are named by their overrides
            check_sweep_dir(config)

        def check_all_jobs() -> None:
            nonlocal jobs
            if jobs is None:
                jobs = sweep_jobs(config)  # again: a bad design table, in one line
            if jobs is not None:
                check_jobs(config, jobs)

        def record() -> None:
            sweep_dir = Path(str(OmegaConf.select(config, "hydra.sweep.dir")))
            created.top = sweep_dir.absolute()
            created.expect_dir(sweep_dir)
            created.expect_file(sweep_dir / "multirun.yaml")
            created.expect_file(sweep_dir / SWEEP_FILE)
            write_definition(sweep_dir, config)

        try:
            for step in (check_folder, check_all_jobs, record):
                _check(step)
        except SystemExit:
            pool.stop()  # bad input: do not wait for the workers to finish importing
            created.discard()
            raise


def _check(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except ConfigError as exc:
        if isinstance(exc.__cause__, InterpolationResolutionError):
            return  # may need the job's own state (${hydra:job.num}): the job checks it
        exit_bad_input(f"{exc.key}: {exc.message}")
    except Exception as exc:
        line = error_line(exc)
        if line is not None:
            exit_bad_input(line)
        line = os_error_line(exc)
        if line is not None:
            exit_with(line, EXIT_FAILED)  # e.g. a sweep folder that cannot be written
        raise  # a bug: Hydra shows it as a warning, and the job fails on it
