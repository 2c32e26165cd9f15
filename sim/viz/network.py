"""Pictures of the network: a seeded layout, people, ties and referral chains.

The generic parts shared by the browser app's live view (``app/charts.py``)
and the slide animation's scenes (``experiments/scenes.py``). Everything is
drawn on plain :class:`matplotlib.figure.Figure` objects in the project's look
(:data:`sim.viz.plots.STYLE`), and stays fast with thousands of people: all ties
are one :class:`~matplotlib.collections.LineCollection`, all people one
scatter, never one call per tie or per person.

:func:`community_layout` places people once per network: communities are
discs laid out by a small spring layout of the community graph, and each
community's members by a spring layout of its own ties. It is seeded, and costs
a fraction of a second for a few thousand people, where a spring layout of the
whole graph costs seconds (O(n^2) per iteration).

Colours are the Okabe-Ito palette of :mod:`sim.viz.plots`: small-audience people
blue, large-audience people vermillion (as in every figure of the project);
:data:`ROLE_COLORS` names the colours of the roles in a referral.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.viz.plots import BASE_FONT_PT, COLORS, OKABE_ITO, apply_style  # selects Agg if needed

ROLE_COLORS: dict[str, str] = {
    "seeker": OKABE_ITO["bluish_green"],
    "seen": OKABE_ITO["yellow"],
    "carrier": OKABE_ITO["orange"],
    "broker": OKABE_ITO["reddish_purple"],
    "provider": OKABE_ITO["sky_blue"],
    "chain": OKABE_ITO["orange"],
    "new_tie": OKABE_ITO["bluish_green"],
}
"""Colours of the roles a person plays in one need's story."""

MUTED = "#C9CDD2"
"""Colour of people in a story's backdrop (roles and classes are drawn over it)."""

TIE_COLOR = "#8C8C8C"
"""Colour of ordinary ties (drawn thin and translucent; stronger ties darker)."""

HALO = [patheffects.withStroke(linewidth=5, foreground="white")]
"""A white outline that keeps highlighted lines and labels readable on the hairball."""


# --- layout ----------------------------------------------------------------------------


def _spring_unit(m: int, a: np.ndarray, b: np.ndarray, seed: int, iterations: int) -> np.ndarray:
    """Spring layout of ``m`` nodes with edges ``a-b``, centred, about the unit disc."""
    if m == 1:
        return np.zeros((1, 2))
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(range(m))
    g.add_edges_from(zip(a.tolist(), b.tolist(), strict=True))
    placed = nx.spring_layout(g, seed=seed, iterations=iterations)
    unit = np.array([placed[i] for i in range(m)], dtype=np.float64)
    unit -= unit.mean(axis=0)
    radius = np.linalg.norm(unit, axis=1)
    scale = float(np.quantile(radius, 0.95)) or float(radius.max()) or 1.0
    unit /= scale
    # Pull the few far-out stragglers (no ties inside) back to the rim.
    radius = np.linalg.norm(unit, axis=1)
    far = radius > 1.05
    unit[far] *= (1.05 / radius[far])[:, None]
    return unit


def _separate(centres: np.ndarray, radii: np.ndarray, gap: float, rounds: int = 400) -> None:
    """Push discs apart (in place) until none overlap (``gap`` between neighbours)."""
    c = centres.shape[0]
    if c < 2:
        return
    jitter = np.random.default_rng(0)
    for _ in range(rounds):
        delta = centres[:, None, :] - centres[None, :, :]
        dist = np.linalg.norm(delta, axis=2)
        np.fill_diagonal(dist, np.inf)
        need = radii[:, None] + radii[None, :] + gap
        overlap = np.clip(need - dist, 0.0, None)
        if overlap.max() < 1e-3 * gap:
            return
        same = ~np.isfinite(dist) | (dist < 1e-9)
        np.fill_diagonal(same, False)
        if same.any():
            centres += jitter.normal(0.0, 1e-3 * gap, centres.shape)
            continue
        direction = delta / np.where(np.isfinite(dist), dist, 1.0)[:, :, None]
        centres += 0.5 * (overlap[:, :, None] * direction).sum(axis=1)


