"""The app's pictures as PNG bytes: the network view and the two live plots.

Pure functions of a :meth:`app.model.AppModel.snapshot` (plus the model's
painter for the network), drawn in the project's look (:mod:`sim.viz.plots`).
"""

from __future__ import annotations

import io
import math

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from app.live import Chain, live_figure, live_legend
from sim.viz.network import NetworkPainter
from sim.viz.plots import BASE_FONT_PT, COLORS, OKABE_ITO, apply_style

BACKGROUND_EVERY = 10
"""Days between re-renders of the network background (ties, audiences)."""

PLOT_SIZE = (5.4, 3.4)
PLOT_DPI = 100
COLOR_DIRECT = OKABE_ITO["sky_blue"]
COLOR_REFERRAL = OKABE_ITO["orange"]


def _plot_figure(top: float = 0.87) -> tuple[Figure, Axes]:
    """A plot figure with fixed margins (a layout engine would double the drawing time)."""
    fig = Figure(figsize=PLOT_SIZE)
    fig.subplots_adjust(left=0.135, right=0.97, top=top, bottom=0.185)
    ax = fig.add_subplot()
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    return fig, ax


def _png(fig: Figure, dpi: float = PLOT_DPI) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


# --- the network ---------------------------------------------------------------------------


def network_image(model, snap: dict, fmt: str = "jpeg") -> bytes:
    """The network view of ``model`` at ``snap`` (a snapshot) as JPEG (or PNG) bytes.

    JPEG because a hairball of thousands of thin lines compresses badly as PNG:
    the JPEG is encoded ten times faster and is half the size to send.

    The painter (layout and background pixels) lives on the model; the
    background is re-rendered on the first call and every
    :data:`BACKGROUND_EVERY` days, the recent referral chains on every call.
    """
    painter: NetworkPainter | None = model.painter
    if painter is None:
        painter = NetworkPainter(model.layout, model.is_large, figsize=(7.2, 7.8),
                                 rect=(0.01, 0.085, 0.98, 0.80))
        model.painter = painter
        model.painter_day = None
    day = snap["day"]
    if model.painter_day is None or day - model.painter_day >= BACKGROUND_EVERY \
            or day < model.painter_day:
        painter.render_background(snap["u"], snap["v"], snap["strength"], snap["audience"],
                                  legend=live_legend(model.config.measures.large_fraction))
        model.painter_day = day
    chains = [Chain(path, valuable, age=day - 1 - closed_day)
              for closed_day, path, valuable in snap["chains"]]
    n_valuable = sum(1 for c in chains if c.valuable)
    title = f"Day {day}: {model.n_people:,} people, {snap['n_ties']:,} ties"
    if chains:
        subtitle = (f"{len(chains)} referral chain{'s' if len(chains) != 1 else ''} closed in "
                    f"the last 7 days ({n_valuable} valuable)")
    else:
        subtitle = "Node size = audience. Press Step or \u25b6 to watch referrals close."
    fig = live_figure(painter, chains, title, subtitle)
    return painter.to_png(fig) if fmt == "png" else painter.to_jpeg(fig)


# --- small versus large, over time -----------------------------------------------------


def share_png(snap: dict, small_population_share: float) -> bytes:
    """Cumulative share of valuable referrals brokered by small and by large people."""
    days = snap["hist_day"]
    small = snap["valuable_small"].astype(np.float64)
    large = snap["valuable_large"].astype(np.float64)
    total = small + large
    with apply_style({"axes.titlesize": BASE_FONT_PT + 1}):
        fig, ax = _plot_figure(top=0.76)
        ax.set_title("Who brokered valuable referrals?", pad=26)
        pop = small_population_share
        for share, color in ((pop, COLORS["small"]), (1 - pop, COLORS["large"])):
            ax.axhline(100 * share, color=color, linestyle=(0, (4, 3)), linewidth=1.6,
                       alpha=0.7)
        ax.set_ylim(-3, 112)
        ax.set_yticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
        ax.set_xlabel("day")
        simulated = int(days[-1]) + 1 if days.size else 0
        ax.set_xlim(0, (simulated + 3) * 1.25)  # grows every day; room for the end labels
        has = total > 0
        if has.any():
            x = days[has]
            s = 100 * small[has] / total[has]
            ax.plot(x, s, color=COLORS["small"], drawstyle="steps-post")
            ax.plot(x, 100 - s, color=COLORS["large"], drawstyle="steps-post")
            # Label the line ends, keeping the two labels apart when the shares are close.
            ends = {"small": float(s[-1]), "large": 100.0 - float(s[-1])}
            ys = dict(ends)
            if abs(ends["small"] - ends["large"]) < 16:
                upper = "small" if ends["small"] >= ends["large"] else "large"
                lower = "large" if upper == "small" else "small"
                ys[upper], ys[lower] = 58.0, 42.0
            x_text = x[-1] + 0.015 * ax.get_xlim()[1]
            for word, color in (("small", COLORS["small"]), ("large", COLORS["large"])):
                ax.text(x_text, ys[word], f"{ends[word]:.0f}% {word}", va="center",
                        color=color, fontweight="bold", fontsize=BASE_FONT_PT - 1)
            n = int(total[-1])
            note = f"{n} valuable referral{'s' if n != 1 else ''}; dashed = share of people"
        else:
            note = "no valuable referral yet; dashed = share of people"
        fig.text(0.135, 0.85, note, ha="left", va="top", fontsize=BASE_FONT_PT - 3,
                 color=COLORS["muted"])
        return _png(fig)


# --- closures over time ------------------------------------------------------------------


def closures_png(snap: dict) -> bytes:
    """Closures per day, direct and by referral, with their 7-day mean."""
    daily = snap["daily"]
    with apply_style({"axes.titlesize": BASE_FONT_PT + 1}):
        fig, ax = _plot_figure()
        ax.set_title("Needs closed per day")
        ax.set_xlabel("day")
        if daily.shape[0] == 0:
            ax.set_xlim(0, 10)
            ax.set_ylim(0, 5)
            ax.text(0.5, 0.5, "no days simulated yet", transform=ax.transAxes, ha="center",
                    va="center", color=COLORS["muted"], fontsize=BASE_FONT_PT)
            return _png(fig)
        day = daily[:, 0]
        direct = daily[:, 4]
        referral = daily[:, 5]
        edges = np.append(day, day[-1] + 1) - 0.5
        total = (direct + referral).astype(np.float64)
        ax.stairs(referral, edges, fill=True, color=COLOR_REFERRAL, label="by referral")
        ax.stairs(total, edges, baseline=referral, fill=True, color=COLOR_DIRECT,
                  label="direct")
        k = min(7, total.size)
        mean = np.convolve(total, np.ones(k) / k, mode="full")[: total.size]
        mean[: k - 1] = np.cumsum(total[: k - 1]) / np.arange(1, k)
        ax.plot(day, mean, color=COLORS["text"], linewidth=2.0, label="7-day mean")
        top = float(max(total.max(), 1.0))
        ax.set_ylim(0, math.ceil(top * 1.35))
        ax.set_xlim(-0.5, max(10, int(day[-1]) + 1))
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.legend(loc="upper left", ncol=3, fontsize=BASE_FONT_PT - 3, handlelength=1.2,
                  columnspacing=1.0)
        return _png(fig)
