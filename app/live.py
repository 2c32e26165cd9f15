"""The app's live network view: recent referral chains over the cached network picture.

:func:`live_figure` draws, on a :class:`sim.viz.network.NetworkPainter`'s
background, the referral chains closed in the last few days (:class:`Chain`),
their brokers ringed and the seeker-provider ties they created.
:mod:`app.charts` turns the figure into the JPEG the page shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from sim.viz.network import ROLE_COLORS, NetworkPainter, dot, draw_path
from sim.viz.plots import BASE_FONT_PT, COLORS, apply_style


@dataclass
class Chain:
    """One closed referral to highlight.

    Attributes:
        path: Seeker, the carriers, the broker, the provider (person ids).
        valuable: Whether the need was valuable (drawn thicker).
        age: Days since it closed (0 = today); older chains fade.
    """

    path: Sequence[int]
    valuable: bool = False
    age: int = 0

    @property
    def broker(self) -> int:
        """The broker: the person before the provider."""
        return int(self.path[-2])


def live_legend(large_fraction: float = 0.1) -> list[tuple[str, dict[str, object]]]:
    """Legend entries of the app's network view."""
    return [
        ("small audience", dot(COLORS["small"])),
        (f"large (top {large_fraction:.0%})", dot(COLORS["large"])),
        ("broker", {"marker": "o", "linestyle": "none", "markerfacecolor": "none",
                    "markeredgecolor": "black", "markeredgewidth": 2, "markersize": 13}),
        ("referral chain", {"color": ROLE_COLORS["chain"], "linewidth": 3}),
        ("valuable chain", {"color": ROLE_COLORS["chain"], "linewidth": 6}),
        ("seeker\u2013provider tie", {"color": ROLE_COLORS["new_tie"], "linewidth": 2,
                                      "linestyle": "--"}),
    ]


def live_figure(painter: NetworkPainter, chains: Sequence[Chain], title: str,
                subtitle: str = "", fade_days: int = 7) -> Figure:
    """The app's network picture: the painter's background plus recent chains.

    Referral chains closed in the last ``fade_days`` days are orange polylines
    from seeker to provider (thick when the need was valuable), fading with
    age; their brokers are ringed in black; the seeker-provider tie each
    closure creates or strengthens is a dashed green line.

    Args:
        painter: Painter with a rendered background (ties, people, legend).
        chains: Recent referral chains.
        title: Bold line at the top.
        subtitle: Grey line under it.
        fade_days: Chains at least this many days old are not drawn.

    Returns:
        The figure (encode it with :meth:`NetworkPainter.to_png`).
    """
    fig, ax = painter.base()
    pos = painter.pos
    with apply_style({"figure.dpi": painter.dpi}):
        rings: list[tuple[int, float]] = []
        for chain in sorted(chains, key=lambda c: -c.age):  # newest on top
            if chain.age >= fade_days or len(chain.path) < 2:
                continue
            fade = 1.0 - 0.75 * chain.age / max(fade_days, 1)
            path = [int(p) for p in chain.path]
            draw_path(ax, pos, [path[0], path[-1]], color=ROLE_COLORS["new_tie"], width=2.0,
                      alpha=0.9 * fade, dashes=True, halo=False, zorder=4)
            draw_path(ax, pos, path, color=ROLE_COLORS["chain"],
                      width=4.5 if chain.valuable else 2.4, alpha=fade, zorder=5)
            rings.append((chain.broker, fade))
        if rings:
            ids = np.array([b for b, _ in rings])
            ax.scatter(pos[ids, 0], pos[ids, 1], s=painter.areas[ids] + 110, facecolors="none",
                       edgecolors=[(0, 0, 0, f) for _, f in rings], linewidths=2.4, zorder=6)
        fig.text(0.02, 0.985, title, ha="left", va="top", fontsize=BASE_FONT_PT + 3,
                 fontweight="bold", color=COLORS["text"])
        if subtitle:
            fig.text(0.02, 0.938, subtitle, ha="left", va="top", fontsize=BASE_FONT_PT - 1,
                     color=COLORS["muted"])
    return fig


