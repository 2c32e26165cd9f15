"""Each phase of the day (offer, view, respond, close) and the decision rule, alone.

Tiny hand-built structures whose every probability is 0 or 1, so each
expectation is exact. The path 0-1-2-3 (tie strengths 0.5, floor 0.05) and a
need ``K`` whose seeker is person 0 (trail row 0) and which person 1 passed on
yesterday (trail row 1) are the common setting.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import kernels
from sim.kernels import (
    C_CHUNKS,
    C_CLOSURES,
    C_MESSAGES,
    C_NEXT,
    C_POOL,
    C_TRAIL,
    C_VIEWS,
    DIRECT,
    IGNORE,
    PASS,
    REFERRAL,
)
from sim.state import Closing, Handled, Needs, People, Scratch, Trails, empty_closing
from sim.ties import TieState

K = 0  # the need
PATH = [(0, 1), (1, 2), (2, 3)]
SEE_ALL = 1e9


def ties_of(edges, n, strengths=None, floor=0.05):
    u = np.array([min(a, b) for a, b in edges], np.int32)
    v = np.array([max(a, b) for a, b in edges], np.int32)
    strengths = strengths or {}
    w = np.array([strengths.get((a, b), 0.5) for a, b in zip(u, v, strict=True)])
    return TieState.build(n, u, v, w, floor).arrays()


def people_of(topics, budget=SEE_ALL):
    n = len(topics)
    return People(np.asarray(topics, np.int32), np.full(n, float(budget)), np.zeros(n, np.int32),
                  np.zeros(n, np.int32), np.zeros(n, np.int32))


def rules(**kw):
    args = {"fixed_t": -1.0, "pass_base": 1.0, "pass_strength": 0.0, "know_scale": 1e9,
            "hop_limit": 4, "matching": True, "referrals": True, "seeker_reposts": True,
            "directed": False, "distrust": False, "know_attention": False}
    args.update(kw)
    return kernels.make_rules(args["fixed_t"], args["pass_base"], args["pass_strength"],
                              args["know_scale"], args["hop_limit"], args["matching"],
                              args["referrals"], args["seeker_reposts"], args["directed"],
                              args["distrust"], args["know_attention"])


def trails_of(rows, room=16):
    """Trail rows ``(person, parent, hop, w)`` with ``room`` rows in all."""
    t = Trails(np.zeros(room, np.int32), np.full(room, -1, np.int64), np.zeros(room, np.int32),
               np.zeros(room))
    for r, (person, parent, hop, w) in enumerate(rows):
        t.person[r], t.parent[r], t.hop[r], t.w[r] = person, parent, hop, w
    return t


def needs_of(seeker, topic, n_needs=1):
    m = n_needs
    needs = Needs(np.full(m, seeker, np.int32), np.full(m, topic, np.int32), np.ones(m),
                  np.zeros(m, np.int32), np.zeros(m, np.int8), np.full(m, -1, np.int32),
                  np.zeros(m, np.int64), np.zeros(m, np.int32), np.full(m, -1, np.int64),
                  np.full(m, -1, np.int64))
    return needs


def handled_of(n_people, room=16):
    return Handled(np.zeros(room, np.int32), np.zeros(room, np.int64), np.zeros(room, np.int32),
                   np.full(room, -1, np.int64), np.full(n_people, -1, np.int64),
                   np.full(1, -1, np.int64))


def scratch_of(room=16):
    return Scratch(np.zeros(room, np.int64), np.zeros(room, np.int64), np.zeros(room, np.int32),
                   np.zeros(room, np.int64), np.zeros(room, np.int64))


def seen(scratch, n):
    return list(zip(scratch.seen_person[:n].tolist(), scratch.seen_slot[:n].tolist(),
                    scratch.seen_trail[:n].tolist(), strict=True))


def untouched(rng, seed):
    """Whether ``rng`` has drawn nothing since it was seeded with ``seed``."""
    return rng.random() == np.random.default_rng(seed).random()


# --- ties -------------------------------------------------------------------------------


def test_strength_find_strengthen_and_insert():
    ties = ties_of(PATH, 4, strengths={(1, 2): 0.8})
    e = kernels.find_tie(ties, 2, 1)
    assert e == 1 and kernels.find_tie(ties, 0, 3) == -1
    assert kernels.strength_of(ties, e) == pytest.approx(0.8)
    kernels.strengthen(ties, e, 0.5)  # half way to 1
    assert kernels.strength_of(ties, e) == pytest.approx(0.9)
    assert ties.excess_sum[1] == pytest.approx((0.5 - 0.05) + (0.9 - 0.05))
    assert kernels.insert_tie(ties, 0, 3, 0.3, 3)
    assert kernels.find_tie(ties, 3, 0) == 3
    assert kernels.strength_of(ties, 3) == pytest.approx(0.3)
    assert (ties.eu[3], ties.ev[3]) == (0, 3)


# --- rules ------------------------------------------------------------------------------


def test_make_rules_derives_the_geometric_gap():
    assert rules(fixed_t=0.5).mean_gap == pytest.approx(-1.0 / math.log(0.5))
    assert rules(fixed_t=-1.0).mean_gap == 0.0
    assert rules(fixed_t=1.0).mean_gap == 0.0
    r = rules(hop_limit=3, referrals=False)
    assert (r.hop_limit, r.matching, r.referrals, r.seeker_reposts) == (3, True, False, True)


# --- phase 0: loading a handled-set -----------------------------------------------------


def test_load_handled_marks_every_chunk_of_the_need():
    needs = needs_of(seeker=0, topic=2, n_needs=2)
    handled = handled_of(6)
    # Need 1: chunks 0 -> 2 = people {4} then {2, 5}; chunk 1 belongs to need 0.
    handled.pool[:4] = [4, 3, 2, 5]
    handled.start[:3] = [0, 1, 2]
    handled.length[:3] = [1, 1, 2]
    handled.next[0] = 2
    needs.head[1], needs.tail[1] = 0, 2
    kernels.load_handled(1, needs, handled)
    assert handled.stamp.tolist() == [-1, -1, 1, -1, 1, 1]
    assert handled.owner[0] == 1
    handled.stamp[:] = -1
    kernels.load_handled(1, needs, handled)  # already loaded: nothing to do
    assert handled.stamp.tolist() == [-1] * 6


# --- phase 1: offer ---------------------------------------------------------------------


def setting(seed=5, **rule_kw):
    """The path, need K (seeker 0, topic 3) that 1 passed on; 0 and 1 have handled it."""
    ties = ties_of(PATH, 4)
    trails = trails_of([(0, -1, 0, 1.0), (1, 0, 1, 0.5)])
    handled = handled_of(4)
    handled.stamp[[0, 1]] = K
    handled.owner[0] = K
    return (ties, trails, handled, people_of([0, 1, 1, 3]), rules(**rule_kw), scratch_of(),
            np.zeros(kernels.N_COUNTERS, np.int64), np.random.default_rng(seed))


def test_offer_lists_who_sees_it_in_holder_order_and_counts_messages():
    ties, trails, handled, people, r, scratch, counters, rng = setting()
    carriers = np.array([1], np.int64)
    n = kernels.offer(K, 0, carriers, trails, handled.stamp, people, ties, r, rng, scratch,
                      counters)
    # Seeker 0 offers to 1 (handled already); carrier 1 offers to 0 (handled) and 2.
    slot_2 = ties.row_start[1] + 1
    assert seen(scratch, n) == [(2, slot_2, 1)]
    assert counters[C_MESSAGES] == 3  # every tie offered over: 1 + 2
    assert untouched(rng, 5)  # certain attention draws nothing


def test_offer_without_the_seeker_shows_only_the_carriers_posts():
    ties, trails, handled, people, r, scratch, counters, rng = setting()
    n = kernels.offer(K, -1, np.array([1], np.int64), trails, handled.stamp, people, ties, r,
                      rng, scratch, counters)
    assert [p for p, _, _ in seen(scratch, n)] == [2]
    assert counters[C_MESSAGES] == 2


def test_offer_with_fixed_attention_one_shows_every_contact():
    # Cascade mode: no handled check at offer time (view drops repeats).
    ties, trails, handled, people, r, scratch, counters, rng = setting(fixed_t=1.0)
    n = kernels.offer(K, 0, np.array([1], np.int64), trails, handled.stamp, people, ties, r, rng,
                      scratch, counters)
    assert [(p, t) for p, _, t in seen(scratch, n)] == [(1, 0), (0, 1), (2, 1)]
    ties, trails, handled, people, r, scratch, counters, rng = setting(fixed_t=0.0)
    n = kernels.offer(K, 0, np.array([1], np.int64), trails, handled.stamp, people, ties, r, rng,
                      scratch, counters)
    assert n == 0 and counters[C_MESSAGES] == 3


def test_offer_attention_splits_the_budget_over_tie_strengths():
    # Budget 0: p = 0 for everybody, one draw per offer to an unhandled contact.
    ties, trails, handled, _, r, scratch, counters, rng = setting()
    people = people_of([0, 1, 1, 3], budget=0.0)
    n = kernels.offer(K, 0, np.array([1], np.int64), trails, handled.stamp, people, ties, r, rng,
                      scratch, counters)
    assert n == 0 and counters[C_MESSAGES] == 3


# --- phase 2: view ----------------------------------------------------------------------


def test_view_keeps_each_contact_once_credited_to_the_first_offer():
    needs = needs_of(seeker=0, topic=3)
    handled = handled_of(6)
    handled.stamp[0] = K
    handled.owner[0] = K
    scratch = scratch_of()
    offers = [(2, 10, 1), (3, 11, 1), (2, 12, 4), (0, 13, 4), (5, 14, 4)]
    for q, (p, s, t) in enumerate(offers):
        scratch.seen_person[q], scratch.seen_slot[q], scratch.seen_trail[q] = p, s, t
    counters = np.zeros(kernels.N_COUNTERS, np.int64)
    counters[C_POOL], counters[C_CHUNKS] = 3, 2  # rows in use before today
    n = kernels.view(K, len(offers), scratch, needs, handled, counters)
    assert n == 3
    assert seen(scratch, n) == [(2, 10, 1), (3, 11, 1), (5, 14, 4)]
    assert handled.pool[3:6].tolist() == [2, 3, 5]
    assert (handled.start[2], handled.length[2], handled.next[2]) == (3, 3, -1)
    assert (needs.head[K], needs.tail[K], needs.seen[K]) == (2, 2, 3)
    assert counters[[C_POOL, C_CHUNKS, C_VIEWS]].tolist() == [6, 3, 3]
    assert handled.stamp[[2, 3, 5]].tolist() == [K, K, K]
    # A second view the same day links a new chunk after the first.
    scratch.seen_person[0], scratch.seen_slot[0], scratch.seen_trail[0] = 4, 15, 1
    assert kernels.view(K, 1, scratch, needs, handled, counters) == 1
    assert (handled.next[2], needs.head[K], needs.tail[K], needs.seen[K]) == (3, 2, 3, 4)


# --- the decision -----------------------------------------------------------------------


def decide(j, topic, seeker=0, hop=1, w=0.5, seed=9, topics=(0, 1, 1, 3), edges=PATH,
           strengths=None, **rule_kw):
    ties = ties_of(edges, len(topics), strengths=strengths)
    rng = np.random.default_rng(seed)
    out = kernels.respond(j, w, hop, topic, seeker, people_of(list(topics)), ties,
                          rules(**rule_kw), rng)
    return out, untouched(rng, seed)


def test_respond_closes_directly_when_the_viewer_has_the_topic():
    (action, provider, w_ref), no_draw = decide(j=3, topic=3, hop=3)
    assert (action, provider, w_ref) == (DIRECT, 3, 0.0)
    assert no_draw


def test_respond_refers_the_strongest_known_contact_with_the_topic():
    # Viewer 1 knows 2 (w 0.3) and 3 (w 0.9), both topic 5; seeker 0 not.
    edges = [(0, 1), (1, 2), (1, 3)]
    (action, provider, w_ref), _ = decide(j=1, topic=5, topics=(0, 1, 5, 5), edges=edges,
                                          strengths={(1, 2): 0.3, (1, 3): 0.9})
    assert (action, provider) == (REFERRAL, 3)
    assert w_ref == pytest.approx(0.9)


def test_respond_never_refers_the_seeker_and_then_passes_on():
    # Viewer 1's only contact with the topic is the seeker 0 itself.
    (action, provider, _), no_draw = decide(j=1, topic=0, topics=(0, 1, 2, 2))
    assert (action, provider) == (PASS, -1)
    assert no_draw  # p_pass = 1: no draw


def test_respond_without_knowing_anybody_passes_on_or_ignores():
    (action, _, _), _ = decide(j=1, topic=3, topics=(0, 1, 3, 2), know_scale=0.0)
    assert action == PASS
    (action, _, _), _ = decide(j=1, topic=3, topics=(0, 1, 3, 2), know_scale=0.0, hop=4)
    assert action == IGNORE  # at the hop limit nobody passes on
    (action, _, _), _ = decide(j=1, topic=3, topics=(0, 1, 3, 2), know_scale=0.0,
                               pass_base=0.0)
    assert action == IGNORE


def test_respond_switches():
    (action, _, _), _ = decide(j=1, topic=3, topics=(0, 1, 3, 2), referrals=False)
    assert action == PASS  # the contact with the topic is not referred
    (action, _, _), no_draw = decide(j=3, topic=3, matching=False, pass_base=-1.0)
    assert action == PASS and no_draw  # a pure cascade: everybody passes, no draws


def test_respond_pass_probability_follows_tie_strength():
    # p = pass_base + pass_strength * w = 0.1 + 0.4 * 0.5 = 0.3; 20,000 draws.
    ties = ties_of(PATH, 4)
    people = people_of([0, 1, 1, 3])
    r = rules(know_scale=0.0, pass_base=0.1, pass_strength=0.4)
    rng = np.random.default_rng(1)
    passes = sum(kernels.respond(1, 0.5, 1, 3, 0, people, ties, r, rng)[0] == PASS
                 for _ in range(20_000))
    assert abs(passes / 20_000 - 0.3) < 4 * math.sqrt(0.3 * 0.7 / 20_000)


# --- phase 3: respond_all ---------------------------------------------------------------


def test_respond_all_keeps_a_candidate_and_lists_the_passes():
    ties, trails, handled, people, r, scratch, counters, rng = setting(know_scale=0.0)
    needs = needs_of(seeker=0, topic=3)
    # Viewers, both credited to trail row 1 (person 1, hop 1): 2 (over tie 1-2) knows
    # nobody and passes on; 3 (over tie 2-3, as if 2 had shown it) has topic 3.
    for q, (p, holder) in enumerate([(2, 1), (3, 2)]):
        scratch.seen_person[q] = p
        scratch.seen_slot[q] = ties.row_start[holder] + 1
        scratch.seen_trail[q] = 1
    counters[C_TRAIL] = 2
    closing = empty_closing(3)
    n_cand = kernels.respond_all(K, 2, scratch, needs, trails, people, ties, r, rng, closing,
                                 counters)
    assert n_cand == 1
    assert (closing.kind[0], closing.provider[0], closing.broker[0], closing.via[0],
            closing.hops[0]) == (DIRECT, 3, -1, 1, 2)
    assert closing.w_arrival[0] == pytest.approx(0.5)
    assert counters[C_CLOSURES] == 0  # a candidate, not a closure yet
    # Viewer 2 passed it on: trail row 2, tomorrow's holder, counted as carried.
    assert (trails.person[2], trails.parent[2], trails.hop[2]) == (2, 1, 2)
    assert trails.w[2] == pytest.approx(0.5)
    assert counters[[C_TRAIL, C_NEXT]].tolist() == [3, 1]
    assert (scratch.next_need[0], scratch.next_trail[0]) == (K, 2)
    assert people.carried.tolist() == [0, 0, 1, 0]


def test_respond_all_records_a_referral_with_its_broker():
    ties = ties_of([(0, 1), (1, 2)], 3)
    trails = trails_of([(0, -1, 0, 1.0)])
    needs = needs_of(seeker=0, topic=5)
    people = people_of([0, 1, 5])
    scratch = scratch_of()
    scratch.seen_person[0], scratch.seen_slot[0], scratch.seen_trail[0] = 1, ties.row_start[0], 0
    counters = np.zeros(kernels.N_COUNTERS, np.int64)
    counters[C_TRAIL] = 1
    closing = empty_closing(1)
    rng = np.random.default_rng(0)
    assert kernels.respond_all(K, 1, scratch, needs, trails, people, ties, rules(), rng, closing,
                               counters) == 1
    assert (closing.kind[0], closing.provider[0], closing.broker[0], closing.via[0],
            closing.hops[0]) == (REFERRAL, 2, 1, 0, 2)
    assert (closing.w_arrival[0], closing.w_referral[0]) == pytest.approx((0.5, 0.5))
    assert counters[C_NEXT] == 0 and people.carried.sum() == 0


# --- phase 4: close ---------------------------------------------------------------------


def test_close_voids_the_days_passes_of_a_closed_need():
    trails = trails_of([(0, -1, 0, 1.0), (2, 0, 1, 0.5), (3, 0, 1, 0.5)])
    people = people_of([0, 1, 1, 3])
    people.carried[[2, 3]] = [4, 1]  # passes of need K today, and 3 earlier ones by 2
    scratch = scratch_of()
    scratch.next_need[:3] = [9, K, K]  # the first holder belongs to an earlier need
    scratch.next_trail[:3] = [7, 1, 2]
    counters = np.zeros(kernels.N_COUNTERS, np.int64)
    counters[C_NEXT], counters[C_CLOSURES] = 3, 4
    closing = empty_closing(6)
    kernels.close(K, 0, 1, trails, people, rules(), scratch, closing, counters)
    assert counters[[C_NEXT, C_CLOSURES]].tolist() == [3, 4]  # no candidate: nothing
    kernels.close(K, 2, 1, trails, people, rules(), scratch, closing, counters)
    assert counters[[C_NEXT, C_CLOSURES]].tolist() == [1, 5]
    assert closing.need[4] == K
    assert people.carried.tolist() == [0, 0, 3, 0]


def test_close_in_a_pure_cascade_counts_no_passes():
    trails = trails_of([(0, -1, 0, 1.0), (2, 0, 1, 0.5)])
    people = people_of([0, 1, 1])
    scratch = scratch_of()
    scratch.next_trail[0] = 1
    counters = np.zeros(kernels.N_COUNTERS, np.int64)
    counters[C_NEXT] = 1
    kernels.close(K, 1, 0, trails, people, rules(pass_base=-1.0), scratch, empty_closing(1),
                  counters)
    assert people.carried.tolist() == [0, 0, 0]
    assert counters[[C_NEXT, C_CLOSURES]].tolist() == [0, 1]


def test_a_whole_day_through_spread_day_and_the_closures_path():
    # The four phases together on the path: seeker 0 needs topic 3; day 0 reaches 1, who
    # passes; day 1, 1 shows it to 2, who refers 3.
    ties = ties_of(PATH, 4)
    people = people_of([0, 1, 1, 3])
    needs = needs_of(seeker=0, topic=3)
    trails = trails_of([(0, -1, 0, 1.0)])
    handled = handled_of(4)
    handled.pool[0], handled.length[0] = 0, 1
    needs.head[K], needs.tail[K] = 0, 0
    counters = np.zeros(kernels.N_COUNTERS, np.int64)
    counters[[C_TRAIL, C_POOL, C_CHUNKS]] = 1
    active = np.array([K], np.int64)
    rng = np.random.default_rng(0)
    holders = (active, np.empty(0, np.int64), np.empty(0, np.int64))
    for day in (0, 1):
        scratch, closing = scratch_of(), empty_closing(1)
        counters[C_NEXT] = 0
        kernels.spread_day(day, holders, needs, trails, handled, people, ties,
                           rules(seeker_reposts=False), rng, rng, scratch, closing, counters)
        holders = (active, scratch.next_need[: counters[C_NEXT]].copy(),
                   scratch.next_trail[: counters[C_NEXT]].copy())
    assert counters[C_CLOSURES] == 1
    assert (closing.kind[0], closing.provider[0], closing.broker[0], closing.hops[0]) == (
        REFERRAL, 3, 2, 3)
    offsets, path, s_off, strengths = kernels.closure_paths(
        Closing(*(a[:1] for a in closing)), trails)
    assert path.tolist() == [0, 1, 2, 3] and offsets.tolist() == [0, 4]
    assert strengths.tolist() == pytest.approx([0.5, 0.5, 0.5])
    assert needs.seen[K] == 2 and counters[C_MESSAGES] == 1 + 2


def test_no_kernel_takes_more_than_about_a_dozen_arguments():
    # The day's state travels as a few records (sim.state), not as loose arrays.
    import inspect

    from numba.core.registry import CPUDispatcher

    import sim.engine
    import sim.ties

    counts = {}
    for module in (kernels, sim.engine, sim.ties):
        for name, obj in vars(module).items():
            if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == module.__name__:
                counts[f"{module.__name__}.{name}"] = len(inspect.signature(obj.py_func).parameters)
    assert "sim.kernels.spread_day" in counts and "sim.kernels.respond" in counts
    assert max(counts.values()) <= 13, counts
