"""The simulation state and its daily step (arrays only; no Mesa, no Hydra).

:class:`World` holds everything as numpy arrays grouped in the typed
structures of :mod:`sim.state`: ``people``, ``ties`` (:class:`sim.ties.TieState`),
``needs``, ``trails`` (where each need has been) and the handled-sets.
:meth:`World.step` runs one day (``docs/model.md`` §3):

1. needs arise (a Bernoulli process per person, drawn as geometric gaps, so the
   cost follows the number of needs, not people);
2. every open need moves one hop (:func:`sim.kernels.spread_day`: offer, view,
   respond, close);
3. closures are applied (status, then tie changes, in need order);
4. needs past their lifetime expire;
5. meetups strengthen and create ties inside communities;
6. every tie decays toward the floor.

Within a day everything is computed from the start-of-day tie strengths and
applied afterwards, in a fixed order (closures by need id, then meetups by
community id), so results do not depend on iteration accidents. Each day adds
a :class:`sim.records.DayStats` to ``World.daily`` and its closures to
``World.closures``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim import kernels
from sim.config import Config, KnockoutConfig
from sim.measures import classify_people, expected_value_mixture, valuable_threshold
from sim.network import RawGraph
from sim.records import ClosureLog, ClosureTable, DayStats
from sim.rng import stream
from sim.state import (
    Closing,
    Handled,
    Holders,
    Needs,
    People,
    Ties,
    Trails,
    empty_closing,
    empty_scratch,
)
from sim.ties import TieState, graph_strengths

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


class Columns:
    """Growable columns that grow together: one :class:`Buffer` per field.

    ``columns.seeker`` is the :class:`Buffer` of field ``seeker``;
    :meth:`arrays` gives the kernels' view, the ``record`` named tuple of the
    buffers' arrays (valid until the next growth).

    Args:
        record: The named tuple type of :meth:`arrays` (fields in order), or
            ``None`` for columns the kernels get another way.
        specs: ``name=(dtype, fill)`` per field, in the record's order.
    """

    def __init__(self, record: type | None, **specs: tuple[type, int | float]) -> None:
        if record is not None and tuple(specs) != record._fields:
            raise ValueError(f"columns {tuple(specs)} do not match {record.__name__}")
        self._record = record
        self._buffers = tuple(Buffer(dtype, fill=fill) for dtype, fill in specs.values())
        for name, buf in zip(specs, self._buffers, strict=True):
            setattr(self, name, buf)
        self.n = 0

    def set_count(self, n: int) -> None:
        """Set the rows in use (after a kernel filled reserved rows)."""
        self.n = int(n)
        for buf in self._buffers:
            buf.n = self.n

    def reserve(self, extra: int) -> None:
        """Make room for ``extra`` more rows in every column."""
        for buf in self._buffers:
            buf.reserve(extra)

    def append(self, *values: np.ndarray) -> None:
        """Append one array per column, in field order (all the same length)."""
        for buf, value in zip(self._buffers, values, strict=True):
            buf.append(value)
        self.n = self._buffers[0].n

    def replace(self, arrays: tuple[np.ndarray, ...], n: int) -> None:
        """Take new arrays (one per column, in field order) with ``n`` rows in use."""
        for buf, arr in zip(self._buffers, arrays, strict=True):
            buf.data = arr
        self.set_count(n)

    def arrays(self) -> tuple:
        """The kernels' view: the record of every column's array (room included)."""
        return self._record._make([buf.data for buf in self._buffers])


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
def _strengthen_used_ties(closing, seekers, trails, ties, gain_closure, gain_broker, new_a, new_b):
    """Strengthen the ties closures use; list the seeker-provider ties to create.

    A closure moves the seeker-provider tie ``gain_closure`` of the way to 1
    (or asks for it to be created); a referral also moves the broker's ties to
    the provider and to the seeker (where they have one: a broker several
    hops out has none) ``gain_broker`` of the way (design brief, ../shared/DESIGN.md §3.4).

    Returns:
        Number of new pairs written to ``new_a``/``new_b`` and a bool per
        closure: whether it creates the seeker-provider tie.
    """
    closing, trails, ties = Closing(*closing), Trails(*trails), Ties(*ties)
    m = seekers.shape[0]
    creates = np.zeros(m, np.bool_)
    n_new = 0
    for i in range(m):
        s, p, b = seekers[i], closing.provider[i], closing.broker[i]
        e = kernels.find_tie(ties, s, p)
        if e >= 0:
            kernels.strengthen(ties, e, gain_closure)
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
            # The broker's ties to the provider and to the seeker.
            for other in (p, s):
                e = kernels.find_tie(ties, b, other)
                if e >= 0:
                    kernels.strengthen(ties, e, gain_broker)
    return n_new, creates


@njit(cache=True)
def _meetups(meeting, comm_ptr, comm_members, attend_prob, max_attendees, gain, new_tie_prob,
             ties, rng, new_a, new_b):
    """Hold the meetups of communities ``meeting``: strengthen and create ties.

    Returns:
        Number of new pairs written to ``new_a``/``new_b``.
    """
    ties = Ties(*ties)
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
                e = kernels.find_tie(ties, a, b)
                if e >= 0:
                    kernels.strengthen(ties, e, gain)
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


def _kept(values: np.ndarray | None, keep: np.ndarray) -> np.ndarray | None:
    return None if values is None else values[keep]


@njit(cache=True)
def _chain_trust(closing, trails, ties, trust_uv, trust_vu):
    """Trust along each referral: sender in broker, broker in provider.

    A tie's trust from ``a`` in ``b`` is ``a``'s rating of ``b`` when rated
    (clipped at 0), else the tie's strength (on the closing day, as recorded
    in ``closing``). Direct closures get 1.0 twice.

    Returns:
        ``(tau_sb, tau_bp)`` per closure.
    """
    closing, trails, ties = Closing(*closing), Trails(*trails), Ties(*ties)
    m = closing.need.shape[0]
    tau_sb = np.ones(m)
    tau_bp = np.ones(m)
    for i in range(m):
        b = closing.broker[i]
        if b < 0:
            continue
        tau_sb[i] = closing.w_arrival[i]
        tau_bp[i] = closing.w_referral[i]
        sender = trails.person[closing.via[i]]
        for q in range(2):
            a, c = (sender, b) if q == 0 else (b, closing.provider[i])
            e = kernels.find_tie(ties, a, c)
            if e < 0:
                continue
            rated = trust_uv[e] if a == ties.eu[e] else trust_vu[e]
            if rated == rated:  # not NaN
                if q == 0:
                    tau_sb[i] = max(rated, 0.0)
                else:
                    tau_bp[i] = max(rated, 0.0)
    return tau_sb, tau_bp


class World:
    """People, ties and needs of one run, advanced a day at a time.

    Attributes:
        people: Per-person arrays (:class:`sim.state.People`; ``topic``,
            ``budget``, ``community``, ``audience`` and ``carried`` also read
            as attributes of the world).
        ties: The tie store (:class:`sim.ties.TieState`).
        needs: One row per need (:class:`Columns` of :class:`sim.state.Needs`).
        trails: One row per holder of a need (:class:`Columns` of
            :class:`sim.state.Trails`).
        pool, chunks, stamp, owner: The handled-sets (:class:`sim.state.Handled`).
        active: Open needs (int64, ascending).
        frontier_need, frontier_trail: Who passed which need on today (shows
            it tomorrow): need id and trail row.
        daily: One :class:`sim.records.DayStats` per day simulated.
        closures: Every closure so far (:class:`sim.records.ClosureLog`).

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
        w0 = graph_strengths(graph, tc, stream(seed, "strengths"))
        # Audience in the network as generated (before any knockout): the basis
        # of the small / large classes. On a directed network, the followers.
        audience = graph.followers().astype(np.int32)
        self.removed = knockout_set(audience, config.knockout, config.measures.large_fraction,
                                    stream(seed, "knockout"))
        keep = ~(self.removed[graph.u] | self.removed[graph.v])
        ratings = config.trust.enabled and config.trust.use_ratings
        self.ties = TieState.build(
            n, graph.u[keep], graph.v[keep], w0[keep], tc.floor,
            *((graph.u_follows_v[keep], graph.v_follows_u[keep]) if graph.directed
              else (None, None)),
            *((_kept(graph.trust_uv, keep), _kept(graph.trust_vu, keep)) if ratings
              else (None, None)))
        self.initial_strength = w0[keep]
        self.n_ties = int(graph.u.shape[0])
        community = graph.community.astype(np.int32)
        self.n_communities = int(community.max()) + 1 if n else 0
        topic, budget = self._assign_people(community, audience)
        self.people = People(topic, budget, community, audience, np.zeros(n, np.int32))
        order = np.argsort(community, kind="stable").astype(np.int32)
        self.comm_ptr = np.zeros(self.n_communities + 1, np.int64)
        np.cumsum(np.bincount(community, minlength=self.n_communities), out=self.comm_ptr[1:])
        self.comm_members = order
        self.needs = Columns(
            Needs, seeker=(np.int32, 0), topic=(np.int32, 0), value=(np.float64, 0),
            posted=(np.int32, 0), status=(np.int8, 0), closed_day=(np.int32, -1),
            root=(np.int64, 0), seen=(np.int32, 0), head=(np.int64, -1), tail=(np.int64, -1))
        self.active = np.empty(0, np.int64)
        self.frontier_need = np.empty(0, np.int64)
        self.frontier_trail = np.empty(0, np.int64)
        self.trails = Columns(Trails, person=(np.int32, 0), parent=(np.int64, -1),
                              hop=(np.int32, 0), w=(np.float64, 0))
        self.pool = Buffer(np.int32)
        self.chunks = Columns(None, start=(np.int64, 0), length=(np.int32, 0),
                              next=(np.int64, -1))
        self.stamp = np.full(n, -1, np.int64)
        self.owner = np.full(1, -1, np.int64)
        self.counters = np.zeros(kernels.N_COUNTERS, np.int64)
        rc = config.response
        #: The day's decision parameters (referral mode: attention budgets, matching).
        self.rules = kernels.make_rules(-1.0, rc.pass_base, rc.pass_strength, rc.know_scale,
                                        rc.hop_limit, True, rc.referrals,
                                        config.needs.seeker_reposts, self.ties.directed,
                                        config.trust.enabled and self.ties.has_distrust(),
                                        rc.know == "attention")
        #: Track record of each broker: accepted engagements that worked / failed.
        self.worked = np.zeros(n, np.int64)
        self.failed = np.zeros(n, np.int64)
        self.rng_trust = stream(seed, "trust")
        self._carried_at_warmup: np.ndarray | None = None
        self._loyalty: np.ndarray | None = None
        self.closures = ClosureLog()
        self.daily: list[DayStats] = []
        self.day = 0
        self.posted_today = 0
        #: Value at or above which a need is valuable (fixed by the measures config).
        nc = config.needs
        mixture = (expected_value_mixture(config.people.n_topics, config.people.topic_zipf,
                                          nc.rarity_exponent)
                   if nc.value_grows_with_rarity else (None, None))
        self.valuable_threshold = valuable_threshold(
            nc.value_log_mean, nc.value_log_sd, config.measures.valuable_quantile, *mixture)
        self.topic_share = np.bincount(topic, minlength=config.people.n_topics) / n

    # --- people as attributes (the arrays of ``people``) ----------------------------
    @property
    def topic(self) -> np.ndarray:
        """int32 topic of expertise per person."""
        return self.people.topic

    @property
    def budget(self) -> np.ndarray:
        """float64 attention budget per person (posts/day)."""
        return self.people.budget

    @property
    def community(self) -> np.ndarray:
        """int32 community id per person."""
        return self.people.community

    @property
    def audience(self) -> np.ndarray:
        """int32 ties per person in the network as generated (before any knockout)."""
        return self.people.audience

    @property
    def carried(self) -> np.ndarray:
        """int32 needs each person passed on (a pass on a need that closed that day not counted)."""
        return self.people.carried

    # --- set-up ------------------------------------------------------------------
    def _assign_people(self, community: np.ndarray,
                       audience: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
        home_pick = home[community, rng.integers(0, n_home, self.n)]
        topic = np.where(from_home, home_pick, global_pick).astype(np.int32)
        budget = rng.lognormal(0.0, pc.budget_sigma, self.n)
        budget *= pc.budget_mean / np.exp(pc.budget_sigma**2 / 2)  # mean budget_mean
        if pc.budget_audience_exponent:
            aud = np.maximum(audience, 1).astype(np.float64)
            factor = aud**pc.budget_audience_exponent
            budget *= factor / factor.mean()
        return topic, budget

    # --- following one need (teaching, animation) ----------------------------------
    def handled_by(self, need: int) -> list[int]:
        """Everybody who has handled open need ``need``: its seeker, then all who saw it.

        In the order they saw it. Valid for open needs and for needs that ended
        since the last compaction of handled-sets (which keeps open needs only).
        """
        out: list[int] = []
        c = int(self.needs.head.data[need])
        chunks = self.chunks
        while c >= 0:
            start = int(chunks.start.data[c])
            out.extend(int(p) for p in self.pool.data[start : start + chunks.length.data[c]])
            c = int(chunks.next.data[c])
        return out

    def holders(self, need: int) -> list[tuple[int, int]]:
        """``(person, got_it_from)`` for everybody who will show ``need`` tomorrow."""
        sel = self.frontier_need == need
        trails = self.frontier_trail[sel]
        people = self.trails.person.data[trails]
        parents = self.trails.person.data[self.trails.parent.data[trails]]
        return [(int(p), int(q)) for p, q in zip(people, parents, strict=True)]

    # --- one day -----------------------------------------------------------------
    def audience_loyalty(self) -> np.ndarray:
        """Loyalty of each person's audience now: the attention their followers give them.

        The mean, over person ``i``'s followers ``f``, of the share of ``f``'s
        attention that goes to ``i``: ``w_fi / W_f`` (``W_f``: the summed
        strength of the ties ``f`` follows). In (0, 1]; 0 without followers.
        A follower who follows few people, strongly, is loyal (Dunbar 1998;
        Miritello et al. 2013: attention is finite and concentrated).
        """
        t = self.ties
        u, v = t.edges()
        w = t.strengths()
        total = t.strength_totals()
        flags = t.flags[: t.n_edges]
        share_sum = np.zeros(self.n)
        count = np.zeros(self.n)
        for follower, leader, bit in ((u, v, kernels.FOLLOW_UV), (v, u, kernels.FOLLOW_VU)):
            sel = (flags & bit) != 0
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(total[follower[sel]] > 0, w[sel] / total[follower[sel]], 0.0)
            share_sum += np.bincount(leader[sel], share, minlength=self.n)
            count += np.bincount(leader[sel], minlength=self.n)
        return np.divide(share_sum, count, out=np.zeros(self.n), where=count > 0)

    @property
    def loyalty(self) -> np.ndarray:
        """Audience loyalty when measurement started (now, if it has not yet)."""
        return self._loyalty if self._loyalty is not None else self.audience_loyalty()

    def carried_before_measurement(self) -> np.ndarray:
        """Passes each person made during the warm-up (zeros without one)."""
        if self._carried_at_warmup is None:
            return self.carried.copy() if self.day < self.config.warmup_days else 0 * self.carried
        return self._carried_at_warmup

    def step(self) -> None:
        """Advance the world by one day."""
        d = self.day
        cfg = self.config
        if d == cfg.warmup_days:  # measurement starts today
            self._loyalty = self.audience_loyalty()
            if d > 0:
                self._carried_at_warmup = self.carried.copy()
        self._post_needs(d)
        posted, self.posted_today = self.posted_today, 0
        self.counters[kernels.C_MESSAGES] = 0
        self.counters[kernels.C_VIEWS] = 0
        closed = self._spread(d)
        new_ties = self._apply_closures(d, closed)
        expired = self._expire(d)
        meetups, meet_ties = self._meetups()
        self.ties.decay(cfg.ties.decay_per_day)
        n_closed = closed.need.shape[0]
        n_ref = int((closed.kind == kernels.REFERRAL).sum())
        valuable = int((self.needs.value.data[closed.need] >= self.valuable_threshold).sum())
        self.daily.append(DayStats(
            day=d, needs_posted=posted, open_needs=self.active.shape[0], closures=n_closed,
            direct=n_closed - n_ref, referrals=n_ref, valuable_closures=valuable,
            expired=expired, messages=int(self.counters[kernels.C_MESSAGES]),
            views=int(self.counters[kernels.C_VIEWS]), new_ties=new_ties + meet_ties,
            meetups=meetups, mean_strength=self.ties.mean_strength(),
        ))
        self.day += 1

    def _post_needs(self, d: int) -> None:
        nc = self.config.needs
        rng = self.rng_needs
        seekers = bernoulli_indices(rng, self.n, nc.rate).astype(np.int32)
        m = seekers.shape[0]
        if m == 0:
            return
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
            values: Value of each need (arbitrary units).

        Returns:
            The new need ids (int64).
        """
        seekers = np.asarray(seekers, np.int32)
        m = seekers.shape[0]
        self.posted_today += m
        first = self.needs.n
        ids = np.arange(first, first + m, dtype=np.int64)
        # The seeker starts each need's trail and its handled-set.
        roots = np.arange(self.trails.n, self.trails.n + m, dtype=np.int64)
        self.trails.append(*Trails(person=seekers, parent=np.full(m, -1, np.int64),
                                   hop=np.zeros(m, np.int32), w=np.ones(m)))
        chunks = np.arange(self.chunks.n, self.chunks.n + m, dtype=np.int64)
        # Chunk columns: start, length, next.
        self.chunks.append(np.arange(self.pool.n, self.pool.n + m, dtype=np.int64),
                           np.ones(m, np.int32), np.full(m, -1, np.int64))
        self.pool.append(seekers)
        self.needs.append(*Needs(
            seeker=seekers, topic=np.asarray(topics, np.int32),
            value=np.asarray(values, np.float64), posted=np.full(m, self.day, np.int32),
            status=np.full(m, OPEN, np.int8), closed_day=np.full(m, -1, np.int32), root=roots,
            seen=np.zeros(m, np.int32), head=chunks, tail=chunks))
        self.active = np.concatenate([self.active, ids])
        return ids

    def _handled(self) -> Handled:
        """The kernels' view of the handled-sets."""
        c = self.chunks
        return Handled(self.pool.data, c.start.data, c.length.data, c.next.data, self.stamp,
                       self.owner)

    def _spread(self, d: int) -> Closing:
        """Run the day's propagation kernel for day ``d``; return the day's closures."""
        rules = self.rules
        needs = self.needs
        bound = int(kernels.holder_messages(
            d, self.active, self.frontier_trail, needs.seeker.data, needs.posted.data,
            self.trails.person.data, self.ties.row_len, rules.seeker_reposts))
        n_act = self.active.shape[0]
        self.trails.reserve(bound)
        self.pool.reserve(bound)
        self.chunks.reserve(n_act)
        c = self.counters
        c[kernels.C_TRAIL] = self.trails.n
        c[kernels.C_POOL] = self.pool.n
        c[kernels.C_CHUNKS] = self.chunks.n
        c[kernels.C_NEXT] = 0
        c[kernels.C_CLOSURES] = 0
        scratch = empty_scratch(bound)
        closing = empty_closing(n_act)
        holders = Holders(self.active, self.frontier_need, self.frontier_trail)
        # Records go as plain tuples (see sim.state): numba types those much faster.
        kernels.spread_day(d, tuple(holders), tuple(needs.arrays()), tuple(self.trails.arrays()),
                           tuple(self._handled()), tuple(self.people), tuple(self.ties.arrays()),
                           tuple(rules), self.rng_attention, self.rng_response, tuple(scratch),
                           tuple(closing), c)
        self.trails.set_count(c[kernels.C_TRAIL])
        self.pool.n = int(c[kernels.C_POOL])
        self.chunks.set_count(c[kernels.C_CHUNKS])
        self.frontier_need = scratch.next_need[: c[kernels.C_NEXT]]
        self.frontier_trail = scratch.next_trail[: c[kernels.C_NEXT]]
        k = int(c[kernels.C_CLOSURES])
        return Closing(*(column[:k] for column in closing))

    def credibility(self, people: np.ndarray | None = None) -> np.ndarray:
        """Credibility as a broker now (probability; see :class:`sim.config.TrustConfig`).

        Args:
            people: Whose (person ids); default everybody.
        """
        tc = self.config.trust
        prior = tc.prior_credibility * tc.prior_weight
        worked = self.worked if people is None else self.worked[people]
        failed = self.failed if people is None else self.failed[people]
        return (prior + worked) / (tc.prior_weight + worked + failed)

    def _engagements(self, closed: Closing, trails: tuple
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Which closures became engagements and which worked (the trust rule).

        With ``trust.enabled``: a referral is accepted with probability
        ``credibility_b * tau_sb ** exponent`` and, accepted, works with
        probability ``tau_bp ** exponent`` (:func:`_chain_trust`); credibility
        is read at the start of the day and the day's outcomes update the track
        records afterwards (synchronous). Direct closures are accepted and
        work. Off: everything is accepted and works, credibility 1.

        Returns:
            ``(accepted, worked, credibility)`` per closure.
        """
        m = closed.need.shape[0]
        tc = self.config.trust
        if not tc.enabled:
            ones = np.ones(m, bool)
            return ones, ones.copy(), np.ones(m)
        referral = closed.broker >= 0
        broker = np.maximum(closed.broker, 0)
        cred = np.where(referral, self.credibility(broker), 1.0)
        t = self.ties
        tau_sb, tau_bp = _chain_trust(tuple(closed), trails, tuple(t.arrays()), t.trust_uv,
                                      t.trust_vu)
        draws = self.rng_trust.random((2, m))
        accepted = draws[0] < cred * tau_sb**tc.exponent
        worked = accepted & (draws[1] < tau_bp**tc.exponent)
        accepted |= ~referral
        worked |= ~referral
        np.add.at(self.worked, broker[referral & worked], 1)
        np.add.at(self.failed, broker[referral & accepted & ~worked], 1)
        return accepted, worked, cred

    def _apply_closures(self, d: int, closed: Closing) -> int:
        """Mark closed needs, log them with provenance, and change the ties engagements used.

        A declined introduction ends the need's search too (it is closed, with
        ``accepted`` false): the seeker acted on the first introduction, it
        just did not become an engagement, and no tie changes.
        """
        ids = closed.need
        if ids.shape[0] == 0:
            return 0
        status = self.needs.status.data
        status[ids] = CLOSED
        self.needs.closed_day.data[ids] = d
        self.active = self.active[status[self.active] == OPEN]
        t = self.ties
        tc = self.config.ties
        seekers = self.needs.seeker.data[ids]
        trails = tuple(self.trails.arrays())
        offsets, people, s_off, strengths = kernels.closure_paths(tuple(closed), trails)
        accepted, worked, cred = self._engagements(closed, trails)
        new_a = np.empty(ids.shape[0], np.int32)
        new_b = np.empty(ids.shape[0], np.int32)
        engaged = closed if accepted.all() else Closing(*(col[accepted] for col in closed))
        n_new, creates_engaged = _strengthen_used_ties(
            tuple(engaged), seekers[accepted], trails, tuple(t.arrays()), tc.closure_gain,
            tc.broker_gain, new_a, new_b)
        creates = np.zeros(ids.shape[0], bool)
        creates[accepted] = creates_engaged
        created = t.add_ties(new_a[:n_new], new_b[:n_new],
                             np.full(n_new, tc.new_tie_strength), np.full(n_new, tc.closure_gain))
        self.closures.append(ClosureTable(
            need=ids, day=np.full(ids.shape[0], d, np.int32), kind=closed.kind, seeker=seekers,
            provider=closed.provider, broker=closed.broker, via=closed.via, hops=closed.hops,
            w_arrival=closed.w_arrival, w_referral=closed.w_referral, new_tie=creates,
            accepted=accepted, worked=worked,
            realised_value=np.where(worked, self.needs.value.data[ids], 0.0), credibility=cred,
            path_offsets=offsets, path=people, strength_offsets=s_off, strengths=strengths))
        return created

    def _expire(self, d: int) -> int:
        """Expire needs whose last day was ``d``; drop holders of ended needs."""
        life = self.config.needs.lifetime_days
        act = self.active
        status = self.needs.status.data
        ending = self.needs.posted.data[act] + life - 1 <= d
        n_exp = int(ending.sum())
        if n_exp:
            status[act[ending]] = EXPIRED
            self.active = act[~ending]
        if self.frontier_need.shape[0]:
            keep = status[self.frontier_need] == OPEN
            self.frontier_need = self.frontier_need[keep]
            self.frontier_trail = self.frontier_trail[keep]
        self._maybe_compact()
        return n_exp

    def _maybe_compact(self) -> None:
        """Drop the handled-sets of ended needs once they dominate the pool."""
        if self.pool.n < 1_000_000 or self.pool.n < 4 * (self.needs.seen.view()[self.active].sum()
                                                          + self.active.shape[0]):
            return
        pool, start, length, nxt, n_pool, n_chunks = kernels.compact_handled(
            self.active, tuple(self.needs.arrays()), tuple(self._handled()))
        self.pool.data, self.pool.n = pool, int(n_pool)
        self.chunks.replace((start, length, nxt), n_chunks)

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
                         mc.max_attendees, mc.gain, mc.new_tie_prob, tuple(t.arrays()),
                         self.rng_meetups, new_a, new_b)
        tc = self.config.ties
        created = t.add_ties(new_a[:n_new], new_b[:n_new], np.full(n_new, tc.new_tie_strength),
                             np.full(n_new, mc.gain))
        return int(meeting.shape[0]), created


# Older readers (the app, the animation, the notebook) name need columns
# ``world.need_<field>``: the same Buffers as ``world.needs.<field>``.
for _field in Needs._fields:
    setattr(World, f"need_{_field}", property(
        lambda self, f=_field: getattr(self.needs, f),
        doc=f"Buffer of ``needs.{_field}`` (the same as ``world.needs.{_field}``)."))
del _field
