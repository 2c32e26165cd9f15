"""Shared pieces of the Hydra apps: config conversion, run-and-save, bad input.

Every app in ``experiments`` (the main job, sweep runners) is a thin task function
built from these:

- :func:`to_config` turns a composed Hydra config into a validated
  :class:`sim.config.Config`;
- :func:`run_and_save` runs it and writes tables, ``metrics.json`` and figures
  into the job's output folder (:func:`output_dir`);
- :func:`discard_on_bad_input` wraps a task body so that a
  :class:`sim.config.ConfigError` (a bad value, a missing or malformed
  edge-list file) removes the run folder Hydra has just created;
- :class:`Preflight` is a Hydra callback (listed in ``conf/config.yaml``) that
  checks the config of the run, or of every point of a ``-m`` sweep, before
  Hydra writes any folder;
- :func:`cli` runs a ``@hydra.main`` app and turns bad input into one line
  ``error: <key>: <what is allowed>`` on stderr and exit status 2, while real
  bugs keep their traceback.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, get_type_hints

from hydra.core.hydra_config import HydraConfig
from hydra.errors import (
    HydraException,
    InstantiationException,
    MissingConfigException,
    OverrideParseException,
)
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    InterpolationResolutionError,
    MissingMandatoryValue,
    OmegaConfBaseException,
    ValidationError,
)

from sim.config import Config, ConfigError, from_dict, validate

if TYPE_CHECKING:
    from sim.run import Result

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
"""The project's Hydra configs. An absolute path, so the apps find it from any working
directory and also when started by the console script (Hydra resolves a relative
``config_path`` against the package ``conf`` there, which is not importable)."""

EXIT_BAD_INPUT = 2
"""Exit status for bad input (a wrong key, type, value or input file)."""

FIGURE_STEM = "small_vs_large"
"""File stem of the headline figure (``small_vs_large.png`` and ``.svg``)."""

#: Sweepers whose job list :func:`sweep_configs` can expand (the basic one and ours).
BASIC_SWEEPERS = (
    "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
    "hydra_plugins.influencer_sim_launcher.sweeper.InfluencerSweeper",
)

# Folders this process expects Hydra to create (filled by Preflight, which runs
# before Hydra writes anything): only these are removed when they end up empty.
_NEW_DIRS: set[Path] = set()
# Run or sweep folders that existed before this process started: emptied, not removed.
_OLD_DIRS: set[Path] = set()
# The run folder (RUN mode) or sweep folder (MULTIRUN) of this process.
_TOP_DIRS: list[Path] = []


# --- config ----------------------------------------------------------------------------


def to_config(cfg: DictConfig | Mapping[str, Any]) -> Config:
    """Convert a composed config into a validated :class:`sim.config.Config`.

    The ``hydra`` node, if present, is ignored; interpolations are resolved.

    Args:
        cfg: The task config of a Hydra app (or any nested mapping).

    Returns:
        The checked config.

    Raises:
        ConfigError: An unknown key, a wrong type, a missing value or a value
            out of range, naming the dotted key.
    """
    data: dict[str, Any] = {}
    skip = ("hydra", "resume", "sweep_name")  # Hydra's and the sweep's keys, not the model's
    if isinstance(cfg, DictConfig):
        for key in cfg:
            if key in skip:
                continue
            try:
                value = cfg[key]
                if isinstance(value, DictConfig):
                    value = OmegaConf.to_container(value, resolve=True, throw_on_missing=True)
            except OmegaConfBaseException as exc:
                raise ConfigError(*_omegaconf_key_message(exc)) from exc
            data[str(key)] = value
    else:
        data = {k: v for k, v in cfg.items() if k not in skip}
    return validate(from_dict(data))


# --- running ---------------------------------------------------------------------------


def output_dir() -> Path:
    """The output folder of the current Hydra job."""
    return Path(HydraConfig.get().runtime.output_dir)


def write_figures(result: Result, folder: str | os.PathLike) -> list[Path]:
    """Write the figures of a run into ``folder``; return the paths written.

    Referral mode: ``small_vs_large.png`` and ``.svg``. Cascade mode: none
    (``sim.plots`` has no cascade figure).
    """
    if result.config.mode != "referral":
        return []
    from sim.viz import plots  # matplotlib only when a figure is drawn

    fig = plots.small_vs_large_figure(result.metrics, result.deciles)
    return plots.save_figure(fig, Path(folder) / FIGURE_STEM, formats=("png", "svg"))


def run_and_save(
    config: Config, folder: str | os.PathLike, progress: bool = False, figures: bool = True
) -> Result:
    """Run one simulation and write everything it produced into ``folder``.

    Figures first, then the tables, then ``metrics.json`` (written last by
    :meth:`sim.run.Result.save`, so it marks a complete run).

    Args:
        config: A validated config.
        folder: Output folder (created if needed).
        progress: Show a progress bar.
        figures: Also write the figures (:func:`write_figures`).

    Returns:
        The run's :class:`sim.run.Result`.

    Raises:
        ConfigError: An unusable input file (e.g. a malformed edge list).
    """
    from sim.run import run as sim_run  # the model loads here, not when checking configs

    result = sim_run(config, progress=progress)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if figures:
        write_figures(result, folder)
    result.save(folder)
    return result


#: Environment variable naming seeds whose sweep jobs fail on purpose (comma-separated):
#: a fault-injection hook for testing that a sweep records a failed run and goes on.
FAIL_SEEDS_ENV = "INFLUENCER_SIM_FAIL_SEEDS"


def sweep_job(cfg: DictConfig, folder: Path) -> dict[str, Any]:
    """One job of a ``-m`` sweep: run and save, or record why it failed.

    A failure (an exception of any kind, bad input files included) is written
    to ``folder/metrics.json`` as ``{"status": "failed", "error": ...}`` so the
    sweep's summary shows it, and the other jobs go on.

    Returns:
        The run's metrics, or ``{"status": "failed", "error": ...}``.
    """
    from sim.io import json_dumps, write_text

    try:
        config = to_config(cfg)
        failing = os.environ.get(FAIL_SEEDS_ENV, "")
        if str(config.seed) in {s.strip() for s in failing.split(",") if s.strip()}:
            raise RuntimeError(f"injected failure for seed {config.seed} ({FAIL_SEEDS_ENV})")
        # Per-run figures would cost more than the run itself; the sweep draws its own.
        return run_and_save(config, folder, figures=False).metrics
    except Exception as exc:  # recorded, not raised: one bad run must not stop a sweep
        error = f"{type(exc).__name__}: {_one_line(str(exc))}"
        logging.getLogger(__name__).error("run failed: %s", error)
        payload = {"status": "failed", "error": error,
                   "config": OmegaConf.to_container(cfg, resolve=False)}
        folder.mkdir(parents=True, exist_ok=True)
        write_text(json_dumps(payload), folder / "metrics.json")
        return {"status": "failed", "error": error}


# --- bad input ---------------------------------------------------------------------------


def _one_line(text: str) -> str:
    parts = [p.strip() for p in str(text).splitlines() if p.strip()]
    return "; ".join(parts)


def _schema_type(key: str, root: type = Config) -> Any:
    """The annotated type of a dotted key of the schema, or None."""
    tp: Any = root
    for part in key.split("."):
        if not (isinstance(tp, type) and dataclasses.is_dataclass(tp)):
            return None
        hints = get_type_hints(tp)
        if part not in hints:
            return None
        tp = hints[part]
    return tp


def _kind(tp: Any, key: str) -> str:
    if tp is bool:
        return "true or false"
    if tp is int:
        return "a whole number"
    if tp is float:
        return "a number"
    if tp is str:
        return "a string"
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        names = ", ".join(f.name for f in dataclasses.fields(tp))
        return f"a group of settings, set one at a time as {key}.NAME=VALUE ({names})"
    return "a value of the right type"


def _fields_of(node_type: Any) -> list[str] | None:
    if isinstance(node_type, type) and dataclasses.is_dataclass(node_type):
        return [f.name for f in dataclasses.fields(node_type)]
    return None


def _omegaconf_key_message(exc: OmegaConfBaseException) -> tuple[str, str]:
    """``(key, what is allowed)`` for an OmegaConf error about one config key."""
    key = str(exc.full_key or exc.key or "config")
    text = str(exc.msg or exc).strip()
    first = text.splitlines()[0].strip() if text else ""
    if isinstance(exc, MissingMandatoryValue):
        return key, f"is required but has no value; set it with {key}=VALUE"
    if isinstance(exc, ConfigAttributeError | ConfigKeyError) and "not in" in first:
        names = _fields_of(exc.object_type) or _fields_of(exc.ref_type)
        if names:
            return key, f"unknown key (allowed: {', '.join(names)})"
        return key, "unknown key"
    if isinstance(exc, ValidationError):
        tp = _schema_type(key)
        if tp is None and exc.object_type is not None and exc.key is not None:
            tp = _schema_type(str(exc.key), exc.object_type)
        got = re.search(r"^Value '(.*?)' (?:of type|is not)", first) or re.search(
            r"value: (.*)$", first
        )
        text = f"must be {_kind(tp, key)}" if tp is not None else first
        if got:
            text += f"; got {got.group(1)!r}"
        return key, text
    return key, first or type(exc).__name__


def error_line(exc: BaseException) -> str | None:
    """The one-line message for bad input, or None if ``exc`` is not bad input.

    Bad input is a :class:`sim.config.ConfigError` or an error of Hydra or
    OmegaConf while composing the config from the command line (unknown key,
    wrong type, unknown config group option, unparsable override, ...).
    """
    if isinstance(exc, ConfigError):
        return f"{exc.key}: {exc.message}"
    if isinstance(exc, MissingConfigException):
        missing = str(exc.missing_cfg_file or "")
        if exc.options is not None and "/" in missing:
            group, _, option = missing.rpartition("/")
            options = [o for o in exc.options if not o.endswith("_schema")]
            return f"{group}: unknown option {option!r} (allowed: {', '.join(options)})"
        return _one_line(str(exc).split("\nConfig search path", 1)[0])
    if isinstance(exc, OverrideParseException):
        return f"{exc.override}: cannot parse this override ({_one_line(exc.message)})"
    if isinstance(exc, HydraException) and not isinstance(exc, InstantiationException):
        cause = exc.__cause__
        if isinstance(cause, OmegaConfBaseException):
            return ": ".join(_omegaconf_key_message(cause))
        return _one_line(str(exc))
    if isinstance(exc, OmegaConfBaseException):
        return ": ".join(_omegaconf_key_message(exc))
    return None


def exit_bad_input(line: str) -> NoReturn:
    """Print ``error: <line>`` on stderr and exit with status 2."""
    sys.stdout.flush()
    sys.stderr.write(f"error: {line}\n")
    sys.stderr.flush()
    sys.exit(EXIT_BAD_INPUT)


def _remember_new_dirs(folder: Any) -> None:
    """Record ``folder`` and those of its parents that do not exist yet."""
    try:
        path = Path(str(folder)).absolute()
    except Exception:  # an interpolation error: Hydra reports it itself
        return
    _TOP_DIRS.append(path)
    if path.exists():
        _OLD_DIRS.add(path)
    for p in (path, *path.parents):
        if p.exists():
            break
        _NEW_DIRS.add(p)


def _close_file_logs(folder: Path) -> None:
    """Close and detach logging file handlers that write into ``folder``."""
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for lg in loggers:
        for handler in list(lg.handlers):
            name = getattr(handler, "baseFilename", None)
            if name and Path(name).is_relative_to(folder):
                handler.close()
                lg.removeHandler(handler)


def _only_bookkeeping(folder: Path) -> bool:
    """True if ``folder`` holds nothing but what Hydra writes before a job runs."""
    for entry in folder.iterdir():
        if entry.is_symlink():
            return False
        if entry.is_dir():
            if entry.name == ".hydra":
                if any(not p.is_file() or p.suffix != ".yaml" for p in entry.iterdir()):
                    return False
                continue
            if not (entry.name.isdigit() and _only_bookkeeping(entry)):  # a sweep's job folder
                return False
            continue
        if entry.suffix == ".log" or entry.name == "multirun.yaml":
            continue
        return False
    return True


def discard_run_dir(folder: str | os.PathLike) -> bool:
    """Remove a run (or sweep) folder that holds only Hydra's bookkeeping.

    Hydra creates the folder, its ``.hydra`` configs and the job log before the
    task runs. If the task then rejects its input, this removes them, plus the
    parents (like the date folder) that this process created and that are now
    empty. A folder with anything else in it (earlier results) is left alone.

    A folder that existed before this run started is emptied but kept.

    Returns:
        True if the folder was removed.
    """
    path = Path(folder).absolute()
    if not path.is_dir() or not _only_bookkeeping(path):
        return False
    _close_file_logs(path)
    if path in _OLD_DIRS:  # the user's folder: remove only what this run wrote
        for entry in path.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
        return False
    shutil.rmtree(path, ignore_errors=True)
    for parent in path.parents:
        if parent not in _NEW_DIRS:
            break
        try:
            parent.rmdir()
        except OSError:  # not empty: another run lives there
            break
    return not path.exists()


@contextmanager
def discard_on_bad_input(folder: str | os.PathLike) -> Iterator[None]:
    """On :class:`sim.config.ConfigError` inside the block, remove ``folder``, re-raise."""
    try:
        yield
    except ConfigError:
        discard_run_dir(folder)
        raise


def sweep_jobs(config: DictConfig) -> list[list[str]] | None:
    """The overrides of every job of a ``-m`` sweep, as the basic sweeper splits them.

    ``None`` for other sweepers, which choose their points as they go.
    """
    if OmegaConf.select(config, "hydra.sweeper._target_") not in BASIC_SWEEPERS:
        return None
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create(config_loader=GlobalHydra.instance().config_loader())
    params = OmegaConf.select(config, "hydra.sweeper.params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()]
    arguments += list(OmegaConf.to_container(config.hydra.overrides.task))
    return [list(job) for batch in BasicSweeper.split_arguments(
        parser.parse_overrides(arguments), None) for job in batch]


def sweep_configs(config: DictConfig,
                  jobs: list[list[str]] | None = None) -> Iterator[DictConfig]:
    """Compose the config of every job of a ``-m`` sweep (basic sweeper only).

    Composing with Hydra takes about 0.1 s a job, so the config groups chosen by
    each job (``network=...``, ``experiment=...``) are composed once and the
    plain value overrides (``seed=3``) are applied to a copy, exactly as Hydra
    applies them after composing. Other sweepers choose their points as they
    go; they yield nothing here.

    Args:
        config: The sweep's config.
        jobs: Its jobs, if :func:`sweep_jobs` has already split them.

    Yields:
        The config of each job (without its ``hydra`` node in the fast path).
    """
    if jobs is None:
        jobs = sweep_jobs(config)
    if jobs is None:
        return
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    loader = GlobalHydra.instance().config_loader()
    parser = OverridesParser.create(config_loader=loader)
    repository = getattr(loader, "repository", None)
    apply = getattr(ConfigLoaderImpl, "_apply_overrides_to_config", None)
    if repository is None or apply is None:  # another Hydra: compose every job
        for job in jobs:
            yield loader.load_sweep_config(config, list(job))
        return
    bases: dict[tuple[str, ...], DictConfig] = {}
    for job in jobs:
        parsed = parser.parse_overrides(list(job))
        structural = tuple(
            str(o.input_line) for o in parsed
            if o.package is not None or o.is_delete() or repository.group_exists(o.key_or_group)
        )  # fmt: skip
        values = [o for o in parsed if str(o.input_line) not in structural]
        if structural not in bases:
            base = loader.load_sweep_config(config, list(structural))
            with open_dict(base):
                del base["hydra"]
            bases[structural] = base
        job_config = copy.deepcopy(bases[structural])
        apply(values, job_config)
        yield job_config


class Preflight(Callback):
    """Hydra callback: reject bad input before Hydra writes any folder.

    ``on_run_start`` checks the run's config; ``on_multirun_start`` composes and
    checks every point of a basic-sweeper sweep, so one bad value stops the whole
    sweep before its first job. Hydra turns exceptions of callbacks into
    warnings, so this one reports the error itself and raises ``SystemExit(2)``.
    It also records which folders Hydra is about to create, so that
    :func:`discard_run_dir` removes only folders made by this process.
    """

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Check the config of a single run, and never write over a finished one."""
        run_dir = OmegaConf.select(config, "hydra.run.dir")
        _remember_new_dirs(run_dir)
        _check(lambda: to_config(config))
        if run_dir and (Path(str(run_dir)) / "metrics.json").exists():
            exit_bad_input(f"{run_dir}: already holds a finished run; choose another "
                           "hydra.run.dir (nothing was overwritten)")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Check the config of every job of a sweep (while the sweep's workers start)."""
        from experiments import pool

        _remember_new_dirs(OmegaConf.select(config, "hydra.sweep.dir"))
        jobs = None
        try:
            jobs = sweep_jobs(config)
            workers = pool.sweep_workers(config) if jobs is not None and len(jobs) > 1 else 1
        except Exception:  # noqa: BLE001  (check_all below reports it in one line)
            workers = 1
        # The workers import the model meanwhile (~2.5 s on a 2-core machine).
        pool.start(workers)

        def check_all() -> None:
            pool.sweep_workers(config)  # a bad hydra.launcher.n_jobs, in one line
            for job_config in sweep_configs(config, jobs):
                to_config(job_config)

        try:
            _check(check_all)
        except SystemExit:
            pool.stop()  # bad input: do not wait for the workers to finish importing
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
        if line is None:
            raise  # a bug: Hydra shows it as a warning, and the job fails on it
        exit_bad_input(line)


def cli(app: Callable[[], Any]) -> None:
    """Run a ``@hydra.main`` app; report bad input in one line, exit status 2.

    Hydra is told to re-raise errors (``HYDRA_FULL_ERROR=1``) instead of printing
    its own report, so that bad input (see :func:`error_line`) becomes one line
    ``error: <key>: <what is allowed>`` on stderr and exit status 2, with any
    folder this run had created removed. Ctrl-C says what was kept and exits
    with status 130. Other exceptions are bugs and keep their full traceback.
    """
    os.environ["HYDRA_FULL_ERROR"] = "1"
    held = _HeldJobErrors(sys.stderr)
    sys.stderr = held
    try:
        app()
    except KeyboardInterrupt:
        from experiments import pool

        pool.stop()
        held.drop()
        print("interrupted: finished runs are kept; for a sweep, the same command with "
              "resume=true runs only what is missing", file=held.stream, flush=True)
        raise SystemExit(130) from None
    except Exception as exc:
        line = error_line(exc)
        if line is None:
            held.release()
            raise
        held.drop()
        from experiments import pool

        pool.stop()  # e.g. a refused sweep: no need to wait for warming workers
        for folder in _TOP_DIRS:
            discard_run_dir(folder)
        exit_bad_input(line)
    finally:
        held.release()
        if sys.stderr is held:
            sys.stderr = held.stream


class _HeldJobErrors:
    """A stderr that holds back Hydra's "Error executing job with overrides" lines.

    Hydra writes that line to stderr before it re-raises a failed job's error.
    For bad input the one-line report replaces it; for a bug it is written out
    (just before the traceback), as usual.
    """

    PREFIX = "Error executing job with overrides"

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.held: list[str] = []

    def write(self, text: str) -> int:
        if text.startswith(self.PREFIX):
            self.held.append(text)
            return len(text)
        return self.stream.write(text)

    def drop(self) -> None:
        self.held.clear()

    def release(self) -> None:
        for text in self.held:
            self.stream.write(text)
        self.held.clear()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)
