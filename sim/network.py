"""Social networks: generators, an edge-list reader and tie-level structure.

Every generator returns a :class:`RawGraph`: a simple undirected graph (no
self-loops, no multi-edges) stored as two sorted ``int32`` endpoint arrays with
``u < v``, plus one community id per person. Later stages build the adjacency
with :func:`to_csr`, the embeddedness of each tie with
:func:`neighbourhood_overlap` (Onnela et al. 2007) and, for generators without
planted communities, communities with :func:`leiden_communities` (igraph's
Leiden; :func:`label_propagation` is kept as a fast alternative). A directed
(follower) network is the same tie list plus, per tie, who follows whom.

All generators are deterministic given the :class:`numpy.random.Generator`
passed in and draw from no other source of randomness (the numba kernels take
the generator itself as an argument; igraph's generator is seeded from it).
Large graphs are built with numpy and numba; igraph finds communities where
none are planted; networkx is used for the karate club and nothing else.

Units: ``n`` is a number of people, degrees and ``mean_degree`` are ties per
person, probabilities are in [0, 1].
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

from sim.config import ConfigError, NetworkConfig, machine_memory

__all__ = [
    "GENERATORS",
    "EdgeTable",
    "RawGraph",
    "barabasi_albert_graph",
    "configuration_graph",
    "default_graph",
    "directed_graph",
    "edgelist_graph",
    "erdos_renyi_graph",
    "generate",
    "generator",
    "generator_names",
    "holme_kim_graph",
    "karate_graph",
    "label_propagation",
    "leiden_communities",
    "neighbourhood_overlap",
    "contact_strength",
    "read_edgelist",
    "read_ties",
    "strength_inside_vs_across",
    "to_csr",
    "watts_strogatz_graph",
]

# Largest number of decimal digits accepted in a node id (fits in int64).
_MAX_ID_DIGITS = 18
# People and ties are indexed with int32.
_MAX_INT32 = 2**31 - 1
# Rounds of stub matching in ``default`` (later rounds re-match dropped pairs).
_REMATCH_ROUNDS = 4
_INTERNAL_ROUNDS = 2


@dataclass
class RawGraph:
    """A simple graph of ties with one community per person.

    A tie is a pair of people ``u < v``; on a directed network (followers) each
    tie also says who follows whom, and a tie exists when at least one of the
    two follows the other. Undirected networks are the special case where
    every tie is reciprocated (``u_follows_v`` and ``v_follows_u`` are ``None``).

    Attributes:
        n: Number of people (count).
        u: ``int32`` first endpoint of each tie; ``u < v``, pairs unique and sorted
            lexicographically by ``(u, v)``.
        v: ``int32`` second endpoint of each tie.
        community: ``int32`` community of each person, values ``0..C-1``, every id
            used.
        labels: ``int64`` original node ids of an edge list (person ``i`` had id
            ``labels[i]``); ``None`` for generated graphs.
        name: Name of the generator that made the graph.
        u_follows_v: ``bool`` per tie: ``u`` follows ``v`` (``u``'s attention goes
            to ``v``'s posts, so ``u`` is in ``v``'s audience). ``None``: undirected.
        v_follows_u: ``bool`` per tie: ``v`` follows ``u``. ``None``: undirected.
        weight: ``float64`` per tie in (0, 1]: a measured tie strength (e.g. from
            contact counts) used instead of the embeddedness rule; ``None``: none.
        trust_uv: ``float64`` per tie in [-1, 1]: ``u``'s rated trust in ``v``
            (negative: distrust); NaN where ``u`` gave no rating; ``None``: no data.
        trust_vu: ``float64`` per tie in [-1, 1]: ``v``'s rated trust in ``u``.
    """

    n: int
    u: np.ndarray
    v: np.ndarray
    community: np.ndarray
    labels: np.ndarray | None
    name: str
    u_follows_v: np.ndarray | None = None
    v_follows_u: np.ndarray | None = None
    weight: np.ndarray | None = None
    trust_uv: np.ndarray | None = None
    trust_vu: np.ndarray | None = None

    @property
    def directed(self) -> bool:
        """Whether ties say who follows whom (else every tie is reciprocated)."""
        return self.u_follows_v is not None

    def followers(self) -> np.ndarray:
        """Audience of each person: how many people follow them (``int64``, length ``n``).

        On an undirected network this is the number of ties (:meth:`degrees`).
        """
        if not self.directed:
            return self.degrees()
        return (np.bincount(self.v[self.u_follows_v], minlength=self.n)
                + np.bincount(self.u[self.v_follows_u], minlength=self.n))

    @property
    def n_edges(self) -> int:
        """Number of ties (count)."""
        return int(self.u.size)

    def degrees(self) -> np.ndarray:
        """Return the number of ties of each person (``int64``, length ``n``)."""
        return np.bincount(self.u, minlength=self.n) + np.bincount(self.v, minlength=self.n)



# --- the generator registry -----------------------------------------------------------------

#: A network generator: ``(network config, number of people, random generator) -> graph``.
Generator = Callable[[NetworkConfig, int, np.random.Generator], "RawGraph"]

#: Every network generator by name, in the order they are defined: the one list of
#: choices of ``network.name`` (``sim.config`` reads it; ``conf/network`` has one file each).
GENERATORS: dict[str, Generator] = {}


def generator(name: str) -> Callable[[Generator], Generator]:
    """Register the decorated function as the network generator ``name``.

    Adding a generator is this decorator on a function ``(cfg, n, rng) ->
    RawGraph`` plus a ``conf/network/<name>.yaml``: the config accepts
    ``network.name=<name>`` from then on. Example::

        @generator("ring")
        def ring_graph(cfg: NetworkConfig, n: int, rng: np.random.Generator) -> RawGraph:
            ...

    Args:
        name: The value of ``network.name`` (and the ``network=`` option) that selects it.

    Raises:
        ValueError: ``name`` is already registered.
    """

    def register(fn: Generator) -> Generator:
        if name in GENERATORS:
            raise ValueError(f"network generator {name!r} is already registered")
        GENERATORS[name] = fn
        return fn

    return register


def generator_names() -> tuple[str, ...]:
    """Names of the registered generators (the allowed values of ``network.name``)."""
    return tuple(GENERATORS)


# --- small helpers --------------------------------------------------------------------------


@njit(cache=True)
def _sort_segment(keys: np.ndarray, payload: np.ndarray, lo: int, hi: int) -> None:
    """Sort ``keys[lo:hi]`` in place, moving ``payload[lo:hi]`` along (Shell sort).

    Shell sort with Ciura's gaps: quick on the short rows of social graphs,
    fine on hubs, and much faster to compile than numba's ``argsort``.
    """
    for gap in (701, 301, 132, 57, 23, 10, 4, 1):
        if gap >= hi - lo:
            continue
        for i in range(lo + gap, hi):
            key = keys[i]
            item = payload[i]
            j = i
            while j - gap >= lo and keys[j - gap] > key:
                keys[j] = keys[j - gap]
                payload[j] = payload[j - gap]
                j -= gap
            keys[j] = key
            payload[j] = item


@njit(cache=True)
def _simple_pairs(
    n: int, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep the first occurrence of every pair; drop self-loops and repeats.

    A counting sort by the smaller endpoint keeps the input order within each
    bucket, so "first" means first in the input: pairs already accepted can be
    passed first and only the new ones are ever rejected.

    Args:
        n: Number of people (count); endpoints are in ``[0, n)``.
        a: First endpoint of each pair (any orientation).
        b: Second endpoint of each pair.

    Returns:
        ``(u, v, kept, rejected)``: ``int32`` kept pairs with ``u < v``, sorted
        lexicographically, the ``int32`` input position of each kept pair and
        the input positions of the dropped pairs.
    """
    m = a.size
    ptr = np.zeros(n + 1, dtype=np.int64)
    n_loops = 0
    for e in range(m):
        if a[e] == b[e]:
            n_loops += 1
        else:
            ptr[min(a[e], b[e]) + 1] += 1
    for r in range(n):
        ptr[r + 1] += ptr[r]
    hi = np.empty(m - n_loops, dtype=np.int32)
    pos_of = np.empty(m - n_loops, dtype=np.int32)
    rejected = np.empty(m, dtype=np.int32)
    n_rej = 0
    fill = ptr[:-1].copy()
    for e in range(m):
        x = a[e]
        y = b[e]
        if x == y:
            rejected[n_rej] = e
            n_rej += 1
            continue
        lo = min(x, y)
        hi[fill[lo]] = max(x, y)
        pos_of[fill[lo]] = e
        fill[lo] += 1
    out_u = np.empty(m - n_loops, dtype=np.int32)
    out_v = np.empty(m - n_loops, dtype=np.int32)
    kept = np.empty(m - n_loops, dtype=np.int32)
    mark = np.full(n, -1, dtype=np.int32)
    k = 0
    for r in range(n):
        first = k
        for p in range(ptr[r], ptr[r + 1]):
            y = hi[p]
            if mark[y] == r:
                rejected[n_rej] = pos_of[p]
                n_rej += 1
            else:
                mark[y] = r
                out_u[k] = r
                out_v[k] = y
                kept[k] = pos_of[p]
                k += 1
        _sort_segment(out_v, kept, first, k)
    return out_u[:k], out_v[:k], kept[:k], rejected[:n_rej]


