"""The simulation state and its daily step (arrays only; no Mesa, no Hydra).

:class:`World` holds everything as numpy arrays: people, ties, open needs and
where each need has been. :meth:`World.step` runs one day of ``DESIGN.md`` §3:

1. needs arise (a Bernoulli process per person, drawn as geometric gaps, so the
   cost follows the number of needs, not people);
2. every open need moves one hop (``sim.kernels.spread_day``): offers,
   attention, direct matches, referrals, passing on;
3. closures are applied (status, then tie changes, in need order);
4. needs past their lifetime expire;
5. meetups strengthen and create ties inside communities;
6. every tie decays toward the floor.

Within a day everything is computed from the start-of-day tie strengths and
applied afterwards, in a fixed order (closures by need id, then meetups by
community id), so results do not depend on iteration accidents.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim import kernels
from sim.config import Config, KnockoutConfig
from sim.measures import classify_people, valuable_threshold
from sim.network import RawGraph
from sim.rng import stream
from sim.ties import TieState, initial_strengths

OPEN, CLOSED, EXPIRED = 0, 1, 2
#: Names of the need status codes, indexed by code (the ``status`` column of ``needs``).
STATUS_NAMES = ("open", "closed", "expired")


class Buffer:
    """A growable typed array: ``data[:n]`` is in use."""

    def __init__(self, dtype: type, capacity: int = 1024, fill: int | float = 0) -> None:
        self.data = np.full(capacity, fill, dtype)
        self.fill = fill
        self.n = 0

    def reserve(self, extra: int) -> np.ndarray:
        """Make room for ``extra`` more items; return the (possibly new) array."""
        need = self.n + extra
        if need > self.data.shape[0]:
            new = np.full(max(need, 2 * self.data.shape[0]), self.fill, self.data.dtype)
            new[: self.n] = self.data[: self.n]
            self.data = new
        return self.data

    def append(self, values: np.ndarray) -> None:
        """Append ``values`` at the end."""
        self.reserve(values.shape[0])
        self.data[self.n : self.n + values.shape[0]] = values
        self.n += values.shape[0]

    def view(self) -> np.ndarray:
        """The used part."""
        return self.data[: self.n]


@njit(cache=True)
def _bernoulli_positions(n, p, gaps):
    """Positions < n of a Bernoulli(p) process given geometric gaps (1-based)."""
    out = np.empty(gaps.shape[0], np.int64)
    pos = -1
    m = 0
    for g in gaps:
        pos += g
        if pos >= n:
            break
        out[m] = pos
        m += 1
    return out[:m], pos >= n


def bernoulli_indices(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    """Indices ``i < n`` each kept independently with probability ``p`` (sorted).

    Draws geometric gaps, so the cost is proportional to the number kept.
    """
    if p <= 0.0 or n == 0:
        return np.empty(0, np.int64)
    if p >= 1.0:
        return np.arange(n, dtype=np.int64)
    chunks = []
    start = 0
    while True:
        size = int(max(16, (n - start) * p * 1.2 + 10 * np.sqrt((n - start) * p + 1)))
        gaps = rng.geometric(p, size=size)
        pos, done = _bernoulli_positions(n - start, p, gaps)
        chunks.append(pos + start)
        if done:
            break
        start += int(gaps.sum())
    return np.concatenate(chunks)


@njit(cache=True)
def _apply_closures(seekers, providers, brokers, vias, tr_parent, tr_person, gain_closure,
                    gain_broker, row_start, row_len, nbr, nbr_edge, eu, ev, excess,
                    excess_sum, scale, floor, new_a, new_b):
    """Strengthen the ties closures use; list the seeker-provider ties to create.

    Returns:
        Number of new pairs written to ``new_a``/``new_b`` and a bool per
        closure: whether it creates the seeker-provider tie.
    """
    m = seekers.shape[0]
    creates = np.zeros(m, np.bool_)
    n_new = 0
    for i in range(m):
        s, p, b = seekers[i], providers[i], brokers[i]
        e = kernels.find_tie(s, p, row_start, row_len, nbr, nbr_edge)
        if e >= 0:
            w = floor + scale * excess[e]
            kernels.set_strength(e, w + gain_closure * (1.0 - w), eu, ev, excess, excess_sum,
                                 scale, floor)
        else:
            dup = False
            for q in range(n_new):
                if new_a[q] == min(s, p) and new_b[q] == max(s, p):
                    dup = True
            if not dup:
                new_a[n_new] = min(s, p)
                new_b[n_new] = max(s, p)
                n_new += 1
                creates[i] = True
        if b >= 0:
            # The broker's tie to the provider and the tie over which they got the need.
            prev = tr_person[vias[i]]
            for other in (p, prev):
                e = kernels.find_tie(b, other, row_start, row_len, nbr, nbr_edge)
                if e >= 0:
                    w = floor + scale * excess[e]
                    kernels.set_strength(e, w + gain_broker * (1.0 - w), eu, ev, excess,
                                         excess_sum, scale, floor)
    return n_new, creates


@njit(cache=True)
def _meetups(meeting, comm_ptr, comm_members, attend_prob, max_attendees, gain, new_tie_prob,
             row_start, row_len, nbr, nbr_edge, eu, ev, excess, excess_sum, scale, floor, rng,
             new_a, new_b):
    """Hold the meetups of communities ``meeting``: strengthen and create ties.

    Returns:
        Number of new pairs written to ``new_a``/``new_b``.
    """
    n_new = 0
    att = np.empty(max_attendees, np.int32)
    for c in meeting:
        # Members answer the invitation in a random cyclic order, so the size cap
        # does not favour low person ids.
        lo, size = comm_ptr[c], comm_ptr[c + 1] - comm_ptr[c]
        offset = rng.integers(0, size)
        m = 0
        for r in range(size):
            if m >= max_attendees:
                break
            if rng.random() < attend_prob:
                att[m] = comm_members[lo + (offset + r) % size]
                m += 1
        for x in range(m):
            for y in range(x + 1, m):
                a, b = att[x], att[y]
                e = kernels.find_tie(a, b, row_start, row_len, nbr, nbr_edge)
                if e >= 0:
                    w = floor + scale * excess[e]
                    kernels.set_strength(e, w + gain * (1.0 - w), eu, ev, excess, excess_sum,
                                         scale, floor)
                elif rng.random() < new_tie_prob:
                    new_a[n_new] = min(a, b)
                    new_b[n_new] = max(a, b)
                    n_new += 1
    return n_new


def knockout_set(audience: np.ndarray, cfg: KnockoutConfig, large_fraction: float,
                 rng: np.random.Generator) -> np.ndarray:
    """Who a counterfactual removes (bool per person); see :class:`KnockoutConfig`."""
    n = audience.shape[0]
    removed = np.zeros(n, bool)
    if cfg.target == "none" or cfg.k == 0:
        return removed
    is_large, _ = classify_people(audience, large_fraction)
    by_size = np.lexsort((np.arange(n), -audience.astype(np.int64)))  # largest first
    k = min(cfg.k, n - 1)
    if cfg.target == "large":
        removed[by_size[:k]] = True
        return removed
    small = rng.permutation(np.flatnonzero(~is_large))
    if cfg.target == "small_random":
        removed[small[:k]] = True
    else:  # small_audience: as much audience as the k largest, from random small people
        target = int(audience[by_size[:k]].sum())
        reached = np.searchsorted(np.cumsum(audience[small]), target)
        removed[small[: min(reached + 1, small.shape[0])]] = True
    return removed


class World:
    """People, ties and needs of one run, advanced a day at a time.

    Args:
        config: A validated :class:`sim.config.Config`.
        graph: The network (from :func:`sim.network.generate`).
    """

    def __init__(self, config: Config, graph: RawGraph) -> None:
        self.config = config
        seed = config.seed
        self.n = n = graph.n
        self.graph = graph
        self.rng_people = stream(seed, "people")
        self.rng_needs = stream(seed, "needs")
        self.rng_attention = stream(seed, "attention")
        self.rng_response = stream(seed, "response")
        self.rng_meetups = stream(seed, "meetups")
        tc = config.ties
        w0 = initial_strengths(n, graph.u, graph.v, tc, stream(seed, "strengths"))
        #: Audience in the network as generated (before any knockout): the
        #: basis of the small / large classes.
        self.audience = (np.bincount(graph.u, minlength=n)
                         + np.bincount(graph.v, minlength=n)).astype(np.int32)
        self.removed = knockout_set(self.audience, config.knockout, config.measures.large_fraction,
                                    stream(seed, "knockout"))
        keep = ~(self.removed[graph.u] | self.removed[graph.v])
        self.ties = TieState.build(n, graph.u[keep], graph.v[keep], w0[keep], tc.floor)
        self.initial_strength = w0[keep]
        self.n_ties = int(graph.u.shape[0])
        self.community = graph.community.astype(np.int32)
        self.n_communities = int(self.community.max()) + 1 if n else 0
        self._assign_people()
        order = np.argsort(self.community, kind="stable").astype(np.int32)
        self.comm_ptr = np.zeros(self.n_communities + 1, np.int64)
        np.cumsum(np.bincount(self.community, minlength=self.n_communities),
                  out=self.comm_ptr[1:])
        self.comm_members = order
        # Needs.
        self.need_seeker = Buffer(np.int32)
        self.need_topic = Buffer(np.int32)
        self.need_value = Buffer(np.float64)
        self.need_posted = Buffer(np.int32)
        self.need_status = Buffer(np.int8)
        self.need_closed_day = Buffer(np.int32, fill=-1)
        self.need_root = Buffer(np.int64)
        self.need_seen = Buffer(np.int32)
        self.need_head = Buffer(np.int64, fill=-1)
        self.need_tail = Buffer(np.int64, fill=-1)
        self.active = np.empty(0, np.int64)
        self.frontier_need = np.empty(0, np.int64)
        self.frontier_trail = np.empty(0, np.int64)
        # Where needs travelled: trail entries (holders) and handled-sets (chunks of pool).
        self.tr_person = Buffer(np.int32)
        self.tr_parent = Buffer(np.int64, fill=-1)
        self.tr_hop = Buffer(np.int32)
        self.tr_w = Buffer(np.float64)
        self.pool = Buffer(np.int32)
        self.ch_start = Buffer(np.int64)
        self.ch_len = Buffer(np.int32)
        self.ch_next = Buffer(np.int64, fill=-1)
        self.stamp = np.full(n, -1, np.int64)
        self.owner = np.full(1, -1, np.int64)
        self.carried = np.zeros(n, np.int32)
        self.counters = np.zeros(7, np.int64)
        # Logs.
        self.closure_log: list[dict[str, np.ndarray]] = []
        self.daily: list[tuple] = []
        self.day = 0
        self.posted_today = 0
        #: Value at or above which a need is valuable (fixed by the measures config).
        self.valuable_threshold = valuable_threshold(
            config.needs.value_log_mean, config.needs.value_log_sd,
            config.measures.valuable_quantile)
        self.topic_share = np.bincount(self.topic, minlength=config.people.n_topics) / n

    # --- set-up ------------------------------------------------------------------
    def _assign_people(self) -> None:
        """Topics (community home topics or population mix) and attention budgets."""
        pc = self.config.people
        rng = self.rng_people
        k = pc.n_topics
        popularity = 1.0 / np.arange(1, k + 1) ** pc.topic_zipf
        popularity /= popularity.sum()
        # Shuffle which topic id is popular so topic 0 is not always the commonest.
        popularity = popularity[rng.permutation(k)]
        n_home = min(pc.home_topics, k)
        home = np.stack([rng.choice(k, n_home, replace=False, p=popularity)
                         for _ in range(self.n_communities)]) if self.n_communities else None
        from_home = rng.random(self.n) < pc.topic_homophily
        global_pick = rng.choice(k, size=self.n, p=popularity)
        home_pick = home[self.community, rng.integers(0, n_home, self.n)]
        self.topic = np.where(from_home, home_pick, global_pick).astype(np.int32)
        budget = rng.lognormal(0.0, pc.budget_sigma, self.n)
        budget *= pc.budget_mean / np.exp(pc.budget_sigma**2 / 2)  # mean budget_mean
        if pc.budget_audience_exponent:
            aud = np.maximum(self.audience, 1).astype(np.float64)
            factor = aud**pc.budget_audience_exponent
            budget *= factor / factor.mean()
        self.budget = budget

    # --- following one need (teaching, animation) ----------------------------------
    def handled_by(self, need: int) -> list[int]:
        """Everybody who has handled open need ``need``: its seeker, then all who saw it.

        In the order they saw it. Valid for open needs and for needs that ended
        since the last compaction of handled-sets (which keeps open needs only).
        """
        out: list[int] = []
        c = int(self.need_head.data[need])
        while c >= 0:
            start = int(self.ch_start.data[c])
            out.extend(int(p) for p in self.pool.data[start : start + self.ch_len.data[c]])
            c = int(self.ch_next.data[c])
        return out

    def holders(self, need: int) -> list[tuple[int, int]]:
        """``(person, got_it_from)`` for everybody who will show ``need`` tomorrow."""
        sel = self.frontier_need == need
        trails = self.frontier_trail[sel]
        people = self.tr_person.data[trails]
        parents = self.tr_person.data[self.tr_parent.data[trails]]
        return [(int(p), int(q)) for p, q in zip(people, parents, strict=True)]

    # --- one day -----------------------------------------------------------------
    def step(self) -> None:
        """Advance the world by one day."""
        d = self.day
        cfg = self.config
        self._post_needs(d)
        posted, self.posted_today = self.posted_today, 0
        self.counters[kernels.C_MESSAGES] = 0
        self.counters[kernels.C_VIEWS] = 0
        closed = self._spread(d, fixed_t=-1.0, pass_base=cfg.response.pass_base,
                              hop_limit=cfg.response.hop_limit, matching=True,
                              seeker_reposts=cfg.needs.seeker_reposts)
        new_ties = self._apply_closures(d, closed)
        expired = self._expire(d)
        meetups, meet_ties = self._meetups()
        self.ties.decay(cfg.ties.decay_per_day)
        n_closed = closed["need"].shape[0]
        n_ref = int((closed["kind"] == kernels.REFERRAL).sum())
        valuable = int((self.need_value.data[closed["need"]] >= self.valuable_threshold).sum())
        self.daily.append((
            d, posted, self.active.shape[0], n_closed, n_closed - n_ref, n_ref, valuable,
            expired, int(self.counters[kernels.C_MESSAGES]), int(self.counters[kernels.C_VIEWS]),
            new_ties + meet_ties, meetups, self.ties.mean_strength(),
        ))
        self.day += 1

    def _post_needs(self, d: int) -> int:
        nc = self.config.needs
        rng = self.rng_needs
        seekers = bernoulli_indices(rng, self.n, nc.rate).astype(np.int32)
        m = seekers.shape[0]
        if m == 0:
            return 0
        k = self.config.people.n_topics
        if k > 1:
            t = rng.integers(0, k - 1, m).astype(np.int32)
            t += t >= self.topic[seekers]  # any topic but the seeker's own
        else:
            t = np.zeros(m, np.int32)
        value = rng.lognormal(nc.value_log_mean, nc.value_log_sd, m)
        if nc.value_grows_with_rarity:
            value *= self.rarity_multiplier(t)
        # Removed people's needs are drawn and dropped, so the streams stay aligned
        # with the run without knockout (common random numbers).
        present = ~self.removed[seekers]
        self.post_needs(seekers[present], t[present], value[present])
        return m

    def rarity_multiplier(self, topics: np.ndarray) -> np.ndarray:
        """Value multiplier ``(1/K / share_t) ** rarity_exponent`` of each topic."""
        k = self.config.people.n_topics
        share = np.maximum(self.topic_share[topics], 1.0 / self.n)
        return (1.0 / k / share) ** self.config.needs.rarity_exponent

    def post_needs(self, seekers: np.ndarray, topics: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Open needs posted today by ``seekers`` (for teaching and tests too).

        Args:
            seekers: Person ids.
            topics: Topic of each need.
            values: Value of each need.

        Returns:
            The new need ids (int64).
        """
        seekers = np.asarray(seekers, np.int32)
        m = seekers.shape[0]
        d = self.day
        self.posted_today += m
        first = self.need_seeker.n
        ids = np.arange(first, first + m, dtype=np.int64)
        self.need_seeker.append(seekers)
        self.need_topic.append(np.asarray(topics, np.int32))
        self.need_value.append(np.asarray(values, np.float64))
        self.need_posted.append(np.full(m, d, np.int32))
        self.need_status.append(np.zeros(m, np.int8))
        self.need_closed_day.append(np.full(m, -1, np.int32))
        self.need_seen.append(np.zeros(m, np.int32))
        # The seeker starts each need's trail and its handled-set.
        roots = np.arange(self.tr_person.n, self.tr_person.n + m, dtype=np.int64)
        self.tr_person.append(seekers)
        self.tr_parent.append(np.full(m, -1, np.int64))
        self.tr_hop.append(np.zeros(m, np.int32))
        self.tr_w.append(np.ones(m))
        self.need_root.append(roots)
        chunks = np.arange(self.ch_start.n, self.ch_start.n + m, dtype=np.int64)
        self.ch_start.append(np.arange(self.pool.n, self.pool.n + m, dtype=np.int64))
        self.ch_len.append(np.ones(m, np.int32))
        self.ch_next.append(np.full(m, -1, np.int64))
        self.pool.append(seekers)
        self.need_head.append(chunks)
        self.need_tail.append(chunks)
        self.active = np.concatenate([self.active, ids])
        return ids

    def _spread(self, d: int, fixed_t: float, pass_base: float, hop_limit: int, matching: bool,
                seeker_reposts: bool) -> dict[str, np.ndarray]:
        """Run the propagation kernel for day ``d``; return the day's closures."""
        rc = self.config.response
        t = self.ties
        bound = int(kernels.holder_messages(
            self.active, self.frontier_need, self.frontier_trail, self.need_seeker.data,
            self.need_posted.data, self.tr_person.data, t.row_len, d, seeker_reposts))
        n_act = self.active.shape[0]
        for buf in (self.tr_person, self.tr_parent, self.tr_hop, self.tr_w, self.pool):
            buf.reserve(bound)
        for buf in (self.ch_start, self.ch_len, self.ch_next):
            buf.reserve(n_act)
        c = self.counters
        c[kernels.C_TRAIL] = self.tr_person.n
        c[kernels.C_POOL] = self.pool.n
        c[kernels.C_CHUNKS] = self.ch_start.n
        c[kernels.C_NEXT] = 0
        c[kernels.C_CLOSURES] = 0
        out_need = np.empty(bound, np.int64)
        out_trail = np.empty(bound, np.int64)
        cl = {
            "need": np.empty(n_act, np.int64), "kind": np.empty(n_act, np.int8),
            "provider": np.empty(n_act, np.int32), "broker": np.empty(n_act, np.int32),
            "via": np.empty(n_act, np.int64), "w_arrival": np.empty(n_act),
            "w_referral": np.empty(n_act), "hops": np.empty(n_act, np.int32),
        }
        kernels.spread_day(
            d, self.active, self.frontier_need, self.frontier_trail,
            t.row_start, t.row_len, t.nbr, t.nbr_edge, t.excess, t.excess_sum, t.scale, t.floor,
            self.topic, self.budget,
            self.need_seeker.data, self.need_topic.data, self.need_posted.data,
            self.need_root.data, self.need_seen.data, self.need_head.data, self.need_tail.data,
            self.tr_person.data, self.tr_parent.data, self.tr_hop.data, self.tr_w.data,
            self.pool.data, self.ch_start.data, self.ch_len.data, self.ch_next.data,
            self.stamp, self.owner, self.carried,
            fixed_t, pass_base, rc.pass_strength, rc.know_scale, hop_limit,
            matching, rc.referrals, seeker_reposts,
            self.rng_attention, self.rng_response,
            out_need, out_trail, np.empty(bound, np.int32), np.empty(bound, np.int64),
            np.empty(bound, np.int64),
            cl["need"], cl["kind"], cl["provider"], cl["broker"], cl["via"], cl["w_arrival"],
            cl["w_referral"], cl["hops"], c,
        )
        for buf in (self.tr_person, self.tr_parent, self.tr_hop, self.tr_w):
            buf.n = int(c[kernels.C_TRAIL])
        self.pool.n = int(c[kernels.C_POOL])
        for buf in (self.ch_start, self.ch_len, self.ch_next):
            buf.n = int(c[kernels.C_CHUNKS])
        self.frontier_need = out_need[: c[kernels.C_NEXT]]
        self.frontier_trail = out_trail[: c[kernels.C_NEXT]]
        k = int(c[kernels.C_CLOSURES])
        return {key: value[:k] for key, value in cl.items()}

    def _apply_closures(self, d: int, closed: dict[str, np.ndarray]) -> int:
        """Mark closed needs, log them with provenance, and change the ties they used."""
        ids = closed["need"]
        if ids.shape[0] == 0:
            return 0
        self.need_status.data[ids] = CLOSED
        self.need_closed_day.data[ids] = d
        self.active = self.active[self.need_status.data[self.active] == OPEN]
        t = self.ties
        tc = self.config.ties
        seekers = self.need_seeker.data[ids]
        offsets, people, s_off, strengths = kernels.closure_paths(
            closed["via"], closed["kind"], closed["provider"], closed["broker"],
            closed["w_arrival"], closed["w_referral"], self.tr_person.data, self.tr_parent.data,
            self.tr_w.data)
        new_a = np.empty(ids.shape[0], np.int32)
        new_b = np.empty(ids.shape[0], np.int32)
        n_new, creates = _apply_closures(
            seekers, closed["provider"], closed["broker"], closed["via"], self.tr_parent.data,
            self.tr_person.data, tc.closure_gain, tc.broker_gain,
            t.row_start, t.row_len, t.nbr, t.nbr_edge, t.eu, t.ev, t.excess, t.excess_sum,
            t.scale, t.floor, new_a, new_b)
        created = t.add_ties(new_a[:n_new], new_b[:n_new],
                             np.full(n_new, tc.new_tie_strength), np.full(n_new, tc.closure_gain))
        self.closure_log.append({
            **closed, "day": np.full(ids.shape[0], d, np.int32), "seeker": seekers,
            "new_tie": creates, "path_offsets": offsets, "path": people,
            "strength_offsets": s_off, "strengths": strengths,
        })
        return created

    def _expire(self, d: int) -> int:
        """Expire needs whose last day was ``d``; drop holders of ended needs."""
        life = self.config.needs.lifetime_days
        act = self.active
        ending = self.need_posted.data[act] + life - 1 <= d
        n_exp = int(ending.sum())
        if n_exp:
            self.need_status.data[act[ending]] = EXPIRED
            self.active = act[~ending]
        if self.frontier_need.shape[0]:
            keep = self.need_status.data[self.frontier_need] == OPEN
            self.frontier_need = self.frontier_need[keep]
            self.frontier_trail = self.frontier_trail[keep]
        self._maybe_compact()
        return n_exp

    def _maybe_compact(self) -> None:
        """Drop the handled-sets of ended needs once they dominate the pool."""
        if self.pool.n < 1_000_000 or self.pool.n < 4 * (self.need_seen.view()[self.active].sum()
                                                          + self.active.shape[0]):
            return
        pool, start, length, nxt, n_pool, n_chunks = kernels.compact_pool(
            self.active, self.need_head.data, self.need_tail.data, self.pool.data,
            self.ch_start.data, self.ch_len.data, self.ch_next.data)
        for buf, arr, count in ((self.pool, pool, n_pool), (self.ch_start, start, n_chunks),
                                (self.ch_len, length, n_chunks), (self.ch_next, nxt, n_chunks)):
            buf.data, buf.n = arr, int(count)

    def _meetups(self) -> tuple[int, int]:
        """Hold today's community meetups; return (meetups, ties created)."""
        mc = self.config.meetups
        if mc.rate <= 0 or self.n_communities == 0:
            return 0, 0
        meeting = bernoulli_indices(self.rng_meetups, self.n_communities, mc.rate)
        if meeting.shape[0] == 0:
            return 0, 0
        t = self.ties
        cap = meeting.shape[0] * mc.max_attendees * (mc.max_attendees - 1) // 2
        new_a = np.empty(cap, np.int32)
        new_b = np.empty(cap, np.int32)
        n_new = _meetups(meeting, self.comm_ptr, self.comm_members, mc.attend_prob,
                         mc.max_attendees, mc.gain, mc.new_tie_prob, t.row_start, t.row_len,
                         t.nbr, t.nbr_edge, t.eu, t.ev, t.excess, t.excess_sum, t.scale, t.floor,
                         self.rng_meetups, new_a, new_b)
        tc = self.config.ties
        created = t.add_ties(new_a[:n_new], new_b[:n_new], np.full(n_new, tc.new_tie_strength),
                             np.full(n_new, mc.gain))
        return int(meeting.shape[0]), created
