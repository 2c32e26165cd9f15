"""Compiled kernels: pure functions over the model's typed state (numba).

One day of need propagation is :func:`spread_day`, which runs four phases for
every open need, one function each:

1. :func:`offer`: every holder offers the need to each contact; attention
   decides who sees it;
2. :func:`view`: each contact handles a need once (its *handled-set*);
3. :func:`respond_all`: each viewer decides with :func:`respond` (close it
   directly, refer a contact, pass it on, or nothing); one candidate closer
   per need and day is kept;
4. :func:`close`: a need with a candidate closes and travels no further.

Its cost is the number of messages in flight (a holder offering a need to one
contact), not people x days. The kernels take the named tuples of
:mod:`sim.state` (numba passes them as structs: no cost). The phases and the
small helpers they call are compiled into their caller (``inline="always"``)
and without numba's reference counting (``_nrt=False``): they allocate
nothing, and counting references to a record's arrays at every access would
cost more than the work itself. Strength of tie
``e`` is :func:`strength_of`, ``floor + scale * excess[e]``: decaying every
tie toward the floor is one multiplication of ``scale``, and
``excess_sum[i]`` keeps each person's strength total up to date in O(1) per
change (see :mod:`sim.ties`).

Randomness comes in as ``numpy.random.Generator`` objects (numba shares their
state with Python), so a run is a pure function of its seed.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from sim.state import Closing, Handled, Holders, Needs, People, Rules, Scratch, Ties, Trails

#: What a viewer does with a need (:func:`respond`). ``DIRECT`` and
#: ``REFERRAL`` are also the closure kinds of ``Closing.kind``.
DIRECT = 0
REFERRAL = 1
PASS = 2
IGNORE = 3

#: Bits of ``Ties.flags`` (per edge ``eu < ev``): who follows whom, and distrust.
#: ``eu`` follows ``ev`` means ``eu``'s attention goes to ``ev``'s posts (``eu``
#: is in ``ev``'s audience). An undirected tie is ``FOLLOW_UV | FOLLOW_VU``.
FOLLOW_UV = 1
FOLLOW_VU = 2
FOLLOW_BOTH = 3
DISTRUST = 4

#: Slots of the ``counters`` array: fill levels of the growable rows (trails,
#: handled pool, handled chunks, tomorrow's holders, the day's closures) and
#: the day's message and view counts.
C_TRAIL, C_POOL, C_CHUNKS, C_NEXT, C_CLOSURES, C_MESSAGES, C_VIEWS = range(7)
N_COUNTERS = 7

#: How many items ahead the kernels ask the CPU to fetch rows and flags. A
#: need's spread reads rows of random people: without a hint each read waits
#: for the previous one (~140 ns a person here); fetched ahead, they overlap.
PREFETCH_AHEAD = 8


@intrinsic
def prefetch(typingctx, arr, idx):
    """Hint the CPU to load ``arr[idx]`` into cache (LLVM ``llvm.prefetch``; no effect on results).

    The address is computed without a bounds check and never dereferenced by
    the program, so an index past the end is harmless; callers still keep it
    in range. Only arrays and integer indices are accepted.
    """
    if not isinstance(arr, types.Array) or not isinstance(idx, types.Integer):
        return None
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        array_type, index_type = signature.args
        array = context.make_array(array_type)(context, builder, args[0])
        index = context.cast(builder, args[1], index_type, types.intp)
        ptr = cgutils.get_item_pointer(context, builder, array_type, array, [index],
                                       wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        # declare_intrinsic names it for the pointer mode in use (p0i8 or p0).
        fn = builder.module.declare_intrinsic(
            "llvm.prefetch", [i8p], ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]))
        # read (0), high temporal locality (3), data cache (1)
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen




# --- ties ----------------------------------------------------------------------------


@njit(cache=True, _nrt=False, inline="always")
def strength_of(ties, e):
    """Strength of tie ``e`` (in (0, 1]): ``floor + scale * excess[e]``.

    Args:
        ties: A :class:`sim.state.Ties`.
        e: Edge id.
    """
    return ties.floor + ties.scale * ties.excess[e]


@njit(cache=True, _nrt=False)
def find_tie(ties, a, b):
    """Edge id of the tie a-b, or -1; scans the shorter row."""
    row_len = ties.row_len
    if row_len[a] > row_len[b]:
        a, b = b, a
    s = ties.row_start[a]
    nbr = ties.nbr
    for idx in range(s, s + row_len[a]):
        if nbr[idx] == b:
            return ties.nbr_edge[idx]
    return -1


@njit(cache=True, _nrt=False)
def set_strength(ties, e, w):
    """Set the strength of tie ``e`` to ``w`` and keep the followers' strength totals right.

    ``excess_sum[i]`` sums the ties ``i`` follows (their attention
    denominator), so only an end that follows the other changes.
    """
    excess = ties.excess
    new = (w - ties.floor) / ties.scale
    delta = new - excess[e]
    excess[e] = new
    f = ties.flags[e]
    if f & FOLLOW_UV:
        ties.excess_sum[ties.eu[e]] += delta
    if f & FOLLOW_VU:
        ties.excess_sum[ties.ev[e]] += delta


@njit(cache=True, _nrt=False)
def strengthen(ties, e, gain):
    """Move tie ``e`` the share ``gain`` of the way to strength 1."""
    w = strength_of(ties, e)
    set_strength(ties, e, w + gain * (1.0 - w))


@njit(cache=True, _nrt=False)
def insert_tie(ties, a, b, w, n_edges):
    """Insert the new tie a-b with strength ``w`` as edge id ``n_edges``.

    A tie made during a run (a closure, a meetup) is reciprocated: both follow
    each other, and nobody has rated it.

    Returns:
        True on success; False (nothing changed) when either row is full or the
        edge arrays are, and the caller must make room first.
    """
    row_start, row_len, nbr, nbr_edge = ties.row_start, ties.row_len, ties.nbr, ties.nbr_edge
    full = row_len[a] >= ties.row_cap[a] or row_len[b] >= ties.row_cap[b]
    if full or n_edges >= ties.eu.shape[0]:
        return False
    e = n_edges
    ties.eu[e] = min(a, b)
    ties.ev[e] = max(a, b)
    ties.excess[e] = (w - ties.floor) / ties.scale
    ties.flags[e] = FOLLOW_BOTH
    ties.excess_sum[a] += ties.excess[e]
    ties.excess_sum[b] += ties.excess[e]
    ties.n_follow[a] += 1
    ties.n_follow[b] += 1
    nbr[row_start[a] + row_len[a]] = b
    nbr_edge[row_start[a] + row_len[a]] = e
    row_len[a] += 1
    nbr[row_start[b] + row_len[b]] = a
    nbr_edge[row_start[b] + row_len[b]] = e
    row_len[b] += 1
    return True


@njit(cache=True, _nrt=False, inline="always")
def attention_prob(w, budget_j, len_j, excess_sum_j, scale, floor):
    """Probability that a contact sees a post over a tie of strength ``w``.

    ``min(1, budget_j * w / sum_k w_jk)``: the contact's attention budget,
    split in proportion to strength over the ``len_j`` ties they follow
    (all their ties when undirected).
    """
    total = len_j * floor + scale * excess_sum_j
    if total <= 0.0:
        return 1.0
    p = budget_j * w / total
    return 1.0 if p > 1.0 else p


@njit(cache=True, _nrt=False, inline="always")
def geometric_skip(p, mean_gap, rng):
    """Failures before the next success of Bernoulli(p) trials.

    ``floor(E * mean_gap)`` with ``E ~ Exp(1)`` and ``mean_gap = -1 / log(1 - p)``
    is exactly geometric: ``P(skip >= k) = P(E >= -k log(1 - p)) = (1 - p)^k``.
    numpy's ziggurat exponential costs ~5 ns against ~19 ns for the logarithm
    of a uniform.
    """
    if p >= 1.0:
        return 0
    if p <= 0.0:
        return 1 << 62
    gap = rng.standard_exponential() * mean_gap
    # A tiny p gives gaps beyond int64: past any row, like the p = 0 case.
    return int(gap) if gap < 4e18 else 1 << 62


@njit(cache=True)
def relayout(row_start, row_len, nbr, nbr_edge, new_cap):
    """Copy the padded CSR into consecutive rows of capacity ``new_cap``."""
    n = row_len.shape[0]
    new_start = np.empty(n, np.int64)
    total = 0
    for i in range(n):
        new_start[i] = total
        total += new_cap[i]
    new_nbr = np.full(total, -1, np.int32)
    new_edge = np.full(total, -1, np.int32)
    for i in range(n):
        s, t = row_start[i], new_start[i]
        for k in range(row_len[i]):
            new_nbr[t + k] = nbr[s + k]
            new_edge[t + k] = nbr_edge[s + k]
    return new_start, new_nbr, new_edge


@njit(cache=True)
def move_rows(people, new_cap, row_start, row_len, row_cap, nbr, nbr_edge, end):
    """Move the rows of ``people`` to fresh room from ``end`` with capacity ``new_cap``.

    The old slots become garbage. ``nbr`` must have room up to ``end + sum(new_cap)``.

    Returns:
        The new end of the used part of ``nbr``.
    """
    for q in range(people.shape[0]):
        i = people[q]
        s = row_start[i]
        for k in range(row_len[i]):
            nbr[end + k] = nbr[s + k]
            nbr_edge[end + k] = nbr_edge[s + k]
            nbr[s + k] = -1
        row_start[i] = end
        row_cap[i] = new_cap[q]
        end += new_cap[q]
    return end


# --- one day of propagation ----------------------------------------------------------


@njit(cache=True)
def make_rules(fixed_t, pass_base, pass_strength, know_scale, hop_limit, matching, referrals,
               seeker_reposts, directed, distrust, know_attention):
    """The :class:`sim.state.Rules` of a day (adds the derived ``mean_gap``).

    Args:
        fixed_t: Probability that a contact sees an offer (cascade mode), or -1.0
            for the attention-budget rule.
        pass_base: Pass-on probability over the weakest tie; -1.0: everybody
            passes, uncounted (cascade mode).
        pass_strength: Added pass-on probability per unit of tie strength.
        know_scale: Chance of knowing a contact's topic per unit of tie strength.
        hop_limit: Hops (ties from the seeker) at which viewers stop passing on.
        matching: Whether viewers close needs (False: a pure cascade).
        referrals: Whether viewers may refer a contact.
        seeker_reposts: Whether seekers show their open needs every day.
        directed: Offers go only to followers (``Ties.flags``).
        distrust: No offer and no referral crosses a tie flagged ``DISTRUST``.
        know_attention: Knowing a contact's topic is attention-limited.
    """
    mean_gap = -1.0 / np.log1p(-fixed_t) if 0.0 < fixed_t < 1.0 else 0.0
    return Rules(float(fixed_t), mean_gap, float(pass_base), float(pass_strength),
                 float(know_scale), np.int64(hop_limit), bool(matching), bool(referrals),
                 bool(seeker_reposts), bool(directed), bool(distrust), bool(know_attention))


@njit(cache=True)
def holder_messages(day, active, carriers, seeker, posted, trail_person, row_len, seeker_reposts):
    """Upper bound on today's messages: the summed audience of today's holders.

    Args:
        day: Today (0-based).
        active: Open needs (``Holders.active``).
        carriers: Trail rows of yesterday's passers (``Holders.trail``).
        seeker: ``Needs.seeker``.
        posted: ``Needs.posted``.
        trail_person: ``Trails.person``.
        row_len: ``Ties.row_len`` (audiences).
        seeker_reposts: Whether seekers show their open needs every day.
    """
    total = 0
    for k in active:
        if seeker_reposts or posted[k] == day:
            total += row_len[seeker[k]]
    for i in range(carriers.shape[0]):
        total += row_len[trail_person[carriers[i]]]
    return total


@njit(cache=True, _nrt=False, inline="always")
def load_handled(k, needs, handled):
    """Mark everybody in need ``k``'s handled-set in ``handled.stamp`` (if not loaded yet)."""
    if handled.owner[0] == k:
        return
    stamp = handled.stamp
    c = needs.head[k]
    while c >= 0:
        for q in range(handled.start[c], handled.start[c] + handled.length[c]):
            stamp[handled.pool[q]] = k
        c = handled.next[c]
    handled.owner[0] = k


