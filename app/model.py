"""The model behind the browser app: flat slider parameters -> a :class:`sim.config.Config`.

Mesa's SolaraViz builds models from keyword arguments, one per slider. This
module maps those few classroom-sized knobs onto the full configuration and
keeps, day by day, what the app draws (so drawing never has to rebuild tables).

The knobs and what they set:

``people``
    ``people.n``: number of people (default generator with communities).
``attention_budget``
    ``people.budget_mean``: posts a person takes in per day.
``weak_tie_share``
    The expected share of ties that *start* weak (strength below
    ``ties.weak_below`` = 0.2). It is mapped onto ``ties.strength_base``, the
    logit of the strength of a tie with no common contacts: a tie's initial
    strength is ``sigmoid(base + 6 * overlap + N(0, 1))`` (``sim.ties``), so
    the chance that it is weak is ``Phi(logit(0.2) - base - 6 * overlap)``.
    :func:`strength_base_for_weak_share` solves, on the generated network's
    actual overlaps, for the ``base`` whose expected weak share equals the
    slider (bisection; the share falls as ``base`` rises). The default 0.65 is
    about what the model's default ``base`` of -2 gives on 1,000 people.
``audience_exponent``
    ``network.degree_exponent``: the power-law exponent of audiences. Lower
    means more heterogeneous audiences (bigger hubs, more people with tiny
    audiences); higher means more equal ones.
``pass_on``
    ``response.pass_base``: the probability of passing a need on when it came
    over the weakest tie (plus 0.4 x the tie's strength for stronger ties).
``rules``
    Which calibrated fit the world starts from (:data:`RULES`): the rules and
    fitted values of ``conf/experiment/calibrated_rules_at_defaults.yaml``
    (fit B: attention budgets independent of audience, ``response.know=attention``)
    or ``conf/experiment/calibrated.yaml`` (fit A: budgets grow with audience,
    as audience**0.55, ``response.know=attention``). Both fit Granovetter's
    (1973) tables equally well and give opposite answers (docs/model.md,
    section Calibration). The experiment file is read (:func:`fit_overrides`)
    and applied onto the model's defaults exactly as ``experiment=<name>``
    composes it; the other knobs are then set on top, so the pass-on slider
    replaces the fit's ``response.pass_base`` and the weak-tie share slider
    sets ``ties.strength_base`` under the fit's strength spread. Default: fit B
    (:data:`DEFAULT_RULES`: its rules are the ones the evidence of
    docs/model.md section 7.16 supports; the tables do not choose between them).
``seed``
    The root seed (``Config.seed``, and Mesa's ``rng``). Any text of at most
    :data:`SEED_MAX_CHARS` characters is accepted: a whole number below 2**63
    written in ASCII digits is used as is, other text is hashed to one.

Every knob is checked on the server (:func:`check_knobs`), whatever the page
sent: a value that is not a finite number inside its slider's range (or a seed
that is too long) is not used; the world is built with the default instead and
:attr:`AppModel.problems` says what was refused, for the page to show. Nothing
a browser sends can make the server allocate more than 3,000 people.

The app's numbers are the model's own: the tiles' shares and ratios come from
:func:`sim.measures.class_comparison`, the formula of the run's headline
numbers, applied to the valuable referrals brokered so far.
"""

from __future__ import annotations

import math
import sys
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import ndtr

from sim import kernels, measures
from sim.config import Config, TiesConfig, validate
from sim.engine import CLOSED
from sim.model import ReferralModel
from sim.network import RawGraph, generate
from sim.patterns import with_overrides
from sim.records import ClosureTable
from sim.rng import stream
from sim.ties import strength_offsets

EXPERIMENT_DIR = Path(__file__).resolve().parents[1] / "conf" / "experiment"
"""The project's Hydra experiment files (``conf/experiment/<name>.yaml``)."""

RULES: dict[str, str] = {
    "budgets independent of audience (fit B)": "calibrated_rules_at_defaults",
    "budgets grow with audience (fit A)": "calibrated",
}
"""Choices of the rules knob -> the experiment file (calibrated fit) the world starts from."""

DEFAULT_RULES = "budgets independent of audience (fit B)"
"""Fit B by default: its rules are those the evidence of docs/model.md §7.16 supports."""

