"""Bad input and failed output, each as one line: the error rewriting of every app.

Bad input (a :class:`sim.config.ConfigError`, or an error of Hydra or OmegaConf
while composing the config from the command line) becomes ``error: <key>: <what is
allowed>`` and exit status 2 (:func:`error_line`, :func:`exit_bad_input`). A file
system error while writing (a full disk, an unwritable folder) becomes ``error:
<file>: <what went wrong>`` and exit status 1 (:func:`os_error_line`).
"""

from __future__ import annotations

import dataclasses
import errno
import re
import sys
from typing import Any, NoReturn, get_type_hints

from hydra.errors import (
    HydraException,
    InstantiationException,
    MissingConfigException,
    OverrideParseException,
)
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    MissingMandatoryValue,
    OmegaConfBaseException,
    ValidationError,
)

from sim.config import Config, ConfigError

EXIT_BAD_INPUT = 2
"""Exit status for bad input (a wrong key, type, value or input file)."""

EXIT_FAILED = 1
"""Exit status when the job could not be done (a full disk, every run of a sweep failed)."""


def one_line(text: str) -> str:
    """``text`` with its lines joined by ``; ``."""
    parts = [p.strip() for p in str(text).splitlines() if p.strip()]
    return "; ".join(parts)


def schema_type(key: str, root: type = Config) -> Any:
    """The annotated type of a dotted key of the schema (:class:`sim.config.Config`), or None."""
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


def omegaconf_key_message(exc: OmegaConfBaseException) -> tuple[str, str]:
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
        tp = schema_type(key)
        if tp is None and exc.object_type is not None and exc.key is not None:
            tp = schema_type(str(exc.key), exc.object_type)
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
        return one_line(str(exc).split("\nConfig search path", 1)[0])
    if isinstance(exc, OverrideParseException):
        return f"{exc.override}: cannot parse this override ({one_line(exc.message)})"
    if isinstance(exc, HydraException) and not isinstance(exc, InstantiationException):
        cause = exc.__cause__
        if isinstance(cause, OmegaConfBaseException):
            return ": ".join(omegaconf_key_message(cause))
        return one_line(str(exc))
    if isinstance(exc, OmegaConfBaseException):
        return ": ".join(omegaconf_key_message(exc))
    return None


#: File system errors that are the machine's or the user's, not a bug: a full disk, a
#: folder that cannot be written, a path through a file.
OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS,
                           errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG, errno.EFBIG,
                           errno.ELOOP})


def os_error_line(exc: BaseException, where: object = None) -> str | None:
    """``<file>: <what went wrong>`` for a file system error of the output, else None.

    Args:
        exc: The error (or one whose cause or context is a file system error).
        where: What to name when the error names no file (e.g. the output folder).
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:  # the error itself or what caused it
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in OUTPUT_ERRNOS:
            where = exc.filename if exc.filename is not None else (where or "output")
            what = exc.strerror or errno.errorcode.get(exc.errno or 0, "error")
            hint = {errno.ENOSPC: "; free some space and run again (finished runs are kept)",
                    errno.EDQUOT: "; free some space and run again (finished runs are kept)",
                    errno.EACCES: "; choose a folder you can write to",
                    errno.EROFS: "; choose a folder you can write to"}.get(exc.errno, "")
            return f"{where}: {what.lower()}{hint}"
        exc = exc.__cause__ or exc.__context__
    return None


def used_folder_problem(out: Any, option: str = "--out") -> str | None:
    """Why an output folder cannot take a new command's files, or None if it can.

    A command that writes a fixed set of files refuses a path that is a file and a
    folder that already holds files, so nothing a user produced is overwritten.
    """
    from pathlib import Path

    out = Path(out)
    if out.exists() and not out.is_dir():
        return f"{option} {out}: is a file, not a folder"
    if out.is_dir() and any(out.iterdir()):
        return (f"{option} {out}: already holds files; name a new or empty folder "
                "(nothing is overwritten)")
    return None


def exit_with(line: str, status: int) -> NoReturn:
    """Print ``error: <line>`` on stderr and exit with ``status``."""
    sys.stdout.flush()
    sys.stderr.write(f"error: {line}\n")
    sys.stderr.flush()
    sys.exit(status)


def exit_bad_input(line: str) -> NoReturn:
    """Print ``error: <line>`` on stderr and exit with status 2."""
    exit_with(line, EXIT_BAD_INPUT)
