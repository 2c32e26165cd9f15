"""The Mesa model and its agents: thin views over the arrays of ``sim.engine``.

:class:`ReferralModel` is a ``mesa.Model`` whose :meth:`~ReferralModel.step`
is one simulated day. :class:`Person` agents hold no state of their own: every
attribute reads the arrays, so a model of a million people costs no more with
agents than without. Up to :data:`EAGER_AGENTS` people (``people.agents:
auto``) every person gets an agent at start-up, for Mesa's tools and the app;
larger models create a view on demand with :meth:`ReferralModel.person`.

Model-level series are collected through Mesa's ``DataCollector``
(``model.datacollector``): one row per day, the fields of
:class:`sim.records.DayStats`, when the model is stepped through
:meth:`ReferralModel.step` (Mesa's way, as the app and notebooks do).
:func:`sim.run` steps the arrays directly and builds the same series as its
``timeseries`` table, without the collector's per-day cost.
"""

from __future__ import annotations

import time
from functools import partial

import mesa
import numpy as np

from sim.config import Config, check_population, validate
from sim.engine import World
from sim.measures import classify_people
from sim.network import RawGraph, generate
from sim.records import DayStats
from sim.rng import stream

EAGER_AGENTS = 50_000


class Person(mesa.Agent):
    """One person, viewed through the model's arrays.

    Attributes:
        pid: Row of this person in every array and table (0-based).
    """

    def __init__(self, model: ReferralModel, pid: int) -> None:
        super().__init__(model)
        self.pid = int(pid)

    @property
    def world(self) -> World:
        """The arrays this agent reads."""
        return self.model.world

    @property
    def audience(self) -> int:
        """Current number of ties (people)."""
        return int(self.world.ties.row_len[self.pid])

    @property
    def topic(self) -> int:
        """Topic of expertise."""
        return int(self.world.topic[self.pid])

    @property
    def community(self) -> int:
        """Community id."""
        return int(self.world.community[self.pid])

    @property
    def budget(self) -> float:
        """Attention budget (posts taken in per day)."""
        return float(self.world.budget[self.pid])

    @property
    def is_large(self) -> bool:
        """Whether this person is in the top ``large_fraction`` by starting audience."""
        return bool(self.model.is_large[self.pid])

    @property
    def contacts(self) -> list[int]:
        """Person ids of this person's contacts."""
        return self.world.ties.neighbours(self.pid).tolist()

    def tie_strength(self, other: int) -> float:
        """Strength of the tie to person ``other`` (0.0 if none)."""
        return self.world.ties.strength(self.pid, int(other))

    def __repr__(self) -> str:
        return (f"Person(pid={self.pid}, audience={self.audience}, topic={self.topic}, "
                f"community={self.community}, large={self.is_large})")


def _today(model: ReferralModel, field: str) -> int | float:
    """Field ``field`` of the model's latest :class:`DayStats` (a DataCollector reporter)."""
    return getattr(model.world.daily[-1], field)


class ReferralModel(mesa.Model):
    """The referral model (``docs/model.md``): one step is one day.

    Attributes:
        world: The arrays of the run (:class:`sim.engine.World`).
        datacollector: Mesa's ``DataCollector`` with one model reporter per
            :class:`sim.records.DayStats` field, collected by :meth:`step`.

    Args:
        config: Run configuration (validated here, unless ``checked``).
        graph: A prebuilt network; by default one is generated from ``config``.
        checked: ``config`` is what :func:`sim.config.validate` just returned
            (:func:`sim.run.run` passes it so a run validates its config once).
    """

    def __init__(self, config: Config | None = None, graph: RawGraph | None = None, *,
                 checked: bool = False) -> None:
        config = config if checked and config is not None else validate(config or Config())
        super().__init__(rng=np.random.default_rng(np.random.SeedSequence(config.seed)))
        self.config = config
        t0 = time.perf_counter()
        if graph is None:
            graph = generate(config.network, config.people.n, stream(config.seed, "network"))
        self.graph = graph
        check_population(config, graph.n)  # e.g. knockout.k, once an edge list gave n
        self.world = World(config, graph)
        self.build_seconds = time.perf_counter() - t0
        mc = config.measures
        self.is_large, self.decile = classify_people(self.world.audience, mc.large_fraction)
        self.valuable_threshold = self.world.valuable_threshold
        self.datacollector = mesa.DataCollector(
            model_reporters={name: partial(_today, field=name) for name in DayStats._fields})
        self._views: dict[int, Person] = {}
        mode = config.people.agents
        if mode == "all" or (mode == "auto" and graph.n <= EAGER_AGENTS):
            for pid in range(graph.n):
                self._views[pid] = Person(self, pid)

    @property
    def n_people(self) -> int:
        """Number of people."""
        return self.world.n

    @property
    def day(self) -> int:
        """Days simulated so far."""
        return self.world.day

    def person(self, pid: int) -> Person:
        """The agent of person ``pid`` (created on first use)."""
        pid = int(pid)
        if not 0 <= pid < self.world.n:
            raise IndexError(f"person {pid} out of range 0..{self.world.n - 1}")
        view = self._views.get(pid)
        if view is None:
            view = self._views[pid] = Person(self, pid)
        return view

    def step(self) -> None:
        """Simulate one day and collect its :class:`DayStats` into ``datacollector``."""
        self.world.step()
        self.datacollector.collect(self)
