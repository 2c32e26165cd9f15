"""The app's page: Mesa's SolaraViz controls plus the referral dashboard.

SolaraViz supplies the app bar, the sidebar (Reset / play / Step, the
parameter inputs of :data:`app.model.MODEL_PARAMS`) and re-creates the model
from those inputs on Reset. The main area is drawn here rather than through
SolaraViz's draggable grid, which loads its JavaScript from a CDN and so stays
empty on a machine without internet (a classroom behind a firewall, CI).
Every view re-renders when Mesa's ``update_counter`` ticks (after each step).
"""

# ruff: noqa: N802  (Solara components are CamelCase, like React components)

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from app import charts
from app.answer import answer_html
from app.model import DEFAULTS, MODEL_PARAMS, AppModel, fit_overrides
from sim.measures import METRIC

TITLE = "Everyone's an influencer"
PLAY_INTERVAL_MS = 151  # the slider moves in steps of 10 from 1

CSS = """
.ref-tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 4px 0 10px 0; }
.ref-tile { flex: 1 1 130px; border-radius: 8px; padding: 8px 14px; background: #f4f6f8;
            border-left: 6px solid #999; }
.ref-tile .v { font-size: 28px; font-weight: 700; line-height: 1.15; color: #222; }
.ref-tile .l { font-size: 14px; color: #555; }
.ref-tile.small { border-left-color: #0072B2; }
.ref-tile.large { border-left-color: #D55E00; }
.ref-tile.chain { border-left-color: #E69F00; }
.ref-note { font-size: 14px; color: #555; margin-top: 4px; }
.ref-card-img img { width: 100%; height: auto; }
.ref-world { font-size: 15px; color: #333; margin: 2px 0 0 2px; }
.ref-problems { font-size: 15px; color: #7a2800; background: #fff1e6; border-left: 6px solid
                #D55E00; border-radius: 8px; padding: 8px 14px; margin: 4px 0 8px 0; }
.ref-problems ul { margin: 4px 0 0 0; }
.ref-answer { margin: 0 0 8px 0; }
.ref-answer-note { font-size: 15px; color: #333; margin: 2px 0 6px 2px; }
.ref-answer-cards { display: flex; flex-wrap: wrap; gap: 10px; }
.ref-answer-card { flex: 1 1 380px; border-radius: 8px; padding: 8px 14px; background: #eef3f8;
                   border-left: 6px solid #0072B2; }
.ref-answer-card .c { font-size: 15px; font-weight: 700; color: #222; }
.ref-answer-card .nums { display: flex; gap: 24px; margin: 4px 0; }
.ref-answer-card .v { font-size: 26px; font-weight: 700; color: #222; }
.ref-answer-card .i { font-size: 15px; color: #555; }
.ref-answer-card .l { font-size: 13px; color: #555; max-width: 260px; }
.ref-answer-card .s { font-size: 13px; color: #444; }
/* Sidebar sliders: label on its own line, value always shown above the thumb. */
.v-slider.v-input--horizontal { grid-template-areas: "prepend" "control" !important;
                                grid-template-columns: minmax(0, 1fr) !important; }
.v-slider.v-input--horizontal > .v-input__prepend { margin-inline-end: 0 !important;
                                                    margin-bottom: 30px !important; }
.v-slider .v-slider__label { white-space: normal; }
.v-slider-thumb__label-container { display: block !important; }
"""


def _pct(x: float) -> str:
    return "\u2013" if x is None or not math.isfinite(x) else f"{100 * x:.0f}%"


def _times(x: float) -> str:
    return "\u2013" if not math.isfinite(x) else f"{x:.1f}\u00d7"


def describe(knobs: dict) -> str:
    """One line naming the knobs a world was built with (and the fitted value a knob replaced)."""
    fitted = fit_overrides(knobs["rules"]).get("response", {}).get("pass_base")
    replaced = "" if fitted is None else f" (fitted: {fitted:g})"
    return (f"This world: {knobs['people']:,} people, rules: {html.escape(knobs['rules'])} "
            "(fitted values from the experiment file, these knobs on top), attention budget "
            f"{knobs['attention_budget']:g} posts/day, {100 * knobs['weak_tie_share']:.0f}% weak "
            f"ties, audience exponent {knobs['audience_exponent']:g}, pass-on probability "
            f"{knobs['pass_on']:.2f}{replaced}, seed {html.escape(knobs['seed'])}.")


@solara.component
def Tiles(model: AppModel) -> None:
    """The headline numbers so far, as big tiles."""
    update_counter.get()
    s = model.scores()
    closed = _pct(s["closed"] / s["needs"]) if s["needs"] else "\u2013"
    tiles = [
        ("", f"{s['day']}", "days simulated"),
        ("", f"{s['closed']:,} / {s['needs']:,}", f"needs closed ({closed})"),
        ("chain", f"{s['valuable_referrals']:,}", "valuable referrals"),
        ("small", _pct(s["small_share_valuable_brokered"]),
         f"{METRIC['small_share_valuable_brokered'].label} "
         f"({_pct(s['small_population_share'])} of people)"),
        ("large", _times(s["per_capita_ratio_large_small"]),
         METRIC["per_capita_ratio_large_small"].label),
        ("small", _times(s["per_audience_ratio_small_large"]),
         METRIC["per_audience_ratio_small_large"].label),
    ]
    markup = "".join(
        f'<div class="ref-tile {cls}"><div class="v">{value}</div><div class="l">{label}</div>'
        "</div>" for cls, value, label in tiles)
    solara.HTML(tag="div", unsafe_innerHTML=markup, classes=["ref-tiles"])


