"""Where a sweep's runs go: a folder per run, or rows in Parquet parts (``storage=parquet``).

``storage=folders`` (the default) gives every run its own folder of tables and
``metrics.json`` (about 13 files). ``storage=parquet`` is for big sweeps: each
run becomes one row, and each process that runs jobs (the local launcher's main
process, or one SLURM shard) writes its rows in batches into its own Parquet
files, never into a shared one::

    SWEEP/parts/runs/<writer>-<batch>.parquet   one row per finished run
    SWEEP/parts/bins/<writer>-<batch>.parquet   per run, its valuable brokerage in
                                                audience bins (figure b)
    SWEEP/sweep_runs.txt                        every run of the sweep, one id a line

A run's id is the name its folder would have (``seed=3,people.budget_mean=2.0``).
A row holds the run's id, status and error, its overrides, metrics and config
(as JSON text), its seed, the writer and time. Every file is written under a
temporary name and renamed, so a reader never sees half a part; a writer
stopped by a signal (``scancel``, a time limit) writes what it holds first.

Resume works as with folders: a run with an ``ok`` row is finished; a failed
run is run again, and its newest row wins. The summary reads the parts with
``pyarrow.dataset`` and builds exactly the rows :mod:`experiments.aggregate`
builds from folders, so tables and figures are identical in both storages.
The figures that draw single people (Lorenz curves, the story of one
connection) need the tables of a few representative runs: with
``storage_tables=true`` every run also keeps its folder of tables; otherwise
those few runs are run again (byte-identical, seeds are per run) into their
folders when the figures are drawn.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sim.config import ConfigError

#: Allowed values of the ``storage`` setting.
STORAGES = ("folders", "parquet")
#: The parts folders, relative to the sweep folder.
RUNS_PARTS = Path("parts") / "runs"
BINS_PARTS = Path("parts") / "bins"
#: Every run id of the sweep, one a line (written by the launchers that know them).
MANIFEST = "sweep_runs.txt"
#: Columns of a run row, in order (all parts share this schema).
ROW_COLUMNS = ("run_id", "status", "error", "seed", "overrides", "metrics", "config",
               "writer", "seconds", "finished_at")
#: Default batch of a part writer: rows, and seconds since its last write.
FLUSH_ROWS = 200
FLUSH_SECONDS = 60.0


def storage_of(config: Any) -> str:
    """The ``storage`` setting of a sweep config, checked.

    Raises:
        ConfigError: Not one of :data:`STORAGES`.
    """
    from omegaconf import OmegaConf

    value = OmegaConf.select(config, "storage", default="folders")
    if value not in STORAGES:
        raise ConfigError("storage", f"must be one of {', '.join(STORAGES)}; got {value!r}")
    return str(value)


def keeps_tables(config: Any) -> bool:
    """Whether a parquet-storage sweep also writes each run's folder of tables."""
    from omegaconf import OmegaConf

    return bool(OmegaConf.select(config, "storage_tables", default=False))


def is_parquet_sweep(sweep_dir: str | os.PathLike) -> bool:
    """Whether ``sweep_dir`` holds runs in Parquet parts."""
    return (Path(sweep_dir) / RUNS_PARTS).is_dir()


# --- run ids ---------------------------------------------------------------------------


def naming(config: Any) -> tuple[list[str], str, str]:
    """``(exclude_keys, item_sep, kv_sep)`` of ``hydra.job.override_dirname``.

    Raises:
        ConfigError: The sweep names its run folders otherwise than by their
            overrides (``hydra.sweep.subdir``), which run ids rely on.
    """
    from omegaconf import OmegaConf

    from hydra_plugins.influencer_sim_launcher.launcher import FAST_SUBDIR

    subdir = OmegaConf.to_container(config.hydra.sweep, resolve=False).get("subdir")
    if subdir != FAST_SUBDIR:
        raise ConfigError("hydra.sweep.subdir", f"must stay {FAST_SUBDIR} with "
                          "storage=parquet or hydra/launcher=slurm (runs are named by their "
                          f"overrides); got {subdir!r}")
    dirname = config.hydra.job.config.override_dirname
    return list(dirname.exclude_keys), str(dirname.item_sep), str(dirname.kv_sep)