@njit(cache=True, _nrt=False, inline="always")
def blocked(ties, e, j, h, rules):
    """Whether an offer by holder ``h`` over tie ``e`` cannot reach contact ``j``.

    Only followers see a post (``rules.directed``), and nothing crosses a
    distrusted tie (``rules.distrust``). The tie's lower end is the smaller
    id, so ``j < h`` says ``j`` is ``eu`` without reading it.
    """
    f = ties.flags[e]
    if rules.distrust and (f & DISTRUST) != 0:
        return True
    if rules.directed:
        bit = FOLLOW_UV if j < h else FOLLOW_VU
        return (f & bit) == 0
    return False


@njit(cache=True, _nrt=False, inline="always")
def offer(k, seeker_row, carriers, trails, stamp, people, ties, rules, rng, scratch, counters):
    """Phase 1: the holders of need ``k`` offer it to their contacts; list who sees it.

    Holders, in order: the seeker (trail row ``seeker_row``; -1 when the
    seeker does not show it today), then the contacts who passed it on
    yesterday (trail rows ``carriers``). Each offers it to every contact
    (every follower when ``rules.directed``; never over a distrusted tie when
    ``rules.distrust``, see :func:`blocked`); one
    who has not handled it yet (``stamp``) sees it with probability
    ``rules.fixed_t`` (cascade mode) or :func:`attention_prob`. Offers seen
    are written to ``scratch.seen_*`` in holder order; every tie offered over
    counts as a message (``counters[C_MESSAGES]``).

    Collecting first and handling after keeps memory reads independent, which
    the CPU overlaps; rows are fetched ahead (:func:`prefetch`).

    Args:
        k: The need.
        seeker_row: Trail row of its seeker, or -1.
        carriers: int64 trail rows of yesterday's passers of ``k``.
        trails: :class:`sim.state.Trails` (read).
        stamp: ``Handled.stamp`` with ``k``'s handled-set loaded.
        people: :class:`sim.state.People` (budgets read).
        ties: :class:`sim.state.Ties` (read).
        rules: :class:`sim.state.Rules`.
        rng: The attention stream (one draw per offer seen with probability < 1;
            geometric skips with fixed attention).
        scratch: :class:`sim.state.Scratch`; ``seen_*`` written from 0.
        counters: Fill levels; ``C_MESSAGES`` grows.

    Returns:
        The number of offers seen.
    """
    row_start, row_len, nbr, nbr_edge = ties.row_start, ties.row_len, ties.nbr, ties.nbr_edge
    tr_person = trails.person
    seen_person, seen_slot, seen_trail = scratch.seen_person, scratch.seen_slot, scratch.seen_trail
    fixed_t = rules.fixed_t
    gated = rules.directed or rules.distrust
    messages = 0
    n_seen = 0
    n_hold = 1 + carriers.shape[0]
    first = 0 if seeker_row >= 0 else 1
    for hi in range(first, n_hold):
        th = seeker_row if hi == 0 else carriers[hi - 1]
        # Fetch ahead: the row bounds of the holder 2 * PREFETCH_AHEAD on, and
        # the contact list of the one PREFETCH_AHEAD on (its bounds were
        # fetched earlier).
        if hi + 2 * PREFETCH_AHEAD < n_hold:
            later = tr_person[carriers[hi + 2 * PREFETCH_AHEAD - 1]]
            prefetch(row_start, later)
            prefetch(row_len, later)
        if hi + PREFETCH_AHEAD < n_hold:
            prefetch(nbr, row_start[tr_person[carriers[hi + PREFETCH_AHEAD - 1]]])
        ph = tr_person[th]
        s = row_start[ph]
        end = s + row_len[ph]
        messages += row_len[ph]
        if fixed_t >= 0.0:
            # Fixed attention: jump straight to the next contact who sees the
            # post (geometric skip): the same law as one Bernoulli draw per
            # contact, at a cost per view, not per tie.
            idx = s + geometric_skip(fixed_t, rules.mean_gap, rng)
            while idx < end:
                if not (gated and blocked(ties, nbr_edge[idx], nbr[idx], ph, rules)):
                    seen_person[n_seen] = nbr[idx]
                    seen_slot[n_seen] = idx
                    seen_trail[n_seen] = th
                    n_seen += 1
                idx += 1 + geometric_skip(fixed_t, rules.mean_gap, rng)
        else:
            for idx in range(s, end):
                j = nbr[idx]
                if stamp[j] == k:
                    continue
                e = nbr_edge[idx]
                if gated and blocked(ties, e, j, ph, rules):
                    continue
                w = strength_of(ties, e)
                p = attention_prob(w, people.budget[j], ties.n_follow[j], ties.excess_sum[j],
                                   ties.scale, ties.floor)
                if p < 1.0 and rng.random() >= p:
                    continue
                seen_person[n_seen] = j
                seen_slot[n_seen] = idx
                seen_trail[n_seen] = th
                n_seen += 1
    counters[C_MESSAGES] += messages
    return n_seen