def _canonical_unique(n: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Turn endpoint pairs into a simple graph's sorted ``(u, v)`` arrays.

    Drops self-loops, orients each pair so that ``u < v`` and removes duplicates.

    Args:
        n: Number of people (count); every endpoint is in ``[0, n)``.
        a: First endpoints (any integer dtype).
        b: Second endpoints.

    Returns:
        ``(u, v)`` as ``int32`` arrays, sorted lexicographically.
    """
    u, v, _, _ = _simple_pairs(n, _as_index(a), _as_index(b))
    return u, v


def _as_index(x: np.ndarray) -> np.ndarray:
    """Return ``x`` as a contiguous ``int32`` array (people and pair positions)."""
    if np.size(x) >= _MAX_INT32:
        raise ValueError(f"too many ties for int32 indices ({np.size(x)})")
    return np.ascontiguousarray(x, dtype=np.int32)


@njit(cache=True)
def _merge_pairs(
    u1: np.ndarray, v1: np.ndarray, u2: np.ndarray, v2: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Merge two lexicographically sorted pair lists (no pair in both)."""
    m1 = u1.size
    m2 = u2.size
    u = np.empty(m1 + m2, dtype=np.int32)
    v = np.empty(m1 + m2, dtype=np.int32)
    i = 0
    j = 0
    for k in range(m1 + m2):
        if j >= m2 or (i < m1 and (u1[i] < u2[j] or (u1[i] == u2[j] and v1[i] < v2[j]))):
            u[k] = u1[i]
            v[k] = v1[i]
            i += 1
        else:
            u[k] = u2[j]
            v[k] = v2[j]
            j += 1
    return u, v


def _add_pairs(
    n: int, u: np.ndarray, v: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Add candidate pairs ``(a, b)`` to the simple graph ``(u, v)``.

    Candidates that are self-loops, already in the graph, or repeat an earlier
    candidate are dropped.

    Args:
        n: Number of people (count).
        u: Sorted first endpoints of the graph (``int32``, ``u < v``).
        v: Second endpoints of the graph.
        a: First endpoints of the candidates.
        b: Second endpoints of the candidates.

    Returns:
        ``(u, v, rejected)``: the merged simple graph, sorted, and the positions
        in ``a`` of the dropped candidates.
    """
    cu, cv, kept, rejected = _simple_pairs(n, _as_index(a), _as_index(b))
    if u.size == 0:
        return cu, cv, rejected
    old = u.astype(np.int64) * n + v
    new = cu.astype(np.int64) * n + cv
    pos = np.minimum(np.searchsorted(old, new), old.size - 1)
    found = old[pos] == new
    del old, new, pos
    u, v = _merge_pairs(u, v, cu[~found], cv[~found])
    return u, v, np.concatenate([rejected, kept[found]])


def _group_arcs(n: int, src: np.ndarray, dst: np.ndarray) -> tuple[
        np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Group arcs ``src -> dst`` (no self-loops) by unordered pair.

    Returns:
        ``(u, v, tie, forward)``: the ``int32`` pairs ``u < v``, unique and sorted
        lexicographically; the pair of each arc; whether each arc goes ``u -> v``.
    """
    src = np.asarray(src, np.int64)
    dst = np.asarray(dst, np.int64)
    lo = np.minimum(src, dst)
    pair_key, tie = np.unique(lo * n + np.maximum(src, dst), return_inverse=True)
    return ((pair_key // n).astype(np.int32), (pair_key % n).astype(np.int32), tie,
            src == lo)


def _follows(tie: np.ndarray, forward: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """``(u_follows_v, v_follows_u)`` per pair from the arcs grouped by :func:`_group_arcs`."""
    return (np.bincount(tie[forward], minlength=m) > 0,
            np.bincount(tie[~forward], minlength=m) > 0)


def _stochastic_round(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Round each value down or up at random so that the expectation is ``x``."""
    return np.floor(x + rng.random(x.shape)).astype(np.int64)


def _powerlaw_degrees(
    n: int,
    mean_degree: float,
    exponent: float,
    max_degree: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Draw a heavy-tailed degree sequence with a given mean.

    Degrees are a Pareto law ``P(k) ~ k**-exponent`` whose scale is chosen (by
    bisection on the sampled values) so that the mean of the capped sequence is
    ``mean_degree``; each value is then rounded at random, up or down, so that
    rounding does not bias the mean. Degrees lie in ``[kmin, kmax]`` with
    ``kmin = 1`` (0 when ``mean_degree < 1``) and ``kmax = max_degree`` or, when
    that is 0, the structural cut-off ``sqrt(n * mean_degree)``; ``kmax`` never
    exceeds ``n - 1``.

    Args:
        n: Number of people (count).
        mean_degree: Target mean degree (ties per person).
        exponent: Power-law exponent (dimensionless, > 2).
        max_degree: Largest degree (ties); 0 for the structural cut-off.
        rng: Random generator.

    Returns:
        ``int64`` degree of each person.
    """
    kmin = 1.0 if mean_degree >= 1 else 0.0
    kmax = float(max_degree) if max_degree > 0 else math.sqrt(n * mean_degree)
    kmax = max(kmin, min(math.floor(kmax), n - 1))
    alpha = exponent - 1.0
    base = (1.0 - rng.random(n)) ** (-1.0 / alpha)  # Pareto with scale 1, >= 1
    ordered = np.sort(base)
    prefix = np.concatenate([[0.0], np.cumsum(ordered)])

    def mean_at(scale: float) -> float:  # mean of clip(scale * base, kmin, kmax)
        lo = int(np.searchsorted(ordered, kmin / scale, side="right"))
        hi = int(np.searchsorted(ordered, kmax / scale, side="left"))
        total = kmin * lo + scale * (prefix[hi] - prefix[lo]) + kmax * (n - hi)
        return total / n

    lo, hi = 1e-12, max(float(mean_degree), 1.0)
    while mean_at(hi) < mean_degree and hi < kmax:
        hi *= 2.0
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        if mean_at(mid) < mean_degree:
            lo = mid
        else:
            hi = mid
    target = np.clip(hi * base, kmin, kmax)
    return np.minimum(_stochastic_round(target, rng), int(kmax))


def _pair_stubs(stubs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pair consecutive stubs ``(0, 1), (2, 3), ...``; an odd last stub is dropped."""
    m = stubs.size // 2
    return stubs[0 : 2 * m : 2], stubs[1 : 2 * m : 2]


@njit(cache=True)
def _shuffle_pair_in_groups(
    stubs: np.ndarray, group_ptr: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Randomly match stubs within each group.

    Args:
        stubs: Person of each stub, grouped: group ``g`` is
            ``stubs[group_ptr[g]:group_ptr[g + 1]]``. Shuffled in place.
        group_ptr: ``int64`` group boundaries (length groups + 1).
        rng: Random generator (advanced in place).

    Returns:
        ``(a, b, leftover)``: matched endpoints and the one unmatched stub of
        each group with an odd number of stubs.
    """
    m = stubs.size
    a = np.empty(m // 2, dtype=stubs.dtype)
    b = np.empty(m // 2, dtype=stubs.dtype)
    leftover = np.empty(group_ptr.size, dtype=stubs.dtype)
    n_pairs = 0
    n_left = 0
    for g in range(group_ptr.size - 1):
        s = group_ptr[g]
        e = group_ptr[g + 1]
        for i in range(e - 1, s, -1):  # Fisher-Yates within [s, e)
            j = s + rng.integers(0, i - s + 1)
            tmp = stubs[i]
            stubs[i] = stubs[j]
            stubs[j] = tmp
        k = s
        while k + 1 < e:
            a[n_pairs] = stubs[k]
            b[n_pairs] = stubs[k + 1]
            n_pairs += 1
            k += 2
        if k < e:
            leftover[n_left] = stubs[k]
            n_left += 1
    return a[:n_pairs], b[:n_pairs], leftover[:n_left]


def _community_sizes(n: int, mean_size: float, rng: np.random.Generator) -> np.ndarray:
    """Draw log-normal community sizes (people) that add up to ``n``.

    Sizes are log-normal with mean ``mean_size`` and log-sd 0.5, rounded, at
    least 2; the last community takes the remainder (merged into the previous
    one if it would have fewer than 2 people).
    """
    sigma = 0.5
    mu = math.log(mean_size) - 0.5 * sigma**2
    chunks: list[np.ndarray] = []
    total = 0
    while total < n:
        draw = max(16, int(1.2 * (n - total) / mean_size) + 16)
        sizes = np.maximum(2, np.rint(rng.lognormal(mu, sigma, draw))).astype(np.int64)
        chunks.append(sizes)
        total += int(sizes.sum())
    sizes = np.concatenate(chunks)
    ends = np.cumsum(sizes)
    last = int(np.searchsorted(ends, n))  # first community reaching n
    sizes = sizes[: last + 1].copy()
    sizes[-1] = n - (int(ends[last - 1]) if last > 0 else 0)
    if sizes.size > 1 and sizes[-1] < 2:
        sizes[-2] += sizes[-1]
        sizes = sizes[:-1]
    return sizes


# --- generators -----------------------------------------------------------------------------


def _match_in_communities(
    stubs: np.ndarray, community: np.ndarray, n_comm: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Randomly pair stubs within communities (people ids contiguous per community).

    Args:
        stubs: Person of each stub, sorted increasingly.
        community: Community of each person.
        n_comm: Number of communities.
        rng: Random generator.

    Returns:
        ``(a, b, leftover)``: matched endpoints and one unmatched stub per
        community with an odd number of stubs.
    """
    group_ptr = np.zeros(n_comm + 1, dtype=np.int64)
    np.cumsum(np.bincount(community[stubs], minlength=n_comm), out=group_ptr[1:])
    stubs = stubs.copy()
    return _shuffle_pair_in_groups(stubs, group_ptr, rng)


def _match_globally(
    stubs: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Randomly pair stubs across everyone; returns ``(a, b, leftover)``."""
    stubs = stubs[rng.permutation(stubs.size)]
    a, b = _pair_stubs(stubs)
    return a, b, stubs[2 * a.size :]


@generator("default")
def default_graph(cfg: NetworkConfig, n: int, rng: np.random.Generator) -> RawGraph:
    """The project's default: heavy-tailed audiences in planted communities, with clustering.

    Power-law audiences (``cfg.degree_exponent``, mean ``cfg.mean_degree``, capped
    at ``cfg.max_degree`` or ``sqrt(n * mean_degree)``) in communities of
    log-normal size (mean ``cfg.community_size`` people, contiguous id blocks). A
    share ``1 - cfg.mixing`` of each person's stubs (at most community size - 1)
    is matched at random inside the community, the rest across everyone; stubs of
    pairs dropped as self-loops or duplicates are matched again (four rounds), so
    the realised mean degree stays within a few per cent of the target. Matching
    inside small groups gives clustering well above a random graph. Hubs' internal
    stubs are capped, so the share of ties inside communities is somewhat below
    ``1 - mixing`` (about 0.68 at the defaults and n = 20,000).

    Source: a configuration model with planted communities, in the spirit of the
    LFR benchmark (Lancichinetti, Fortunato and Radicchi 2008); power-law degrees
    as in online social networks (Barabási 2016, ch. 4).

    Cost: O(n + m log m) time and O(n + m) memory for m ties (sorting the pairs).

    Args:
        cfg: Uses ``mean_degree``, ``degree_exponent``, ``max_degree``,
            ``community_size``, ``mixing``.
        n: Number of people (count, >= 2).
        rng: The only source of randomness.

    Returns:
        The graph, with the planted communities.
    """
    if cfg.directed:
        graph = directed_graph(cfg, n, rng)
        graph.name = "default"
        return graph
    deg = _powerlaw_degrees(n, cfg.mean_degree, cfg.degree_exponent, cfg.max_degree, rng)
    sizes = _community_sizes(n, cfg.community_size, rng)
    n_comm = int(sizes.size)
    community = np.repeat(np.arange(n_comm, dtype=np.int32), sizes)
    k_int = _stochastic_round(deg * (1.0 - cfg.mixing), rng)
    k_int = np.minimum(np.minimum(k_int, deg), sizes[community] - 1)
    people = np.arange(n, dtype=np.int32)
    stubs_int = np.repeat(people, k_int)  # sorted, hence grouped by community
    stubs_ext = np.repeat(people, deg - k_int)
    del deg, k_int
    u = np.empty(0, dtype=np.int32)
    v = np.empty(0, dtype=np.int32)
    # Stubs of pairs dropped as self-loops or repeats are matched again: inside their
    # community once more, then (a person may already be tied to most of a small
    # community) across everyone.
    for round_ in range(_REMATCH_ROUNDS):
        a_int, b_int, left = _match_in_communities(stubs_int, community, n_comm, rng)
        a_ext, b_ext, left_ext = _match_globally(np.concatenate([stubs_ext, left]), rng)
        a = np.concatenate([a_int, a_ext])
        b = np.concatenate([b_int, b_ext])
        u, v, rejected = _add_pairs(n, u, v, a, b)
        internal = rejected < a_int.size
        stubs_int = np.sort(np.concatenate([a[rejected[internal]], b[rejected[internal]]]))
        stubs_ext = np.concatenate([a[rejected[~internal]], b[rejected[~internal]], left_ext])
        if round_ >= _INTERNAL_ROUNDS - 1:
            stubs_ext = np.concatenate([stubs_ext, stubs_int])
            stubs_int = stubs_int[:0]
        if stubs_int.size + stubs_ext.size < 2:
            break
    return RawGraph(n=n, u=u, v=v, community=community, labels=None, name="default")


@njit(cache=True)
def _match_arcs_in_groups(
    out_stubs: np.ndarray, out_ptr: np.ndarray, in_stubs: np.ndarray, in_ptr: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Randomly pair following stubs with follower stubs within each group.

    Both stub lists are grouped (group ``g`` is ``stubs[ptr[g]:ptr[g + 1]]``) and
    shuffled in place within each group; the first ``min`` of each are paired.

    Returns:
        ``(src, dst, out_left, in_left)``: arcs ``src -> dst`` and the unpaired
        stubs of both kinds.
    """
    m = min(out_stubs.size, in_stubs.size)
    src = np.empty(m, dtype=out_stubs.dtype)
    dst = np.empty(m, dtype=in_stubs.dtype)
    out_left = np.empty(out_stubs.size, dtype=out_stubs.dtype)
    in_left = np.empty(in_stubs.size, dtype=in_stubs.dtype)
    k = 0
    n_out = 0
    n_in = 0
    for g in range(out_ptr.size - 1):
        for stubs, s, e in ((out_stubs, out_ptr[g], out_ptr[g + 1]),
                            (in_stubs, in_ptr[g], in_ptr[g + 1])):
            for i in range(e - 1, s, -1):  # Fisher-Yates within [s, e)
                j = s + rng.integers(0, i - s + 1)
                tmp = stubs[i]
                stubs[i] = stubs[j]
                stubs[j] = tmp
        so = out_ptr[g]
        si = in_ptr[g]
        pairs = min(out_ptr[g + 1] - so, in_ptr[g + 1] - si)
        for t in range(pairs):
            src[k] = out_stubs[so + t]
            dst[k] = in_stubs[si + t]
            k += 1
        for t in range(so + pairs, out_ptr[g + 1]):
            out_left[n_out] = out_stubs[t]
            n_out += 1
        for t in range(si + pairs, in_ptr[g + 1]):
            in_left[n_in] = in_stubs[t]
            n_in += 1
    return src[:k], dst[:k], out_left[:n_out], in_left[:n_in]


@generator("directed")
def directed_graph(cfg: NetworkConfig, n: int, rng: np.random.Generator) -> RawGraph:
    """Followers: heavy-tailed audiences, reciprocity and planted communities.

    Each person gets a power-law number of *follower* stubs (as the degrees of
    :func:`default_graph`, mean ``cfg.mean_degree / 2``, exponent
    ``cfg.degree_exponent``); the same number of *following* stubs is spread
    uniformly over everyone (so how many people one follows is about Poisson:
    attention is bounded, audiences are not). Communities are the log-normal
    blocks of :func:`default_graph`. A share ``1 - cfg.mixing`` of both kinds of
    stub (at most community size - 1 per person) is paired inside the
    community, the rest across everyone; each pairing is an arc "a follows b".
    Then each arc is followed back with probability ``cfg.reciprocity``.
    Self-follows and repeated arcs are dropped, so the mean number of ties is
    somewhat below ``cfg.mean_degree``; ties are the pairs with at least one arc.

    Source: heavy-tailed follower counts and about 22% reciprocated pairs on
    Twitter (Kwak et al. 2010); communities as in :func:`default_graph` (LFR,
    Lancichinetti et al. 2008). How many people one follows: assumption.

    Cost: O(n + m log m) time and O(n + m) memory.

    Args:
        cfg: Uses ``mean_degree``, ``degree_exponent``, ``max_degree``,
            ``community_size``, ``mixing``, ``reciprocity``.
        n: Number of people (count, >= 2).
        rng: The only source of randomness.

    Returns:
        The graph, with ``u_follows_v`` / ``v_follows_u`` and planted communities.
    """
    k_in = _powerlaw_degrees(n, cfg.mean_degree / 2, cfg.degree_exponent, cfg.max_degree, rng)
    total = int(k_in.sum())
    k_out = np.bincount(rng.integers(0, n, total), minlength=n).astype(np.int64)
    sizes = _community_sizes(n, cfg.community_size, rng)
    n_comm = int(sizes.size)
    community = np.repeat(np.arange(n_comm, dtype=np.int32), sizes)
    people = np.arange(n, dtype=np.int32)
    cap = sizes[community] - 1

    def split(k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        inside = np.minimum(np.minimum(_stochastic_round(k * (1.0 - cfg.mixing), rng), k), cap)
        ptr = np.zeros(n_comm + 1, dtype=np.int64)
        np.cumsum(np.bincount(community, weights=inside, minlength=n_comm).astype(np.int64),
                  out=ptr[1:])
        return np.repeat(people, inside), ptr, np.repeat(people, k - inside)

    out_int, out_ptr, out_ext = split(k_out)
    in_int, in_ptr, in_ext = split(k_in)
    del k_in, k_out
    src, dst, out_left, in_left = _match_arcs_in_groups(out_int, out_ptr, in_int, in_ptr, rng)
    out_ext = np.concatenate([out_ext, out_left])
    in_ext = np.concatenate([in_ext, in_left])
    out_ext = out_ext[rng.permutation(out_ext.size)]
    in_ext = in_ext[rng.permutation(in_ext.size)]
    m = min(out_ext.size, in_ext.size)
    src = np.concatenate([src, out_ext[:m]]).astype(np.int64)
    dst = np.concatenate([dst, in_ext[:m]]).astype(np.int64)
    back = rng.random(src.size) < cfg.reciprocity
    src, dst = np.concatenate([src, dst[back]]), np.concatenate([dst, src[back]])
    keep = src != dst
    u, v, tie, forward = _group_arcs(n, src[keep], dst[keep])
    u_follows_v, v_follows_u = _follows(tie, forward, int(u.size))
    return RawGraph(n=n, u=u, v=v, community=community, labels=None, name="directed",
                    u_follows_v=u_follows_v, v_follows_u=v_follows_u)


@generator("erdos_renyi")
def erdos_renyi_graph(cfg: NetworkConfig, n: int, rng: np.random.Generator) -> RawGraph:
    """Erdős–Rényi random graph G(n, p) with ``p = mean_degree / (n - 1)``.

    Up to 2,000,000 pairs one Bernoulli draw per pair; above, the number of ties
    is drawn from the binomial and distinct uniform pairs are sampled until there
    are that many. Communities from :func:`leiden_communities`.

    Source: Erdős and Rényi (1959); Gilbert (1959).

    Cost: O(n^2) for small graphs, O(n + m log m) time and O(n + m) memory above.

    Args:
        cfg: Uses ``mean_degree``.
        n: Number of people (count, >= 2).
        rng: The only source of randomness.
    """
    p = min(1.0, cfg.mean_degree / (n - 1))
    total = n * (n - 1) // 2
    if total <= 2_000_000:  # small graphs: one Bernoulli draw per pair
        iu, iv = np.triu_indices(n, k=1)
        keep = rng.random(iu.size) < p
        return _with_communities(
            n, iu[keep].astype(np.int32), iv[keep].astype(np.int32), rng, "erdos_renyi"
        )
    n_edges = int(rng.binomial(total, p))
    # Sequential uniform draws, keeping each new pair, until n_edges distinct pairs:
    # the first n_edges distinct pairs of an i.i.d. uniform sequence are a uniform set.
    u = np.empty(0, dtype=np.int32)
    v = np.empty(0, dtype=np.int32)
    while u.size < n_edges:
        need = n_edges - u.size
        a = rng.integers(0, n, need, dtype=np.int64)
        b = rng.integers(0, n, need, dtype=np.int64)
        u, v, _ = _add_pairs(n, u, v, a, b)
    return _with_communities(n, u, v, rng, "erdos_renyi")


@njit(cache=True)
def _adj_append(
    pool: np.ndarray,
    top: int,
    start: np.ndarray,
    deg: np.ndarray,
    cap: np.ndarray,
    x: int,
    y: int,
) -> tuple[np.ndarray, int]:
    """Append ``y`` to the growable neighbour list of ``x`` kept in ``pool``."""
    if deg[x] == cap[x]:
        new_cap = max(4, 2 * cap[x])
        if top + new_cap > pool.size:
            bigger = np.empty(max(pool.size * 3 // 2, top + new_cap) + 16, dtype=pool.dtype)
            bigger[:top] = pool[:top]
            pool = bigger
        pool[top : top + deg[x]] = pool[start[x] : start[x] + deg[x]]
        start[x] = top
        cap[x] = new_cap
        top += new_cap
    pool[start[x] + deg[x]] = y
    deg[x] += 1
    return pool, top


@njit(cache=True)
def _randbelow(rng: np.random.Generator, k: int) -> int:
    """Uniform random integer in ``[0, k)`` (one call site keeps compiling quick)."""
    return rng.integers(0, k)


@njit(cache=True)
def _in_first(items: np.ndarray, count: int, x: int) -> bool:
    """Whether ``x`` is among ``items[:count]``."""
    for t in range(count):
        if items[t] == x:
            return True
    return False


@njit(cache=True)
def _triad_step(
    pool: np.ndarray,
    base: int,
    d: int,
    targets: np.ndarray,
    count: int,
    rng: np.random.Generator,
) -> int:
    """Pick a random neighbour (``pool[base:base + d]``) not in ``targets[:count]``.

    Returns:
        The neighbour, or -1 if all of them are already targets.
    """
    for _ in range(8):  # a few random tries, then an exact uniform pick
        cand = pool[base + _randbelow(rng, d)]
        if not _in_first(targets, count, cand):
            return cand
    n_free = 0
    for q in range(d):
        if not _in_first(targets, count, pool[base + q]):
            n_free += 1
    if n_free == 0:
        return -1
    r = _randbelow(rng, n_free)
    for q in range(d):
        cand = pool[base + q]
        if not _in_first(targets, count, cand):
            if r == 0:
                return cand
            r -= 1
    return -1


@njit(cache=True)
def _grow_pa(
    n: int, m: int, triad_prob: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Barabási-Albert growth, with Holme-Kim triad formation if ``triad_prob > 0``.

    Starts from a star on ``m + 1`` people (person 0 is the centre); each later
    person links to ``m`` distinct existing people. A preferential-attachment
    step picks uniformly from the list of tie endpoints (probability proportional
    to degree); after it, each further tie is, with probability ``triad_prob``,
    a triad step to a random neighbour of the last preferential target not yet
    linked (Holme and Kim 2002), else another preferential step.

    Args:
        n: Number of people (count, > m).
        m: Ties added per new person (count, >= 1).
        triad_prob: Probability of a triad-formation step (probability).
        rng: Random generator (advanced in place).

    Returns:
        ``(u, v)`` endpoints with ``u < v`` (new person is ``v``), unsorted.
    """
    n_edges = m + (n - m - 1) * m
    eu = np.empty(n_edges, dtype=np.int32)
    ev = np.empty(n_edges, dtype=np.int32)
    repeated = np.empty(2 * n_edges, dtype=np.int32)
    n_rep = 0
    triads = triad_prob > 0.0
    if triads:
        pool = np.empty(2 * n_edges + 4 * n + 16, dtype=np.int32)
    else:
        pool = np.empty(1, dtype=np.int32)
    top = np.int64(0)
    start = np.zeros(n, dtype=np.int64)
    deg = np.zeros(n, dtype=np.int64)
    cap = np.zeros(n, dtype=np.int64)
    ne = 0
    centre = np.int64(0)
    for leaf in range(1, m + 1):
        eu[ne] = 0
        ev[ne] = leaf
        ne += 1
        repeated[n_rep] = 0
        repeated[n_rep + 1] = leaf
        n_rep += 2
        if triads:
            pool, top = _adj_append(pool, top, start, deg, cap, centre, np.int64(leaf))
            pool, top = _adj_append(pool, top, start, deg, cap, np.int64(leaf), centre)
    targets = np.empty(m, dtype=np.int32)
    for s in range(m + 1, n):
        count = 0
        last_pa = -1
        while count < m:
            chosen = -1
            if triads and count > 0 and rng.random() < triad_prob:
                chosen = _triad_step(pool, start[last_pa], deg[last_pa], targets, count, rng)
            if chosen < 0:  # preferential attachment
                chosen = repeated[_randbelow(rng, n_rep)]
                while _in_first(targets, count, chosen):
                    chosen = repeated[_randbelow(rng, n_rep)]
                last_pa = chosen
            targets[count] = chosen
            count += 1
        for t in range(m):
            x = np.int64(targets[t])
            eu[ne] = x
            ev[ne] = s
            ne += 1
            repeated[n_rep] = x
            repeated[n_rep + 1] = s
            n_rep += 2
            if triads:
                pool, top = _adj_append(pool, top, start, deg, cap, x, np.int64(s))
                pool, top = _adj_append(pool, top, start, deg, cap, np.int64(s), x)
    return eu, ev


def _preferential_attachment(cfg: NetworkConfig, n: int, rng: np.random.Generator,
                             name: str) -> RawGraph:
    """Barabási-Albert or Holme-Kim graph with ``m = round(mean_degree / 2)``."""
    m = max(1, round(cfg.mean_degree / 2))
    m = min(m, n - 1)
    triad = cfg.triad_prob if name == "holme_kim" else 0.0
    a, b = _grow_pa(n, m, float(triad), rng)
    u, v = _canonical_unique(n, a, b)
    return _with_communities(n, u, v, rng, name)


@generator("barabasi_albert")
def barabasi_albert_graph(cfg: NetworkConfig, n: int, rng: np.random.Generator) -> RawGraph:
    """Preferential attachment: each new person ties to ``m = round(mean_degree / 2)`` others.

    Targets are chosen with probability proportional to their degree, so
    audiences follow a power law with exponent 3. Communities from
    :func:`leiden_communities`.

    Source: Barabási and Albert (1999).

    Cost: O(n m) time (compiled), O(n m) memory.

    Args:
        cfg: Uses ``mean_degree``.
        n: Number of people (count, >= 2).
        rng: The only source of randomness.
    """
    return _preferential_attachment(cfg, n, rng, "barabasi_albert")


@generator("holme_kim")
def holme_kim_graph(cfg: NetworkConfig, n: int, rng: np.random.Generator) -> RawGraph:
    """Preferential attachment with triad formation: power-law audiences and clustering.

    As :func:`barabasi_albert_graph`, but after each preferential tie the new
    person, with probability ``triad_prob``, also ties to a contact of the person
    just chosen (closing a triangle). Communities from :func:`leiden_communities`.

    Source: Holme and Kim (2002).

    Cost: O(n m) time (compiled), O(n m) memory, ``m = round(mean_degree / 2)``.

    Args:
        cfg: Uses ``mean_degree``, ``triad_prob``.
        n: Number of people (count, >= 2).
        rng: The only source of randomness.
    """
    return _preferential_attachment(cfg, n, rng, "holme_kim")


@generator("watts_strogatz")
def watts_strogatz_graph(cfg: NetworkConfig, n: int, rng: np.random.Generator) -> RawGraph:
    """Small world: a ring lattice of even degree ``k``, each tie rewired with ``rewire_prob``.

    ``k`` is the even number nearest ``mean_degree``. A rewired tie ``(i, i + j)``
    keeps ``i`` and gets a new endpoint drawn uniformly among people that are
    neither ``i`` nor already tied to ``i`` (rejection sampling in vectorised
    rounds). Communities are contiguous ring blocks of about ``community_size``
    people.

    Source: Watts and Strogatz (1998).

    Cost: O(n k log(n k)) time, O(n k) memory.

    Args:
        cfg: Uses ``mean_degree``, ``rewire_prob``, ``community_size``.
        n: Number of people (count, >= 2).
        rng: The only source of randomness.
    """
    k = 2 * math.floor(cfg.mean_degree / 2 + 0.5)
    k_cap = (n - 1) - ((n - 1) % 2)
    half = max(1, min(k, k_cap) // 2)
    src = np.repeat(np.arange(n, dtype=np.int64), half)
    dst = (src + np.tile(np.arange(1, half + 1, dtype=np.int64), n)) % n
    rewire = rng.random(src.size) < cfg.rewire_prob
    u, v = _canonical_unique(n, src[~rewire], dst[~rewire])
    pend_src = src[rewire]
    pend_old = dst[rewire]
    for _ in range(100):
        if pend_src.size == 0:
            break
        w = rng.integers(0, n, pend_src.size, dtype=np.int64)
        u, v, rejected = _add_pairs(n, u, v, pend_src, w)
        pend_src = pend_src[rejected]
        pend_old = pend_old[rejected]
    # Ties that found no new endpoint (tiny dense graphs) keep their old one.
    u, v, _ = _add_pairs(n, u, v, pend_src, pend_old)
    n_blocks = max(1, round(n / cfg.community_size))
    community = ((np.arange(n, dtype=np.int64) * n_blocks) // n).astype(np.int32)
    return RawGraph(n=n, u=u, v=v, community=community, labels=None, name="watts_strogatz")


@generator("configuration")
def configuration_graph(cfg: NetworkConfig, n: int, rng: np.random.Generator) -> RawGraph:
    """Erased configuration model on the power-law degree sequence of :func:`default_graph`.

    Stubs are paired uniformly at random; self-loops and repeated pairs are
    dropped (so hubs lose a few ties). No communities are planted: they come
    from :func:`leiden_communities`.

    Source: Molloy and Reed (1995); erased variant as in Britton, Deijfen and
    Martin-Löf (2006).

    Cost: O(n + m log m) time, O(n + m) memory.

    Args:
        cfg: Uses ``mean_degree``, ``degree_exponent``, ``max_degree``.
        n: Number of people (count, >= 2).
        rng: The only source of randomness.
    """
    deg = _powerlaw_degrees(n, cfg.mean_degree, cfg.degree_exponent, cfg.max_degree, rng)
    stubs = np.repeat(np.arange(n, dtype=np.int32), deg)
    stubs = stubs[rng.permutation(stubs.size)]
    a, b = _pair_stubs(stubs)
    u, v = _canonical_unique(n, a, b)
    return _with_communities(n, u, v, rng, "configuration")


@generator("edgelist")
def edgelist_graph(cfg: NetworkConfig, n: int, rng: np.random.Generator) -> RawGraph:
    """A real network read from the edge list at ``cfg.path`` (see :func:`read_ties`).

    ``n`` is ignored: the file decides. With ``cfg.directed`` a row ``a b`` means
    ``a`` follows ``b`` (``u_follows_v`` / ``v_follows_u``); otherwise every tie
    is reciprocated. ``cfg.weight_as="trust"`` fills ``trust_uv`` / ``trust_vu``
    from the rating column; ``"contacts"`` fills ``weight`` with
    :func:`contact_strength` of the contacts per pair. Communities from
    :func:`leiden_communities` (weighted by ``weight`` when there is one).

    Source: the data (e.g. SNAP's ego-Facebook, McAuley and Leskovec 2012;
    bitcoin-otc, Kumar et al. 2016; SocioPatterns Malawi, Ozella et al. 2021).

    Cost: O(file size) to parse, O(m log m) to group the pairs; memory about
    eight times the file size while parsing (tables: a few times more).

    Args:
        cfg: Uses ``path``, ``directed``, ``source``, ``target``,
            ``weight_column``, ``weight_as``, ``trust_scale``.
        n: Ignored.
        rng: Used by the community detection only.

    Raises:
        ConfigError: No path, or an unusable file (see :func:`read_ties`).
    """
    if not cfg.path:
        raise ConfigError("network.path", "required with network=edgelist (an edge-list file)")
    t = read_ties(cfg.path, cfg.source, cfg.target, cfg.weight_column, cfg.weight_as,
                  cfg.trust_scale)
    weight = None if t.contacts is None else contact_strength(t.contacts)
    community = leiden_communities(t.n, t.u, t.v, rng, weight=weight)
    return RawGraph(n=t.n, u=t.u, v=t.v, community=community, labels=t.labels,
                    name="edgelist",
                    u_follows_v=t.u_follows_v if cfg.directed else None,
                    v_follows_u=t.v_follows_u if cfg.directed else None,
                    weight=weight, trust_uv=t.trust_uv, trust_vu=t.trust_vu)


@generator("karate")
def karate_graph(cfg: NetworkConfig, n: int, rng: np.random.Generator) -> RawGraph:
    """Zachary's karate club (34 people, 78 ties); community = club after the split.

    Source: Zachary (1977), as shipped with networkx.

    Cost: negligible.

    Args:
        cfg: Unused.
        n: Ignored.
        rng: Unused (the graph is fixed).
    """
    import networkx as nx

    g = nx.karate_club_graph()
    nodes = sorted(g.nodes())
    index = {node: i for i, node in enumerate(nodes)}
    pairs = np.array([(index[a], index[b]) for a, b in g.edges()], dtype=np.int64)
    u, v = _canonical_unique(len(nodes), pairs[:, 0], pairs[:, 1])
    clubs = [g.nodes[node]["club"] for node in nodes]
    community = np.array([0 if c == "Mr. Hi" else 1 for c in clubs], dtype=np.int32)
    return RawGraph(n=len(nodes), u=u, v=v, community=community, labels=None, name="karate")


#: Leiden iterations (igraph's default): bounded cost on large graphs.
LEIDEN_ITERATIONS = 2


def leiden_communities(
    n: int,
    u: np.ndarray,
    v: np.ndarray,
    rng: np.random.Generator,
    weight: np.ndarray | None = None,
    resolution: float = 1.0,
) -> np.ndarray:
    """Find communities by maximising modularity with the Leiden algorithm (igraph).

    igraph's ``community_leiden`` (Traag, Waltman and van Eck 2019) with the
    modularity objective (Newman and Girvan 2004) at ``resolution``, for
    :data:`LEIDEN_ITERATIONS` iterations (igraph's default; iterating to
    convergence took more than 9 minutes at 1,000,000 people, two take ~100 s).
    igraph draws from its own random generator: it is set, for this call only,
    to a ``random.Random`` seeded from ``rng``, so the same ``rng`` state gives
    the same communities, byte for byte.

    Args:
        n: Number of people (count).
        u: First endpoint of each tie.
        v: Second endpoint of each tie.
        rng: Random generator (one draw seeds igraph).
        weight: Optional tie weights (positive); ``None`` = all 1.
        resolution: Modularity resolution (dimensionless, > 0; 1 = Newman-Girvan).

    Returns:
        ``int32`` community of each person, ``0..C-1`` numbered in order of
        each community's smallest person id; isolated people are each their own.
    """
    import random

    import igraph

    seed = int(rng.integers(0, 2**63 - 1))
    graph = igraph.Graph(n=n, edges=np.column_stack([u, v]).astype(np.int64))
    igraph.set_random_number_generator(random.Random(seed))
    try:
        parts = graph.community_leiden(
            objective_function="modularity", resolution=resolution,
            n_iterations=LEIDEN_ITERATIONS,
            weights=None if weight is None else np.asarray(weight, np.float64).tolist())
    finally:
        igraph.set_random_number_generator(random)
    membership = np.asarray(parts.membership, dtype=np.int64)
    # Number communities by first appearance so the ids do not depend on igraph's order.
    _, first = np.unique(membership, return_index=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    _, inverse = np.unique(membership, return_inverse=True)
    return rank[inverse].astype(np.int32)


def _with_communities(
    n: int, u: np.ndarray, v: np.ndarray, rng: np.random.Generator, name: str
) -> RawGraph:
    """Wrap edges in a :class:`RawGraph` with Leiden communities (:func:`leiden_communities`)."""
    community = leiden_communities(n, u, v, rng)
    return RawGraph(n=n, u=u, v=v, community=community, labels=None, name=name)


def generate(cfg: NetworkConfig, n: int, rng: np.random.Generator) -> RawGraph:
    """Generate (or load) the social network named by ``cfg.name``.

    Looks the name up in :data:`GENERATORS` (one documented function each:
    :func:`default_graph`, :func:`erdos_renyi_graph`,
    :func:`barabasi_albert_graph`, :func:`holme_kim_graph`,
    :func:`watts_strogatz_graph`, :func:`configuration_graph`,
    :func:`edgelist_graph`, :func:`karate_graph`) and calls it.

    Args:
        cfg: Network configuration.
        n: Number of people (count, >= 2); ignored by ``edgelist`` and ``karate``.
        rng: Random generator; the only source of randomness used.

    Returns:
        The graph.

    Raises:
        ConfigError: Unknown generator, too few people, or an unusable edge list.
    """
    if cfg.name not in GENERATORS:
        raise ConfigError("network.name",
                          f"must be one of {', '.join(GENERATORS)}; got {cfg.name!r}")
    if cfg.name not in ("edgelist", "karate") and n < 2:
        raise ConfigError("people.n", f"must be a number >= 2; got {n!r}")
    return GENERATORS[cfg.name](cfg, int(n), rng)


# --- edge-list reading ----------------------------------------------------------------------


@njit(cache=True)
def _parse_pairs(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Parse a SNAP edge list held as bytes.

    Args:
        buf: ``uint8`` file contents.

    Returns:
        ``(a, b, bad)``: the two ids of each pair line, and the 1-based number of
        the first malformed line (0 when every line is fine).
    """
    size = buf.size
    cap = (size + 1) // 4 + 1  # a pair takes at least "0 0\n"
    a = np.empty(cap, dtype=np.int64)
    b = np.empty(cap, dtype=np.int64)
    cnt = 0
    line = 1
    i = 0
    if size >= 3 and buf[0] == 0xEF and buf[1] == 0xBB and buf[2] == 0xBF:  # UTF-8 BOM
        i = 3
    while i < size:
        # skip leading blanks (space, tab, CR, VT, FF)
        while i < size and (buf[i] == 32 or (buf[i] >= 9 and buf[i] <= 13 and buf[i] != 10)):
            i += 1
        if i >= size:
            break
        c = buf[i]
        if c == 10:  # blank line
            line += 1
            i += 1
            continue
        if c == 35 or c == 37:  # '#' or '%': comment line
            while i < size and buf[i] != 10:
                i += 1
            line += 1
            i += 1
            continue
        ids = np.zeros(2, dtype=np.int64)
        for t in range(2):
            if t == 1:  # at least one blank between the ids
                n_blank = 0
                while i < size and (buf[i] == 32 or buf[i] == 9):
                    i += 1
                    n_blank += 1
                if n_blank == 0:
                    return a[:cnt], b[:cnt], line
            digits = 0
            val = 0
            while i < size and buf[i] >= 48 and buf[i] <= 57:
                val = val * 10 + (buf[i] - 48)
                digits += 1
                i += 1
            if digits == 0 or digits > _MAX_ID_DIGITS:
                return a[:cnt], b[:cnt], line
            ids[t] = val
        # the second id must end the line or be followed by a blank (extra columns)
        if i < size and not (buf[i] == 32 or (buf[i] >= 9 and buf[i] <= 13)):
            return a[:cnt], b[:cnt], line
        a[cnt] = ids[0]
        b[cnt] = ids[1]
        cnt += 1
        while i < size and buf[i] != 10:
            i += 1
        line += 1
        i += 1
    return a[:cnt], b[:cnt], 0


#: Peak memory of reading an edge list, per byte of file: the bytes, two int64 id
#: arrays of up to a quarter of the size each, their relabelling and sorting.
EDGELIST_BYTES_PER_FILE_BYTE = 12


#: Peak memory of reading a table (CSV with a header), per byte of file: every field is
#: a Python string while the columns are checked (measured on bitcoin-otc: about 30).
TABLE_BYTES_PER_FILE_BYTE = 40


def max_edgelist_bytes() -> int:
    """Largest edge-list file this machine can read (bytes); 0 if its memory is unknown."""
    return machine_memory() // EDGELIST_BYTES_PER_FILE_BYTE


def _read_file_bytes(path: str | os.PathLike) -> tuple[str, bytes]:
    """Read a whole edge-list file after checking it is a readable regular file that fits.

    Returns:
        ``(key, data)``: the path as given (for messages) and the file's bytes.

    Raises:
        ConfigError: With ``key`` the path: missing, a directory, not a regular
            file, too large for this machine, or unreadable.
    """
    key = os.fspath(path)
    key = key.decode(errors="replace") if isinstance(key, bytes) else key
    if os.path.isdir(path):
        raise ConfigError(key, "is a directory, not an edge-list file")
    if not os.path.exists(path):
        raise ConfigError(key, "no such file")
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ConfigError(key, f"cannot be read ({exc.strerror or exc})") from exc
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(key, "is not a regular file (a device, FIFO or socket); "
                              "give an edge-list file")
        limit = max_edgelist_bytes()
        if limit and info.st_size > limit:
            raise ConfigError(key, f"is {info.st_size / 1e9:,.1f} GB; reading it needs about "
                              f"{EDGELIST_BYTES_PER_FILE_BYTE * info.st_size / 1e9:,.0f} GB of "
                              f"memory (estimate), this machine has "
                              f"{machine_memory() / 1e9:,.1f} GB: at most "
                              f"{limit / 1e9:,.1f} GB of edge list")
        try:
            data = fh.read(info.st_size + 1 if limit else -1)
        except OSError as exc:
            raise ConfigError(key, f"cannot be read ({exc.strerror or exc})") from exc
    return key, data


def _parse_snap(key: str, data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Parse SNAP ``u v`` lines (numba); raise ConfigError naming the first bad line."""
    a, b, bad = _parse_pairs(np.frombuffer(data, dtype=np.uint8))
    if bad:
        text = data.split(b"\n", bad)[bad - 1].decode("utf-8", errors="replace").strip()
        if len(text) > 60:
            text = text[:57] + "..."
        raise ConfigError(
            key, f"line {bad}: expected two non-negative integer node ids, got {text!r}"
        )
    if a.size == 0:
        raise ConfigError(key, "contains no edges")
    return a, b


def read_edgelist(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read an undirected edge list in SNAP format.

    One ``u v`` pair per line, separated by blanks; further columns are ignored,
    as are blank lines and lines starting with ``#`` or ``%``. Node ids are
    non-negative integers, relabelled ``0..n-1`` in increasing order of id.
    Duplicate and reversed pairs are merged and self-loops dropped (a node seen
    only in a self-loop is still a person, with no ties).

    Args:
        path: Edge-list file.

    Returns:
        ``(u, v, labels)``: ``int32`` endpoints with ``u < v``, unique and sorted
        lexicographically, and the ``int64`` original id of each person.

    Only regular files are read (not a device such as ``/dev/zero``, a FIFO or a
    socket), and only files small enough to parse in this machine's memory
    (parsing takes about :data:`EDGELIST_BYTES_PER_FILE_BYTE` times the file).

    Raises:
        ConfigError: With ``key`` the path as given: the file is missing, is a
            directory or not a regular file, is too large for this machine,
            cannot be read, has a malformed line, has no ties or fewer than 2
            people.
    """
    key, data = _read_file_bytes(path)
    a, b = _parse_snap(key, data)
    labels, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    n = int(labels.size)
    if n < 2:
        raise ConfigError(key, f"has fewer than 2 people ({n})")
    u, v = _canonical_unique(n, inverse[: a.size], inverse[a.size :])
    if u.size == 0:
        raise ConfigError(key, "contains no edges (only self-loops)")
    return u, v, labels.astype(np.int64)


def _first_data_line(data: bytes) -> str:
    """The first line that is neither blank nor a ``#`` / ``%`` comment ("" if none)."""
    for raw in data.splitlines():
        line = raw.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
        if line and line[0] not in "#%":
            return line
    return ""


def _is_table(first_line: str) -> bool:
    """Whether an edge list is a table: commas, or a header (a first token not an integer)."""
    if "," in first_line:
        return True
    tokens = first_line.split()
    return bool(tokens) and not tokens[0].isdigit()


def _read_table(key: str, data: bytes, source: str, target: str,
                weight_column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Read the id columns (and a number column) of a CSV / blank-separated table.

    A header is present when the first data line's first field is not an
    integer; columns are then chosen by header name, else by 1-based position
    written as text (``"1"``, ``"2"``, ...). Defaults: the first two columns.

    Returns:
        ``(a, b, values)``: ``int64`` ids per row and ``float64`` values of
        ``weight_column`` (``None`` without one).

    Raises:
        ConfigError: A named column is missing, ids are not non-negative
            integers, values are not finite numbers, or there are no rows.
    """
    import io

    import pandas as pd

    limit = machine_memory() // TABLE_BYTES_PER_FILE_BYTE
    if limit and len(data) > limit:
        raise ConfigError(key, f"is a table of {len(data) / 1e9:,.2f} GB; reading it needs "
                          f"about {TABLE_BYTES_PER_FILE_BYTE} times that in memory, this "
                          f"machine has {machine_memory() / 1e9:,.1f} GB: at most "
                          f"{limit / 1e9:,.2f} GB of table (a SNAP `u v` file is cheaper)")
    first = _first_data_line(data)
    sep = "," if "," in first else r"\s+"
    header_row = first.split("," if sep == "," else None)[0].strip().strip('"')
    has_header = not header_row.isdigit()
    try:
        table = pd.read_csv(io.BytesIO(data), sep=sep, comment="#", header=0 if has_header
                            else None, skip_blank_lines=True, dtype=str, engine="c",
                            encoding="utf-8-sig")
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ConfigError(key, f"cannot be read as a table ({str(exc).splitlines()[0]})") from exc
    columns = [str(c).strip() for c in table.columns] if has_header else [
        str(i + 1) for i in range(table.shape[1])]
    table.columns = columns
    if table.shape[0] == 0:
        raise ConfigError(key, "contains no edges")

    def column(option: str, name: str, default: int | None) -> str | None:
        if not name:
            if default is None:
                return None
            if default >= len(columns):
                raise ConfigError(key, f"has {len(columns)} column(s); need at least 2")
            return columns[default]
        if name not in columns:
            raise ConfigError(f"network.{option}", f"column {name!r} is not in {key}; its "
                              f"columns are {', '.join(columns)}")
        return name

    def ids(name: str) -> np.ndarray:
        text = table[name].astype(str).str.strip()
        ok = text.str.fullmatch(r"\d{1,18}")
        if not ok.all():
            row = int(np.argmin(ok.to_numpy()))
            raise ConfigError(key, f"column {name!r}, data row {row + 1}: expected a "
                              f"non-negative integer node id, got {text.iloc[row]!r}")
        return text.to_numpy().astype(np.int64)

    a = ids(column("source", source, 0))
    b = ids(column("target", target, 1))
    values = None
    wcol = column("weight_column", weight_column, None)
    if wcol is not None:
        numbers = pd.to_numeric(table[wcol].str.strip(), errors="coerce").to_numpy(np.float64)
        bad = ~np.isfinite(numbers)
        if bad.any():
            row = int(np.argmax(bad))
            raise ConfigError(key, f"column {wcol!r}, data row {row + 1}: expected a finite "
                              f"number, got {table[wcol].iloc[row]!r}")
        values = numbers
    return a, b, values


@dataclass
class EdgeTable:
    """Ties read from an edge list, with who follows whom and per-tie data.

    Attributes:
        u, v: ``int32`` endpoints of each tie, ``u < v``, unique, sorted.
        labels: ``int64`` original id of each person (person ``i`` had ``labels[i]``).
        u_follows_v, v_follows_u: ``bool`` per tie: a row ``u v`` (resp. ``v u``)
            was present.
        trust_uv, trust_vu: ``float64`` mean rating of ``u`` in ``v`` (resp. ``v`` in
            ``u``) divided by the trust scale, clipped to [-1, 1]; NaN where
            unrated; ``None`` without a rating column.
        contacts: ``float64`` contacts per tie (rows, or summed
            ``weight_column``, both directions); ``None`` unless counting.
    """

    u: np.ndarray
    v: np.ndarray
    labels: np.ndarray
    u_follows_v: np.ndarray
    v_follows_u: np.ndarray
    trust_uv: np.ndarray | None = None
    trust_vu: np.ndarray | None = None
    contacts: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of people (count)."""
        return int(self.labels.size)


def read_ties(path: str | os.PathLike, source: str = "", target: str = "",
              weight_column: str = "", weight_as: str = "none",
              trust_scale: float = 0.0) -> EdgeTable:
    """Read an edge list as rows ``source -> target`` (SNAP pairs or a table with a header).

    SNAP files (``u v`` per line, see :func:`read_edgelist`) and tables (CSV, or
    blank-separated with a header line; see :func:`_read_table`) are both read.
    Each row is one directed observation: ``source`` follows / rated / met
    ``target``. Ids are relabelled ``0..n-1`` in increasing order of id;
    self-loops are dropped (their person kept). Rows are grouped by unordered
    pair: a pair with rows both ways is one reciprocated tie.

    With ``weight_as="trust"`` the ``weight_column`` holds ratings: per
    direction their mean divided by ``trust_scale`` (0: the largest absolute
    rating in the file), clipped to [-1, 1]. With ``weight_as="contacts"``
    each row is one contact (or ``weight_column`` contacts) and the pair's
    contacts in both directions are added up.

    Args:
        path: Edge-list file.
        source: Column of the first id (header name; "" = first column).
        target: Column of the second id ("" = second column).
        weight_column: Column of a number per row ("" = none).
        weight_as: ``none``, ``trust`` or ``contacts`` (:data:`sim.config.WEIGHT_KINDS`).
        trust_scale: Rating that means full trust (>= 0; 0 = largest |rating|).

    Returns:
        The ties (:class:`EdgeTable`).

    Raises:
        ConfigError: Unusable file (as :func:`read_edgelist`), a missing column,
            ratings without a column, or all ratings 0 with ``trust_scale`` 0.
    """
    key, data = _read_file_bytes(path)
    named = bool(source or target or weight_column)
    if named or _is_table(_first_data_line(data)):
        a, b, values = _read_table(key, data, source, target, weight_column)
    else:
        a, b = _parse_snap(key, data)
        values = None
    if weight_as == "trust" and values is None:
        raise ConfigError("network.weight_column",
                          "required with network.weight_as=trust (the column of ratings)")
    labels, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    n = int(labels.size)
    if n < 2:
        raise ConfigError(key, f"has fewer than 2 people ({n})")
    src = inverse[: a.size].astype(np.int64)
    dst = inverse[a.size :].astype(np.int64)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    if values is not None:
        values = values[keep]
    if src.size == 0:
        raise ConfigError(key, "contains no edges (only self-loops)")
    u, v, tie, forward = _group_arcs(n, src, dst)
    m = int(u.size)
    u_follows_v, v_follows_u = _follows(tie, forward, m)
    out = EdgeTable(u=u, v=v, labels=labels.astype(np.int64), u_follows_v=u_follows_v,
                    v_follows_u=v_follows_u)
    if weight_as == "trust":
        scale = float(trust_scale) if trust_scale > 0 else float(np.abs(values).max())
        if scale == 0:
            raise ConfigError("network.trust_scale", f"every rating in {key} is 0; give the "
                              "rating that means full trust (> 0)")

        def mean_rating(rows: np.ndarray) -> np.ndarray:
            count = np.bincount(tie[rows], minlength=m)
            total = np.bincount(tie[rows], weights=values[rows], minlength=m)
            mean = np.full(m, np.nan)
            np.divide(total, count, out=mean, where=count > 0)
            return np.clip(mean / scale, -1.0, 1.0)

        out.trust_uv = mean_rating(forward)
        out.trust_vu = mean_rating(~forward)
    elif weight_as == "contacts":
        per_row = np.ones(src.size) if values is None else values
        out.contacts = np.bincount(tie, weights=per_row, minlength=m)
    return out


def contact_strength(contacts: np.ndarray) -> np.ndarray:
    """Tie strength from contacts per pair: their empirical CDF, in (0, 1].

    ``w = #{pairs with at most c contacts} / #pairs`` for a pair with ``c``
    contacts: the cumulative tie-strength rank ``P_cum(w)`` that Onnela et al.
    (2007) use to compare ties of different strength. Monotone (more contacts,
    never weaker), pairs with equal counts get equal strength, the most frequent
    contact gets 1 and no pair 0; independent of units (20-second windows or
    minutes give the same strengths).

    Args:
        contacts: Contacts of each pair (count, > 0).

    Returns:
        ``float64`` strength of each pair.
    """
    contacts = np.asarray(contacts, np.float64)
    if contacts.size == 0:
        return contacts.copy()
    ordered = np.sort(contacts)
    return np.searchsorted(ordered, contacts, side="right") / contacts.size


# --- structure ------------------------------------------------------------------------------


@njit(cache=True)
def _fill_csr(n: int, u: np.ndarray, v: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Fill the neighbour lists of a symmetric CSR, each row sorted."""
    m = u.size
    indices = np.empty(2 * m, dtype=np.int32)
    pos = indptr[:-1].copy()
    for e in range(m):  # smaller endpoints first: rows come out sorted for sorted input
        r = v[e]
        indices[pos[r]] = u[e]
        pos[r] += 1
    for e in range(m):
        r = u[e]
        indices[pos[r]] = v[e]
        pos[r] += 1
    for r in range(n):  # sort any row that is not (unsorted input)
        s = indptr[r]
        t = indptr[r + 1]
        for p in range(s + 1, t):
            if indices[p - 1] > indices[p]:
                _sort_segment(indices, indices, s, t)
                break
    return indices


def to_csr(n: int, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Build the symmetric adjacency of an undirected graph in CSR form.

    Args:
        n: Number of people (count).
        u: First endpoint of each tie.
        v: Second endpoint of each tie (ties need not be sorted).

    Returns:
        ``(indptr, indices)``: ``int64`` row pointers of length ``n + 1`` and the
        ``int32`` neighbours of person ``i`` in ``indices[indptr[i]:indptr[i+1]]``,
        sorted increasingly.
    """
    u = _as_index(u)
    v = _as_index(v)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(u, minlength=n) + np.bincount(v, minlength=n), out=indptr[1:])
    return indptr, _fill_csr(n, u, v, indptr)


@njit(cache=True)
def _common_neighbours(n: int, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Count the common neighbours of each tie by listing triangles once each.

    Ties are oriented from the endpoint of smaller ``(degree, id)`` to the
    larger; each triangle is then found exactly once, from its lowest vertex,
    by intersecting short out-lists (the "forward" algorithm), and adds one to
    each of its three ties.

    Returns:
        ``(common, degree)``: ``int32`` common neighbours per tie and ``int64``
        degree per person.
    """
    m = u.size
    deg = np.zeros(n, dtype=np.int64)
    for e in range(m):
        deg[u[e]] += 1
        deg[v[e]] += 1
    ptr = np.zeros(n + 1, dtype=np.int64)
    for e in range(m):
        a = u[e]
        b = v[e]
        ptr[(a if deg[a] < deg[b] or (deg[a] == deg[b] and a < b) else b) + 1] += 1
    for i in range(n):
        ptr[i + 1] += ptr[i]
    out = np.empty(m, dtype=np.int32)
    out_edge = np.empty(m, dtype=np.int32)
    fill = ptr[:-1].copy()
    for e in range(m):
        a = u[e]
        b = v[e]
        if deg[a] < deg[b] or (deg[a] == deg[b] and a < b):
            src, dst = a, b
        else:
            src, dst = b, a
        out[fill[src]] = dst
        out_edge[fill[src]] = e
        fill[src] += 1
    common = np.zeros(m, dtype=np.int32)
    mark = np.full(n, -1, dtype=np.int32)
    mark_edge = np.empty(n, dtype=np.int32)
    for i in range(n):
        for p in range(ptr[i], ptr[i + 1]):
            mark[out[p]] = i
            mark_edge[out[p]] = out_edge[p]
        for p in range(ptr[i], ptr[i + 1]):
            j = out[p]
            for q in range(ptr[j], ptr[j + 1]):
                w = out[q]
                if mark[w] == i:  # triangle i, j, w
                    common[out_edge[p]] += 1
                    common[out_edge[q]] += 1
                    common[mark_edge[w]] += 1
    return common, deg


def neighbourhood_overlap(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Return the neighbourhood overlap of each tie (Onnela et al. 2007).

    ``O_ij = n_ij / ((k_i - 1) + (k_j - 1) - n_ij)`` with ``n_ij`` the number of
    common neighbours and ``k`` the degrees; 0 where the denominator is 0 (both
    endpoints have no other tie).

    Args:
        n: Number of people (count).
        u: First endpoint of each tie (simple graph, any order).
        v: Second endpoint of each tie.

    Returns:
        ``float64`` overlap in [0, 1] of each tie, in the order of ``u, v``.
    """
    u = _as_index(u)
    v = _as_index(v)
    common, deg = _common_neighbours(n, u, v)
    denom = (deg[u] - 1) + (deg[v] - 1) - common
    out = np.zeros(common.size, dtype=np.float64)
    np.divide(common, denom, out=out, where=denom > 0)
    return out


def strength_inside_vs_across(
    community: np.ndarray, u: np.ndarray, v: np.ndarray, w: np.ndarray,
    weak_below: float = 0.2, strong_above: float = 0.5,
) -> dict[str, float]:
    """How tie strength splits between ties inside communities and bridges across them.

    A tie is *inside* when both ends are in one community, else a *bridge*;
    *weak* when ``w < weak_below``, *strong* when ``w >= strong_above`` (the
    classes of :func:`sim.ties.tie_class`). Pure function of its arguments.

    Args:
        community: Community of each person.
        u: First endpoint of each tie.
        v: Second endpoint of each tie.
        w: Strength of each tie (strength units).
        weak_below: Weak-tie threshold (strength).
        strong_above: Strong-tie threshold (strength).

    Returns:
        Shares in [0, 1] (NaN where the group is empty) and means:
        ``inside_share`` (ties inside), ``weak_inside`` / ``weak_across`` (share
        of inside ties / bridges that are weak), ``strong_inside`` /
        ``strong_across`` (same for strong), ``strong_ties_inside`` (share of
        strong ties that are inside), ``weak_ties_across`` (share of weak ties
        that are bridges), ``mean_inside`` / ``mean_across`` (mean strength),
        ``n_inside`` / ``n_across`` (counts).
    """
    community = np.asarray(community)
    w = np.asarray(w, np.float64)
    inside = community[u] == community[v]
    weak = w < weak_below
    strong = w >= strong_above

    def share(mask: np.ndarray, of: np.ndarray) -> float:
        total = int(of.sum())
        return float((mask & of).sum() / total) if total else math.nan

    def mean(of: np.ndarray) -> float:
        return float(w[of].mean()) if of.any() else math.nan

    return {
        "inside_share": share(inside, np.ones_like(inside)),
        "weak_inside": share(weak, inside),
        "weak_across": share(weak, ~inside),
        "strong_inside": share(strong, inside),
        "strong_across": share(strong, ~inside),
        "strong_ties_inside": share(inside, strong),
        "weak_ties_across": share(~inside, weak),
        "mean_inside": mean(inside),
        "mean_across": mean(~inside),
        "n_inside": float(inside.sum()),
        "n_across": float((~inside).sum()),
    }


@njit(cache=True)
def _lpa_round(
    indptr: np.ndarray,
    indices: np.ndarray,
    labels: np.ndarray,
    order: np.ndarray,
    counts: np.ndarray,
    touched: np.ndarray,
) -> int:
    """One asynchronous label-propagation sweep; return how many labels changed.

    Each person in ``order`` takes the most frequent label among their
    neighbours, the smallest such label on ties. Short rows are sorted in a
    small buffer (``touched``) and scanned for the longest run; long rows are
    tallied in ``counts`` (all zero between calls). People are handled in
    batches whose rows are read ahead (independent loads overlap in memory),
    which does not change the result.
    """
    changed = 0
    batch = 32
    row_start = np.empty(batch, dtype=np.int64)
    row_end = np.empty(batch, dtype=np.int64)
    read_ahead = 0
    for b0 in range(0, order.size, batch):
        size = min(batch, order.size - b0)
        for k in range(size):
            row_start[k] = indptr[order[b0 + k]]
            row_end[k] = indptr[order[b0 + k] + 1]
        for k in range(size):
            for p in range(row_start[k], row_end[k]):
                read_ahead += labels[indices[p]]
        for k in range(size):
            node = order[b0 + k]
            s = row_start[k]
            e = row_end[k]
            d = e - s
            if d == 0:
                continue
            best = -1
            best_count = 0
            if d <= 48:
                for p in range(d):  # insertion sort of the neighbours' labels
                    lab = labels[indices[s + p]]
                    j = p - 1
                    while j >= 0 and touched[j] > lab:
                        touched[j + 1] = touched[j]
                        j -= 1
                    touched[j + 1] = lab
                run = 0
                for i in range(d):  # longest run; the first (smallest) wins ties
                    run = run + 1 if i > 0 and touched[i] == touched[i - 1] else 1
                    if run > best_count:
                        best_count = run
                        best = touched[i]
            else:
                nt = 0
                for p in range(s, e):
                    lab = labels[indices[p]]
                    if counts[lab] == 0:
                        touched[nt] = lab
                        nt += 1
                    counts[lab] += 1
                for t in range(nt):
                    lab = touched[t]
                    c = counts[lab]
                    if c > best_count or (c == best_count and lab < best):
                        best = lab
                        best_count = c
                    counts[lab] = 0
            if best != labels[node]:
                labels[node] = best
                changed += 1
    return changed + 0 * read_ahead


def label_propagation(
    n: int, u: np.ndarray, v: np.ndarray, rng: np.random.Generator, rounds: int = 10
) -> np.ndarray:
    """Find communities by asynchronous label propagation (Raghavan et al. 2007).

    Everyone starts with their own label; in each round people are visited in
    the order of ``rng.permutation(n)`` and take the label most frequent among
    their neighbours (ties broken by the smallest label). Stops after ``rounds``
    rounds or a round with no change. People without ties keep their own label.

    Args:
        n: Number of people (count).
        u: First endpoint of each tie.
        v: Second endpoint of each tie.
        rng: Random generator (visit orders).
        rounds: Most sweeps (count).

    Returns:
        ``int32`` community of each person, relabelled ``0..C-1`` in increasing
        order of the final label.
    """
    indptr, indices = to_csr(n, u, v)
    labels = np.arange(n, dtype=np.int32)
    counts = np.zeros(n, dtype=np.int32)
    touched = np.empty(max(64, int(np.diff(indptr).max(initial=0))), dtype=np.int32)
    for _ in range(rounds):
        order = rng.permutation(n).astype(np.int32)
        if _lpa_round(indptr, indices, labels, order, counts, touched) == 0:
            break
    _, community = np.unique(labels, return_inverse=True)
    return community.astype(np.int32)