def run_id(overrides: Sequence[str], how: tuple[list[str], str, str]) -> str:
    """The id of the run with ``overrides``: the folder name the launcher gives it."""
    from hydra_plugins.influencer_sim_launcher.launcher import run_folder_name

    return run_folder_name(overrides, *how)


def write_manifest(sweep_dir: Path, ids: Iterable[str]) -> None:
    """Add ``ids`` to the sweep's list of runs (kept in first-seen order)."""
    from sim.io import write_text

    known = read_manifest(sweep_dir)
    seen = set(known)
    known += [i for i in ids if not (i in seen or seen.add(i))]
    write_text("".join(f"{i}\n" for i in known), sweep_dir / MANIFEST)


def read_manifest(sweep_dir: str | os.PathLike) -> list[str]:
    """The sweep's run ids from :data:`MANIFEST` (empty if it has none)."""
    path = Path(sweep_dir) / MANIFEST
    return path.read_text().splitlines() if path.exists() else []


# --- reading parts ---------------------------------------------------------------------


def _part_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))


def read_parts(sweep_dir: str | os.PathLike, columns: Sequence[str] | None = None,
               which: Path = RUNS_PARTS, warn: bool = True) -> Any:
    """The rows of a sweep's parts as one ``pyarrow.Table`` (None if there are none).

    A part that cannot be read (only possible if written by something else) is
    reported on stderr and skipped.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    files = _part_files(Path(sweep_dir) / which)
    if not files:
        return None
    cols = list(columns) if columns is not None else None
    try:
        return ds.dataset([str(f) for f in files], format="parquet").to_table(columns=cols)
    except (OSError, pa.ArrowInvalid):
        tables = []
        for f in files:
            try:
                tables.append(ds.dataset(str(f), format="parquet").to_table(columns=cols))
            except (OSError, pa.ArrowInvalid) as exc:
                if warn:
                    print(f"warning: {f}: unreadable part ({exc}); skipped", file=sys.stderr)
        return pa.concat_tables(tables) if tables else None


def latest_rows(table: Any) -> Any:
    """One row per run: its ``ok`` row if it has one, else its newest row.

    A run written twice (a shard resubmitted while it still ran) is identical
    both times; a failed run re-run with ``resume=true`` is ``ok`` the second time.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if table is None or table.num_rows == 0:
        return table
    if pc.count_distinct(table["run_id"]).as_py() == table.num_rows:
        return table  # one row per run already (the usual case): no copy of the table
    ok = pc.equal(table["status"], "ok").cast(pa.int8())
    order = pc.sort_indices(pa.table({"run_id": table["run_id"], "ok": ok,
                                      "t": table["finished_at"]}),
                            sort_keys=[("run_id", "ascending"), ("ok", "descending"),
                                       ("t", "descending")])
    table = table.take(order)
    ids = table["run_id"].to_pylist()
    keep = [i for i in range(len(ids)) if i == 0 or ids[i] != ids[i - 1]]
    return table.take(pa.array(keep, pa.int64()))


def run_states(sweep_dir: str | os.PathLike, storage: str,
               ids: Iterable[str] | None = None) -> dict[str, str]:
    """``{run_id: status}`` of every run of the sweep that has a result.

    Parquet: from the parts (the latest row of each run). Folders: from the
    ``metrics.json`` of the folders of ``ids`` (all run folders if None).
    """
    sweep_dir = Path(sweep_dir)
    if storage == "parquet":
        table = latest_rows(read_parts(sweep_dir, ["run_id", "status", "finished_at"]))
        if table is None:
            return {}
        return dict(zip(table["run_id"].to_pylist(), table["status"].to_pylist(), strict=True))
    if ids is None:
        ids = [str(p.parent.parent.relative_to(sweep_dir))
               for p in sweep_dir.glob("**/.hydra/overrides.yaml")]
    states = {}
    for rid in ids:
        try:
            payload = json.loads((sweep_dir / rid / "metrics.json").read_text())
            states[rid] = str(payload.get("status", "ok"))
        except (OSError, ValueError, AttributeError):
            continue
    return states


