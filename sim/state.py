"""The typed state the compiled kernels take: named tuples of arrays.

numba takes a ``NamedTuple`` of arrays as one argument at no cost inside
compiled code (it is a struct of pointers), so each kernel of the day gets a
few whole structures instead of dozens of loose arrays. The host side
(:class:`sim.engine.World`, :class:`sim.ties.TieState`) owns the growable
buffers and builds these views once per day; the kernels read and write the
arrays in place. Person ids, need ids and trail ids are row numbers.

Structures:

- :class:`People`: one row per person (topic, attention budget, ...).
- :class:`Ties`: the padded CSR adjacency and the tie strengths
  (``floor + scale * excess[e]``, see :func:`sim.kernels.strength_of`).
- :class:`Needs`: one row per need (seeker, topic, status, ...).
- :class:`Trails`: where needs travelled, one row per holder of a need: the
  person, who they got it from (``parent`` row), hop count and tie strength.
  Following ``parent`` from a closure's row back to -1 gives its path.
- :class:`Handled`: who has handled each need (its *handled-set*), stored as
  chunks of a shared ``pool`` of person ids linked per need, plus the
  ``stamp`` scratch array that marks the handled-set of one need at a time.
- :class:`Holders`: today's open needs and the contacts holding them.
- :class:`Rules`: the parameters of the day's decisions (from the config).
- :class:`Scratch`: the day's working buffers (offers seen; tomorrow's holders).
- :class:`Closing`: the closures of the day, one row per closed need.

``counters`` (an int64 array indexed by ``sim.kernels.C_*``) carries the fill
levels of the growable rows between the kernels and the host.

Python passes the records to a kernel as plain tuples (``tuple(needs)``) and
the kernel names them again on entry (``needs = Needs(*needs)``, free in
compiled code): numba types a plain tuple of arrays in C, but a named tuple
in Python at some microseconds each, which for a small model is a good part
of its day. Inside compiled code the records pass as they are.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class People(NamedTuple):
    """Per-person arrays (length n).

    Attributes:
        topic: int32 topic of expertise.
        budget: float64 attention budget (posts taken in per day).
        community: int32 community id.
        audience: int32 ties at the start of the run (before any knockout).
        carried: int32 needs passed on so far (updated by the day's kernel).
    """

    topic: np.ndarray
    budget: np.ndarray
    community: np.ndarray
    audience: np.ndarray
    carried: np.ndarray


class Ties(NamedTuple):
    """The tie store as the kernels see it (see :class:`sim.ties.TieState`).

    Attributes:
        row_start: int64 start of each person's row in ``nbr``.
        row_len: int32 number of ties of each person (current audience).
        row_cap: int32 slots reserved for each row.
        nbr: int32 neighbour in each slot (-1 in free slots).
        nbr_edge: int32 edge id in each slot.
        eu: int32 lower endpoint of each edge.
        ev: int32 upper endpoint of each edge.
        excess: float64 strength above the floor of each edge, before ``scale``.
        excess_sum: float64 per person, summed ``excess`` of the ties they
            follow (their attention denominator; every tie when undirected).
        flags: int8 per edge: ``FOLLOW_UV`` (``eu`` follows ``ev``),
            ``FOLLOW_VU`` (``ev`` follows ``eu``), ``DISTRUST`` (a negative
            trust rating either way); see :mod:`sim.kernels`. An undirected
            tie is ``FOLLOW_UV | FOLLOW_VU``.
        n_follow: int32 per person, how many of their ties they follow (the
            count in their attention denominator; ``row_len`` when undirected).
        scale: Global decay factor (dimensionless).
        floor: Strength every tie decays toward (in (0, 1)).
    """

    row_start: np.ndarray
    row_len: np.ndarray
    row_cap: np.ndarray
    nbr: np.ndarray
    nbr_edge: np.ndarray
    eu: np.ndarray
    ev: np.ndarray
    excess: np.ndarray
    excess_sum: np.ndarray
    flags: np.ndarray
    n_follow: np.ndarray
    scale: float
    floor: float


class Needs(NamedTuple):
    """Per-need arrays, one row per need ever posted.

    Attributes:
        seeker: int32 person who posted it.
        topic: int32 topic it needs.
        value: float64 value (arbitrary units, lognormal).
        posted: int32 day posted (0-based).
        status: int8 ``OPEN`` / ``CLOSED`` / ``EXPIRED`` (``sim.engine``).
        closed_day: int32 day closed, -1 unless closed.
        root: int64 its seeker's row in :class:`Trails`.
        seen: int32 people who saw it so far.
        head: int64 first chunk of its handled-set in :class:`Handled` (-1: none).
        tail: int64 last chunk of its handled-set (-1: none).
    """

    seeker: np.ndarray
    topic: np.ndarray
    value: np.ndarray
    posted: np.ndarray
    status: np.ndarray
    closed_day: np.ndarray
    root: np.ndarray
    seen: np.ndarray
    head: np.ndarray
    tail: np.ndarray


class Trails(NamedTuple):
    """Where needs travelled: one row per holder of a need.

    Attributes:
        person: int32 the holder.
        parent: int64 row of the holder they got it from (-1 for the seeker).
        hop: int32 ties crossed from the seeker (0 for the seeker).
        w: float64 strength of the tie it arrived over, on that day (1.0 for the seeker).
    """

    person: np.ndarray
    parent: np.ndarray
    hop: np.ndarray
    w: np.ndarray


class Handled(NamedTuple):
    """Handled-sets: everybody who has handled each need (seen it, or posted it).

    Chunk ``c`` holds ``pool[start[c] : start[c] + length[c]]`` and links to
    ``next[c]`` (-1 ends the list); ``Needs.head``/``Needs.tail`` hold each
    need's first and last chunk. ``stamp[j] == k`` marks person ``j`` as in the
    handled-set of need ``owner[0]`` == ``k`` (loaded one need at a time).

    Attributes:
        pool: int32 person ids.
        start: int64 first pool slot of each chunk.
        length: int32 pool slots of each chunk.
        next: int64 next chunk of the same need (-1: last).
        stamp: int32 or int64 per person, the need whose set they were last marked in.
        owner: int64 length 1, the need currently loaded into ``stamp``.
    """

    pool: np.ndarray
    start: np.ndarray
    length: np.ndarray
    next: np.ndarray
    stamp: np.ndarray
    owner: np.ndarray


class Holders(NamedTuple):
    """Who shows which need today.

    Attributes:
        active: int64 open needs, ascending; each is shown by its seeker
            (daily, or only on the day posted) and by ``trail`` rows below.
        need: int64 need of each contact who passed a need on yesterday
            (grouped by need, ascending).
        trail: int64 their row in :class:`Trails`.
    """

    active: np.ndarray
    need: np.ndarray
    trail: np.ndarray


class Rules(NamedTuple):
    """Parameters of the day's decisions (see :func:`sim.kernels.make_rules`).

    Attributes:
        fixed_t: Fixed probability that a contact sees an offer (cascade
            mode); negative for the attention-budget rule.
        mean_gap: ``-1 / log(1 - fixed_t)`` for the geometric skip (0 unless
            ``0 < fixed_t < 1``).
        pass_base: Probability of passing on over the weakest tie; negative:
            everybody passes (cascade mode) and passes are not counted.
        pass_strength: Added pass probability per unit of tie strength.
        know_scale: Chance of knowing a contact's topic is ``know_scale * w``.
        hop_limit: A viewer at this many hops (or more) passes nothing on.
        matching: Whether viewers close needs at all (False: a pure cascade).
        referrals: Whether viewers may refer a contact.
        seeker_reposts: Whether seekers show their open needs every day.
        directed: Offers go only to followers (``Ties.flags``); False: every
            contact (an undirected network).
        distrust: No offer and no referral crosses a tie flagged ``DISTRUST``.
        know_attention: Knowing a contact's topic is attention-limited,
            ``know_scale * budget_j * w / W_j``; False: ``know_scale * w``.
    """

    fixed_t: float
    mean_gap: float
    pass_base: float
    pass_strength: float
    know_scale: float
    hop_limit: int
    matching: bool
    referrals: bool
    seeker_reposts: bool
    directed: bool
    distrust: bool
    know_attention: bool


class Scratch(NamedTuple):
    """The day's working buffers, each with room for every message of the day.

    Attributes:
        next_need: int64 tomorrow's :attr:`Holders.need` (written).
        next_trail: int64 tomorrow's :attr:`Holders.trail` (written).
        seen_person: int32 contact who saw an offer (one need at a time).
        seen_slot: int64 their slot in ``Ties.nbr`` (the tie it came over).
        seen_trail: int64 the holder's row in :class:`Trails`.
    """

    next_need: np.ndarray
    next_trail: np.ndarray
    seen_person: np.ndarray
    seen_slot: np.ndarray
    seen_trail: np.ndarray


class Closing(NamedTuple):
    """The closures of one day, one row per closed need (room for every open need).

    The row after the last closure holds the current candidate of the need
    being handled (reservoir sampling); it counts only once the need closes
    (a need closes at most once, so one row per open need is room enough).

    Attributes:
        need: int64 the closed need.
        kind: int8 ``DIRECT`` or ``REFERRAL`` (``sim.kernels``).
        provider: int32 who meets the need.
        broker: int32 who referred the provider (-1 for direct).
        via: int64 row in :class:`Trails` of the holder the closer got it from.
        w_arrival: float64 strength of the tie the closer got the need over.
        w_referral: float64 broker-provider tie strength (0.0 for direct).
        hops: int32 ties from seeker to provider.
    """

    need: np.ndarray
    kind: np.ndarray
    provider: np.ndarray
    broker: np.ndarray
    via: np.ndarray
    w_arrival: np.ndarray
    w_referral: np.ndarray
    hops: np.ndarray


def empty_closing(rows: int) -> Closing:
    """A :class:`Closing` with room for ``rows`` closures (one per open need)."""
    m = rows
    return Closing(np.empty(m, np.int64), np.empty(m, np.int8), np.empty(m, np.int32),
                   np.empty(m, np.int32), np.empty(m, np.int64), np.empty(m), np.empty(m),
                   np.empty(m, np.int32))


def empty_scratch(rows: int) -> Scratch:
    """A :class:`Scratch` with room for ``rows`` messages."""
    return Scratch(np.empty(rows, np.int64), np.empty(rows, np.int64), np.empty(rows, np.int32),
                   np.empty(rows, np.int64), np.empty(rows, np.int64))
