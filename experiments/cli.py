"""Run a Hydra app as a command: one line for bad input, failed output and signals.

:func:`cli` runs a ``@hydra.main`` app and turns

- bad input (:func:`experiments.errors.error_line`) into ``error: <key>: <what
  is allowed>`` on stderr and exit status 2, after removing exactly what this
  process had created (:mod:`experiments.cleanup`);
- a file system error of the output (a full disk, an unwritable folder) into
  ``error: <file>: <what went wrong>`` and exit status 1;
- Ctrl-C into one line and status 130, SIGTERM into one line and status 143;
  both stop the sweep's workers at once and remove temporary files of
  interrupted writes;

while real bugs keep their traceback. Hydra writes "Error executing job with
overrides" on stderr before it re-raises a job's error; :class:`_HeldJobErrors`
holds that line back and writes it only for a bug.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from experiments.cleanup import created
from experiments.errors import EXIT_FAILED, error_line, exit_bad_input, exit_with, os_error_line
from experiments.pool import EXIT_TERMINATED

#: Exit status after Ctrl-C (128 + SIGINT), as the shell reports it.
EXIT_INTERRUPTED = 130

KEPT = ("finished runs are kept; for a sweep, the same command with resume=true runs only "
        "what is missing")


class Terminated(BaseException):
    """SIGTERM arrived (raised in the main thread, like KeyboardInterrupt for Ctrl-C)."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


def _stop_pool() -> None:
    from experiments import pool

    pool.stop()


def cli(app: Callable[[], Any]) -> None:
    """Run a ``@hydra.main`` app as a command (see the module docstring)."""
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra re-raises; this function reports
    held = _HeldJobErrors(sys.stderr)
    sys.stderr = held
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
    try:
        app()
    except (KeyboardInterrupt, Terminated) as exc:
        _stop_pool()
        created.remove_temps()
        held.drop()
        ctrl_c = isinstance(exc, KeyboardInterrupt)
        print(f"{'interrupted' if ctrl_c else 'terminated (SIGTERM)'}: {KEPT}",
              file=held.stream, flush=True)
        raise SystemExit(EXIT_INTERRUPTED if ctrl_c else EXIT_TERMINATED) from None
    except Exception as exc:
        line = error_line(exc)
        if line is not None:
            held.drop()
            _stop_pool()  # e.g. a refused sweep: no need to wait for warming workers
            created.discard()
            exit_bad_input(line)
        line = os_error_line(exc, created.top)
        if line is not None:
            held.drop()
            _stop_pool()
            created.remove_temps()
            exit_with(line, EXIT_FAILED)
        held.release()
        raise
    finally:
        held.release()
        if sys.stderr is held:
            sys.stderr = held.stream
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


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
