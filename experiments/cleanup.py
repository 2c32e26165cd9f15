"""Undo a refused start: remove exactly the files and folders this process created.

Hydra writes a run's folder, its ``.hydra`` configs and the job log before the
task runs; a sweep's folder and ``multirun.yaml`` before the first job. When the
job then refuses its input, :data:`created` removes those paths, and only
those: each one is recorded (:meth:`CreatedPaths.expect_dir`,
:meth:`CreatedPaths.expect_file`) by the ``Preflight`` callback before Hydra
writes anything, and only if it did not exist then. A file or folder that
existed before, or that anything else put there, is never touched; a recorded
folder is removed only when it is empty.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path


class CreatedPaths:
    """Paths this process is about to create, to remove them again if the job is refused."""

    def __init__(self) -> None:
        self.files: list[Path] = []
        self.dirs: list[Path] = []
        #: The job's output folder (run or sweep folder), once known.
        self.top: Path | None = None

    def expect_dir(self, folder: str | os.PathLike) -> None:
        """Record ``folder`` and those of its parents that do not exist yet."""
        path = Path(folder).absolute()
        missing = []
        for p in (path, *path.parents):
            if p.exists() or p.is_symlink():
                break
            missing.append(p)
        self.dirs.extend(p for p in reversed(missing) if p not in self.dirs)

    def expect_file(self, path: str | os.PathLike) -> None:
        """Record ``path`` if it does not exist yet."""
        file = Path(path).absolute()
        if not (file.exists() or file.is_symlink()) and file not in self.files:
            self.files.append(file)

    def discard(self) -> list[Path]:
        """Remove the recorded paths that exist now; return what was removed.

        Files first (log handlers writing to them are closed), then folders,
        deepest first, each only if empty. Never raises.
        """
        removed: list[Path] = []
        _close_file_logs(self.files)
        for file in self.files:
            try:
                if file.is_file() and not file.is_symlink():
                    file.unlink()
                    removed.append(file)
            except OSError:
                pass
        for folder in sorted(self.dirs, key=lambda p: len(p.parts), reverse=True):
            try:
                folder.rmdir()  # only if empty
                removed.append(folder)
            except OSError:
                pass
        self.files.clear()
        self.dirs.clear()
        return removed

    def forget(self) -> None:
        """Drop the records (the job started: what it wrote is its output)."""
        self.files.clear()
        self.dirs.clear()

    def remove_temps(self) -> list[Path]:
        """Remove temporary files of interrupted atomic writes in the job's output folder.

        Only names of :mod:`sim.io`'s pattern, in the output folder and the
        folders below it (two levels: run folders and ``figures/``).
        """
        from sim.io import remove_stale_temps

        if self.top is None or not self.top.is_dir():
            return []
        removed = remove_stale_temps(self.top, older_than=0.0)
        for sub in _subfolders(self.top, depth=2):
            removed += remove_stale_temps(sub, older_than=0.0)
        return removed


def _subfolders(folder: Path, depth: int) -> list[Path]:
    out: list[Path] = []
    if depth <= 0:
        return out
    try:
        entries = [e for e in folder.iterdir() if e.is_dir() and not e.is_symlink()]
    except OSError:
        return out
    for entry in entries:
        out.append(entry)
        out += _subfolders(entry, depth - 1)
    return out


def _close_file_logs(files: list[Path]) -> None:
    """Close and detach logging file handlers that write to one of ``files``."""
    targets = {str(f) for f in files}
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for lg in loggers:
        for handler in list(lg.handlers):
            name = getattr(handler, "baseFilename", None)
            if name and str(Path(name).absolute()) in targets:
                handler.close()
                lg.removeHandler(handler)


#: What this process is about to create (filled by ``Preflight``, used by ``cli``).
created = CreatedPaths()
