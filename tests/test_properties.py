"""Invariants of whole runs on random small networks (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import Config, run
from sim.config import MeetupConfig, NeedsConfig, NetworkConfig, PeopleConfig, ResponseConfig


def _config(seed, n, degree, topics, rate, hop, life, pass_base, know, reposts, network, meet):
    return Config(
        seed=seed,
        days=25,
        warmup_days=0,  # counts of days and of needs add up only without a warm-up
        people=PeopleConfig(n=n, n_topics=topics),
        network=NetworkConfig(name=network, mean_degree=degree, community_size=10),
        needs=NeedsConfig(rate=rate, lifetime_days=life, seeker_reposts=reposts),
        response=ResponseConfig(hop_limit=hop, pass_base=pass_base, know_scale=know),
        meetups=MeetupConfig(rate=meet, attend_prob=0.5, new_tie_prob=0.3),
    )


configs = st.builds(
    _config,
    seed=st.integers(0, 2**31),
    n=st.integers(5, 120),
    degree=st.floats(1.5, 8.0),
    topics=st.integers(1, 8),
    rate=st.floats(0.01, 0.3),
    hop=st.integers(1, 5),
    life=st.integers(1, 6),
    pass_base=st.floats(0.0, 1.0),
    know=st.floats(0.0, 3.0),
    reposts=st.booleans(),
    network=st.sampled_from(["default", "erdos_renyi", "barabasi_albert", "watts_strogatz"]),
    meet=st.floats(0.0, 0.5),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs)
def test_run_invariants(config):
    result = run(config)
    closures, needs, people, ts = result.closures, result.needs, result.people, result.timeseries
    m = result.metrics
    # No need closes twice; counts add up everywhere.
    assert closures["need"].is_unique
    assert m["n_closed"] == len(closures) == int((needs["status"] == "closed").sum())
    assert m["n_direct"] + m["n_brokered"] == m["n_closed"]
    assert len(needs) == m["n_needs"] == int(ts["needs_posted"].sum())
    assert int(ts["closures"].sum()) == len(closures)
    assert int(ts["expired"].sum()) == int((needs["status"] == "expired").sum())
    assert int(ts["referrals"].sum()) == int((closures["kind"] == "referral").sum())
    assert int(people["sought"].sum()) == len(needs)
    assert int(people["provided"].sum()) == len(closures)
    assert (needs["seen_by"] <= len(people) - 1).all()
    # Every closure's path is a real path of the (final) network, seeker to provider.
    from sim.model import ReferralModel  # rebuild the final tie set from the same seed

    model = ReferralModel(config)
    for _ in range(config.days):
        model.step()
    ties = model.world.ties
    topic = people["topic"].to_numpy()
    limit = config.response.hop_limit
    for row in closures.itertuples():
        path = list(row.path)
        assert len(path) == row.hops + 1 == len(row.path_strengths) + 1
        assert path[0] == row.seeker and path[-1] == row.provider
        assert len(set(path)) == len(path)
        assert all(ties.tie(a, b) >= 0 for a, b in zip(path, path[1:], strict=False))
        assert topic[row.provider] == row.topic
        assert 0 < min(row.path_strengths) and max(row.path_strengths) <= 1
        if row.kind == "referral":
            assert path[-2] == row.broker
            assert 2 <= row.hops <= limit + 1
        else:
            assert row.broker == -1
            assert 1 <= row.hops <= limit
        assert row.posted_day <= row.day < row.posted_day + config.needs.lifetime_days
    # Tie strengths stay in (0, 1].
    w = ties.strengths()
    assert (w > 0).all() and (w <= 1 + 1e-12).all()
    assert np.allclose(ties.strength_totals(),
                       np.bincount(np.concatenate(ties.edges()),
                                   np.concatenate([w, w]), minlength=ties.n))