@njit(cache=True, _nrt=False, inline="always")
def view(k, n_seen, scratch, needs, handled, counters):
    """Phase 2: each contact handles need ``k`` once; record them in its handled-set.

    A contact who saw several offers (or has handled ``k`` before) views it
    once, credited to the first holder (in holder order) whose post they saw.
    The first ``n_seen`` offers in ``scratch.seen_*`` are compacted in place
    to the viewers, in order; they join ``k``'s handled-set as one new chunk,
    and ``needs.seen[k]`` and ``counters[C_VIEWS]`` grow by their number.

    Args:
        k: The need.
        n_seen: Offers seen today (from :func:`offer`).
        scratch: :class:`sim.state.Scratch`; ``seen_*`` compacted in place.
        needs: :class:`sim.state.Needs` (``head``, ``tail``, ``seen`` updated).
        handled: :class:`sim.state.Handled` (``stamp``, pool and chunks written).
        counters: Fill levels ``C_POOL``, ``C_CHUNKS``; ``C_VIEWS`` grows.

    Returns:
        The number of viewers.
    """
    stamp = handled.stamp
    seen_person, seen_slot, seen_trail = scratch.seen_person, scratch.seen_slot, scratch.seen_trail
    n_pool = counters[C_POOL]
    pool_lo = n_pool
    n_view = 0
    for q in range(n_seen):
        if q + PREFETCH_AHEAD < n_seen:
            prefetch(stamp, seen_person[q + PREFETCH_AHEAD])
        j = seen_person[q]
        if stamp[j] == k:
            continue
        stamp[j] = k
        handled.pool[n_pool] = j
        n_pool += 1
        seen_person[n_view] = j
        seen_slot[n_view] = seen_slot[q]
        seen_trail[n_view] = seen_trail[q]
        n_view += 1
    if n_view > 0:
        c = counters[C_CHUNKS]
        handled.start[c] = pool_lo
        handled.length[c] = n_view
        handled.next[c] = -1
        if needs.head[k] < 0:
            needs.head[k] = c
        else:
            handled.next[needs.tail[k]] = c
        needs.tail[k] = c
        counters[C_CHUNKS] = c + 1
        needs.seen[k] += n_view
    counters[C_POOL] = n_pool
    counters[C_VIEWS] += n_view
    return n_view