def finished_ids(sweep_dir: str | os.PathLike, storage: str,
                 ids: Iterable[str] | None = None) -> set[str]:
    """Ids of the runs that finished ``ok`` (resume skips them)."""
    return {rid for rid, status in run_states(sweep_dir, storage, ids).items() if status == "ok"}


# --- writing parts ---------------------------------------------------------------------


class PartWriter:
    """Collects run rows and writes them in batches into this writer's own part files.

    Args:
        sweep_dir: The sweep folder.
        tag: Unique name of the writer (e.g. ``slurm-1234-3`` or ``local-<host>-<pid>``).
        flush_rows: Write a part once this many rows are held...
        flush_seconds: ...or this many seconds after the last write.
    """

    def __init__(self, sweep_dir: str | os.PathLike, tag: str, flush_rows: int = FLUSH_ROWS,
                 flush_seconds: float = FLUSH_SECONDS) -> None:
        self.sweep_dir = Path(sweep_dir)
        self.tag = tag
        self.flush_rows = max(1, int(flush_rows))
        self.flush_seconds = float(flush_seconds)
        self.rows: list[dict[str, Any]] = []
        self.bins: list[Any] = []
        self.batch = 0
        self.written = 0
        self.last = time.monotonic()

    def add(self, row: dict[str, Any], bins: Any = None) -> None:
        """Hold one run's row (and its audience bins); write a part when the batch is full."""
        self.rows.append(row)
        if bins is not None and len(bins):
            self.bins.append(bins)
        if (len(self.rows) >= self.flush_rows
                or time.monotonic() - self.last >= self.flush_seconds):
            self.flush()

    def flush(self) -> None:
        """Write the rows held into a new part (bins first, so a row never lacks them)."""
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq

        from sim.io import atomic_write

        self.last = time.monotonic()
        if not self.rows:
            return
        name = f"{self.tag}-{self.batch:05d}.parquet"
        if self.bins:
            bins = pa.Table.from_pandas(pd.concat(self.bins, ignore_index=True),
                                        preserve_index=False)
            atomic_write(self.sweep_dir / BINS_PARTS / name,
                         lambda tmp: pq.write_table(bins, tmp, compression="zstd"))
        table = pa.Table.from_pylist(self.rows, schema=ROW_SCHEMA())
        atomic_write(self.sweep_dir / RUNS_PARTS / name,
                     lambda tmp: pq.write_table(table, tmp, compression="zstd"))
        self.written += len(self.rows)
        self.batch += 1
        self.rows, self.bins = [], []


def ROW_SCHEMA() -> Any:  # noqa: N802  (a constant, built lazily so pyarrow loads late)
    """The Arrow schema of a run row."""
    import pyarrow as pa

    return pa.schema([("run_id", pa.string()), ("status", pa.string()),
                      ("error", pa.string()), ("seed", pa.int64()),
                      ("overrides", pa.string()), ("metrics", pa.string()),
                      ("config", pa.string()), ("writer", pa.string()),
                      ("seconds", pa.float64()), ("finished_at", pa.float64())])


def writer_name() -> str:
    """``<host>-<pid>``: unique among the processes writing into one sweep."""
    return f"{socket.gethostname().split('.')[0]}-{os.getpid()}"


# --- one run, as a row -----------------------------------------------------------------


