"""Shared fixtures: tiny hand-built worlds whose every probability is 0 or 1."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sim.config import Config, MeetupConfig, NeedsConfig, ResponseConfig, TiesConfig, TrustConfig
from sim.engine import World
from sim.network import RawGraph
from sim.ties import TieState

FACEBOOK = Path(__file__).resolve().parents[2] / "shared" / "data" / "facebook_combined.txt"

#: A budget so large that everybody sees every post offered to them.
SEE_ALL = 1e9


def quiet_config(**overrides) -> Config:
    """A config with no random needs, no meetups and no decay: only what a test posts happens."""
    cfg = Config(
        seed=1,
        days=10,
        warmup_days=0,
        needs=NeedsConfig(rate=0.0, lifetime_days=7, seeker_reposts=True),
        response=ResponseConfig(hop_limit=4, pass_base=1.0, pass_strength=0.0, know_scale=1e9,
                                know="all"),
        meetups=MeetupConfig(rate=0.0),
        ties=TiesConfig(decay_per_day=0.0, floor=0.05),
        trust=TrustConfig(enabled=False),  # every closure an engagement (exact expectations)
    )
    for key, value in overrides.items():
        section, _, field = key.partition("__")
        if field:
            setattr(cfg, section, replace(getattr(cfg, section), **{field: value}))
        else:
            setattr(cfg, section, value)
    return cfg


def make_world(edges, topics, config: Config | None = None, strengths=None, budget=SEE_ALL,
               community=None) -> World:
    """A world on ``edges`` with fixed topics and budgets.

    ``strengths`` maps a pair ``(a, b)`` to its tie strength (default 0.5).
    """
    config = config or quiet_config()
    edges = sorted((min(a, b), max(a, b)) for a, b in edges)
    n = len(topics)
    u = np.array([a for a, _ in edges], np.int32)
    v = np.array([b for _, b in edges], np.int32)
    comm = np.zeros(n, np.int32) if community is None else np.asarray(community, np.int32)
    graph = RawGraph(n=n, u=u, v=v, community=comm, labels=None, name="test")
    config.people = replace(config.people, n_topics=max(topics) + 1)
    world = World(config, graph)
    world.topic[:] = np.asarray(topics, np.int32)
    world.topic_share = np.bincount(world.topic, minlength=config.people.n_topics) / n
    world.budget[:] = budget
    strengths = strengths or {}
    w = np.array([strengths.get((a, b), strengths.get((b, a), 0.5)) for a, b in edges])
    world.ties = TieState.build(n, u, v, w, config.ties.floor)
    return world


@pytest.fixture
def facebook_path() -> Path:
    if not FACEBOOK.exists():
        pytest.skip(f"real network not found at {FACEBOOK}")
    return FACEBOOK
