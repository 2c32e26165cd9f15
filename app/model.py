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
``seed``
    The root seed (``Config.seed``, and Mesa's ``rng``). Any text is accepted:
    a whole number is used as is, other text is hashed to one.
"""

from __future__ import annotations

import math
import threading
import time
import zlib
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr

from sim import kernels
from sim.config import Config, TiesConfig
from sim.engine import CLOSED
from sim.model import ReferralModel
from sim.network import RawGraph, generate, neighbourhood_overlap
from sim.records import ClosureTable
from sim.rng import stream

DEFAULTS: dict[str, object] = {
    "people": 1000,
    "attention_budget": 5.0,
    "weak_tie_share": 0.65,
    "audience_exponent": 2.5,
    "pass_on": 0.1,
    "seed": "42",
}
"""Default value of every knob."""

MODEL_PARAMS: dict[str, dict[str, object]] = {
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


def parse_seed(text: object) -> int:
    """A seed from the seed box: a whole number as is, any other text hashed (CRC-32)."""
    s = str(text).strip()
    if s.isdigit():
        return int(s) % (2**63)
    return zlib.crc32(s.encode("utf-8"))


def weak_share(base: float, overlap: np.ndarray, ties: TiesConfig) -> float:
    """Expected share of ties starting weaker than ``ties.weak_below`` for this ``base``."""
    if overlap.size == 0:
        return math.nan
    t = ties.weak_below
    threshold = math.log(t / (1.0 - t)) - base - ties.strength_embeddedness * overlap
    if ties.strength_noise > 0:
        return float(ndtr(threshold / ties.strength_noise).mean())
    return float((threshold > 0).mean())


def strength_base_for_weak_share(overlap: np.ndarray, ties: TiesConfig, share: float) -> float:
    """The ``ties.strength_base`` whose expected weak-tie share is ``share``.

    Args:
        overlap: Neighbourhood overlap of every tie of the network.
        ties: Tie settings (``weak_below``, ``strength_embeddedness``, ``strength_noise``).
        share: Wanted share of weak ties, in (0, 1).

    Returns:
        The base (logit units), found by bisection in [-30, 30].
    """
    share = min(max(float(share), 1e-6), 1 - 1e-6)
    if overlap.size == 0:
        return ties.strength_base
    lo, hi = -30.0, 30.0  # weak_share(lo) ~ 1 > share > ~0 = weak_share(hi)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if weak_share(mid, overlap, ties) > share:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def app_config(people: int = 1000, attention_budget: float = 5.0, weak_tie_share: float = 0.65,
               audience_exponent: float = 2.5, pass_on: float = 0.1,
               seed: object = "42") -> tuple[Config, RawGraph]:
    """The configuration (and its network) for the app's knobs; see the module docstring."""
    cfg = Config(seed=parse_seed(seed))
    cfg.people.n = int(people)
    cfg.people.agents = "all"
    cfg.people.budget_mean = float(attention_budget)
    cfg.network.degree_exponent = float(audience_exponent)
    cfg.response.pass_base = float(pass_on)
    graph = generate(cfg.network, cfg.people.n, stream(cfg.seed, "network"))
    overlap = neighbourhood_overlap(graph.n, graph.u, graph.v)
    cfg.ties.strength_base = strength_base_for_weak_share(overlap, cfg.ties, weak_tie_share)
    return cfg, graph


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
    """

    def __init__(self, people: int = 1000, attention_budget: float = 5.0,
                 weak_tie_share: float = 0.65, audience_exponent: float = 2.5,
                 pass_on: float = 0.1, seed: object = "42") -> None:
        config, graph = app_config(people, attention_budget, weak_tie_share, audience_exponent,
                                   pass_on, seed)
        super().__init__(config, graph=graph)
        self.knobs = {"people": int(people), "attention_budget": float(attention_budget),
                      "weak_tie_share": float(weak_tie_share),
                      "audience_exponent": float(audience_exponent), "pass_on": float(pass_on),
                      "seed": str(seed)}
        self.lock = threading.RLock()
        self.history = History()
        self.n_large = int(self.is_large.sum())
        self.n_small = self.n_people - self.n_large
        self.audience_small = float(self.world.audience[~self.is_large].sum())
        self.audience_large = float(self.world.audience[self.is_large].sum())
        self._layout: np.ndarray | None = None
        self.painter = None  # sim.netplot.NetworkPainter of the network view (app.charts)
        self.painter_day: int | None = None  # day its background was rendered
        self.last_step_seconds = 0.0

    # --- stepping
    def step(self) -> None:
        """Simulate one day and record what the app shows."""
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
                from sim.netplot import community_layout

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
        """Headline numbers so far: counts, shares and the per-head / per-audience ratios."""
        with self.lock:
            h = self.history
            w = self.world
            small = h.valuable_small[-1] if h.valuable_small else 0
            large = h.valuable_large[-1] if h.valuable_large else 0
            status = w.need_status.view()
            total = small + large

            def ratio(a: float, b: float) -> float:
                return a / b if b > 0 else math.nan

            return {
                "day": w.day,
                "needs": int(status.size),
                "closed": int((status == CLOSED).sum()),
                "valuable_referrals": total,
                "valuable_small": small,
                "valuable_large": large,
                "small_share": ratio(small, total),
                "small_population_share": self.n_small / self.n_people,
                "per_capita_large_over_small": ratio(ratio(large, self.n_large),
                                                     ratio(small, self.n_small)),
                "per_audience_small_over_large": ratio(ratio(small, self.audience_small),
                                                       ratio(large, self.audience_large)),
                "referrals": h.brokered_small + h.brokered_large,
            }