DEFAULTS: dict[str, object] = {
    "rules": DEFAULT_RULES,
    "people": 1000,
    "attention_budget": 5.0,
    "weak_tie_share": 0.65,
    "audience_exponent": 2.5,
    "pass_on": 0.1,
    "seed": "42",
}
"""Default value of every knob."""

MODEL_PARAMS: dict[str, dict[str, object]] = {
    "rules": {"type": "Select", "value": DEFAULT_RULES, "values": list(RULES),
              "label": "Rules: calibrated fit (press Reset to apply)"},
    "seed": {"type": "InputText", "value": DEFAULTS["seed"],
             "label": "Seed (press Reset to apply)"},
    "people": {"type": "SliderInt", "value": DEFAULTS["people"], "min": 200, "max": 3000,
               "step": 100, "label": "People"},
    "attention_budget": {"type": "SliderFloat", "value": DEFAULTS["attention_budget"],
                         "min": 1.0, "max": 20.0, "step": 0.5,
                         "label": "Attention budget (posts taken in per day)"},
    "weak_tie_share": {"type": "SliderFloat", "value": DEFAULTS["weak_tie_share"],
                       "min": 0.05, "max": 0.95, "step": 0.05,
                       "label": "Weak-tie share (of ties at the start)"},
    "audience_exponent": {"type": "SliderFloat", "value": DEFAULTS["audience_exponent"],
                          "min": 2.1, "max": 3.5, "step": 0.1,
                          "label": "Audience exponent (lower = bigger hubs)"},
    "pass_on": {"type": "SliderFloat", "value": DEFAULTS["pass_on"], "min": 0.0, "max": 1.0,
                "step": 0.05, "label": "Pass-on probability (over a weak tie)"},
}
"""SolaraViz ``model_params``: one input per knob of :class:`AppModel`."""

FADE_DAYS = 7
"""Referral chains stay highlighted this many days."""

SEED_MAX_CHARS = 100
"""Longest seed text accepted (longer text, e.g. a 5,000-digit number, is refused)."""

def parse_seed(text: object) -> int:
    """A seed from the seed box: a whole number as is, any other text hashed (CRC-32).

    Only ASCII digits make a number (``"²"`` is text, though Python calls it a
    digit), and only below 2**63; anything else, e.g. ``"pharma"`` or a
    30-digit number, is hashed. The length is checked by :func:`check_knobs`.
    """
    s = str(text).strip()
    if s.isascii() and s.isdigit() and len(s) <= 19 and int(s) < 2**63:
        return int(s)
    return zlib.crc32(s.encode("utf-8", "replace"))


def _shown(value: object) -> str:
    """A value for a message, at most 30 characters (even a 5,000-digit int)."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to print
        return "a number with thousands of digits"
    return text if len(text) <= 30 else text[:27] + "..."


def _number_problem(name: str, value: object, spec: Mapping[str, object]) -> str | None:
    """Why ``value`` is not allowed for the slider ``spec`` (None if it is)."""
    label = str(spec.get("label", name)).split(" (")[0]
    low, high = spec["min"], spec["max"]
    whole = spec["type"] == "SliderInt"
    allowed = f"a whole number from {low:,} to {high:,}" if whole else \
        f"a number from {low:g} to {high:g}"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return f"{label}: {_shown(value)} is not a number; allowed: {allowed}"
    if isinstance(value, (int, np.integer)):
        if not low <= value <= high:  # exact for ints of any size
            return f"{label}: {_shown(value)} is out of range; allowed: {allowed}"
        return None
    number = float(value)
    if not math.isfinite(number):
        return f"{label}: {_shown(value)} is not allowed; allowed: {allowed}"
    if whole and number != int(number):
        return f"{label}: {_shown(value)} is not a whole number; allowed: {allowed}"
    if not low <= number <= high:
        return f"{label}: {_shown(value)} is out of range; allowed: {allowed}"
    return None


def check_knobs(raw: Mapping[str, object]) -> tuple[dict[str, object], list[str]]:
    """Check the knobs a page sent; return the values to use and what was refused.

    Every knob of :data:`MODEL_PARAMS` is checked against its slider (a finite
    number inside ``[min, max]``, whole for whole-number sliders), the rules
    against the choices of :data:`RULES` and the seed against
    :data:`SEED_MAX_CHARS`. A refused value is replaced by its default and a
    one-line message (naming the knob, the value and what is allowed,
    and the value used instead) is added to the list.

    Args:
        raw: Knob name -> value, as received (any type).

    Returns:
        ``(knobs, problems)``: the values to build the world with, and the messages.
    """
    knobs: dict[str, object] = {}
    problems: list[str] = []
    for name, default in DEFAULTS.items():
        value = raw.get(name, default)
        spec = MODEL_PARAMS[name]
        if name == "rules":
            problem = None
            if not isinstance(value, str) or value not in RULES:
                problem = (f"Rules: {_shown(value)} is not one of the choices; allowed: "
                           + " or ".join(repr(r) for r in RULES))
        elif name == "seed":
            problem = None
            text = value if isinstance(value, str) else None
            if isinstance(value, int) and not isinstance(value, bool):
                text = str(value) if value.bit_length() <= 330 else "9" * 1000  # 100 digits max
            if text is None:
                problem = f"Seed: {_shown(value)} is not text"
            elif len(text.strip()) > SEED_MAX_CHARS:
                problem = (f"Seed: too long (more than {SEED_MAX_CHARS} characters); allowed: "
                           f"text or a whole number of at most {SEED_MAX_CHARS} characters")
        else:
            problem = _number_problem(name, value, spec)
        if problem:
            problems.append(f"{problem}. Used the default, {default}.")
            value = default
        if spec["type"] == "SliderInt":
            value = int(value)
        elif spec["type"] == "SliderFloat":
            value = float(value)
        elif spec["type"] == "Select":
            value = str(value)
        else:
            value = str(value).strip()
        knobs[name] = value
    return knobs, problems


SHUTDOWN = threading.Event()
"""Set when the server's main thread ends (Ctrl+C): every playing model stops."""