ANSWER_HTML = answer_html()
"""The calibrated answer above the live tiles, read once at start-up (:mod:`app.answer`)."""


@solara.component
def Answer() -> None:
    """The calibrated answer and the condition it depends on (from the committed claim map)."""
    solara.HTML(tag="div", unsafe_innerHTML=ANSWER_HTML, classes=["ref-answer"])


@solara.component
def NetworkCard(model: AppModel) -> None:
    """The network: node size = audience, colour = small/large, chains as they close."""
    update_counter.get()

    def render() -> tuple[bytes, float]:
        t0 = time.perf_counter()
        image = charts.network_image(model, model.snapshot())
        return image, time.perf_counter() - t0

    image, seconds = solara.use_memo(render, dependencies=[model, model.steps])
    with solara.Card(classes=["ref-card-img"]):
        solara.Image(image, width="100%", format="jpeg", classes=["network-view"])
        solara.HTML(tag="div", classes=["ref-note"], unsafe_innerHTML=(
            "Each dot is a person; its size is their audience (ties). Blue: small audience, "
            "vermillion: the 10% with the largest. Orange lines: referral chains from the "
            "seeker to the provider; black rings: their brokers. "
            f'<span class="ref-timing">Drawn in {1000 * seconds:.0f} ms; last day simulated in '
            f"{1000 * model.last_step_seconds:.1f} ms.</span>"))


@solara.component
def SharePlot(model: AppModel) -> None:
    """Cumulative small/large share of valuable brokered closures."""
    update_counter.get()
    png = solara.use_memo(
        lambda: charts.share_png(model.snapshot(), model.n_small / model.n_people),
        dependencies=[model, model.steps])
    with solara.Card(classes=["ref-card-img"]):
        solara.Image(png, width="100%", classes=["share-plot"])


@solara.component
def ClosuresPlot(model: AppModel) -> None:
    """Closures per day, direct and by referral."""
    update_counter.get()
    png = solara.use_memo(lambda: charts.closures_png(model.snapshot()),
                          dependencies=[model, model.steps])
    with solara.Card(classes=["ref-card-img"]):
        solara.Image(png, width="100%", classes=["closures-plot"])


def page_watch() -> Callable[[], bool]:
    """A function that says whether the browser tab of the current page is still open.

    Called while the page renders (inside Solara's kernel context). The
    function it returns is called by the model's play loop (another thread):
    once no page of this context is connected any more, or the context is
    closed, it returns False and the model stops playing.
    """
    try:
        from solara.server import kernel_context

        context = kernel_context.get_current_context()
    except Exception:  # not served by Solara (a test, a notebook): never stop
        return lambda: True

    def alive() -> bool:
        if context.closed_event.is_set():
            return False
        statuses = list(context.page_status.values())
        return not statuses or any(s == kernel_context.PageStatus.CONNECTED for s in statuses)

    return alive


@solara.component
def Problems(model: AppModel) -> None:
    """What the server refused from the controls, if anything, above the dashboard."""
    if model.problems:
        items = "".join(f"<li>{html.escape(p)}</li>" for p in model.problems)
        solara.HTML(tag="div", classes=["ref-problems"], unsafe_innerHTML=(
            f"<b>Some settings were not used:</b><ul>{items}</ul>"))


@solara.component
def Dashboard(model: AppModel) -> None:
    """Tiles on top; the network on the left, the two plots on the right."""
    solara.Style(CSS)
    alive = solara.use_memo(page_watch, [])
    model.page_alive = alive  # every new model (Reset) learns when the tab closes
    Answer()
    Problems(model)
    solara.HTML(tag="div", classes=["ref-world"], unsafe_innerHTML=describe(model.knobs))
    Tiles(model)
    with solara.Columns([7, 5]):
        NetworkCard(model)
        with solara.Column():
            SharePlot(model)
            ClosuresPlot(model)
            solara.HTML(tag="div", classes=["ref-note"], unsafe_innerHTML=(
                "<b>Try:</b> move a slider on the left, then press <b>Reset</b> to build a new "
                "world with it. Switch the rules between the two calibrated fits: do small "
                "people still close most valuable connections? Fewer weak ties or a smaller "
                "pass-on probability keep needs local; a lower audience exponent makes bigger "
                "hubs. Who closes the valuable connections then?"))


@solara.component
def Page() -> None:
    """The app: SolaraViz's controls in the sidebar, the dashboard in the main area."""
    initial = solara.use_memo(lambda: AppModel(**DEFAULTS), [])
    model = solara.use_reactive(initial)
    SolaraViz(model, components=[], model_params=MODEL_PARAMS, name=TITLE,
              play_interval=PLAY_INTERVAL_MS)
    Dashboard(model.value)
