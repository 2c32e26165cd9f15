"""Drawing: every figure of the project, on top of the model.

The model's core (:mod:`sim.config`, :mod:`sim.engine`, :mod:`sim.run`,
:mod:`sim.measures`, ...) never imports matplotlib and never imports this
package; this package imports the core. Its modules:

``sim.viz.plots``
    The project's look (:data:`~sim.viz.plots.STYLE`, colours by meaning),
    atomic saving (:func:`~sim.viz.plots.save_figure`) and the one-slide figure
    of a run (:func:`~sim.viz.plots.small_vs_large_figure`).
``sim.viz.sweep_plots``
    The talk figures of a sweep: each ``*_data`` function computes exactly the
    numbers its ``*_figure`` draws (and whose title it states).
``sim.viz.network``
    Pictures of the network: a seeded community layout, drawing primitives and
    a painter that caches the network as pixels (used by the app's live view,
    ``app/live.py``, and the animation's scenes, ``experiments/scenes.py``).

:func:`save_figures` writes the figures of one run, the same ones the command
line writes next to its tables::

    from sim import run
    from sim.viz import save_figures

    result = run()
    result.save("my_run")            # tables and metrics.json (no figure: the core cannot draw)
    save_figures(result, "my_run")   # small_vs_large.png and .svg
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.run import Result

RUN_FIGURE_STEM = "small_vs_large"
"""File stem of a run's figure (``small_vs_large.png`` / ``.svg``)."""

__all__ = ["RUN_FIGURE_STEM", "save_figures"]


def save_figures(result: Result, folder: str | os.PathLike,
                 formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Write the figures of one run into ``folder``; return the paths written.

    Referral mode: ``small_vs_large.png`` and ``small_vs_large.svg`` (the
    headline figure, :func:`sim.viz.plots.small_vs_large_figure`), exactly what
    ``python -m experiments.run`` writes next to the tables. Cascade mode has
    no per-run figure: nothing is written and the list is empty. Each file is
    written atomically; the folder is created if needed.

    Args:
        result: A run's result (:func:`sim.run`).
        folder: Target folder.
        formats: File formats (extensions).

    Returns:
        The paths written, in the order of ``formats``.
    """
    if result.config.mode != "referral":
        return []
    from sim.viz import plots

    fig = plots.small_vs_large_figure(result.metrics, result.deciles)
    return plots.save_figure(fig, Path(folder) / RUN_FIGURE_STEM, formats=formats)
