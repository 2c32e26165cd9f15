"""Trust, credibility, directed attention and distrust: exact rules on hand-built networks,
and statistical tests that each mechanism moves the outcome the way its definition says."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import SEE_ALL, quiet_config

from sim import kernels
from sim.config import Config, TrustConfig, from_dict
from sim.engine import World
from sim.measures import bootstrap_interval
from sim.network import RawGraph
from sim.run import run
from sim.state import Closing
from sim.ties import TieState

NAN = float("nan")


def graph_of(edges, n, follows=None, trust=None):
    """A RawGraph on ``edges`` (pairs a, b). ``follows[(a, b)]``: (a follows b, b follows a);
    ``trust[(a, b)]``: (a's rating of b, b's rating of a)."""
    pairs = sorted((min(a, b), max(a, b)) for a, b in edges)
    u = np.array([a for a, _ in pairs], np.int32)
    v = np.array([b for _, b in pairs], np.int32)

    def per_tie(table, default):
        out = []
        for a, b in pairs:
            if (a, b) in table:
                out.append(table[(a, b)])
            elif (b, a) in table:
                x, y = table[(b, a)]
                out.append((y, x))
            else:
                out.append(default)
        return np.array(out).T

    kw = {}
    if follows is not None:
        f = per_tie(follows, (True, True)).astype(bool)
        kw.update(u_follows_v=f[0], v_follows_u=f[1])
    if trust is not None:
        t = per_tie(trust, (NAN, NAN)).astype(float)
        kw.update(trust_uv=t[0], trust_vu=t[1])
    return RawGraph(n=n, u=u, v=v, community=np.zeros(n, np.int32), labels=None, name="test", **kw)


def world_of(edges, topics, follows=None, trust=None, config=None, strengths=None,
             budget=SEE_ALL):
    """A world like conftest.make_world, with who-follows-whom and ratings."""
    config = config or quiet_config()
    n = len(topics)
    graph = graph_of(edges, n, follows, trust)
    config.people = replace(config.people, n_topics=max(topics) + 1)
    world = World(config, graph)
    world.topic[:] = np.asarray(topics, np.int32)
    world.budget[:] = budget
    strengths = strengths or {}
    w = np.array([strengths.get((a, b), strengths.get((b, a), 0.5))
                  for a, b in zip(graph.u, graph.v, strict=True)])
    world.ties = TieState.build(n, graph.u, graph.v, w, config.ties.floor, graph.u_follows_v,
                                graph.v_follows_u, graph.trust_uv, graph.trust_vu)
    return world


def referrals(world):
    t = world.closures.table()
    return [(int(t.seeker[i]), int(t.broker[i]), int(t.provider[i])) for i in range(len(t))
            if t.broker[i] >= 0]


# --- the tie store: direction and ratings ------------------------------------------------


def test_directed_tie_store_counts_only_followed_ties_in_attention():
    # 1 follows 0 (w .5) and 3 (w .3); 4 follows 1 (w .9) but 1 does not follow 4.
    g = graph_of([(0, 1), (1, 3), (1, 4)], 5,
                 follows={(1, 0): (True, False), (1, 3): (True, False), (4, 1): (True, False)})
    ties = TieState.build(5, g.u, g.v, np.array([0.5, 0.3, 0.9]), 0.05, g.u_follows_v,
                          g.v_follows_u)
    assert ties.directed
    assert ties.n_follow.tolist() == [0, 2, 0, 0, 1]
    assert ties.strength_totals()[1] == pytest.approx(0.8)
    assert ties.strength_totals()[4] == pytest.approx(0.9)
    assert ties.strength_totals()[0] == pytest.approx(0.0)
    assert ties.mean_strength() == pytest.approx((0.5 + 0.3 + 0.9) / 3)
    # Strengthening the 1-4 tie changes only its follower's (4's) denominator.
    e = ties.tie(1, 4)
    kernels.set_strength(ties.arrays(), e, 1.0)
    assert ties.strength_totals()[4] == pytest.approx(1.0)
    assert ties.strength_totals()[1] == pytest.approx(0.8)


def test_undirected_tie_store_is_every_tie_reciprocated():
    g = graph_of([(0, 1), (1, 2)], 3)
    ties = TieState.build(3, g.u, g.v, np.array([0.5, 0.3]), 0.05)
    assert not ties.directed
    assert ties.flags[:2].tolist() == [kernels.FOLLOW_BOTH] * 2
    assert ties.n_follow.tolist() == ties.row_len.tolist() == [1, 2, 1]


def test_new_ties_are_reciprocated_and_unrated():
    g = graph_of([(0, 1)], 3, follows={(0, 1): (True, False)}, trust={(0, 1): (-0.5, NAN)})
    ties = TieState.build(3, g.u, g.v, np.array([0.5]), 0.05, g.u_follows_v, g.v_follows_u,
                          g.trust_uv, g.trust_vu)
    assert ties.flags[0] == kernels.FOLLOW_UV | kernels.DISTRUST
    assert ties.has_distrust()
    assert ties.add_ties(np.array([1]), np.array([2]), np.array([0.3]), np.array([0.1])) == 1
    e = ties.tie(1, 2)
    assert ties.flags[e] == kernels.FOLLOW_BOTH
    assert np.isnan(ties.trust_uv[e]) and np.isnan(ties.trust_vu[e])
    assert ties.n_follow.tolist() == [1, 1, 1]
    assert ties.strength_totals()[2] == pytest.approx(0.3)


# --- directed attention --------------------------------------------------------------------


def test_a_post_reaches_only_followers():
    # Seeker 0 has three contacts: 1 follows 0, 2 is followed by 0 only, 3 both.
    # Every contact has the topic, so whoever sees the post closes it directly.
    follows = {(1, 0): (True, False), (0, 2): (True, False), (0, 3): (True, True)}
    world = world_of([(0, 1), (0, 2), (0, 3)], [0, 1, 1, 1], follows=follows)
    assert world.rules.directed
    assert world.audience.tolist() == [2, 0, 1, 1]  # followers
    world.post_needs([0], [1], [1.0])
    world.step()
    assert world.needs.seen.data[0] == 2
    assert sorted(world.handled_by(0)) == [0, 1, 3]


def test_follower_attention_is_budget_times_strength_over_followed_strength():
    # Follower 1 follows 0 (w .5) and 2 (w .3); 3 follows 1 (w .9) but 1 does not follow 3.
    follows = {(1, 0): (True, False), (1, 2): (True, False), (3, 1): (True, False)}
    world = world_of([(0, 1), (1, 2), (1, 3)], [0, 0, 0, 0], follows=follows,
                     strengths={(0, 1): 0.5, (1, 2): 0.3, (1, 3): 0.9}, budget=0.4)
    t = world.ties.arrays()
    p = kernels.attention_prob(0.5, 0.4, t.n_follow[1], t.excess_sum[1], t.scale, t.floor)
    assert p == pytest.approx(0.4 * 0.5 / 0.8)


def test_undirected_graph_has_degree_audience_and_no_gating():
    world = world_of([(0, 1), (0, 2)], [0, 1, 1])
    assert not world.rules.directed and not world.rules.distrust
    assert world.audience.tolist() == [2, 1, 1]


# --- distrust --------------------------------------------------------------------------


def test_distrust_blocks_offers_with_the_trust_rule():
    # 0 is rated negatively by 1 (1 distrusts 0); 2 has no rating.
    cfg = quiet_config(trust=TrustConfig(enabled=True))
    world = world_of([(0, 1), (0, 2)], [0, 1, 1], trust={(1, 0): (-0.2, NAN)}, config=cfg)
    assert world.rules.distrust
    world.post_needs([0], [1], [1.0])
    world.step()
    assert sorted(world.handled_by(0)) == [0, 2]


def test_ratings_are_ignored_without_the_trust_rule():
    world = world_of([(0, 1), (0, 2)], [0, 1, 1], trust={(1, 0): (-0.2, NAN)})
    assert not world.rules.distrust
    world.post_needs([0], [1], [1.0])
    world.step()
    assert sorted(world.handled_by(0)) == [0, 1, 2]


def test_no_referral_crosses_a_distrusted_tie():
    # Seeker 0 - broker 1; the broker knows providers 2 (distrusted, strong) and 3 (weak).
    cfg = quiet_config(trust=TrustConfig(enabled=True, exponent=0.0, prior_credibility=1.0))
    world = world_of([(0, 1), (1, 2), (1, 3)], [0, 1, 2, 2], config=cfg,
                     trust={(1, 2): (0.5, -1.0)}, strengths={(1, 2): 0.9, (1, 3): 0.2})
    world.post_needs([0], [2], [1.0])
    world.step()
    assert referrals(world) == [(0, 1, 3)]
    # Without the rule the broker refers the strongest contact they know.
    world = world_of([(0, 1), (1, 2), (1, 3)], [0, 1, 2, 2], trust={(1, 2): (0.5, -1.0)},
                     strengths={(1, 2): 0.9, (1, 3): 0.2})
    world.post_needs([0], [2], [1.0])
    world.step()
    assert referrals(world) == [(0, 1, 2)]


# --- knowing contacts' expertise -----------------------------------------------------------


@pytest.mark.parametrize(("know", "budget", "refers"), [
    ("all", 0.0, True),          # everybody's expertise known, attention or not
    ("attention", 0.0, False),   # no attention: nobody's expertise known
    ("attention", SEE_ALL, True),
])
def test_knowing_a_contact_is_attention_limited_by_choice(know, budget, refers):
    cfg = quiet_config(response__know=know)
    world = world_of([(0, 1), (1, 2)], [0, 1, 2], config=cfg)
    assert world.rules.know_attention == (know == "attention")
    world.budget[:] = SEE_ALL
    world.budget[1] = budget if budget > 0 else 0.0
    # The seeker shows it to 1 regardless (1's attention budget 0 would block seeing too),
    # so call the decision itself: 1 saw it over the 0-1 tie.
    action, provider, _ = kernels.respond(1, 0.5, 1, 2, 0, world.people, world.ties.arrays(),
                                          world.rules, np.random.default_rng(0))
    assert (action == kernels.REFERRAL, provider) == (refers, 2 if refers else -1)


# --- trust and credibility at closure -----------------------------------------------------


def closing_of(rows):
    """A Closing of hand-made referrals ``(need, provider, broker, via, w_arrival, w_ref)``."""
    cols = list(zip(*rows, strict=True))
    m = len(rows)
    return Closing(np.array(cols[0], np.int64), np.full(m, kernels.REFERRAL, np.int8),
                   np.array(cols[1], np.int32), np.array(cols[2], np.int32),
                   np.array(cols[3], np.int64), np.array(cols[4], float),
                   np.array(cols[5], float), np.full(m, 2, np.int32))


def test_chain_trust_uses_ratings_where_rated_else_strength():
    from sim.engine import _chain_trust

    cfg = quiet_config(trust=TrustConfig(enabled=True))
    world = world_of([(0, 1), (1, 2), (0, 3), (3, 2)], [0, 1, 2, 3], config=cfg,
                     trust={(0, 1): (0.7, NAN), (1, 2): (NAN, 0.9), (3, 2): (-0.4, NAN)})
    world.post_needs([0, 0], [2, 2], [1.0, 1.0])  # trail rows 0, 1: seeker 0
    closed = closing_of([(0, 2, 1, 0, 0.25, 0.5), (1, 2, 3, 1, 0.35, 0.45)])
    tau_sb, tau_bp = _chain_trust(tuple(closed), tuple(world.trails.arrays()),
                                  tuple(world.ties.arrays()), world.ties.trust_uv,
                                  world.ties.trust_vu)
    # 0 rated 1 at .7; 1 did not rate 2 (2's rating of 1 is not 1's trust): strength .5.
    # 0 did not rate 3: strength .35; 3 rated 2 negatively: clipped to 0.
    assert tau_sb.tolist() == [0.7, 0.35]
    assert tau_bp.tolist() == [0.5, 0.0]


def test_credibility_rises_with_engagements_that_worked_and_falls_with_failures():
    cfg = quiet_config(trust=TrustConfig(enabled=True, exponent=1.0, prior_credibility=1.0,
                                         prior_weight=4.0))
    world = world_of([(0, 1), (1, 2), (1, 3)], [0, 1, 2, 2], config=cfg,
                     trust={(0, 1): (1.0, NAN), (1, 2): (1.0, NAN), (1, 3): (0.0, NAN)})
    world.post_needs([0, 0], [2, 2], [1.0, 1.0])
    # Day one: broker 1 refers provider 2 (trusted fully: works) and 3 (trust 0: fails).
    closed = closing_of([(0, 2, 1, 0, 0.5, 0.5), (1, 3, 1, 1, 0.5, 0.5)])
    accepted, worked, cred = world._engagements(closed, tuple(world.trails.arrays()))
    # Prior credibility 1 and full trust from the seeker: both accepted for certain.
    assert accepted.tolist() == [True, True]
    assert worked.tolist() == [True, False]
    assert cred.tolist() == [1.0, 1.0]  # read at the start of the day
    assert (world.worked[1], world.failed[1]) == (1, 1)
    assert world.credibility()[1] == pytest.approx((1.0 * 4 + 1) / (4 + 1 + 1))
    assert world.credibility()[0] == pytest.approx(1.0)


def test_a_declined_introduction_closes_the_need_and_changes_no_tie():
    # The seeker's trust in the broker is 0: the introduction is declined for certain.
    cfg = quiet_config(trust=TrustConfig(enabled=True, exponent=1.0, prior_credibility=1.0))
    world = world_of([(0, 1), (1, 2)], [0, 1, 2], config=cfg, trust={(0, 1): (0.0, NAN)})
    world.post_needs([0], [2], [3.0])
    world.step()
    t = world.closures.table()
    assert (len(t), bool(t.accepted[0]), bool(t.worked[0]), float(t.realised_value[0])) == (
        1, False, False, 0.0)
    assert world.ties.tie(0, 2) == -1 and not t.new_tie[0]
    assert world.ties.strength(0, 1) == pytest.approx(0.5)
    assert (world.worked[1], world.failed[1]) == (0, 0)  # not an engagement: no track record


def test_without_the_trust_rule_every_closure_is_a_working_engagement():
    world = world_of([(0, 1), (1, 2)], [0, 1, 2])
    world.post_needs([0], [2], [3.0])
    world.step()
    t = world.closures.table()
    assert (bool(t.accepted[0]), bool(t.worked[0]), float(t.realised_value[0]),
            float(t.credibility[0])) == (True, True, 3.0, 1.0)


# --- statistical: the mechanisms move outcomes as defined --------------------------------

SEEDS = range(5)


def _small(**over) -> Config:
    base = {"days": 150, "people": {"n": 3000}}
    for key, value in over.items():
        base.setdefault(key, {}).update(value) if isinstance(value, dict) else base.update(
            {key: value})
    return from_dict(base)


def test_distrust_blocks_referrals_over_distrusted_ties():
    """A third of the ties rated negatively: no referral path crosses one, and the share
    of referrals falls against the same ratings ignored (5 seeds, paired interval)."""
    from sim import network

    drops = []
    for seed in SEEDS:
        cfg = _small(seed=seed, trust={"enabled": True, "exponent": 0.0,
                                       "prior_credibility": 1.0})
        graph = network.generate(cfg.network, cfg.people.n, np.random.default_rng(seed))
        rng = np.random.default_rng(100 + seed)
        m = graph.n_edges
        bad = rng.random(m) < 1 / 3
        graph.trust_uv = np.where(bad, -1.0, np.nan)
        graph.trust_vu = np.full(m, np.nan)
        counts = []
        for use in (True, False):
            c = replace(cfg, trust=replace(cfg.trust, use_ratings=use))
            world = World(c, graph)
            for _ in range(c.days):
                world.step()
            t = world.closures.table()
            if use:
                distrusted = {(int(a), int(b)) for a, b in zip(graph.u[bad], graph.v[bad],
                                                               strict=True)}
                for i in range(len(t)):
                    p = t.path_of(i)
                    for a, b in zip(p[:-1], p[1:], strict=True):
                        assert (min(a, b), max(a, b)) not in distrusted
            counts.append(int((t.broker >= 0).sum()))
        drops.append(counts[1] - counts[0])
    low, high = bootstrap_interval(np.array(drops, float), rng=0)[:2]
    assert low > 0, drops


@pytest.mark.slow
def test_attention_limited_knowledge_raises_the_small_share():
    """Knowing contacts' expertise through attention favours small brokers (5 seeds)."""
    diffs = []
    for seed in SEEDS:
        shares = [run(_small(seed=seed, days=200, response={"know": know})).metrics[
            "small_share_valuable_brokered"] for know in ("all", "attention")]
        diffs.append(shares[1] - shares[0])
    low, high = bootstrap_interval(np.array(diffs), rng=0)[:2]
    assert low > 0, diffs


