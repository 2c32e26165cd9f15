"""Entry point of the browser app: ``solara run app/app.py`` (or ``make app``).

Solara runs this file as a script with ``app/`` first on ``sys.path``; the
project root goes in front of it so that ``app`` names this package (and
``sim`` the model) however the server was started.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])
if sys.path[:1] != [ROOT]:
    sys.path.insert(0, ROOT)

from app.views import Page  # noqa: E402

__all__ = ["Page"]