_watching = threading.Lock()
_watcher: list[threading.Thread] = []


def _set_shutdown_when_main_thread_ends() -> None:
    threading.main_thread().join()
    SHUTDOWN.set()


def watch_for_shutdown() -> None:
    """Start (once) a daemon thread that sets :data:`SHUTDOWN` when the main thread ends.

    Mesa's play loop runs in a non-daemon thread; at Ctrl+C the server returns,
    Python waits for that thread, and the loop would go on for ever. The main
    thread counts as ended as soon as Python starts that wait, so this watcher
    sets :data:`SHUTDOWN`, the model stops (:meth:`AppModel.step`) and the
    process exits.
    """
    with _watching:
        if not _watcher:
            thread = threading.Thread(target=_set_shutdown_when_main_thread_ends, daemon=True,
                                      name="app-shutdown-watch")
            thread.start()
            _watcher.append(thread)


def weak_share(base: float, offsets: np.ndarray, ties: TiesConfig) -> float:
    """Expected share of ties starting weaker than ``ties.weak_below`` for this ``base``.

    ``offsets`` are the ties' fixed logit offsets (:func:`sim.ties.strength_offsets`).
    """
    if offsets.size == 0:
        return math.nan
    t = ties.weak_below
    threshold = math.log(t / (1.0 - t)) - base - offsets
    if ties.strength_noise > 0:
        return float(ndtr(threshold / ties.strength_noise).mean())
    return float((threshold > 0).mean())


def strength_base_for_weak_share(offsets: np.ndarray, ties: TiesConfig, share: float) -> float:
    """The ``ties.strength_base`` whose expected weak-tie share is ``share``.

    Args:
        offsets: Fixed logit offset of every tie (:func:`sim.ties.strength_offsets`).
        ties: Tie settings (``weak_below``, ``strength_noise``).
        share: Wanted share of weak ties, in (0, 1).

    Returns:
        The base (logit units), found by bisection in [-30, 30].
    """
    share = min(max(float(share), 1e-6), 1 - 1e-6)
    if offsets.size == 0:
        return ties.strength_base
    lo, hi = -30.0, 30.0  # weak_share(lo) ~ 1 > share > ~0 = weak_share(hi)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if weak_share(mid, offsets, ties) > share:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@cache
def _read_experiment(path: Path) -> dict[str, Any]:
    from omegaconf import OmegaConf  # Hydra's config library (a project dependency)

    data = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: an experiment file must be a mapping of settings")
    return data