def test_trust_lowers_the_share_of_referrals_that_work():
    """With the rule on, fewer referrals become engagements that work than with it off
    (where all do), and success rises with the seeker-side tie strength (5 seeds)."""
    gaps = []
    for seed in SEEDS:
        t = run(_small(seed=seed, trust={"enabled": True})).closures
        ref = t[t["kind"] == "referral"]
        strong = ref["arrival_strength"] >= ref["arrival_strength"].median()
        gaps.append(ref.loc[strong, "accepted"].mean() - ref.loc[~strong, "accepted"].mean())
        assert ref["worked"].mean() < 1.0
    low, high = bootstrap_interval(np.array(gaps), rng=0)[:2]
    assert low > 0, gaps


# --- small departures ----------------------------------------------------------------------


def test_valuable_threshold_is_the_quantile_of_the_actual_value_mixture():
    import scipy.stats

    from sim.measures import expected_value_mixture, valuable_threshold

    mult, wts = expected_value_mixture(3, 1.0, 0.5)
    pop = np.array([1, 1 / 2, 1 / 3]) / (1 + 1 / 2 + 1 / 3)
    assert mult == pytest.approx((1 / 3 / pop) ** 0.5)
    assert wts == pytest.approx((1 - pop) / 2)
    x = valuable_threshold(0.0, 1.0, 0.9, mult, wts)
    assert np.dot(wts, scipy.stats.norm.cdf(np.log(x) - np.log(mult))) == pytest.approx(0.9)
    # One topic of multiplier 1 is the base lognormal.
    assert valuable_threshold(0.0, 1.0, 0.9, np.ones(1)) == pytest.approx(
        valuable_threshold(0.0, 1.0, 0.9))


