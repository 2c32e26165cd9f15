"""The sweeper ``hydra/sweeper=influencer``: Hydra's basic sweeper, plus design tables.

Hydra's basic sweeper composes every job's config in the main process before
launching (``validate_batch_is_legal``), about 0.13 s a job, all of it serial:
13 s of a 100-run sweep whose runs take 0.45 s each. The project's
``Preflight`` callback has already composed and validated every job (and
reports bad input in one line), so this sweeper skips the repeat. Everything
else, including ``hydra.sweeper.params``, is the basic sweeper's.

**Design tables** (``hydra.sweeper.design=path/to/design.csv``): a CSV with one
column per config key (``ties.floor``, ``trust.exponent``, ...) and one row per
point of a design (e.g. a Morris or Sobol sample, :mod:`experiments.sensitivity`).
Every row is crossed with the other swept parameters (``seed=range(2)`` makes
two replicates of every row); the job of row 17 gets ``design_row=0017`` and the
row's values as overrides. The row's values are left out of the run folder's
name (``design_row=0017,seed=1``), so names stay short; they are stored in the
run's config (``.hydra/config.yaml``, ``metrics.json``). The table is read and
checked once, up front, by :func:`read_design` (``Preflight``): a missing file,
an unknown key, a value of the wrong type or a key also given on the command
line stops the sweep with one line, before anything is written; ranges are
checked with every job's config (:func:`sim.config.validate`). A copy of the
table (and of its description, ``<name>.json``, if there is one) is stored in
the sweep folder as ``design.csv`` (``design.json``).

This module is the project's one use of a private Hydra name
(``hydra._internal.core_plugins.basic_sweeper``: Hydra has no public basic
sweeper to extend); ``hydra-core`` is pinned to 1.3.x in ``pyproject.toml`` and
``tests/test_pool.py`` fails if the name disappears.
"""

import csv
import hashlib
import math
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper, BasicSweeperConf
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from sim.config import ConfigError

#: The key that numbers a design's rows in the jobs' overrides and run folder names.
DESIGN_ROW_KEY = "design_row"
#: Digits of the row number in folder names (more when a design has more rows).
ROW_DIGITS = 4
#: Names of the design's copy (and of its description) inside the sweep folder.
DESIGN_COPY = "design.csv"
DESIGN_INFO_COPY = "design.json"
#: Text values of a design must be plain words (they become overrides and folder names).
_WORD = re.compile(r"[A-Za-z0-9_.+-]+")


@dataclass
class InfluencerSweeperConf(BasicSweeperConf):
    """Settings of the basic sweeper (``max_batch_size``, ``params``) and ``design``.

    Attributes:
        design: Path of a design table (CSV, one column per config key, one row
            per point), crossed with the other swept parameters; None: no design.
    """

    _target_: str = "hydra_plugins.influencer_sim_launcher.sweeper.InfluencerSweeper"
    design: str | None = None


ConfigStore.instance().store(group="hydra/sweeper", name="influencer",
                             node=InfluencerSweeperConf, provider="influencer-sim")


@dataclass(frozen=True)
class Design:
    """A design table read and checked by :func:`read_design`.

    Attributes:
        path: The file.
        keys: Its columns (config keys), in file order.
        rows: Per row, the override of each column as ``key=value`` text.
        digest: SHA-256 of the file's bytes (the sweep's definition records it).
    """

    path: Path
    keys: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    digest: str

    def row_name(self, index: int) -> str:
        """``design_row=0017``: the override naming row ``index`` (zero-padded)."""
        width = max(ROW_DIGITS, len(str(len(self.rows) - 1)))
        return f"{DESIGN_ROW_KEY}={index:0{width}d}"


def _format_value(path: Path, row: int, key: str, text: str, tp: Any) -> str:
    """One cell as an override value of the key's type (raises ConfigError naming the cell)."""
    where = f"{path}: row {row}, column {key}"
    text = text.strip()
    if not text:
        raise ConfigError(where, "is empty; every cell needs a value")
    if tp is bool:
        if text.lower() not in ("true", "false"):
            raise ConfigError(where, f"must be true or false; got {text!r}")
        return text.lower()
    if tp in (int, float):
        try:
            number = float(text)
        except ValueError:
            raise ConfigError(where, f"must be a number; got {text!r}") from None
        if not math.isfinite(number):
            raise ConfigError(where, f"must be a finite number; got {text!r}")
        if tp is int:
            if number != int(number):
                raise ConfigError(where, f"must be a whole number; got {text!r}")
            return str(int(number))
        return repr(number)
    if tp is str:
        if not _WORD.fullmatch(text):
            raise ConfigError(where, "must be one word of letters, digits and _.+- "
                              f"(a choice such as attention); got {text!r}")
        return text
    raise ConfigError(where, "is a group of settings, not one value; name one of its keys")