def fit_overrides(rules: str) -> dict[str, Any]:
    """The settings of the calibrated fit behind a rules choice, as its experiment file has them.

    Args:
        rules: A key of :data:`RULES`.

    Returns:
        Nested ``{section: {key: value}}`` deltas from the model's defaults (a copy).
    """
    data = _read_experiment(EXPERIMENT_DIR / f"{RULES[rules]}.yaml")
    return {key: dict(value) if isinstance(value, dict) else value for key, value in data.items()}


def _dotted(node: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if isinstance(value, Mapping):
            out.update(_dotted(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def fit_config(rules: str = DEFAULT_RULES, seed: int = 0) -> Config:
    """The model's defaults with the calibrated fit of ``rules`` applied (validated).

    The same configuration as ``python -m experiments.run experiment=<file>
    seed=<seed>`` composes (``tests/test_app.py`` checks it against Hydra).
    """
    return with_overrides(Config(seed=seed), _dotted(fit_overrides(rules)))


def app_config(people: int = 1000, attention_budget: float = 5.0, weak_tie_share: float = 0.65,
               audience_exponent: float = 2.5, pass_on: float = 0.1,
               seed: object = "42", rules: str = DEFAULT_RULES) -> tuple[Config, RawGraph]:
    """The configuration (and its network) for the app's knobs; see the module docstring."""
    cfg = fit_config(rules, parse_seed(seed))
    cfg.warmup_days = 0  # the app shows the network from its first day, so it measures from it
    cfg.people.n = int(people)
    cfg.people.agents = "all"
    cfg.people.budget_mean = float(attention_budget)
    cfg.network.degree_exponent = float(audience_exponent)
    cfg.response.pass_base = float(pass_on)
    graph = generate(cfg.network, cfg.people.n, stream(cfg.seed, "network"))
    offsets = strength_offsets(graph.n, graph.u, graph.v, cfg.ties, graph.community)
    cfg.ties.strength_base = strength_base_for_weak_share(offsets, cfg.ties, weak_tie_share)
    return validate(cfg), graph


@dataclass
class History:
    """What the app plots, one entry per simulated day.

    Attributes:
        day: Day number (0-based) of each entry.
        valuable_small: Valuable referrals brokered by small-audience people so far.
        valuable_large: The same for large-audience people.
        chains: Recent referral chains ``(day, path, valuable)``, oldest first.
        brokered_small: Referrals (any value) brokered by small people so far.
        brokered_large: The same for large people.
    """

    day: list[int] = field(default_factory=list)
    valuable_small: list[int] = field(default_factory=list)
    valuable_large: list[int] = field(default_factory=list)
    chains: list[tuple[int, np.ndarray, bool]] = field(default_factory=list)
    brokered_small: int = 0
    brokered_large: int = 0


class AppModel(ReferralModel):
    """A :class:`~sim.model.ReferralModel` built from the app's flat knobs.

    Args:
        people: Number of people.
        attention_budget: Mean attention budget (posts per day).
        weak_tie_share: Expected share of ties that start weak (see module docstring).
        audience_exponent: Power-law exponent of audiences (lower = bigger hubs).
        pass_on: Probability of passing a need on over the weakest tie.
        seed: Seed box text (see :func:`parse_seed`).
        rules: Which calibrated fit the world starts from (a key of :data:`RULES`).
    """

    def __init__(self, people: int = 1000, attention_budget: float = 5.0,
                 weak_tie_share: float = 0.65, audience_exponent: float = 2.5,
                 pass_on: float = 0.1, seed: object = "42", rules: str = DEFAULT_RULES) -> None:
        knobs, problems = check_knobs({
            "people": people, "attention_budget": attention_budget,
            "weak_tie_share": weak_tie_share, "audience_exponent": audience_exponent,
            "pass_on": pass_on, "seed": seed, "rules": rules})
        config, graph = app_config(**knobs)
        super().__init__(config, graph=graph)
        self.knobs = knobs
        self.problems = problems  # what check_knobs refused, shown on the page
        # Set by the page: returns False once the browser tab showing this model is closed.
        self.page_alive: Callable[[], bool] | None = None
        watch_for_shutdown()
        self.lock = threading.RLock()
        self.history = History()
        self.n_large = int(self.is_large.sum())
        self.n_small = self.n_people - self.n_large
        self.audience_small = float(self.world.audience[~self.is_large].sum())
        self.audience_large = float(self.world.audience[self.is_large].sum())
        self.stopped_because = ""
        self._layout: np.ndarray | None = None
        self.painter = None  # sim.viz.network.NetworkPainter of the network view (app.charts)
        self.painter_day: int | None = None  # day its background was rendered
        self.last_step_seconds = 0.0

    # --- stepping
    def stop_requested(self) -> str:
        """Why playing must stop now ("" if it need not): server shutting down, tab closed."""
        if SHUTDOWN.is_set():
            return "the server is shutting down"
        alive = self.page_alive
        if alive is not None and not alive():
            return "the page was closed"
        return ""

    def step(self) -> None:
        """Simulate one day and record what the app shows.

        When :meth:`stop_requested` says so, simulate nothing and set
        ``running`` to False: Mesa's play loop ends after this call.
        """
        reason = self.stop_requested()
        if reason:
            if self.running:
                print(f"app: stopped playing at day {self.world.day}: {reason}", file=sys.stderr,
                      flush=True)
            self.running = False
            self.stopped_because = reason
            return
        with self.lock:
            t0 = time.perf_counter()
            logged = len(self.world.closures)
            super().step()
            self._record([self.world.closures.since(logged)])
            self.last_step_seconds = time.perf_counter() - t0

    def _record(self, parts: list[ClosureTable]) -> None:
        h = self.history
        small = h.valuable_small[-1] if h.valuable_small else 0
        large = h.valuable_large[-1] if h.valuable_large else 0
        for part in parts:
            ref = np.flatnonzero(part.kind == kernels.REFERRAL)
            if ref.size == 0:
                continue
            brokers = part.broker[ref]
            valuable = self.world.need_value.data[part.need[ref]] >= self.valuable_threshold
            broker_large = self.is_large[brokers]
            small += int((valuable & ~broker_large).sum())
            large += int((valuable & broker_large).sum())
            h.brokered_small += int((~broker_large).sum())
            h.brokered_large += int(broker_large.sum())
            for j, i in enumerate(ref):
                h.chains.append((int(part.day[i]), part.path_of(i).copy(), bool(valuable[j])))
        today = self.world.day - 1
        h.day.append(today)
        h.valuable_small.append(small)
        h.valuable_large.append(large)
        h.chains = [c for c in h.chains if today - c[0] < FADE_DAYS]

    # --- what the app reads
    @property
    def layout(self) -> np.ndarray:
        """Seeded positions of everybody, computed once per model (community layout)."""
        with self.lock:
            if self._layout is None:
                from sim.viz.network import community_layout

                self._layout = community_layout(self.n_people, self.graph.u, self.graph.v,
                                                self.world.community, seed=self.config.seed)
            return self._layout

    def snapshot(self) -> dict[str, object]:
        """A consistent copy of what the views draw, taken under the model's lock."""
        with self.lock:
            w = self.world
            u, v = w.ties.edges()
            daily = np.array([day.counts() for day in w.daily], dtype=np.int64).reshape(-1, 12)
            h = self.history
            return {
                "day": w.day,
                "u": u.copy(), "v": v.copy(), "strength": w.ties.strengths().copy(),
                "audience": w.ties.row_len.copy(),
                "n_ties": int(w.ties.n_edges),
                "daily": daily,
                "hist_day": np.array(h.day, np.int64),
                "valuable_small": np.array(h.valuable_small, np.int64),
                "valuable_large": np.array(h.valuable_large, np.int64),
                "chains": list(h.chains),
                "brokered_small": h.brokered_small,
                "brokered_large": h.brokered_large,
            }

    def scores(self) -> dict[str, float]:
        """Headline numbers so far: counts, and the model's small-versus-large comparisons.

        The shares and ratios are :func:`sim.measures.class_comparison` of the
        valuable referrals brokered so far (keys of :data:`sim.measures.COMPARISONS`).
        """
        with self.lock:
            h = self.history
            w = self.world
            small = h.valuable_small[-1] if h.valuable_small else 0
            large = h.valuable_large[-1] if h.valuable_large else 0
            status = w.need_status.view()
            compare = measures.class_comparison(small, large, self.n_small, self.n_large,
                                                self.audience_small, self.audience_large)
            return {
                "day": w.day,
                "needs": int(status.size),
                "closed": int((status == CLOSED).sum()),
                "valuable_referrals": small + large,
                "valuable_small": small,
                "valuable_large": large,
                **compare,
                "small_population_share": self.n_small / self.n_people,
                "referrals": h.brokered_small + h.brokered_large,
            }
