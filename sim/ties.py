"""Tie state: a padded CSR adjacency with strengths that decay and grow.

Row ``i`` of the adjacency holds ``row_len[i]`` neighbours starting at
``row_start[i]``, with room for ``row_cap[i]``, so ties created during a run
(closures, meetups) are inserted in place. A full row moves to fresh room at
the end of the slot array with twice the capacity (amortised O(1) per new
tie); once moved rows leave more garbage than live slots, the whole layout is
compacted.
Strength of tie ``e`` is ``floor + scale * excess[e]``
(:func:`sim.kernels.strength_of`). The kernels get the arrays as one
:class:`sim.state.Ties` (:meth:`TieState.arrays`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from sim import kernels
from sim.config import TiesConfig
from sim.network import RawGraph, neighbourhood_overlap
from sim.state import Ties

#: Free slots given to every row at start, plus one per ``SLACK_DIV`` ties.
SLACK_MIN = 2
SLACK_DIV = 8


@njit(cache=True)
def _fill_rows(eu, ev, row_start, row_len, nbr, nbr_edge):
    for e in range(eu.shape[0]):
        a = eu[e]
        b = ev[e]
        nbr[row_start[a] + row_len[a]] = b
        nbr_edge[row_start[a] + row_len[a]] = e
        row_len[a] += 1
        nbr[row_start[b] + row_len[b]] = a
        nbr_edge[row_start[b] + row_len[b]] = e
        row_len[b] += 1


@njit(cache=True)
def _insert_batch(a, b, w, gain, ties, n_edges):
    """Create ties a[i]-b[i] (strength w[i]); a pair tied meanwhile is strengthened by gain.

    Returns:
        The new number of edges, or ``-1 - i`` if pair ``i`` found no room.
    """
    ties = Ties(*ties)
    for i in range(a.shape[0]):
        e = kernels.find_tie(ties, a[i], b[i])
        if e >= 0:
            kernels.strengthen(ties, e, gain[i])
        else:
            if not kernels.insert_tie(ties, a[i], b[i], w[i], n_edges):
                return -1 - i
            n_edges += 1
    return n_edges


@dataclass
class TieState:
    """Every tie of the network, its strength, and the adjacency over them.

    Attributes:
        n: Number of people.
        row_start: int64 start of each row in ``nbr`` (length n).
        row_len: int32 number of ties of each person (current audience).
        row_cap: int32 slots reserved for each row.
        end: Used length of ``nbr`` (slots past it are free room).
        nbr: int32 neighbour of each slot (-1 in free slots).
        nbr_edge: int32 edge id of each slot.
        eu, ev: int32 endpoints of each edge (``eu < ev``); ``n_edges`` are used.
        excess: float64 strength above the floor, before the global ``scale``.
        excess_sum: float64 per person, summed ``excess`` of the ties they
            follow (all their ties when undirected).
        flags: int8 per edge: who follows whom and distrust
            (``sim.kernels.FOLLOW_UV``, ``FOLLOW_VU``, ``DISTRUST``).
        n_follow: int32 per person, how many of their ties they follow.
        trust_uv, trust_vu: float64 per edge, rated trust of ``eu`` in ``ev``
            and of ``ev`` in ``eu`` in [-1, 1]; NaN where not rated (and for
            every tie made during a run).
        directed: Whether any tie is not reciprocated.
        scale: Global decay factor (dimensionless; see :meth:`decay`).
        floor: Strength every tie decays toward.
    """

    n: int
    row_start: np.ndarray
    row_len: np.ndarray
    row_cap: np.ndarray
    end: int
    nbr: np.ndarray
    nbr_edge: np.ndarray
    eu: np.ndarray
    ev: np.ndarray
    excess: np.ndarray
    excess_sum: np.ndarray
    n_edges: int
    scale: float
    floor: float
    flags: np.ndarray
    n_follow: np.ndarray
    trust_uv: np.ndarray
    trust_vu: np.ndarray
    directed: bool = False

    @classmethod
    def build(cls, n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, floor: float,
              u_follows_v: np.ndarray | None = None, v_follows_u: np.ndarray | None = None,
              trust_uv: np.ndarray | None = None, trust_vu: np.ndarray | None = None,
              ) -> TieState:
        """Lay out ties ``u[i]-v[i]`` with strengths ``w[i]`` (``u < v``, unique).

        Args:
            n: Number of people.
            u: Lower endpoint of each tie.
            v: Upper endpoint of each tie.
            w: Strength of each tie (in (0, 1]).
            floor: Strength every tie decays toward.
            u_follows_v: Whether ``u`` follows ``v`` (bool per tie); ``None``:
                every tie reciprocated (undirected).
            v_follows_u: Whether ``v`` follows ``u`` (at least one of the two).
            trust_uv: ``u``'s rated trust in ``v`` per tie in [-1, 1], NaN =
                not rated; ``None``: no ratings. A negative rating either way
                flags the tie ``DISTRUST``.
            trust_vu: ``v``'s rated trust in ``u``.
        """
        u = np.ascontiguousarray(u, np.int32)
        v = np.ascontiguousarray(v, np.int32)
        m = u.shape[0]
        degree = np.bincount(u, minlength=n) + np.bincount(v, minlength=n)
        cap = degree + SLACK_MIN + degree // SLACK_DIV
        row_start = np.zeros(n, np.int64)
        np.cumsum(cap[:-1], out=row_start[1:])
        nbr = np.full(int(cap.sum()), -1, np.int32)
        nbr_edge = np.full(nbr.shape[0], -1, np.int32)
        row_len = np.zeros(n, np.int32)
        _fill_rows(u, v, row_start, row_len, nbr, nbr_edge)
        edge_cap = max(16, m + m // 8)
        eu = np.zeros(edge_cap, np.int32)
        ev = np.zeros(edge_cap, np.int32)
        excess = np.zeros(edge_cap, np.float64)
        eu[:m], ev[:m] = u, v
        excess[:m] = np.asarray(w, np.float64) - floor
        flags = np.full(edge_cap, kernels.FOLLOW_BOTH, np.int8)
        directed = u_follows_v is not None
        if directed:
            fuv = np.asarray(u_follows_v, bool)
            fvu = np.asarray(v_follows_u, bool)
            flags[:m] = fuv * kernels.FOLLOW_UV + fvu * kernels.FOLLOW_VU
            # Each person's attention denominator: the ties they follow.
            excess_sum = (np.bincount(u[fuv], excess[:m][fuv], minlength=n)
                          + np.bincount(v[fvu], excess[:m][fvu], minlength=n))
            n_follow = (np.bincount(u[fuv], minlength=n)
                        + np.bincount(v[fvu], minlength=n)).astype(np.int32)
            directed = bool((flags[:m] != kernels.FOLLOW_BOTH).any())
        else:
            excess_sum = np.bincount(u, excess[:m], minlength=n) + np.bincount(v, excess[:m], n)
            n_follow = row_len.copy()
        t_uv = np.full(edge_cap, np.nan)
        t_vu = np.full(edge_cap, np.nan)
        if trust_uv is not None:
            t_uv[:m] = trust_uv
        if trust_vu is not None:
            t_vu[:m] = trust_vu
        distrust = (t_uv[:m] < 0) | (t_vu[:m] < 0)  # NaN compares False: unrated
        flags[:m] |= np.where(distrust, kernels.DISTRUST, 0).astype(np.int8)
        return cls(n, row_start, row_len, cap.astype(np.int32), int(nbr.shape[0]), nbr, nbr_edge,
                   eu, ev, excess, excess_sum, m, 1.0, float(floor), flags, n_follow, t_uv, t_vu,
                   directed)

    # --- reading ---------------------------------------------------------------
    def arrays(self) -> Ties:
        """The kernels' view of the current arrays (rebuild after any growth or decay)."""
        return Ties(self.row_start, self.row_len, self.row_cap, self.nbr, self.nbr_edge, self.eu,
                    self.ev, self.excess, self.excess_sum, self.flags, self.n_follow,
                    float(self.scale), float(self.floor))

    def strengths(self) -> np.ndarray:
        """Current strength of every tie (float64, length ``n_edges``).

        The vectorised :func:`sim.kernels.strength_of`.
        """
        return self.floor + self.scale * self.excess[: self.n_edges]

    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Endpoints ``(u, v)`` of every tie (``u < v``)."""
        return self.eu[: self.n_edges], self.ev[: self.n_edges]

    def neighbours(self, i: int) -> np.ndarray:
        """Contacts of person ``i`` (int32)."""
        s = self.row_start[i]
        return self.nbr[s : s + self.row_len[i]]

    def tie(self, a: int, b: int) -> int:
        """Edge id of the tie a-b, or -1."""
        return int(kernels.find_tie(self.arrays(), a, b))

    def strength(self, a: int, b: int) -> float:
        """Strength of the tie a-b (0.0 where there is none)."""
        e = self.tie(a, b)
        return 0.0 if e < 0 else float(kernels.strength_of(self.arrays(), e))

    def strength_totals(self) -> np.ndarray:
        """Per person, the summed strength of the ties they follow (the attention denominator)."""
        return self.n_follow * self.floor + self.scale * self.excess_sum

    def has_distrust(self) -> bool:
        """Whether any tie carries a negative trust rating."""
        return bool((self.flags[: self.n_edges] & kernels.DISTRUST).any())

    def mean_strength(self) -> float:
        """Mean strength over all ties (0.0 without ties)."""
        if self.n_edges == 0:
            return 0.0
        if self.directed:  # excess_sum counts followed ends only
            return float(self.floor + self.scale * self.excess[: self.n_edges].mean())
        return float(self.floor + self.scale * self.excess_sum.sum() / (2 * self.n_edges))

    def csr(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Compact symmetric CSR ``(indptr, indices, strengths)`` of the current ties."""
        u, v = self.edges()
        w = self.strengths()
        src = np.concatenate([u, v])
        dst = np.concatenate([v, u])
        ww = np.concatenate([w, w])
        order = np.lexsort((dst, src))
        indptr = np.zeros(self.n + 1, np.int64)
        np.cumsum(np.bincount(src, minlength=self.n), out=indptr[1:])
        return indptr, dst[order].astype(np.int32), ww[order]

    # --- changing ----------------------------------------------------------------
    def decay(self, rate: float) -> None:
        """Move every tie ``rate`` of the way toward the floor (one day)."""
        self.scale *= 1.0 - rate
        if self.scale < 1e-150:  # fold the factor into the arrays before it underflows
            self.excess[: self.n_edges] *= self.scale
            self.excess_sum *= self.scale
            self.scale = 1.0

    def add_ties(self, a: np.ndarray, b: np.ndarray, w: np.ndarray, gain: np.ndarray) -> int:
        """Create ties a[i]-b[i] with strength w[i], in order.

        A pair already tied (or tied by an earlier pair of the batch) is
        strengthened by ``gain[i]`` of the way to 1 instead.

        Returns:
            Number of ties created.
        """
        if a.shape[0] == 0:
            return 0
        a = np.ascontiguousarray(a, np.int32)
        b = np.ascontiguousarray(b, np.int32)
        w = np.ascontiguousarray(w, np.float64)
        gain = np.ascontiguousarray(gain, np.float64)
        self._make_room(np.concatenate([a, b]))
        before = self.n_edges
        out = _insert_batch(a, b, w, gain, tuple(self.arrays()), self.n_edges)
        if out < 0:  # cannot happen after _make_room; guard against silent loss
            raise RuntimeError(f"tie insertion ran out of room at pair {-1 - out}")
        self.n_edges = int(out)
        return self.n_edges - before

    def _make_room(self, endpoints: np.ndarray) -> None:
        """Ensure every row named in ``endpoints`` has a free slot per mention."""
        people, wanted = np.unique(endpoints, return_counts=True)
        short = wanted > self.row_cap[people] - self.row_len[people]
        if short.any():
            grow = people[short]
            new_cap = (2 * (self.row_len[grow] + wanted[short]) + SLACK_MIN).astype(np.int64)
            room = self.end + int(new_cap.sum())
            if room > self.nbr.shape[0]:
                size = max(room, self.nbr.shape[0] + self.nbr.shape[0] // 4)
                for name in ("nbr", "nbr_edge"):
                    old = getattr(self, name)
                    new = np.full(size, -1, np.int32)
                    new[: self.end] = old[: self.end]
                    setattr(self, name, new)
            self.end = int(kernels.move_rows(grow, new_cap, self.row_start, self.row_len,
                                             self.row_cap, self.nbr, self.nbr_edge, self.end))
            if self.end > 2 * int(self.row_cap.sum(dtype=np.int64)):
                self._compact()
        need = self.n_edges + endpoints.shape[0] // 2
        if need > self.eu.shape[0]:
            size = max(need, 2 * self.eu.shape[0])
            fills = {"eu": 0, "ev": 0, "excess": 0.0, "flags": kernels.FOLLOW_BOTH,
                     "trust_uv": np.nan, "trust_vu": np.nan}
            for name, fill in fills.items():
                old = getattr(self, name)
                new = np.full(size, fill, old.dtype)
                new[: self.n_edges] = old[: self.n_edges]
                setattr(self, name, new)

    def _compact(self) -> None:
        """Lay every row out again, consecutively, dropping moved rows' garbage."""
        self.row_start, self.nbr, self.nbr_edge = kernels.relayout(
            self.row_start, self.row_len, self.nbr, self.nbr_edge, self.row_cap)
        self.end = int(self.nbr.shape[0])


def initial_strengths(n: int, u: np.ndarray, v: np.ndarray, cfg: TiesConfig,
                      rng: np.random.Generator, community: np.ndarray | None = None,
                      weight: np.ndarray | None = None) -> np.ndarray:
    """Initial tie strengths: measured where the data has them, else embeddedness and community.

    With ``weight`` (a measured strength per tie, e.g. contacts per pair, see
    :func:`sim.network.contact_strength`): ``w = clip(weight, min_strength, 1)``
    and nothing is drawn. Otherwise
    ``w = sigmoid(base + embeddedness * O + community_term + noise * N(0, 1))``
    clipped to ``[min_strength, 1]``, with ``O`` the neighbourhood overlap and
    ``community_term = strength_community * (inside - p_inside)``: ``inside`` is 1
    for a tie within one community, ``p_inside`` the share of such ties. Ties
    inside communities are stronger, bridges weaker, and the mean logit is that
    of the rule without the term (Granovetter 1973; Onnela et al. 2007). Without
    ``community`` the term is 0.

    Args:
        n: Number of people (count).
        u: First endpoint of each tie.
        v: Second endpoint of each tie.
        cfg: Uses ``strength_base``, ``strength_embeddedness``,
            ``strength_community``, ``strength_noise``, ``min_strength``.
        rng: Random generator (one normal draw per tie when ``strength_noise`` > 0).
        community: ``int`` community of each person, or ``None``.
        weight: Measured strength of each tie in (0, 1], or ``None``.

    Returns:
        ``float64`` strength of each tie (strength units), in the order of ``u``.
    """
    if weight is not None:
        return np.clip(np.asarray(weight, np.float64), cfg.min_strength, 1.0)
    z = cfg.strength_base + strength_offsets(n, u, v, cfg, community)
    if cfg.strength_noise > 0:
        z = z + cfg.strength_noise * rng.standard_normal(u.shape[0])
    w = 1.0 / (1.0 + np.exp(-z))
    return np.clip(w, cfg.min_strength, 1.0)


def strength_offsets(n: int, u: np.ndarray, v: np.ndarray, cfg: TiesConfig,
                     community: np.ndarray | None = None) -> np.ndarray:
    """The fixed part of each tie's initial strength logit besides ``strength_base``.

    ``embeddedness * O + strength_community * (inside - p_inside)`` (see
    :func:`initial_strengths`): what the app inverts to set a share of weak ties.

    Returns:
        ``float64`` logit offset of each tie (logit units), in the order of ``u``.
    """
    z = cfg.strength_embeddedness * neighbourhood_overlap(n, u, v)
    if community is not None and cfg.strength_community != 0 and u.shape[0] > 0:
        inside = (community[u] == community[v]).astype(np.float64)
        z = z + cfg.strength_community * (inside - inside.mean())
    return z


def graph_strengths(graph: RawGraph, cfg: TiesConfig, rng: np.random.Generator) -> np.ndarray:
    """:func:`initial_strengths` of a whole graph: its communities and measured weights."""
    return initial_strengths(graph.n, graph.u, graph.v, cfg, rng, community=graph.community,
                             weight=graph.weight)


def tie_class(w: np.ndarray, weak_below: float, strong_above: float) -> np.ndarray:
    """``"weak"``, ``"medium"`` or ``"strong"`` for each strength."""
    w = np.asarray(w)
    return np.where(w < weak_below, "weak", np.where(w >= strong_above, "strong", "medium"))
