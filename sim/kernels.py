"""Compiled kernels: pure functions over the model's arrays (numba).

The propagation kernel :func:`spread_day` moves every open need one hop in one
day. Its cost is the number of messages in flight (a holder offering a need to
one contact), not people x days. Tie state is a padded CSR: row ``i`` holds
``row_len[i]`` neighbours from ``row_start[i]``, with room up to the next row's
start, so new ties are inserted in place. Strength of tie ``e`` is
``floor + scale * excess[e]``: decaying every tie toward the floor is one
multiplication of ``scale``, and ``excess_sum[i]`` keeps each person's
strength total up to date in O(1) per change.

Randomness comes in as ``numpy.random.Generator`` objects (numba shares their
state with Python), so a run is a pure function of its seed.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

DIRECT = 0
REFERRAL = 1

# counters[] slots used by spread_day
C_TRAIL, C_POOL, C_CHUNKS, C_NEXT, C_CLOSURES, C_MESSAGES, C_VIEWS = range(7)

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


@njit(cache=True)
def strength_of(e, excess, scale, floor):
    """Strength of tie ``e`` (in (0, 1])."""
    return floor + scale * excess[e]


@njit(cache=True)
def attention_prob(w, budget_j, len_j, excess_sum_j, scale, floor):
    """Probability that a contact sees a post over a tie of strength ``w``.

    ``min(1, budget_j * w / sum_k w_jk)``: the contact's attention budget,
    split over all their ties in proportion to strength.
    """
    total = len_j * floor + scale * excess_sum_j
    if total <= 0.0:
        return 1.0
    p = budget_j * w / total
    return 1.0 if p > 1.0 else p


@njit(cache=True)
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
def find_tie(a, b, row_start, row_len, nbr, nbr_edge):
    """Edge id of the tie a-b, or -1; scans the shorter row."""
    if row_len[a] > row_len[b]:
        a, b = b, a
    s = row_start[a]
    for idx in range(s, s + row_len[a]):
        if nbr[idx] == b:
            return nbr_edge[idx]
    return -1


@njit(cache=True)
def set_strength(e, w, eu, ev, excess, excess_sum, scale, floor):
    """Set the strength of tie ``e`` to ``w`` and keep both strength totals right."""
    new = (w - floor) / scale
    delta = new - excess[e]
    excess[e] = new
    excess_sum[eu[e]] += delta
    excess_sum[ev[e]] += delta


@njit(cache=True)
def insert_tie(a, b, w, row_start, row_len, row_cap, nbr, nbr_edge, eu, ev, excess, excess_sum,
               n_edges, scale, floor):
    """Insert the new tie a-b with strength ``w`` as edge id ``n_edges``.

    Returns:
        True on success; False (nothing changed) when either row is full or the
        edge arrays are, and the caller must make room first.
    """
    if row_len[a] >= row_cap[a] or row_len[b] >= row_cap[b] or n_edges >= eu.shape[0]:
        return False
    e = n_edges
    eu[e] = min(a, b)
    ev[e] = max(a, b)
    excess[e] = (w - floor) / scale
    excess_sum[a] += excess[e]
    excess_sum[b] += excess[e]
    nbr[row_start[a] + row_len[a]] = b
    nbr_edge[row_start[a] + row_len[a]] = e
    row_len[a] += 1
    nbr[row_start[b] + row_len[b]] = a
    nbr_edge[row_start[b] + row_len[b]] = e
    row_len[b] += 1
    return True


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


@njit(cache=True)
def holder_messages(active, frontier_need, frontier_trail, need_seeker, need_posted, tr_person,
                    row_len, day, seeker_reposts):
    """Upper bound on today's messages: the summed audience of today's holders."""
    total = 0
    for k in active:
        if seeker_reposts or need_posted[k] == day:
            total += row_len[need_seeker[k]]
    for i in range(frontier_need.shape[0]):
        total += row_len[tr_person[frontier_trail[i]]]
    return total


@njit(cache=True)
def spread_day(day, active, frontier_need, frontier_trail,
               row_start, row_len, nbr, nbr_edge, excess, excess_sum, scale, floor,
               topic, budget,
               need_seeker, need_topic, need_posted, need_root, need_seen, need_head, need_tail,
               tr_person, tr_parent, tr_hop, tr_w,
               pool, ch_start, ch_len, ch_next,
               stamp, owner, carried,
               fixed_t, pass_base, pass_strength, know_scale, hop_limit,
               matching, referrals, seeker_reposts,
               rng_att, rng_resp,
               out_need, out_trail, seen_person, seen_slot, seen_trail,
               cl_need, cl_kind, cl_provider, cl_broker, cl_via, cl_w_arrival, cl_w_referral,
               cl_hops,
               counters):
    """Move every open need one hop: offers, views, responses, closures.

    Each open need ``k`` (``active``, ascending) is shown today by its holders:
    its seeker (every day when ``seeker_reposts``, else only on the day it is
    posted) and the contacts who passed it on yesterday (``frontier_*``,
    grouped by need in ascending order). Each holder offers it to every
    contact who has not handled it yet; the contact sees it with probability
    ``fixed_t`` (cascade mode, ``fixed_t >= 0``) or
    ``min(1, budget_j * w_ij / sum_k w_jk)``. A viewer whose topic matches is a
    candidate provider (direct); else one who knows (``know_scale * w``) a
    contact with the topic is a candidate broker (referral, strongest known
    tie); else they pass it on with probability ``pass_base + pass_strength *
    w`` (1 when ``pass_base < 0``: cascade mode) if they are within
    ``hop_limit``. One candidate per need and day closes it, chosen uniformly
    (reservoir sampling) among the day's candidates; a need that closes keeps
    no holders for tomorrow.

    All buffers are preallocated by the caller with room for every message of
    the day (``out_*`` and the scratch buffers ``seen_*``); ``counters`` holds
    the fill levels (see ``C_*``) and is updated.
    """
    n_trail = counters[C_TRAIL]
    n_pool = counters[C_POOL]
    n_chunks = counters[C_CHUNKS]
    n_next = counters[C_NEXT]
    n_cl = counters[C_CLOSURES]
    messages = counters[C_MESSAGES]
    views = counters[C_VIEWS]
    fi = 0
    n_front = frontier_need.shape[0]
    mean_gap = -1.0 / np.log1p(-fixed_t) if 0.0 < fixed_t < 1.0 else 0.0
    needs_w = matching or pass_base >= 0.0
    for k in active:
        # Holders of need k today.
        while fi < n_front and frontier_need[fi] < k:
            fi += 1
        f_lo = fi
        while fi < n_front and frontier_need[fi] == k:
            fi += 1
        f_hi = fi
        show_seeker = seeker_reposts or need_posted[k] == day
        if not show_seeker and f_hi == f_lo:
            continue
        # Load the set of people who handled k into the stamp array.
        if owner[0] != k:
            c = need_head[k]
            while c >= 0:
                for q in range(ch_start[c], ch_start[c] + ch_len[c]):
                    stamp[pool[q]] = k
                c = ch_next[c]
            owner[0] = k
        seeker = need_seeker[k]
        t = need_topic[k]
        pool_lo = n_pool
        next_lo = n_next
        n_cand = 0
        ck = 0
        cp = -1
        cb = -1
        cv = -1
        cwa = 0.0
        cwr = 0.0
        ch = 0
        first = 0 if show_seeker else 1
        # Phase 1: every offer that is seen (holder order). Collecting first and
        # handling after keeps memory reads independent, which the CPU overlaps.
        n_seen = 0
        n_hold = 1 + f_hi - f_lo
        for hi in range(first, n_hold):
            th = need_root[k] if hi == 0 else frontier_trail[f_lo + hi - 1]
            # Fetch ahead: the row bounds of the holder 2 * PREFETCH_AHEAD on,
            # and the contact list of the one PREFETCH_AHEAD on (its bounds
            # were fetched earlier).
            if hi + 2 * PREFETCH_AHEAD < n_hold:
                later = tr_person[frontier_trail[f_lo + hi + 2 * PREFETCH_AHEAD - 1]]
                prefetch(row_start, later)
                prefetch(row_len, later)
            if hi + PREFETCH_AHEAD < n_hold:
                prefetch(nbr, row_start[tr_person[frontier_trail[f_lo + hi + PREFETCH_AHEAD - 1]]])
            ph = tr_person[th]
            s = row_start[ph]
            end = s + row_len[ph]
            messages += row_len[ph]
            if fixed_t >= 0.0:
                # Fixed attention: jump straight to the next contact who sees the
                # post (geometric skip): the same law as one Bernoulli draw per
                # contact, at a cost per view, not per tie.
                idx = s + geometric_skip(fixed_t, mean_gap, rng_att)
                while idx < end:
                    seen_person[n_seen] = nbr[idx]
                    seen_slot[n_seen] = idx
                    seen_trail[n_seen] = th
                    n_seen += 1
                    idx += 1 + geometric_skip(fixed_t, mean_gap, rng_att)
            else:
                for idx in range(s, end):
                    j = nbr[idx]
                    if stamp[j] == k:
                        continue
                    w = floor + scale * excess[nbr_edge[idx]]
                    p = attention_prob(w, budget[j], row_len[j], excess_sum[j], scale, floor)
                    if p < 1.0 and rng_att.random() >= p:
                        continue
                    seen_person[n_seen] = j
                    seen_slot[n_seen] = idx
                    seen_trail[n_seen] = th
                    n_seen += 1
        # Phase 2: each contact handles the need once, credited to the first
        # holder (in holder order) whose post they saw.
        for q in range(n_seen):
            if q + PREFETCH_AHEAD < n_seen:
                prefetch(stamp, seen_person[q + PREFETCH_AHEAD])
            j = seen_person[q]
            if stamp[j] == k:
                continue
            th = seen_trail[q]
            hop_j = tr_hop[th] + 1
            # The tie's strength matters to matching and passing; a pure cascade
            # (no matching, everyone passes) never reads it.
            w = floor + scale * excess[nbr_edge[seen_slot[q]]] if needs_w else np.nan
            stamp[j] = k
            pool[n_pool] = j
            n_pool += 1
            views += 1
            if matching:
                if topic[j] == t:
                    n_cand += 1
                    if n_cand == 1 or rng_resp.random() * n_cand < 1.0:
                        ck, cp, cb, cv, cwa, cwr, ch = DIRECT, j, -1, th, w, 0.0, hop_j
                    continue
                if referrals:
                    best = -1
                    best_w = -1.0
                    s2 = row_start[j]
                    for idx2 in range(s2, s2 + row_len[j]):
                        m = nbr[idx2]
                        if topic[m] != t or m == seeker:
                            continue
                        w2 = floor + scale * excess[nbr_edge[idx2]]
                        if rng_resp.random() < know_scale * w2 and w2 > best_w:
                            best = m
                            best_w = w2
                    if best >= 0:
                        n_cand += 1
                        if n_cand == 1 or rng_resp.random() * n_cand < 1.0:
                            ck, cp, cb, cv, cwa, cwr, ch = (
                                REFERRAL, best, j, th, w, best_w, hop_j + 1)
                        continue
            if hop_j < hop_limit:
                if pass_base < 0.0:
                    passes = True
                else:
                    p_pass = pass_base + pass_strength * w
                    passes = p_pass >= 1.0 or rng_resp.random() < p_pass
                if passes:
                    tr_person[n_trail] = j
                    tr_parent[n_trail] = th
                    tr_hop[n_trail] = hop_j
                    tr_w[n_trail] = w
                    out_need[n_next] = k
                    out_trail[n_next] = n_trail
                    n_next += 1
                    n_trail += 1
                    if pass_base >= 0.0:  # a pure cascade (everyone passes) counts nothing
                        carried[j] += 1
        if n_pool > pool_lo:
            ch_start[n_chunks] = pool_lo
            ch_len[n_chunks] = n_pool - pool_lo
            ch_next[n_chunks] = -1
            if need_head[k] < 0:
                need_head[k] = n_chunks
            else:
                ch_next[need_tail[k]] = n_chunks
            need_tail[k] = n_chunks
            n_chunks += 1
            need_seen[k] += n_pool - pool_lo
        if n_cand > 0:
            # A closed need travels no further: its passes of today are void.
            if pass_base >= 0.0:
                for q in range(next_lo, n_next):
                    carried[tr_person[out_trail[q]]] -= 1
            n_next = next_lo
            cl_need[n_cl] = k
            cl_kind[n_cl] = ck
            cl_provider[n_cl] = cp
            cl_broker[n_cl] = cb
            cl_via[n_cl] = cv
            cl_w_arrival[n_cl] = cwa
            cl_w_referral[n_cl] = cwr
            cl_hops[n_cl] = ch
            n_cl += 1
    counters[C_TRAIL] = n_trail
    counters[C_POOL] = n_pool
    counters[C_CHUNKS] = n_chunks
    counters[C_NEXT] = n_next
    counters[C_CLOSURES] = n_cl
    counters[C_MESSAGES] = messages
    counters[C_VIEWS] = views


@njit(cache=True)
def compact_pool(active, need_head, need_tail, pool, ch_start, ch_len, ch_next):
    """Copy the handled-sets of the open needs into fresh buffers, one chunk each.

    Returns:
        ``(pool, ch_start, ch_len, ch_next, n_pool, n_chunks)``; the heads and
        tails of ``active`` needs are rewritten in place.
    """
    total = 0
    for k in active:
        c = need_head[k]
        while c >= 0:
            total += ch_len[c]
            c = ch_next[c]
    m = active.shape[0]
    new_pool = np.empty(max(total, 1), np.int32)
    new_start = np.empty(max(m, 1), np.int64)
    new_len = np.empty(max(m, 1), np.int32)
    new_next = np.full(max(m, 1), -1, np.int64)
    q = 0
    n_chunks = 0
    for k in active:
        c = need_head[k]
        if c < 0:
            continue
        lo = q
        while c >= 0:
            for r in range(ch_start[c], ch_start[c] + ch_len[c]):
                new_pool[q] = pool[r]
                q += 1
            c = ch_next[c]
        new_start[n_chunks] = lo
        new_len[n_chunks] = q - lo
        need_head[k] = n_chunks
        need_tail[k] = n_chunks
        n_chunks += 1
    return new_pool, new_start, new_len, new_next, q, n_chunks


@njit(cache=True)
def closure_paths(cl_via, cl_kind, cl_provider, cl_broker, cl_w_arrival, cl_w_referral,
                  tr_person, tr_parent, tr_w):
    """Flatten each closure's path (seeker ... provider) and tie strengths.

    Returns:
        ``(offsets, people, strength_offsets, strengths)``: closure ``i``'s path
        is ``people[offsets[i]:offsets[i+1]]``, its tie strengths
        ``strengths[strength_offsets[i]:strength_offsets[i+1]]``.
    """
    m = cl_via.shape[0]
    offsets = np.zeros(m + 1, np.int64)
    for i in range(m):
        length = 0
        t = cl_via[i]
        while t >= 0:
            length += 1
            t = tr_parent[t]
        length += 1 if cl_kind[i] == DIRECT else 2
        offsets[i + 1] = offsets[i] + length
    people = np.empty(offsets[m], np.int32)
    strengths = np.empty(offsets[m] - m, np.float64)
    s_off = offsets - np.arange(m + 1)
    for i in range(m):
        end = offsets[i + 1] - 1
        s_end = s_off[i + 1] - 1
        if cl_kind[i] == REFERRAL:
            people[end] = cl_provider[i]
            people[end - 1] = cl_broker[i]
            strengths[s_end] = cl_w_referral[i]
            strengths[s_end - 1] = cl_w_arrival[i]
            pos = end - 2
            s_pos = s_end - 2
        else:
            people[end] = cl_provider[i]
            strengths[s_end] = cl_w_arrival[i]
            pos = end - 1
            s_pos = s_end - 1
        t = cl_via[i]
        while t >= 0:
            people[pos] = tr_person[t]
            pos -= 1
            if tr_parent[t] >= 0:
                strengths[s_pos] = tr_w[t]
                s_pos -= 1
            t = tr_parent[t]
    return offsets, people, s_off, strengths


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
def cascade_spread(sources, row_start, row_len, nbr, nbr_edge, excess, excess_sum, scale, floor,
                   topic, budget, transmissibility, rng_att, rng_resp):
    """Cascade mode through the model's own kernel: one need per source, run to the end.

    Each cascade is a need posted by ``sources[c]`` that :func:`spread_day`
    moves with attention fixed at ``transmissibility``, everyone passing it on,
    no matching and no hop limit, until nobody holds it: exactly the
    independent-cascade model (bond percolation).

    Returns:
        ``(reach, depth, edge_checks)`` per cascade; reach counts the source.
    """
    n = row_len.shape[0]
    m = sources.shape[0]
    reach = np.zeros(m, np.int64)
    depth = np.zeros(m, np.int32)
    checks = np.zeros(m, np.int64)
    need_seeker = sources.astype(np.int32)
    need_topic = np.full(m, -1, np.int32)
    need_posted = np.zeros(m, np.int32)
    need_root = np.zeros(m, np.int64)
    need_seen = np.zeros(m, np.int32)
    need_head = np.full(m, -1, np.int64)
    need_tail = np.full(m, -1, np.int64)
    tr_person = np.empty(n + 1, np.int32)
    tr_parent = np.empty(n + 1, np.int64)
    tr_hop = np.empty(n + 1, np.int32)
    tr_w = np.empty(n + 1, np.float64)
    pool = np.empty(n + 1, np.int32)
    ch_start = np.empty(n + 2, np.int64)
    ch_len = np.empty(n + 2, np.int32)
    ch_next = np.empty(n + 2, np.int64)
    stamp = np.full(n, -1, np.int32)  # cascade ids fit; half the cache footprint of int64
    owner = np.full(1, -1, np.int64)
    carried = np.zeros(1, np.int32)  # unused: nobody's passes are counted in a pure cascade
    seen_person = np.empty(nbr.shape[0] + 1, np.int32)
    seen_slot = np.empty(nbr.shape[0] + 1, np.int64)
    seen_trail = np.empty(nbr.shape[0] + 1, np.int64)
    buf_need = np.empty((2, n + 1), np.int64)
    buf_trail = np.empty((2, n + 1), np.int64)
    cl_i = np.empty(1, np.int64)
    cl_k = np.empty(1, np.int8)
    cl_p = np.empty(1, np.int32)
    cl_w = np.empty(1, np.float64)
    counters = np.zeros(7, np.int64)
    active = np.empty(1, np.int64)
    for c in range(m):
        active[0] = c
        tr_person[0] = sources[c]
        tr_parent[0] = -1
        tr_hop[0] = 0
        tr_w[0] = 1.0
        pool[0] = sources[c]
        ch_start[0] = 0
        ch_len[0] = 1
        ch_next[0] = -1
        need_head[c] = 0
        need_tail[c] = 0
        counters[:] = 0
        counters[C_TRAIL] = 1
        counters[C_POOL] = 1
        counters[C_CHUNKS] = 1
        n_front = 0
        side = 0
        day = 0
        while day == 0 or n_front > 0:
            counters[C_NEXT] = 0
            spread_day(day, active, buf_need[side, :n_front], buf_trail[side, :n_front],
                       row_start, row_len, nbr, nbr_edge, excess, excess_sum, scale, floor,
                       topic, budget,
                       need_seeker, need_topic, need_posted, need_root, need_seen, need_head,
                       need_tail, tr_person, tr_parent, tr_hop, tr_w,
                       pool, ch_start, ch_len, ch_next, stamp, owner, carried,
                       transmissibility, -1.0, 0.0, 0.0, 1 << 30, False, False, False,
                       rng_att, rng_resp,
                       buf_need[1 - side], buf_trail[1 - side], seen_person, seen_slot,
                       seen_trail, cl_i, cl_k, cl_p, cl_p, cl_i, cl_w, cl_w, cl_p, counters)
            n_front = counters[C_NEXT]
            side = 1 - side
            day += 1
        reach[c] = need_seen[c] + 1
        depth[c] = tr_hop[counters[C_TRAIL] - 1]
        checks[c] = counters[C_MESSAGES]
    return reach, depth, checks