@njit(cache=True, _nrt=False, inline="always")
def respond(j, w, hop, topic, seeker, people, ties, rules, rng):
    """What viewer ``j`` does with a need: the decision rule of the model.

    In this order: a viewer whose topic is the need's closes it directly; else
    one who knows a contact with the topic refers the strongest such contact
    they know (each contact ``m`` known with probability ``know_scale *
    w_jm``, or attention-limited ``know_scale * budget_j * w_jm / W_j`` with
    ``W_j`` the summed strength of the ties ``j`` follows when
    ``rules.know_attention``; never the seeker, never over a distrusted tie
    when ``rules.distrust``); else, below the hop limit, they pass it on with
    probability ``pass_base + pass_strength * w`` (always when ``pass_base <
    0``: cascade mode).

    Args:
        j: The viewer.
        w: Strength of the tie the need arrived over (NaN in a pure cascade).
        hop: Ties from the seeker to the viewer.
        topic: The need's topic.
        seeker: The need's seeker.
        people: :class:`sim.state.People`.
        ties: :class:`sim.state.Ties`.
        rules: :class:`sim.state.Rules`.
        rng: The response stream (draws: one per contact with the topic when
            referring, one for passing on unless it is certain).

    Returns:
        ``(action, provider, w_referral)``: ``DIRECT``, ``REFERRAL``, ``PASS``
        or ``IGNORE``; for ``DIRECT`` the provider is ``j`` and for
        ``REFERRAL`` the referred contact, with the tie strength to them.
    """
    if rules.matching:
        if people.topic[j] == topic:
            return DIRECT, j, 0.0
        if rules.referrals:
            best = -1
            best_w = -1.0
            know = rules.know_scale
            if rules.know_attention:
                total = ties.n_follow[j] * ties.floor + ties.scale * ties.excess_sum[j]
                know = know * people.budget[j] / total if total > 0.0 else 0.0
            s = ties.row_start[j]
            for idx in range(s, s + ties.row_len[j]):
                m = ties.nbr[idx]
                if people.topic[m] != topic or m == seeker:
                    continue
                if rules.distrust and (ties.flags[ties.nbr_edge[idx]] & DISTRUST) != 0:
                    continue
                w2 = strength_of(ties, ties.nbr_edge[idx])
                if rng.random() < know * w2 and w2 > best_w:
                    best = m
                    best_w = w2
            if best >= 0:
                return REFERRAL, best, best_w
    if hop < rules.hop_limit:
        if rules.pass_base < 0.0:
            return PASS, -1, 0.0
        p_pass = rules.pass_base + rules.pass_strength * w
        if p_pass >= 1.0 or rng.random() < p_pass:
            return PASS, -1, 0.0
    return IGNORE, -1, 0.0