def community_layout(n: int, u: np.ndarray, v: np.ndarray, community: np.ndarray,
                     seed: int = 0, iterations: int = 50) -> np.ndarray:
    """Seeded positions of ``n`` people, grouped by community.

    Each community is a disc of radius proportional to the square root of its
    size (so every person gets about the same room). Discs are placed by a
    spring layout of the community graph (communities sharing more ties sit
    closer), then pushed apart until none overlap. Inside a disc, members are
    placed by a spring layout of the ties among them. Costs about O(sum of
    community size squared), a fraction of a second for 3,000 people in
    communities of about 100.

    Args:
        n: Number of people.
        u: First endpoint of each tie.
        v: Second endpoint of each tie.
        community: Community of each person (any integer labels).
        seed: Seed of every spring layout: same inputs, same picture.
        iterations: Spring-layout iterations inside each community.

    Returns:
        ``float64`` array of shape ``(n, 2)``.
    """
    pos = np.zeros((n, 2))
    if n == 0:
        return pos
    u = np.asarray(u, np.int64)
    v = np.asarray(v, np.int64)
    _, comm = np.unique(np.asarray(community), return_inverse=True)
    comm = comm.astype(np.int64)
    n_comm = int(comm.max()) + 1
    sizes = np.bincount(comm, minlength=n_comm)
    order = np.argsort(comm, kind="stable")
    ptr = np.concatenate([[0], np.cumsum(sizes)])
    local = np.empty(n, np.int64)
    local[order] = np.arange(n) - ptr[comm[order]]
    cu, cv = comm[u], comm[v]

    # Where each community goes.
    radii = np.sqrt(sizes.astype(np.float64))
    if n_comm == 1:
        centres = np.zeros((1, 2))
    else:
        import networkx as nx

        lo, hi = np.minimum(cu, cv), np.maximum(cu, cv)
        cross = lo != hi
        pairs, counts = np.unique(lo[cross] * n_comm + hi[cross], return_counts=True)
        g = nx.Graph()
        g.add_nodes_from(range(n_comm))
        g.add_weighted_edges_from(
            zip((pairs // n_comm).tolist(), (pairs % n_comm).tolist(), counts.tolist(),
                strict=True))
        placed = nx.spring_layout(g, seed=seed, iterations=200, weight="weight")
        centres = np.array([placed[c] for c in range(n_comm)], dtype=np.float64)
        centres -= centres.mean(axis=0)
        spread = float(np.abs(centres).max()) or 1.0
        centres *= 1.1 * np.sqrt((radii**2).sum()) / spread
        _separate(centres, radii, gap=0.35 * float(np.median(radii)))

    # Where each member goes inside their community's disc.
    inside = cu == cv
    iu, iv, ic = u[inside], v[inside], cu[inside]
    by_comm = np.argsort(ic, kind="stable")
    eptr = np.concatenate([[0], np.cumsum(np.bincount(ic, minlength=n_comm))])
    for c in range(n_comm):
        members = order[ptr[c] : ptr[c + 1]]
        edges = by_comm[eptr[c] : eptr[c + 1]]
        unit = _spring_unit(members.size, local[iu[edges]], local[iv[edges]], seed + 1 + c,
                            iterations)
        pos[members] = centres[c] + 0.92 * radii[c] * unit
    return pos


def landscape(pos: np.ndarray) -> np.ndarray:
    """Rotate positions so that their widest spread runs horizontally (for 16:9 slides)."""
    if pos.shape[0] < 2:
        return pos.copy()
    centred = pos - pos.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt.T


# --- drawing primitives ----------------------------------------------------------------


def marker_areas(audience: np.ndarray, largest: float = 420.0, smallest: float = 6.0,
                 reference: float | None = None) -> np.ndarray:
    """Marker areas (pt^2) proportional to audience: ``largest`` for the biggest.

    Args:
        audience: Audience of each person (ties).
        largest: Area of a person with the ``reference`` audience.
        smallest: Least area, so that people with one tie stay visible.
        reference: Audience drawn at ``largest`` (default: the largest audience).
    """
    audience = np.asarray(audience, np.float64)
    top = float(reference if reference is not None else (audience.max() if audience.size else 1))
    return np.maximum(smallest, largest * audience / max(top, 1.0))


def tie_segments(pos: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Line segments ``(m, 2, 2)`` from ``pos[a]`` to ``pos[b]``."""
    return np.stack([pos[np.asarray(a, np.int64)], pos[np.asarray(b, np.int64)]], axis=1)


def draw_ties(ax: Axes, pos: np.ndarray, u: np.ndarray, v: np.ndarray,
              strength: np.ndarray | None = None, *, color: str = TIE_COLOR,
              alpha: tuple[float, float] = (0.10, 0.55), width: tuple[float, float] = (0.3, 1.6),
              zorder: float = 1) -> LineCollection:
    """Draw every tie as one LineCollection; stronger ties darker and thicker.

    Args:
        ax: Axes to draw on.
        pos: Positions ``(n, 2)``.
        u: First endpoint of each tie.
        v: Second endpoint of each tie.
        strength: Strength of each tie in (0, 1] (default: all 0.3).
        color: Line colour.
        alpha: Opacity of the weakest and of the strongest tie.
        width: Line width (pt) of the weakest and of the strongest tie.
        zorder: Drawing order.

    Returns:
        The collection (already added to ``ax``).
    """
    u = np.asarray(u)
    w = np.full(u.shape[0], 0.3) if strength is None else np.clip(np.asarray(strength), 0, 1)
    order = np.argsort(w, kind="stable")  # strong ties on top
    w = w[order]
    rgba = np.tile(np.array(to_rgba(color)), (w.shape[0], 1))
    rgba[:, 3] = alpha[0] + (alpha[1] - alpha[0]) * w
    lines = LineCollection(tie_segments(pos, u[order], np.asarray(v)[order]), colors=rgba,
                           linewidths=width[0] + (width[1] - width[0]) * w, zorder=zorder,
                           capstyle="round")
    ax.add_collection(lines, autolim=False)
    return lines


def draw_people(ax: Axes, pos: np.ndarray, areas: np.ndarray, is_large: np.ndarray, *,
                alpha: float = 0.9, edgecolor: str = "white", linewidth: float = 0.4,
                zorder: float = 2, people: np.ndarray | None = None) -> PathCollection:
    """Draw people as one scatter: small audience blue, large vermillion.

    The biggest markers are drawn first, so small people on top of a hub stay
    visible.

    Args:
        ax: Axes to draw on.
        pos: Positions ``(n, 2)``.
        areas: Marker area of each person (pt^2), e.g. from :func:`marker_areas`.
        is_large: Whether each person is in the large-audience class.
        alpha: Opacity.
        edgecolor: Marker edge colour.
        linewidth: Marker edge width (pt).
        zorder: Drawing order.
        people: Draw only these person ids (default everybody).

    Returns:
        The scatter collection.
    """
    ids = np.arange(pos.shape[0]) if people is None else np.asarray(people, np.int64)
    ids = ids[np.argsort(-np.asarray(areas)[ids], kind="stable")]
    colours = np.where(np.asarray(is_large)[ids], COLORS["large"], COLORS["small"])
    return ax.scatter(pos[ids, 0], pos[ids, 1], s=np.asarray(areas)[ids], c=list(colours),
                      alpha=alpha, edgecolors=edgecolor, linewidths=linewidth, zorder=zorder)


def draw_path(ax: Axes, pos: np.ndarray, path: Sequence[int], *, color: str, width: float,
              alpha: float = 1.0, zorder: float = 5, dashes: bool = False,
              halo: bool = True) -> LineCollection:
    """Draw a path of people (a referral chain) as one polyline with a white halo."""
    path = np.asarray(path, np.int64)
    lines = LineCollection(tie_segments(pos, path[:-1], path[1:]), colors=[color],
                           linewidths=width, alpha=alpha, zorder=zorder, capstyle="round",
                           joinstyle="round", linestyles="--" if dashes else "-")
    if halo:
        lines.set_path_effects([patheffects.withStroke(linewidth=width + 3,
                                                       foreground=(1, 1, 1, 0.9 * alpha))])
    ax.add_collection(lines, autolim=False)
    return lines


def frame_axes(ax: Axes, pos: np.ndarray, pad: float = 0.03) -> None:
    """Equal aspect, no axes, limits around ``pos`` with a ``pad`` share of margin."""
    ax.set_aspect("equal")
    ax.set_axis_off()
    if pos.shape[0] == 0:
        return
    lo, hi = pos.min(axis=0), pos.max(axis=0)
    span = float(max(hi - lo)) or 1.0
    mid = (lo + hi) / 2
    half = (hi - lo) / 2 + pad * span
    ax.set_xlim(mid[0] - half[0], mid[0] + half[0])
    ax.set_ylim(mid[1] - half[1], mid[1] + half[1])


# --- a cached background and overlays -----------------------------------------------------


class NetworkPainter:
    """Draws a network picture fast by caching the costly part as pixels.

    Drawing thousands of ties is the slow part of a frame (about half a second
    for 10,000 ties). The painter renders ties and people once into an RGBA
    *background* (:meth:`render_background`); every frame then blits it with
    :meth:`~matplotlib.figure.Figure.figimage` and draws only the overlays
    (referral chains, labels, titles) on axes with exactly the same position and
    limits. Call :meth:`render_background` again when the ties have changed
    enough to matter (the app does so every few days).

    Args:
        pos: Positions ``(n, 2)`` (from :func:`community_layout`).
        is_large: Large-audience class of each person (colour).
        figsize: Figure size (inches).
        dpi: Dots per inch (figure pixels = figsize * dpi).
        rect: Axes rectangle ``(left, bottom, width, height)`` in figure coordinates.
        largest: Marker area (pt^2) of the largest audience.
        smallest: Least marker area (pt^2).
        pad: Margin around the network, as a share of its extent.
    """

    def __init__(self, pos: np.ndarray, is_large: np.ndarray, *,
                 figsize: tuple[float, float] = (8.0, 8.6), dpi: float = 100,
                 rect: tuple[float, float, float, float] = (0.01, 0.075, 0.98, 0.83),
                 largest: float | None = None, smallest: float | None = None,
                 pad: float = 0.03) -> None:
        self.pos = np.asarray(pos, np.float64)
        self.pad = pad
        self.is_large = np.asarray(is_large, bool)
        self.figsize = figsize
        self.dpi = dpi
        self.rect = rect
        crowded = self.pos.shape[0] > 1200
        self.largest = largest if largest is not None else (300.0 if crowded else 420.0)
        self.smallest = smallest if smallest is not None else (3.0 if crowded else 6.0)
        self.crowded = crowded
        self.areas = np.full(self.pos.shape[0], self.smallest)
        self.background: np.ndarray | None = None

    # --- the cached layer
    def new_figure(self) -> Figure:
        """An empty figure of the painter's size (in the project style)."""
        with apply_style({"figure.dpi": self.dpi}):
            return Figure(figsize=self.figsize, dpi=self.dpi)

    def axes(self, fig: Figure) -> Axes:
        """Axes at the painter's rectangle with the network's limits."""
        ax = fig.add_axes(self.rect)
        frame_axes(ax, self.pos, pad=self.pad)
        return ax

    def render_background(self, u: np.ndarray, v: np.ndarray, strength: np.ndarray | None,
                          audience: np.ndarray, *, muted: bool = False,
                          legend: Sequence[tuple[str, Mapping[str, object]]] = (),
                          legend_cols: int = 3) -> np.ndarray:
        """Render ties and people (and an optional legend) into :attr:`background`.

        Args:
            u: First endpoint of each tie.
            v: Second endpoint of each tie.
            strength: Strength of each tie (stronger ties darker and thicker).
            audience: Audience of each person (marker area).
            muted: Draw ties pale and people grey, as a backdrop for a story.
            legend: ``(label, Line2D style)`` entries drawn under the axes.
            legend_cols: Columns of the legend.

        Returns:
            The RGBA pixels (also kept as :attr:`background`).
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        fig = self.new_figure()
        with apply_style({"figure.dpi": self.dpi}):
            ax = self.axes(fig)
            if muted:
                alpha, width = (0.08, 0.35), (0.3, 1.2)
            elif self.crowded:
                alpha, width = (0.07, 0.45), (0.25, 1.2)
            else:
                alpha, width = (0.12, 0.6), (0.35, 1.8)
            draw_ties(ax, self.pos, u, v, strength, alpha=alpha, width=width)
            self.areas = marker_areas(audience, largest=self.largest, smallest=self.smallest)
            if muted:  # neutral grey: the story's colours are for roles
                ids = np.argsort(-self.areas, kind="stable")
                ax.scatter(self.pos[ids, 0], self.pos[ids, 1], s=self.areas[ids], c=MUTED,
                           edgecolors="white", linewidths=0.4, zorder=2)
            else:
                draw_people(ax, self.pos, self.areas, self.is_large,
                            linewidth=0.25 if self.crowded else 0.4)
            if legend:
                draw_legend(ax, legend, ncol=legend_cols, fontsize=BASE_FONT_PT - 2)
            canvas = FigureCanvasAgg(fig)
            canvas.draw()
            self.background = np.asarray(canvas.buffer_rgba()).copy()
        return self.background

    def base(self, fig: Figure | None = None) -> tuple[Figure, Axes]:
        """A figure showing the background, and axes aligned with it for overlays.

        Args:
            fig: Figure to clear and reuse (e.g. the one an animation writes);
                default a new one.
        """
        if self.background is None:
            raise RuntimeError("render_background() first")
        if fig is None:
            fig = self.new_figure()
        else:
            fig.clear()
        fig.figimage(self.background, 0, 0, origin="upper", zorder=-10, resize=False)
        return fig, self.axes(fig)

    def to_png(self, fig: Figure, compress_level: int = 1) -> bytes:
        """Encode ``fig`` as PNG at the painter's resolution (fast zlib level by default)."""
        import io

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=self.dpi, pil_kwargs={"compress_level": compress_level})
        return buf.getvalue()

    def to_jpeg(self, fig: Figure, quality: int = 90) -> bytes:
        """Encode ``fig`` as JPEG (no chroma subsampling): much faster than PNG, half the size."""
        import io

        buf = io.BytesIO()
        fig.savefig(buf, format="jpeg", dpi=self.dpi,
                    pil_kwargs={"quality": quality, "subsampling": 0})
        return buf.getvalue()


def draw_legend(ax: Axes, entries: Iterable[tuple[str, Mapping[str, object]]], ncol: int,
                fontsize: float, loc: str = "upper center",
                anchor: tuple[float, float] = (0.5, 0.0)) -> None:
    """Draw a legend of ``(label, Line2D style)`` entries on ``ax`` (below it by default)."""
    handles = [Line2D([], [], label=label, **style) for label, style in entries]
    ax.legend(handles=handles, loc=loc, bbox_to_anchor=anchor, ncol=ncol, fontsize=fontsize,
              handlelength=1.8, columnspacing=1.2, borderaxespad=0.2)


def dot(color: str, size: float = 11, edge: str = "white") -> dict[str, object]:
    """A Line2D style of one round marker (for legend entries): ``size`` in points."""
    return {"marker": "o", "linestyle": "none", "markerfacecolor": color,
            "markeredgecolor": edge, "markersize": size}


def place_labels(pos: np.ndarray, labels: Mapping[int, str], xlim: tuple[float, float],
                 ylim: tuple[float, float]) -> dict[int, np.ndarray]:
    """Label anchor offsets (data units): away from the labelled group, each other and the edges.

    Each label tries eight directions, starting with "away from the centre of
    the labelled people", and takes the first whose box stays inside the axes
    and whose anchor keeps a distance from the anchors already placed (a greedy
    placement, enough for the few labels of a story). Text width is estimated
    from the number of characters.
    """
    placed: dict[int, np.ndarray] = {}
    if not labels:
        return placed
    people = list(labels)
    width_x = xlim[1] - xlim[0]
    span = max(width_x, ylim[1] - ylim[0]) or 1.0
    centre = pos[people].mean(axis=0)
    radius = 0.085 * span
    for person in people:
        d = pos[person] - centre
        base = float(np.arctan2(d[1], d[0])) if np.hypot(*d) > 1e-9 else np.pi / 2
        text_w = 0.0125 * width_x * len(labels[person])
        best, best_score = None, -np.inf
        for turn in (0, 1, -1, 2, -2, 3, -3, 4):
            angle = base + turn * np.pi / 4
            offset = radius * np.array([np.cos(angle), np.sin(angle)])
            x, y = pos[person] + offset
            lo, hi = (x, x + text_w) if offset[0] >= 0 else (x - text_w, x)
            inside = (lo >= xlim[0] and hi <= xlim[1]
                      and ylim[0] + 0.03 * span <= y <= ylim[1] - 0.03 * span)
            gap = min((float(np.hypot(*(pos[person] + offset - (pos[q] + o))))
                       for q, o in placed.items()), default=np.inf)
            if inside and gap > 1.6 * radius:
                best = offset
                break
            score = (1.0 if inside else 0.0) * 10 * span + min(gap, 10 * span)
            if score > best_score:
                best, best_score = offset, score
        placed[person] = best
    return placed