def test_valuable_marks_the_intended_share_of_needs():
    shares = [run(_small(seed=s, days=365)).needs["valuable"].mean() for s in range(3)]
    assert 0.085 < float(np.mean(shares)) < 0.115, shares


def test_broker_strengthens_their_tie_to_the_seeker_not_the_carrier():
    # Seeker 0 - carrier 1 - broker 2 - provider 3, and the broker also knows the seeker.
    cfg = quiet_config()
    world = world_of([(0, 1), (1, 2), (2, 3), (0, 2)], [0, 1, 1, 2], config=cfg)
    world.post_needs([0], [2], [1.0])
    # The broker got the need from the carrier (trail row 1: person 1, from the seeker).
    world.trails.append(np.array([1], np.int32), np.array([0], np.int64),
                        np.array([1], np.int32), np.array([0.5]))
    closed = closing_of([(0, 3, 2, 1, 0.5, 0.5)])
    world._apply_closures(0, closed)
    g = cfg.ties.broker_gain
    assert world.ties.strength(2, 3) == pytest.approx(0.5 + g * 0.5)
    assert world.ties.strength(0, 2) == pytest.approx(0.5 + g * 0.5)
    assert world.ties.strength(1, 2) == pytest.approx(0.5)


def test_warmup_days_are_left_out_of_every_table():
    r = run(from_dict({"seed": 1, "days": 30, "warmup_days": 40, "people": {"n": 2000},
                       "needs": {"rate": 0.01}}))
    assert r.metrics["days"] == 30 and r.metrics["warmup_days"] == 40
    assert r.timeseries["day"].tolist() == list(range(40, 70))
    assert (r.needs["posted_day"] >= 40).all() and len(r.needs) > 0
    assert set(r.closures["need"]) <= set(r.needs["need"])
    assert r.closures["closure"].tolist() == list(range(len(r.closures)))
    assert int(r.people["sought"].sum()) == len(r.needs)
    assert int(r.timeseries["needs_posted"].sum()) == len(r.needs)


