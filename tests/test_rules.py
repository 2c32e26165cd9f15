"""Every rule of the day, with exact expectations on tiny hand-built networks."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_world, quiet_config

from sim import kernels
from sim.config import MeetupConfig
from sim.engine import CLOSED, EXPIRED, OPEN, bernoulli_indices
from sim.model import ReferralModel
from sim.run import collect

STAR = [(0, 1), (0, 2), (0, 3), (0, 4)]
PATH = [(0, 1), (1, 2), (2, 3)]
TRIANGLE = [(0, 1), (0, 2), (1, 2)]


def closures(world):
    """The closures of a world as a list of dicts (one per closure)."""
    table = world.closures.table()
    return [{
        "need": int(table.need[i]), "day": int(table.day[i]),
        "kind": "referral" if table.kind[i] == kernels.REFERRAL else "direct",
        "seeker": int(table.seeker[i]), "provider": int(table.provider[i]),
        "broker": int(table.broker[i]), "hops": int(table.hops[i]),
        "path": table.path_of(i).tolist(), "strengths": table.strengths_of(i).tolist(),
        "new_tie": bool(table.new_tie[i]),
    } for i in range(len(table))]


def test_referral_through_star_centre_closes_on_day_zero():
    # Leaf 1 needs topic 2; only leaf 3 has it. The centre sees the post and refers.
    world = make_world(STAR, topics=[0, 1, 1, 2, 1])
    world.post_needs([1], [2], [5.0])
    world.step()
    [c] = closures(world)
    assert c == {"need": 0, "day": 0, "kind": "referral", "seeker": 1, "provider": 3, "broker": 0,
                 "hops": 2, "path": [1, 0, 3], "strengths": [0.5, 0.5], "new_tie": True}
    assert world.need_status.data[0] == CLOSED
    assert world.need_closed_day.data[0] == 0
    # Ties: the seeker-provider tie is created; the broker's two ties strengthened.
    t = world.ties
    cfg = world.config.ties
    assert t.strength(1, 3) == pytest.approx(cfg.new_tie_strength)
    assert t.strength(0, 3) == pytest.approx(0.5 + cfg.broker_gain * 0.5)
    assert t.strength(0, 1) == pytest.approx(0.5 + cfg.broker_gain * 0.5)
    assert t.strength(0, 2) == pytest.approx(0.5)
    assert world.ties.row_len.tolist() == [4, 2, 1, 2, 1]


def test_direct_match_at_one_hop_strengthens_existing_tie():
    world = make_world(STAR, topics=[2, 1, 1, 0, 1])
    world.post_needs([1], [2], [1.0])
    world.step()
    [c] = closures(world)
    assert (c["kind"], c["provider"], c["broker"], c["hops"], c["path"]) == (
        "direct", 0, -1, 1, [1, 0])
    assert c["new_tie"] is False
    gain = world.config.ties.closure_gain
    assert world.ties.strength(0, 1) == pytest.approx(0.5 + gain * 0.5)


def test_need_relayed_along_a_path_one_hop_per_day():
    cfg = quiet_config(response__referrals=False)
    world = make_world(PATH, topics=[0, 1, 1, 2], config=cfg)
    world.post_needs([0], [2], [1.0])
    for _ in range(2):
        world.step()
        assert closures(world) == []
    assert world.carried.tolist() == [0, 1, 1, 0]
    world.step()
    [c] = closures(world)
    assert (c["day"], c["kind"], c["provider"], c["hops"], c["path"]) == (
        2, "direct", 3, 3, [0, 1, 2, 3])
    assert world.need_seen.data[0] == 3


def test_referral_cuts_the_path_short():
    world = make_world(PATH, topics=[0, 1, 1, 2])
    world.post_needs([0], [2], [1.0])
    world.step()
    world.step()
    [c] = closures(world)
    assert (c["day"], c["kind"], c["broker"], c["provider"], c["hops"], c["path"]) == (
        1, "referral", 2, 3, 3, [0, 1, 2, 3])


def test_hop_limit_stops_passing_and_need_expires():
    cfg = quiet_config(response__referrals=False, response__hop_limit=2,
                       needs__lifetime_days=5)
    world = make_world(PATH, topics=[0, 1, 1, 2], config=cfg)
    world.post_needs([0], [2], [1.0])
    for day in range(5):
        assert world.need_status.data[0] == OPEN, day
        world.step()
    assert closures(world) == []
    assert world.need_status.data[0] == EXPIRED
    assert world.need_seen.data[0] == 2  # persons 1 and 2; person 2 may not pass at hop 2
    assert world.carried.tolist() == [0, 1, 0, 0]


def test_no_passing_when_pass_probability_is_zero():
    cfg = quiet_config(response__referrals=False, response__pass_base=0.0)
    world = make_world(PATH, topics=[0, 1, 1, 2], config=cfg)
    world.post_needs([0], [2], [1.0])
    for _ in range(3):
        world.step()
    assert world.need_seen.data[0] == 1
    assert world.carried.sum() == 0


def test_each_person_handles_a_need_once_despite_daily_reposts():
    # Nobody matches: the seeker reposts for 7 days; each contact sees the need once.
    cfg = quiet_config(response__pass_base=0.0)
    world = make_world(TRIANGLE, topics=[0, 1, 1, 2], config=cfg)  # person 3 isolated
    world.post_needs([0], [2], [1.0])
    for _ in range(7):
        world.step()
    assert world.need_seen.data[0] == 2
    assert world.need_status.data[0] == EXPIRED
    views = sum(day.views for day in world.daily)
    assert views == 2


def test_same_day_candidates_close_once_and_fairly():
    wins = {1: 0, 2: 0}
    for seed in range(200):
        cfg = quiet_config()
        cfg.seed = seed
        world = make_world(TRIANGLE, topics=[0, 2, 2], config=cfg)
        world.post_needs([0], [2], [1.0])
        world.step()
        [c] = closures(world)
        wins[c["provider"]] += 1
    assert wins[1] + wins[2] == 200
    assert 70 < wins[1] < 130  # binomial(200, 1/2): 4.2 standard deviations


def test_referral_prefers_the_strongest_known_contact():
    # Broker 1 knows both 2 and 3 (topic 5); the stronger tie 1-3 wins.
    edges = [(0, 1), (1, 2), (1, 3)]
    world = make_world(edges, topics=[0, 1, 5, 5], strengths={(1, 2): 0.3, (1, 3): 0.9})
    world.post_needs([0], [5], [1.0])
    world.step()
    [c] = closures(world)
    assert (c["broker"], c["provider"], c["strengths"]) == (1, 3, [0.5, 0.9])


def test_no_referral_when_contacts_are_unknown():
    cfg = quiet_config(response__know_scale=0.0, response__pass_base=0.0)
    world = make_world(PATH, topics=[0, 1, 2, 1], config=cfg)
    world.post_needs([0], [2], [1.0])
    world.step()
    assert closures(world) == []


def test_attention_probability_formula():
    # p = min(1, budget * w / sum of the viewer's tie strengths)
    assert kernels.attention_prob(0.2, 1.0, 4, 0.0, 1.0, 0.2) == pytest.approx(0.25)
    assert kernels.attention_prob(0.2, 10.0, 4, 0.0, 1.0, 0.2) == 1.0
    # strengths 0.1, 0.2, 0.7 (floor 0.1: excess 0, .1, .6), w = 0.7 -> 2 * 0.7 / 1.0 = 1.4 -> 1
    assert kernels.attention_prob(0.7, 2.0, 3, 0.7, 1.0, 0.1) == 1.0
    assert kernels.attention_prob(0.1, 2.0, 3, 0.7, 1.0, 0.1) == pytest.approx(0.2)


def test_attention_rate_in_the_kernel_matches_the_formula():
    # Centre 0 with 4 leaves, budget 1 and equal ties: sees each leaf's post with p = 1/4.
    cfg = quiet_config(response__pass_base=0.0, needs__seeker_reposts=False)
    world = make_world(STAR, topics=[0, 1, 1, 1, 1], config=cfg, budget=1.0)
    world.budget[1:] = 1e9
    m = 20_000
    world.post_needs(np.ones(m, np.int32), np.full(m, 3), np.ones(m))
    world.step()
    seen = int(world.need_seen.view().sum())
    assert abs(seen / m - 0.25) < 4 * np.sqrt(0.25 * 0.75 / m)


def test_tie_decay_toward_floor_is_exact():
    cfg = quiet_config(ties__decay_per_day=0.01)
    world = make_world(PATH, topics=[0, 1, 1, 1], config=cfg, strengths={(0, 1): 0.8})
    for _ in range(30):
        world.step()
    floor = cfg.ties.floor
    assert world.ties.strength(0, 1) == pytest.approx(floor + (0.8 - floor) * 0.99**30)
    assert world.ties.strength(1, 2) == pytest.approx(floor + (0.5 - floor) * 0.99**30)
    totals = world.ties.strength_totals()
    assert totals[1] == pytest.approx(world.ties.strength(0, 1) + world.ties.strength(1, 2))


def test_meetup_strengthens_and_creates_ties_among_attendees():
    cfg = quiet_config(meetups=MeetupConfig(rate=1.0, attend_prob=1.0, gain=0.5,
                                            new_tie_prob=1.0, max_attendees=30))
    # Community 0 = {0, 1, 2} (tie 0-1 only); community 1 = {3} (meets alone).
    world = make_world([(0, 1), (2, 3)], topics=[0, 0, 0, 0], config=cfg,
                       community=[0, 0, 0, 1])
    world.step()
    t = world.ties
    assert t.strength(0, 1) == pytest.approx(0.5 + 0.5 * 0.5)
    assert t.strength(0, 2) == pytest.approx(cfg.ties.new_tie_strength)
    assert t.strength(1, 2) == pytest.approx(cfg.ties.new_tie_strength)
    assert t.strength(2, 3) == pytest.approx(0.5)
    assert t.n_edges == 4
    assert (world.daily[-1].new_ties, world.daily[-1].meetups) == (2, 2)


def test_many_new_ties_grow_full_rows():
    cfg = quiet_config(meetups=MeetupConfig(rate=1.0, attend_prob=1.0, gain=0.0,
                                            new_tie_prob=1.0, max_attendees=30))
    n = 25
    world = make_world([(0, 1)], topics=[0] * n, config=cfg)
    world.step()
    assert world.ties.n_edges == n * (n - 1) // 2
    assert world.ties.row_len.tolist() == [n - 1] * n
    for a in range(n):
        assert sorted(world.ties.neighbours(a).tolist()) == [b for b in range(n) if b != a]


def test_cascade_mode_reaches_whole_component_at_t_one_and_only_source_at_zero():
    world = make_world(PATH + [(4, 5)], topics=[0] * 6)
    t = world.ties
    sources = np.array([0, 4, 2], np.int64)
    rng = np.random.default_rng(0)
    reach, depth, checks = kernels.cascade_spread(sources, t.arrays(), 1.0, rng, rng)
    assert reach.tolist() == [4, 2, 4]
    assert depth.tolist() == [3, 1, 2]
    assert checks.tolist() == [6, 2, 6]
    reach, depth, _ = kernels.cascade_spread(sources, t.arrays(), 0.0, rng, rng)
    assert reach.tolist() == [1, 1, 1]
    assert depth.tolist() == [0, 0, 0]
    r2, d2, c2 = kernels.cascade_batch(sources, t.row_start, t.row_len, t.nbr, 1.0, rng)
    assert (r2.tolist(), d2.tolist(), c2.tolist()) == ([4, 2, 4], [3, 1, 2], [6, 2, 6])


def test_bernoulli_indices_rate_and_bounds():
    rng = np.random.default_rng(3)
    picks = [bernoulli_indices(rng, 1000, 0.01) for _ in range(2000)]
    sizes = np.array([p.size for p in picks])
    assert abs(sizes.mean() - 10) < 4 * np.sqrt(9.9 / 2000)
    allp = np.concatenate(picks)
    assert allp.min() >= 0 and allp.max() < 1000
    assert all((np.diff(p) > 0).all() for p in picks)
    counts = np.bincount(allp, minlength=1000)
    assert counts[:500].sum() == pytest.approx(counts[500:].sum(), rel=0.1)
    assert bernoulli_indices(rng, 5, 1.0).tolist() == [0, 1, 2, 3, 4]
    assert bernoulli_indices(rng, 5, 0.0).tolist() == []


def test_person_agents_are_views_over_the_arrays():
    from sim.config import Config, NetworkConfig, PeopleConfig

    model = ReferralModel(Config(people=PeopleConfig(n=34), network=NetworkConfig(name="karate"),
                                 days=3))
    assert len(model.agents) == 34
    p = model.person(0)
    assert p.audience == 16
    assert p.contacts == model.world.ties.neighbours(0).tolist()
    assert p.tie_strength(p.contacts[0]) == model.world.ties.strength(0, p.contacts[0])
    assert model.person(0) is p
    model.step()
    assert model.day == 1
    assert p.audience == int(model.world.ties.row_len[0])
    lazy = ReferralModel(Config(people=PeopleConfig(n=200, agents="lazy"), days=1))
    assert len(lazy.agents) == 0
    assert lazy.person(5).pid == 5 and len(lazy.agents) == 1
    with pytest.raises(IndexError):
        lazy.person(200)
    result = collect(lazy)
    assert len(result.people) == 200


def test_knockout_sets():
    from sim.config import KnockoutConfig
    from sim.engine import knockout_set

    audience = np.array([10, 1, 1, 2, 3, 8, 1, 1, 1, 1])  # top 10%: person 0
    rng = np.random.default_rng(0)
    none = knockout_set(audience, KnockoutConfig("none", 2), 0.1, rng)
    assert not none.any()
    large = knockout_set(audience, KnockoutConfig("large", 2), 0.1, rng)
    assert np.flatnonzero(large).tolist() == [0, 5]
    small = knockout_set(audience, KnockoutConfig("small_random", 2), 0.1, rng)
    assert small.sum() == 2 and not small[0]
    same = knockout_set(audience, KnockoutConfig("small_audience", 2), 0.1, rng)
    assert not same[0] and audience[same].sum() >= 18
    assert audience[same].sum() - audience[same].max() < 18  # the shortest prefix


def test_knockout_isolates_people_and_drops_their_needs():
    from sim.config import Config, KnockoutConfig, NetworkConfig, PeopleConfig

    cfg = Config(seed=2, days=30, people=PeopleConfig(n=34), network=NetworkConfig(name="karate"),
                 knockout=KnockoutConfig(target="large", k=2))
    model = ReferralModel(cfg)
    removed = np.flatnonzero(model.world.removed).tolist()
    assert removed == [0, 33]  # the two club leaders have the largest audiences
    assert model.world.ties.row_len[removed].tolist() == [0, 0]
    assert model.world.audience[removed].tolist() == [16, 17]
    for _ in range(30):
        model.step()
    result = collect(model)
    assert not result.needs["seeker"].isin(removed).any()
    assert result.metrics["n_removed"] == 2 and result.metrics["removed_audience"] == 33


def test_following_one_need_handled_by_and_holders():
    cfg = quiet_config(response__referrals=False)
    world = make_world(PATH, topics=[0, 1, 1, 2], config=cfg)
    [need] = world.post_needs([0], [2], [1.0]).tolist()
    assert world.handled_by(need) == [0]
    world.step()
    assert world.handled_by(need) == [0, 1]
    assert world.holders(need) == [(1, 0)]
    world.step()
    assert world.handled_by(need) == [0, 1, 2]
    assert world.holders(need) == [(2, 1)]


def test_passes_of_a_need_that_closes_the_same_day_do_not_count():
    # Seeker 0 reaches 1 (a provider) and 2 (who passes it on) on the same day: the need
    # closes, so 2's pass never happens.
    world = make_world([(0, 1), (0, 2), (2, 3)], topics=[0, 5, 1, 1])
    world.post_needs([0], [5], [1.0])
    world.step()
    [c] = closures(world)
    assert (c["kind"], c["provider"]) == ("direct", 1)
    assert world.carried.tolist() == [0, 0, 0, 0]
    assert world.frontier_need.size == 0