@njit(cache=True, _nrt=False, inline="always")
def respond_all(k, n_view, scratch, needs, trails, people, ties, rules, rng, closing, counters):
    """Phase 3: every viewer of need ``k`` responds (:func:`respond`), in view order.

    A viewer who can close it (directly or by a referral) is a candidate; one
    candidate per need and day is chosen uniformly (reservoir sampling) and
    kept in row ``counters[C_CLOSURES]`` of ``closing``. A viewer who passes
    it on becomes a holder for tomorrow: a new trail row and an entry of
    ``scratch.next_*``; their pass counts in ``people.carried`` (not in a
    pure cascade).

    Args:
        k: The need.
        n_view: Viewers today (the first ``n_view`` of ``scratch.seen_*``).
        scratch: :class:`sim.state.Scratch` (viewers read, ``next_*`` written).
        needs: :class:`sim.state.Needs` (topic and seeker read).
        trails: :class:`sim.state.Trails` (hops read; passers' rows written).
        people: :class:`sim.state.People` (``carried`` grows).
        ties: :class:`sim.state.Ties` (read).
        rules: :class:`sim.state.Rules`.
        rng: The response stream (:func:`respond`'s draws, then one per
            candidate after the first for the reservoir).
        closing: :class:`sim.state.Closing`; the candidate row is written.
        counters: Fill levels ``C_TRAIL``, ``C_NEXT`` grow; ``C_CLOSURES`` read.

    Returns:
        The number of candidates.
    """
    t = needs.topic[k]
    seeker = needs.seeker[k]
    row = counters[C_CLOSURES]
    n_trail = counters[C_TRAIL]
    n_next = counters[C_NEXT]
    # The tie's strength matters to matching and passing; a pure cascade (no
    # matching, everyone passes) never reads it.
    needs_w = rules.matching or rules.pass_base >= 0.0
    n_cand = 0
    for q in range(n_view):
        j = scratch.seen_person[q]
        th = scratch.seen_trail[q]
        hop = trails.hop[th] + 1
        w = strength_of(ties, ties.nbr_edge[scratch.seen_slot[q]]) if needs_w else np.nan
        action, provider, w_referral = respond(j, w, hop, t, seeker, people, ties, rules, rng)
        if action == DIRECT or action == REFERRAL:
            n_cand += 1
            if n_cand == 1 or rng.random() * n_cand < 1.0:
                closing.kind[row] = action
                closing.provider[row] = provider
                closing.via[row] = th
                closing.w_arrival[row] = w
                closing.w_referral[row] = w_referral
                if action == REFERRAL:
                    closing.broker[row] = j
                    closing.hops[row] = hop + 1
                else:
                    closing.broker[row] = -1
                    closing.hops[row] = hop
        elif action == PASS:
            trails.person[n_trail] = j
            trails.parent[n_trail] = th
            trails.hop[n_trail] = hop
            trails.w[n_trail] = w
            scratch.next_need[n_next] = k
            scratch.next_trail[n_next] = n_trail
            n_next += 1
            n_trail += 1
            if rules.pass_base >= 0.0:  # a pure cascade (everyone passes) counts nothing
                people.carried[j] += 1
    counters[C_TRAIL] = n_trail
    counters[C_NEXT] = n_next
    return n_cand


