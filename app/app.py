"""Entry point of the browser app: ``solara run app/app.py`` (or ``make app``).

Solara runs this file as a script with ``app/`` first on ``sys.path``; the
project root goes in front of it so that ``app`` names this package (and
``sim`` the model) however the server was started.

Nothing leaves the machine: Solara's telemetry (which, by default, posts to an
analytics service at start and on every connection, and looks up the machine's
public address) is switched off here, before Solara is imported where this
file is the first to import it, and in Solara's settings object where the
``solara`` command imported it first. ``make app`` also sets
``SOLARA_TELEMETRY_MIXPANEL_ENABLE=False`` in the server's environment, so it
is off before the server starts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"

import solara.server.settings  # noqa: E402  (after the environment is set)

solara.server.settings.telemetry.mixpanel_enable = False

ROOT = str(Path(__file__).resolve().parents[1])
if sys.path[:1] != [ROOT]:
    sys.path.insert(0, ROOT)

from app.views import Page  # noqa: E402

__all__ = ["Page"]