def test_audience_loyalty_is_the_mean_attention_share_followers_give():
    # 1 follows 0 (w .5) and 2 (w .3); 3 follows 0 only (w .2); 0 follows nobody.
    follows = {(1, 0): (True, False), (1, 2): (True, False), (3, 0): (True, False)}
    world = world_of([(0, 1), (1, 2), (0, 3)], [0, 0, 0, 0], follows=follows,
                     strengths={(0, 1): 0.5, (1, 2): 0.3, (0, 3): 0.2})
    loyalty = world.audience_loyalty()
    # 0's followers: 1 gives it .5/.8, 3 gives it all its attention (.2/.2).
    assert loyalty[0] == pytest.approx((0.5 / 0.8 + 1.0) / 2)
    assert loyalty[2] == pytest.approx(0.3 / 0.8)
    assert loyalty[1] == 0.0 and loyalty[3] == 0.0  # nobody follows them


def test_cascade_mode_reaches_followers_only_on_a_directed_network():
    # T = 1: everybody offered sees it. 1 follows 0; 0 follows 2 (2 does not follow 0);
    # 3 follows 1.
    g = graph_of([(0, 1), (0, 2), (1, 3)], 4,
                 follows={(1, 0): (True, False), (0, 2): (True, False), (3, 1): (True, False)})
    ties = TieState.build(4, g.u, g.v, np.full(3, 0.5), 0.05, g.u_follows_v, g.v_follows_u)
    rng = np.random.default_rng(0)
    reach, depth, _ = kernels.cascade_spread(np.array([0, 2], np.int64), tuple(ties.arrays()),
                                             1.0, rng, rng)
    # From 0: its follower 1, then 1's follower 3 (2 does not follow 0): 3 people.
    # From 2: its follower 0, then 1, then 3: all 4.
    assert reach.tolist() == [3, 4]
    assert depth.tolist() == [2, 3]
