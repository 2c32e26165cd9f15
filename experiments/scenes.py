"""The scenes of the slide animation: one frame of one need's story, drawn.

:class:`Scene` says what a frame shows (who has seen the need, who passed it
on, the chain, the introduction, the new tie, the labels and the side panel);
:func:`draw_scene` draws it on a :class:`sim.viz.network.NetworkPainter`'s
muted background. :mod:`experiments.animate` builds the scenes from a replayed
run and writes them as a GIF / MP4.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.viz.network import (
    MUTED,
    ROLE_COLORS,
    NetworkPainter,
    dot,
    draw_path,
    draw_people,
    place_labels,
    tie_segments,
)
from sim.viz.plots import BASE_FONT_PT, COLORS, apply_style


@dataclass
class Scene:
    """One frame of the story of a single need.

    Attributes:
        title: Bold line at the top (what happens in this frame).
        caption: Grey line under the title.
        seen: People who have seen the need so far (yellow).
        carriers: People who have passed it on so far (orange).
        spread: Ties the need has crossed so far, ``(sender, receiver)`` (thin orange).
        fresh: Ties crossed in this frame (drawn bold).
        chain: The path from seeker to provider, once the need closes (thick).
        referral: ``(broker, provider)``: the introduction (dashed purple).
        new_tie: ``(seeker, provider)``: the tie the closure created or
            strengthened (green).
        new_tie_width: Line width of ``new_tie`` (pt), to show it growing.
        labels: ``person -> (role, text)``; ``role`` picks the colour in
            :data:`ROLE_COLORS`.
        panel: Lines of the side panel: ``(role or "", text)``.
        classes: Colour everybody by audience class (small blue, large vermillion).
    """

    title: str
    caption: str = ""
    seen: Sequence[int] = ()
    carriers: Sequence[int] = ()
    spread: Sequence[tuple[int, int]] = ()
    fresh: Sequence[tuple[int, int]] = ()
    chain: Sequence[int] = ()
    referral: tuple[int, int] | None = None
    new_tie: tuple[int, int] | None = None
    new_tie_width: float = 5.0
    labels: Mapping[int, tuple[str, str]] = field(default_factory=dict)
    panel: Sequence[tuple[str, str]] = ()
    classes: bool = False


STORY_LEGEND: list[tuple[str, dict[str, object]]] = [
    ("seeker", dot(ROLE_COLORS["seeker"], 13, "black")),
    ("saw the need", dot(ROLE_COLORS["seen"], 11, "black")),
    ("passed it on", dot(ROLE_COLORS["carrier"], 11, "black")),
    ("broker", dot(ROLE_COLORS["broker"], 13, "black")),
    ("provider", dot(ROLE_COLORS["provider"], 13, "black")),
    ("everybody else", dot(MUTED, 11)),
]
"""Legend of the story frames (drawn in the side panel)."""


def _segments(ax: Axes, pos: np.ndarray, pairs: Sequence[tuple[int, int]], color: str,
              width: float, alpha: float, zorder: float, halo: bool = False) -> None:
    if not pairs:
        return
    a = np.array([p for p, _ in pairs])
    b = np.array([q for _, q in pairs])
    lines = LineCollection(tie_segments(pos, a, b), colors=[color], linewidths=width,
                           alpha=alpha, zorder=zorder, capstyle="round")
    if halo:
        lines.set_path_effects([patheffects.withStroke(linewidth=width + 3, foreground="white")])
    ax.add_collection(lines, autolim=False)


def draw_scene(painter: NetworkPainter, scene: Scene, fig: Figure | None = None) -> Figure:
    """Draw one story frame on the painter's (muted) background.

    The network sits on the left; the side panel on the right lists the cast
    (``scene.panel``) and the legend.

    Args:
        painter: Painter whose background was rendered with ``muted=True``.
        scene: What this frame shows.
        fig: Figure to clear and reuse (an animation's figure); default new.

    Returns:
        The figure.
    """
    fig, ax = painter.base(fig)
    pos = painter.pos
    areas = painter.areas
    with apply_style({"figure.dpi": painter.dpi}):
        if scene.classes:
            draw_people(ax, pos, areas, painter.is_large, zorder=2.5)
        _segments(ax, pos, list(scene.spread), ROLE_COLORS["carrier"], 1.6, 0.75, 3)
        _segments(ax, pos, list(scene.fresh), ROLE_COLORS["carrier"], 3.2, 1.0, 4, halo=True)
        if scene.new_tie is not None:
            draw_path(ax, pos, list(scene.new_tie), color=ROLE_COLORS["new_tie"],
                      width=scene.new_tie_width, zorder=5)
        if len(scene.chain) >= 2:
            draw_path(ax, pos, list(scene.chain), color=ROLE_COLORS["chain"], width=5.0,
                      zorder=6)
        if scene.referral is not None:
            draw_path(ax, pos, list(scene.referral), color=ROLE_COLORS["broker"], width=3.5,
                      dashes=True, zorder=7)

        def dots(ids: Sequence[int], color: str, grow: float, z: float) -> None:
            ids = np.asarray(list(ids), np.int64)
            if ids.size:
                ax.scatter(pos[ids, 0], pos[ids, 1], s=areas[ids] * 1.3 + grow, c=color,
                           edgecolors="black", linewidths=0.8, zorder=z)

        dots(scene.seen, ROLE_COLORS["seen"], 18, 8)
        dots(scene.carriers, ROLE_COLORS["carrier"], 24, 9)
        offsets = place_labels(pos, {p: t for p, (_, t) in scene.labels.items()},
                                ax.get_xlim(), ax.get_ylim())
        for person, (role, text) in scene.labels.items():
            color = ROLE_COLORS.get(role, "black")
            dots([person], color, 150, 10)
            offset = offsets[person]
            ax.annotate(
                text, xy=pos[person], xytext=pos[person] + offset, textcoords="data",
                ha="left" if offset[0] >= 0 else "right", va="center",
                fontsize=BASE_FONT_PT - 1, fontweight="bold", color=COLORS["text"], zorder=12,
                bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": color,
                      "linewidth": 2.5},
                arrowprops={"arrowstyle": "-", "color": color, "linewidth": 2.0},
            )
        fig.text(0.015, 0.975, scene.title, ha="left", va="top", fontsize=BASE_FONT_PT + 7,
                 fontweight="bold", color=COLORS["text"])
        if scene.caption:
            fig.text(0.015, 0.905, scene.caption, ha="left", va="top",
                     fontsize=BASE_FONT_PT + 1, color=COLORS["muted"])
        ax.apply_aspect()  # the equal-aspect box may be narrower than the rectangle
        left = min(ax.get_position().x1, painter.rect[0] + painter.rect[2]) + 0.04
        y = painter.rect[1] + painter.rect[3] - 0.02
        for role, text in scene.panel:
            color = ROLE_COLORS.get(role, COLORS["text"]) if role else COLORS["text"]
            if role:
                fig.text(left, y, "\u25cf", ha="left", va="top", fontsize=BASE_FONT_PT + 6,
                         color=color)
            fig.text(left + 0.03, y, text, ha="left", va="top", fontsize=BASE_FONT_PT,
                     color=COLORS["text"], linespacing=1.3)
            y -= 0.05 * (text.count("\n") + 1) + 0.02
        legend = ([("small audience", dot(COLORS["small"], 12)),
                   ("large audience (top 10%)", dot(COLORS["large"], 12))]
                  if scene.classes else STORY_LEGEND)
        handles = [Line2D([], [], label=label, **style) for label, style in legend]
        fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(left - 0.005, 0.03),
                   fontsize=BASE_FONT_PT - 2, ncol=1 if scene.classes else 2, handlelength=1.2,
                   columnspacing=1.0)
    return fig