def run_row(run: str, overrides: Sequence[str], cfg: Any, sweep_dir: str | os.PathLike,
            tables: bool = False) -> tuple[dict[str, Any], Any]:
    """Run one job of a parquet-storage sweep and return ``(row, audience bins or None)``.

    A failure of any kind is returned as a row with ``status: failed`` and the
    error, exactly as :func:`experiments.jobs.sweep_job` records it in a
    folder; it is never raised.

    Args:
        run: The run's id.
        overrides: Its overrides (as Hydra's ``overrides.yaml`` lists them).
        cfg: Its composed task config (a DictConfig, or a plain mapping).
        sweep_dir: The sweep folder (for ``tables``).
        tables: Also write the run's folder of tables (``SWEEP/<run id>/``).
    """
    from omegaconf import DictConfig, OmegaConf

    from experiments import jobs
    from experiments.convert import to_config
    from sim.config import to_dict
    from sim.io import json_dumps

    if not isinstance(cfg, DictConfig):
        cfg = OmegaConf.create(cfg)
    quiet_mesa()
    t0 = time.perf_counter()
    row: dict[str, Any] = {"run_id": run, "overrides": json.dumps(list(overrides)),
                           "writer": writer_name()}
    bins = None
    config = None
    try:
        config = to_config(cfg)
        jobs._inject_faults(config)
        from sim.run import run as sim_run

        result = sim_run(config)
        if tables:
            result.save(Path(sweep_dir) / run)
        row.update(status="ok", error="", seed=int(config.seed),
                   metrics=json_dumps(result.metrics), config=json_dumps(to_dict(config)))
        if config.mode == "referral":
            from sim import measures

            bins = measures.audience_bins(result.people[["audience", "credit_valuable"]])
            bins.insert(0, "run_id", run)
    except Exception as exc:  # recorded, not raised: one bad run must not stop a sweep
        return failed_row(run, overrides, cfg, config, exc, time.perf_counter() - t0), None
    row.update(seconds=time.perf_counter() - t0, finished_at=time.time())
    return row, bins


def failed_row(run: str, overrides: Sequence[str], cfg: Any, config: Any,
               exc: BaseException | str, seconds: float) -> dict[str, Any]:
    """The row of a failed run, as :func:`experiments.jobs.sweep_job` records one.

    Error and config as in :func:`experiments.jobs.failure_record`.

    Args:
        run: The run's id.
        overrides: Its overrides.
        cfg: Its composed config (a DictConfig) or None.
        config: Its :class:`sim.config.Config` if it got that far, else None.
        exc: The error, or its line (``Type: message``).
        seconds: Time spent (s).
    """
    import logging

    from experiments.errors import one_line
    from experiments.jobs import failure_record
    from sim.io import json_dumps

    error = exc if isinstance(exc, str) else f"{type(exc).__name__}: {one_line(str(exc))}"
    logging.getLogger(__name__).error("run failed: %s", error)
    container = failure_record(cfg, config, error).get("config", {})
    seed = container.get("seed") if isinstance(container, dict) else None
    return {"run_id": run, "overrides": json.dumps(list(overrides)), "writer": writer_name(),
            "status": "failed", "error": error, "seed": seed if isinstance(seed, int) else None,
            "metrics": "{}", "config": json_dumps(container), "seconds": seconds,
            "finished_at": time.time()}


def quiet_mesa() -> None:
    """Mesa logs a line per step at INFO; runs outside Hydra's job logging keep it quiet.

    (Hydra's jobs get the same from ``hydra.job_logging`` in ``conf/config.yaml``.)
    """
    import logging

    logging.getLogger("MESA").setLevel(logging.WARNING)


# --- the summary's rows ----------------------------------------------------------------


