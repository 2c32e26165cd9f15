"""Atomic file output: one helper for every file the project writes.

A file is written under a hidden temporary name in its target folder and then
moved into place with :func:`os.replace`, so a reader never sees a partial
file and an interrupted write never leaves a damaged one behind. Temporary
names follow one pattern (``.<name>.<random>.tmp<suffix>``), so :func:`remove_stale_temps`
can tidy what a hard kill (SIGKILL, power loss) left without touching anything
else in the folder.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

#: Mark in the name of every temporary file this module creates (before the final suffix).
TEMP_MARK = ".tmp"
# ``.<name>.<random>.tmp<suffix>``: the final suffix is kept so writers that pick
# a format by extension (Pillow, matplotlib) still work on the temporary file.
_TEMP_NAME = re.compile(r"^\..+\.[^.]+\.tmp(\.[A-Za-z0-9]+)?$")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it into place on success.

    The folder is created if needed. On any exception (KeyboardInterrupt and
    SystemExit included) the temporary file is removed and ``path`` is left as
    it was. The final file gets mode 0644 (results are for sharing).

    Args:
        path: The final file path.

    Yields:
        The temporary path to write to (already created, empty).
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=TEMP_MARK + final.suffix,
                               dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, final)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def atomic_write(path: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` and move the result to ``path`` atomically; return ``path``."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def write_text(text: str, path: str | os.PathLike) -> Path:
    """Write ``text`` (UTF-8) to ``path``, atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_bytes(data: bytes, path: str | os.PathLike) -> Path:
    """Write ``data`` to ``path``, atomically."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def write_parquet(df: Any, path: str | os.PathLike) -> Path:
    """Write a pandas DataFrame to ``path`` as Parquet (no index), atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    return atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def write_csv(df: Any, path: str | os.PathLike) -> Path:
    """Write a pandas DataFrame to ``path`` as CSV (no index), atomically."""
    return atomic_write(path, lambda tmp: df.to_csv(tmp, index=False))


def json_dumps(obj: Any) -> str:
    """JSON with NaN and infinities written as null (strict JSON readers accept it)."""

    def clean(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [clean(v) for v in x]
        if isinstance(x, np.generic):
            return clean(x.item())
        if isinstance(x, float) and not math.isfinite(x):
            return None
        return x

    return json.dumps(clean(obj), indent=2, sort_keys=False) + "\n"


def write_json(obj: Any, path: str | os.PathLike) -> Path:
    """Write ``obj`` as JSON (see :func:`json_dumps`) to ``path``, atomically."""
    return write_text(json_dumps(obj), path)


def remove_stale_temps(folder: str | os.PathLike, older_than: float = 60.0) -> list[Path]:
    """Remove this module's temporary files left in ``folder`` by a hard kill.

    Only hidden files named ``.<name>.<random>.tmp<suffix>`` and older than
    ``older_than`` seconds are removed (a concurrent writer's fresh file is
    left alone); nothing else is touched.

    Returns:
        The files removed.
    """
    removed: list[Path] = []
    base = Path(folder)
    if not base.is_dir():
        return removed
    now = time.time()
    for entry in base.iterdir():
        if not _TEMP_NAME.match(entry.name):
            continue
        with contextlib.suppress(OSError):
            stale = now - entry.stat().st_mtime > older_than
            if stale and entry.is_file() and not entry.is_symlink():
                entry.unlink()
                removed.append(entry)
    return removed