@njit(cache=True, _nrt=False, inline="always")
def close(k, n_cand, next_lo, trails, people, rules, scratch, closing, counters):
    """Phase 4: need ``k`` closes if it has a candidate; then it travels no further.

    Its passes of today (``scratch.next_*`` from ``next_lo``) are void: they
    leave tomorrow's holders and ``people.carried``. The candidate row of
    ``closing`` becomes a closure.

    Args:
        k: The need.
        n_cand: Its candidates today (from :func:`respond_all`).
        next_lo: ``counters[C_NEXT]`` before :func:`respond_all` ran for ``k``.
        trails: :class:`sim.state.Trails` (read).
        people: :class:`sim.state.People` (``carried`` shrinks).
        rules: :class:`sim.state.Rules`.
        scratch: :class:`sim.state.Scratch` (``next_*`` read).
        closing: :class:`sim.state.Closing` (``need`` written).
        counters: ``C_NEXT`` reset to ``next_lo``; ``C_CLOSURES`` grows.
    """
    if n_cand == 0:
        return
    if rules.pass_base >= 0.0:
        for q in range(next_lo, counters[C_NEXT]):
            people.carried[trails.person[scratch.next_trail[q]]] -= 1
    counters[C_NEXT] = next_lo
    closing.need[counters[C_CLOSURES]] = k
    counters[C_CLOSURES] += 1


@njit(cache=True, _nrt=False)
def spread_day(day, holders, needs, trails, handled, people, ties, rules, rng_att, rng_resp,
               scratch, closing, counters):
    """Move every open need one hop: offer, view, respond, close (see the module).

    Each open need ``k`` (``holders.active``, ascending) is shown today by its
    seeker (every day when ``rules.seeker_reposts``, else only on the day it
    is posted, ``day``) and by the contacts who passed it on yesterday
    (``holders.need``/``holders.trail``).

    Every structure may come as its :mod:`sim.state` record or as a plain
    tuple of its fields in order (what the host passes: see :mod:`sim.state`).

    All buffers are preallocated by the caller: ``trails``, ``handled.pool``
    and ``scratch`` with room for every message of the day
    (:func:`holder_messages`), ``handled`` chunks and ``closing`` for every
    open need. ``counters`` holds the fill levels (``C_*``) and is updated;
    tomorrow's holders are ``scratch.next_*[:counters[C_NEXT]]``.

    Args:
        day: Today (0-based).
        holders: :class:`sim.state.Holders`.
        needs: :class:`sim.state.Needs`.
        trails: :class:`sim.state.Trails`.
        handled: :class:`sim.state.Handled`.
        people: :class:`sim.state.People`.
        ties: :class:`sim.state.Ties` (read only: tie changes come after the day).
        rules: :class:`sim.state.Rules`.
        rng_att: The attention stream.
        rng_resp: The response stream.
        scratch: :class:`sim.state.Scratch`.
        closing: :class:`sim.state.Closing`: the day's closures, rows
            ``[counters[C_CLOSURES] at entry, counters[C_CLOSURES])``.
        counters: int64 fill levels and counts (``C_*``).
    """
    holders, needs, trails = Holders(*holders), Needs(*needs), Trails(*trails)
    handled, people, ties, rules = Handled(*handled), People(*people), Ties(*ties), Rules(*rules)
    scratch, closing = Scratch(*scratch), Closing(*closing)
    fi = 0
    n_front = holders.need.shape[0]
    for k in holders.active:
        # Holders of need k today.
        while fi < n_front and holders.need[fi] < k:
            fi += 1
        lo = fi
        while fi < n_front and holders.need[fi] == k:
            fi += 1
        show_seeker = rules.seeker_reposts or needs.posted[k] == day
        if not show_seeker and fi == lo:
            continue
        load_handled(k, needs, handled)
        seeker_row = needs.root[k] if show_seeker else -1
        n_seen = offer(k, seeker_row, holders.trail[lo:fi], trails, handled.stamp, people, ties,
                       rules, rng_att, scratch, counters)
        n_view = view(k, n_seen, scratch, needs, handled, counters)
        next_lo = counters[C_NEXT]
        n_cand = respond_all(k, n_view, scratch, needs, trails, people, ties, rules, rng_resp,
                             closing, counters)
        close(k, n_cand, next_lo, trails, people, rules, scratch, closing, counters)


