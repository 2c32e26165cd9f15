"""Typed records of a run as it goes: one :class:`DayStats` per day, the closures.

:class:`sim.engine.World` appends a :class:`DayStats` to ``World.daily`` every
day and the day's closures to ``World.closures`` (a :class:`ClosureLog`);
``sim.run.collect`` turns both into the ``timeseries`` and ``closures`` tables
(``sim.tables``). Readers that follow a run day by day (the app, the
animation) take ``world.closures.since(n)`` after a step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


class DayStats(NamedTuple):
    """What happened on one day (a row of the ``timeseries`` table).

    Attributes:
        day: Day number (0-based).
        needs_posted: Needs posted today (by people present).
        open_needs: Needs open after today's closures (before expiry).
        closures: Needs closed today.
        direct: Of those, closed by a viewer with the topic.
        referrals: Of those, closed by a referral.
        valuable_closures: Closures of valuable needs.
        expired: Needs that reached the end of their lifetime today.
        messages: Tie checks made (a post offered to a contact).
        views: Posts seen (each person once per need).
        new_ties: Ties created (closures and meetups).
        meetups: Community meetups held.
        mean_strength: Mean tie strength at the end of the day (in (0, 1]).
    """

    day: int
    needs_posted: int
    open_needs: int
    closures: int
    direct: int
    referrals: int
    valuable_closures: int
    expired: int
    messages: int
    views: int
    new_ties: int
    meetups: int
    mean_strength: float

    def counts(self) -> tuple[int, ...]:
        """The integer fields, in field order (all but ``mean_strength``)."""
        return self[:-1]


@dataclass
class ClosureTable:
    """Closures as a struct of arrays, one row per closed need (in closing order).

    Paths are ragged: closure ``i``'s path (seeker, carriers, [broker,]
    provider) is ``path[path_offsets[i] : path_offsets[i + 1]]`` and its tie
    strengths (one fewer) ``strengths[strength_offsets[i] :
    strength_offsets[i + 1]]``; :meth:`path_of` and :meth:`strengths_of` read
    them.

    Attributes:
        need: int64 the closed need.
        day: int32 day it closed.
        kind: int8 ``sim.kernels.DIRECT`` or ``sim.kernels.REFERRAL``.
        seeker: int32 who posted it.
        provider: int32 who meets it.
        broker: int32 who referred the provider (-1 for direct).
        via: int64 trail row of the holder the closer got it from.
        hops: int32 ties from seeker to provider.
        w_arrival: float64 strength of the tie the closer got the need over.
        w_referral: float64 broker-provider tie strength (0.0 for direct).
        new_tie: bool whether the closure created the seeker-provider tie.
        accepted: bool whether the introduction became an engagement (always
            for direct closures and without the trust rule).
        worked: bool whether the engagement worked (accepted and delivered).
        realised_value: float64 value realised (the need's value if it
            worked, else 0).
        credibility: float64 the broker's credibility that day (1.0 for
            direct closures and without the trust rule).
        path_offsets: int64, length rows + 1.
        path: int32 people on the paths, concatenated.
        strength_offsets: int64, length rows + 1.
        strengths: float64 tie strengths on the paths, concatenated.
    """

    need: np.ndarray
    day: np.ndarray
    kind: np.ndarray
    seeker: np.ndarray
    provider: np.ndarray
    broker: np.ndarray
    via: np.ndarray
    hops: np.ndarray
    w_arrival: np.ndarray
    w_referral: np.ndarray
    new_tie: np.ndarray
    accepted: np.ndarray
    worked: np.ndarray
    realised_value: np.ndarray
    credibility: np.ndarray
    path_offsets: np.ndarray
    path: np.ndarray
    strength_offsets: np.ndarray
    strengths: np.ndarray

    #: Fields with one value per closure (the rest are the ragged paths).
    ROW_FIELDS = ("need", "day", "kind", "seeker", "provider", "broker", "via", "hops",
                  "w_arrival", "w_referral", "new_tie", "accepted", "worked", "realised_value",
                  "credibility")

    def __len__(self) -> int:
        return int(self.need.shape[0])

    def path_of(self, i: int) -> np.ndarray:
        """People on closure ``i``'s path: seeker, carriers, [broker,] provider."""
        return self.path[self.path_offsets[i] : self.path_offsets[i + 1]]

    def strengths_of(self, i: int) -> np.ndarray:
        """Tie strengths along closure ``i``'s path (``len(path_of(i)) - 1`` values)."""
        return self.strengths[self.strength_offsets[i] : self.strength_offsets[i + 1]]

    @classmethod
    def empty(cls) -> ClosureTable:
        """A table without closures (typed columns)."""
        zero = np.zeros(1, np.int64)
        return cls(np.empty(0, np.int64), np.empty(0, np.int32), np.empty(0, np.int8),
                   np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, np.int32),
                   np.empty(0, np.int64), np.empty(0, np.int32), np.empty(0), np.empty(0),
                   np.empty(0, bool), np.empty(0, bool), np.empty(0, bool), np.empty(0),
                   np.empty(0), zero, np.empty(0, np.int32), zero.copy(), np.empty(0))

    @classmethod
    def concat(cls, parts: list[ClosureTable]) -> ClosureTable:
        """One table of the rows of ``parts``, in order."""
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        out = {name: np.concatenate([getattr(p, name) for p in parts])
               for name in (*cls.ROW_FIELDS, "path", "strengths")}
        for key in ("path_offsets", "strength_offsets"):
            pieces = [np.zeros(1, np.int64)]
            base = 0
            for p in parts:
                offsets = getattr(p, key)
                pieces.append(offsets[1:] + base)
                base += offsets[-1]
            out[key] = np.concatenate(pieces)
        return cls(**out)

    def rows_from(self, first: int) -> ClosureTable:
        """The rows from ``first`` on, as a table of their own."""
        if first <= 0:
            return self
        po, so = self.path_offsets, self.strength_offsets
        out = {name: getattr(self, name)[first:] for name in self.ROW_FIELDS}
        return ClosureTable(**out, path_offsets=po[first:] - po[first], path=self.path[po[first]:],
                            strength_offsets=so[first:] - so[first],
                            strengths=self.strengths[so[first]:])


class ClosureLog:
    """Every closure of a run so far, kept as the days' :class:`ClosureTable` parts."""

    def __init__(self) -> None:
        self._parts: list[ClosureTable] = []
        self._n = 0

    def __len__(self) -> int:
        """Number of closures so far."""
        return self._n

    def append(self, part: ClosureTable) -> None:
        """Add the closures of one day (in closing order)."""
        self._parts.append(part)
        self._n += len(part)

    def table(self) -> ClosureTable:
        """All closures so far, in order."""
        return self.since(0)

    def since(self, first: int) -> ClosureTable:
        """Closures from number ``first`` on (e.g. ``len(log)`` taken before a day)."""
        start = 0
        keep = []
        for part in self._parts:
            if start + len(part) > first:
                keep.append(part)
            start += len(part)
        if not keep:
            return ClosureTable.empty()
        head = self._n - sum(len(p) for p in keep)  # number of the first kept closure
        return ClosureTable.concat(keep).rows_from(max(first - head, 0))