def read_design(path: str | Path) -> Design:
    """Read and check a design table: known keys, values of each key's type.

    Args:
        path: The CSV file (header: config keys; one row per design point).

    Returns:
        The design.

    Raises:
        ConfigError: A missing or unreadable file, an empty table, a duplicate or
            unknown column, a row of the wrong length, or a cell of the wrong type
            (naming the file, row and column). Ranges are checked later with the
            job's whole config.
    """
    from experiments.errors import schema_type

    path = Path(str(path))
    key = "hydra.sweeper.design"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = "no such file" if isinstance(exc, FileNotFoundError) else (
            exc.strerror or type(exc).__name__).lower()
        raise ConfigError(key, f"cannot read design table {path} ({reason})") from None
    try:
        lines = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(key, f"{path} is not a CSV table ({exc})") from None
    lines = [line for line in lines if any(cell.strip() for cell in line)]
    if len(lines) < 2:
        raise ConfigError(key, f"{path} needs a header of config keys and at least one row")
    keys = tuple(cell.strip() for cell in lines[0])
    types = []
    for name in keys:
        if name == DESIGN_ROW_KEY or name == "seed":
            raise ConfigError(f"{path}: column {name}", "is set by the sweep, not by a design "
                              "(seeds are replicates: seed=range(R) on the command line)")
        tp = schema_type(name)
        if tp is None:
            raise ConfigError(f"{path}: column {name!r}", "is not a config key (columns are "
                              "dotted keys of sim.config.Config, e.g. ties.floor)")
        types.append(tp)
    if len(set(keys)) != len(keys):
        raise ConfigError(f"{path}", "has a column twice")
    rows = []
    for number, line in enumerate(lines[1:]):
        if len(line) != len(keys):
            raise ConfigError(f"{path}: row {number}",
                              f"has {len(line)} cells, the header {len(keys)}")
        rows.append(tuple(f"{name}={_format_value(path, number, name, cell, tp)}"
                          for name, cell, tp in zip(keys, line, types, strict=True)))
    return Design(path=path, keys=keys, rows=tuple(rows),
                  digest=hashlib.sha256(raw).hexdigest())


def design_jobs(design: Design, jobs: list[list[str]]) -> list[list[str]]:
    """Cross every design row with the jobs of the other swept parameters.

    Row by row (outer), each of ``jobs`` (inner, e.g. the seeds), the job gets
    ``design_row=NNNN`` and the row's overrides after its own.

    Raises:
        ConfigError: A design column is also set on the command line.
    """
    parser = OverridesParser.create()
    given = {o.key_or_group for job in jobs[:1] for o in parser.parse_overrides(job)}
    both = sorted(given & set(design.keys))
    if both:
        raise ConfigError(both[0], f"is a column of the design table {design.path}; "
                          "set it in the table or on the command line, not both")
    return [[*job, design.row_name(i), *row] for i, row in enumerate(design.rows)
            for job in jobs]


def split_jobs(overrides: list[Any], design: Design | None = None) -> list[list[str]]:
    """The jobs of a sweep (each a list of ``key=value``), as this sweeper splits them.

    Args:
        overrides: Parsed overrides (sweeper parameters first, then the command line).
        design: A design table to cross the jobs with (:func:`design_jobs`).
    """
    jobs = [list(job) for batch in BasicSweeper.split_arguments(overrides, None)
            for job in batch]
    return design_jobs(design, jobs) if design is not None else jobs


def design_of(config: DictConfig) -> Design | None:
    """The checked design table of a sweep's config (``hydra.sweeper.design``), if any."""
    path = OmegaConf.select(config, "hydra.sweeper.design")
    return None if path in (None, "") else read_design(str(path))


def exclude_design_keys(config: DictConfig, design: Design) -> None:
    """Leave the design's columns out of the run folders' names (``override_dirname``).

    Sets ``hydra.job.config.override_dirname.exclude_keys`` in the sweep's
    config and records the same setting among its Hydra overrides, from which
    every job's config is composed (``load_sweep_config``).
    """
    naming = config.hydra.job.config.override_dirname
    keys = list(naming.exclude_keys) + [k for k in design.keys if k not in naming.exclude_keys]
    setting = f"hydra.job.config.override_dirname.exclude_keys=[{','.join(keys)}]"
    with read_write(config), open_dict(config):
        naming.exclude_keys = keys
        config.hydra.overrides.hydra.append(setting)


class InfluencerSweeper(BasicSweeper):
    """Basic sweeper whose jobs were validated up front by ``Preflight``; runs design tables.

    Args:
        max_batch_size: Jobs per launch (None: all at once).
        params: Swept parameters, as the basic sweeper's.
        design: Path of a design table (see the module docstring), or None.
    """

    def __init__(self, max_batch_size: int | None, params: dict[str, str] | None = None,
                 design: str | None = None) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.design_path = design
        self.design: Design | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction,
              config: DictConfig) -> None:
        """Read the design (if any) and name run folders without its columns."""
        if self.design_path not in (None, ""):
            self.design = read_design(str(self.design_path))
            exclude_design_keys(config, self.design)
        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def split_arguments(self, overrides: list[Any],  # type: ignore[override]
                        max_batch_size: int | None) -> list[list[list[str]]]:
        """The basic sweeper's jobs, crossed with the design's rows, in batches."""
        jobs = split_jobs(overrides, self.design)
        if self.design is not None and self.config is not None:
            self._store_design()
        if max_batch_size is None:
            return [jobs]
        return list(BasicSweeper.split_overrides_to_chunks(jobs, max_batch_size))

    def _store_design(self) -> None:
        """Copy the design (and its ``.json`` description) into the sweep folder."""
        assert self.design is not None and self.config is not None
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.design.path, sweep_dir / DESIGN_COPY)
        info = self.design.path.with_suffix(".json")
        if info.is_file():
            shutil.copyfile(info, sweep_dir / DESIGN_INFO_COPY)

    def validate_batch_is_legal(self, batch: Any) -> None:  # noqa: D102
        return None