@njit(cache=True)
def compact_handled(active, needs, handled):
    """Copy the handled-sets of the open needs into fresh buffers, one chunk each.

    Returns:
        ``(pool, start, length, next, n_pool, n_chunks)``; the heads and tails
        of ``active`` needs are rewritten in place.
    """
    needs, handled = Needs(*needs), Handled(*handled)
    total = 0
    for k in active:
        c = needs.head[k]
        while c >= 0:
            total += handled.length[c]
            c = handled.next[c]
    m = active.shape[0]
    new_pool = np.empty(max(total, 1), np.int32)
    new_start = np.empty(max(m, 1), np.int64)
    new_len = np.empty(max(m, 1), np.int32)
    new_next = np.full(max(m, 1), -1, np.int64)
    q = 0
    n_chunks = 0
    for k in active:
        c = needs.head[k]
        if c < 0:
            continue
        lo = q
        while c >= 0:
            for r in range(handled.start[c], handled.start[c] + handled.length[c]):
                new_pool[q] = handled.pool[r]
                q += 1
            c = handled.next[c]
        new_start[n_chunks] = lo
        new_len[n_chunks] = q - lo
        needs.head[k] = n_chunks
        needs.tail[k] = n_chunks
        n_chunks += 1
    return new_pool, new_start, new_len, new_next, q, n_chunks


@njit(cache=True)
def closure_paths(closing, trails):
    """Flatten each closure's path (seeker ... provider) and tie strengths.

    Args:
        closing: The day's closures (every row a closure).
        trails: The trail rows their ``via`` point into.

    Returns:
        ``(offsets, people, strength_offsets, strengths)``: closure ``i``'s path
        is ``people[offsets[i]:offsets[i+1]]``, its tie strengths
        ``strengths[strength_offsets[i]:strength_offsets[i+1]]``.
    """
    closing, trails = Closing(*closing), Trails(*trails)
    m = closing.via.shape[0]
    offsets = np.zeros(m + 1, np.int64)
    for i in range(m):
        length = 0
        t = closing.via[i]
        while t >= 0:
            length += 1
            t = trails.parent[t]
        length += 1 if closing.kind[i] == DIRECT else 2
        offsets[i + 1] = offsets[i] + length
    people = np.empty(offsets[m], np.int32)
    strengths = np.empty(offsets[m] - m, np.float64)
    s_off = offsets - np.arange(m + 1)
    for i in range(m):
        end = offsets[i + 1] - 1
        s_end = s_off[i + 1] - 1
        if closing.kind[i] == REFERRAL:
            people[end] = closing.provider[i]
            people[end - 1] = closing.broker[i]
            strengths[s_end] = closing.w_referral[i]
            strengths[s_end - 1] = closing.w_arrival[i]
            pos = end - 2
            s_pos = s_end - 2
        else:
            people[end] = closing.provider[i]
            strengths[s_end] = closing.w_arrival[i]
            pos = end - 1
            s_pos = s_end - 1
        t = closing.via[i]
        while t >= 0:
            people[pos] = trails.person[t]
            pos -= 1
            if trails.parent[t] >= 0:
                strengths[s_pos] = trails.w[t]
                s_pos -= 1
            t = trails.parent[t]
    return offsets, people, s_off, strengths


# --- cascade mode ---------------------------------------------------------------------


@njit(cache=True)
def cascade_batch(sources, row_start, row_len, nbr, transmissibility, rng):
    """Independent cascades (bond percolation) from each source, one after another.

    Each newly reached person offers the need once to each contact; a contact
    not yet reached is reached with probability ``transmissibility``. This is
    the model's cascade mode run without need bookkeeping; the test suite checks
    it against :func:`spread_day` in cascade configuration and against
    percolation theory.

    Returns:
        ``(reach, depth, edge_checks)`` per source.
    """
    n = row_len.shape[0]
    m = sources.shape[0]
    reach = np.zeros(m, np.int64)
    depth = np.zeros(m, np.int32)
    checks = np.zeros(m, np.int64)
    stamp = np.full(n, -1, np.int64)
    queue = np.empty(n, np.int32)
    hop = np.empty(n, np.int32)
    for c in range(m):
        src = sources[c]
        stamp[src] = c
        queue[0] = src
        hop[0] = 0
        head = 0
        tail = 1
        edges = 0
        while head < tail:
            u = queue[head]
            hu = hop[head]
            head += 1
            s = row_start[u]
            cnt = row_len[u]
            edges += cnt
            for idx in range(s, s + cnt):
                v = nbr[idx]
                if stamp[v] != c and rng.random() < transmissibility:
                    stamp[v] = c
                    queue[tail] = v
                    hop[tail] = hu + 1
                    tail += 1
        reach[c] = tail
        depth[c] = hop[tail - 1]
        checks[c] = edges
    return reach, depth, checks