def collect(sweep_dir: str | os.PathLike, quiet: bool = False
            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Any]]:
    """The summary rows of a parquet-storage sweep, as :mod:`experiments.aggregate` reads folders.

    Each run gives what :func:`experiments.aggregate.read_metrics` gives for its
    folder: its metrics, ``status``, ``error`` and its flattened config, and a
    ``run_dir`` relative to the sweep folder (the run's id, its folder's name).

    Returns:
        ``(rows, flattened configs, audience-bin tables)``, rows in the order of
        their run folders' names, as the folder storage reads them.
    """
    import pyarrow.compute as pc

    from experiments.aggregate import _flat

    sweep_dir = Path(sweep_dir)
    table = latest_rows(read_parts(sweep_dir, ["run_id", "status", "error", "metrics",
                                               "config", "finished_at"], warn=not quiet))
    if table is None:
        return [], [], []
    data = {name: table[name].to_pylist()
            for name in ("run_id", "status", "error", "metrics", "config")}
    order = sorted(range(table.num_rows), key=lambda i: data["run_id"][i])
    rows: list[dict[str, Any]] = []
    configs: list[dict[str, Any]] = []
    # Runs that differ only by seed share one flattened config (a 100,000-run sweep has a
    # few distinct ones): their rows carry the seed among their metrics, as in a folder.
    shared: dict[str, dict[str, Any]] = {}
    for i in order:
        row: dict[str, Any] = json.loads(data["metrics"][i])
        row["status"] = data["status"][i]
        row["error"] = data["error"][i] or ""
        row["run_dir"] = data["run_id"][i]
        rows.append(row)
        text = data["config"][i]
        seed = row.get("seed")
        needle = f'"seed": {seed}' if isinstance(seed, int) else None
        if needle is not None and text.count(needle) == 1:
            key = text.replace(needle, '"seed": null')  # the config but for its seed
            if key not in shared:
                config = json.loads(text)
                if not (isinstance(config, dict) and config.get("seed") == seed):
                    configs.append(_flat(config) if isinstance(config, dict) else {})
                    continue
                del config["seed"]
                shared[key] = _flat(config)
            configs.append(shared[key])
            continue
        config = json.loads(text)
        configs.append(_flat(config) if isinstance(config, dict) else {})
    bins = []
    bins_table = read_parts(sweep_dir, which=BINS_PARTS, warn=not quiet)
    if bins_table is not None and bins_table.num_rows:
        ok_ids = [data["run_id"][i] for i in order if data["status"][i] == "ok"]
        bins_table = bins_table.filter(pc.is_in(bins_table["run_id"],
                                                value_set=_string_array(ok_ids)))
        frame = bins_table.to_pandas()
        frame = frame.drop_duplicates(subset=["run_id", "bin_low"], keep="first")
        position = {rid: n for n, rid in enumerate(ok_ids)}
        frame["_order"] = frame["run_id"].map(position)
        frame = frame.sort_values("_order", kind="stable").drop(columns="_order")
        frame = frame.rename(columns={"run_id": "run_dir"}).reset_index(drop=True)
        bins = [frame]
    return rows, configs, bins


def _string_array(values: list[str]) -> Any:
    import pyarrow as pa

    return pa.array(values, pa.string())


# --- tables of representative runs, for the figures ------------------------------------


def ensure_tables(sweep_dir: str | os.PathLike, run_dirs: Iterable[str | os.PathLike],
                  say: bool = True) -> None:
    """Make sure each of ``run_dirs`` holds the run's tables, re-running it if needed.

    Only for parquet-storage sweeps, whose runs keep no folder unless
    ``storage_tables=true``. A run is re-run from the config stored in its row;
    seeds are per run, so its tables are byte-identical to the original run's.
    """
    from sim.config import from_dict, validate

    sweep_dir = Path(sweep_dir)
    wanted = [sweep_dir / d for d in run_dirs if not (sweep_dir / d / "metrics.json").exists()]
    if not wanted:
        return
    ids = {d.name for d in wanted}
    table = latest_rows(read_parts(sweep_dir, ["run_id", "status", "config", "finished_at"]))
    configs = {r: c for r, c, s in zip(table["run_id"].to_pylist(), table["config"].to_pylist(),
                                       table["status"].to_pylist(), strict=True)
               if r in ids and s == "ok"}
    if say:
        print(f"figures: running {len(configs)} representative run(s) again for their tables "
              "(storage=parquet keeps no per-run tables unless storage_tables=true)",
              file=sys.stderr)
    from sim.run import run as sim_run

    quiet_mesa()
    for rid in sorted(configs):
        config = validate(from_dict(json.loads(configs[rid])))
        sim_run(config).save(sweep_dir / rid, csv=False)  # what figures c and e read