@njit(cache=True)
def cascade_spread(sources, ties, transmissibility, rng_att, rng_resp):
    """Cascade mode through the model's own kernel: one need per source, run to the end.

    Each cascade is a need posted by ``sources[c]`` that :func:`spread_day`
    moves with attention fixed at ``transmissibility``, everyone passing it on,
    no matching and no hop limit, until nobody holds it: exactly the
    independent-cascade model (bond percolation). Topics and budgets play no
    part.

    Args:
        sources: int64 person who starts each cascade.
        ties: :class:`sim.state.Ties` or a plain tuple of its fields (read only).
        transmissibility: Probability that an offer is seen (and passed on).
        rng_att: Stream of the attention draws.
        rng_resp: Stream of the response draws (a pure cascade draws none).

    Returns:
        ``(reach, depth, edge_checks)`` per cascade; reach counts the source.
    """
    ties = Ties(*ties)
    n = ties.row_len.shape[0]
    m = sources.shape[0]
    reach = np.zeros(m, np.int64)
    depth = np.zeros(m, np.int32)
    checks = np.zeros(m, np.int64)
    # Nobody's passes are counted in a pure cascade and topics are never read.
    people = People(np.empty(0, np.int32), np.empty(0, np.float64), np.empty(0, np.int32),
                    np.empty(0, np.int32), np.zeros(1, np.int32))
    needs = Needs(sources.astype(np.int32), np.full(m, -1, np.int32), np.zeros(m),
                  np.zeros(m, np.int32), np.zeros(m, np.int8), np.full(m, -1, np.int32),
                  np.zeros(m, np.int64), np.zeros(m, np.int32), np.full(m, -1, np.int64),
                  np.full(m, -1, np.int64))
    trails = Trails(np.empty(n + 1, np.int32), np.empty(n + 1, np.int64),
                    np.empty(n + 1, np.int32), np.empty(n + 1, np.float64))
    # Cascade ids fit int32 stamps: half the cache footprint of int64.
    handled = Handled(np.empty(n + 1, np.int32), np.empty(n + 2, np.int64),
                      np.empty(n + 2, np.int32), np.empty(n + 2, np.int64),
                      np.full(n, -1, np.int32), np.full(1, -1, np.int64))
    slots = ties.nbr.shape[0] + 1
    seen_person = np.empty(slots, np.int32)
    seen_slot = np.empty(slots, np.int64)
    seen_trail = np.empty(slots, np.int64)
    buf_need = np.empty((2, n + 1), np.int64)
    buf_trail = np.empty((2, n + 1), np.int64)
    closing = Closing(np.empty(1, np.int64), np.empty(1, np.int8), np.empty(1, np.int32),
                      np.empty(1, np.int32), np.empty(1, np.int64), np.empty(1), np.empty(1),
                      np.empty(1, np.int32))
    rules = make_rules(transmissibility, -1.0, 0.0, 0.0, 1 << 30, False, False, False,
                       bool((ties.flags[: ties.eu.shape[0]] != FOLLOW_BOTH).any()), False, False)
    counters = np.zeros(N_COUNTERS, np.int64)
    active = np.empty(1, np.int64)
    for c in range(m):
        active[0] = c
        trails.person[0] = sources[c]
        trails.parent[0] = -1
        trails.hop[0] = 0
        trails.w[0] = 1.0
        handled.pool[0] = sources[c]
        handled.start[0] = 0
        handled.length[0] = 1
        handled.next[0] = -1
        needs.head[c] = 0
        needs.tail[c] = 0
        counters[:] = 0
        counters[C_TRAIL] = 1
        counters[C_POOL] = 1
        counters[C_CHUNKS] = 1
        n_front = 0
        side = 0
        day = 0
        while day == 0 or n_front > 0:
            counters[C_NEXT] = 0
            holders = Holders(active, buf_need[side, :n_front], buf_trail[side, :n_front])
            scratch = Scratch(buf_need[1 - side], buf_trail[1 - side], seen_person, seen_slot,
                              seen_trail)
            spread_day(day, holders, needs, trails, handled, people, ties, rules, rng_att,
                       rng_resp, scratch, closing, counters)
            n_front = counters[C_NEXT]
            side = 1 - side
            day += 1
        reach[c] = needs.seen[c] + 1
        depth[c] = trails.hop[counters[C_TRAIL] - 1]
        checks[c] = counters[C_MESSAGES]
    return reach, depth, checks
