"""Small versus large: the measures of a run, as pure functions of its tables.

Everything here takes the tidy tables described in :mod:`sim.tables` (or plain
numpy arrays) and returns new arrays, tables or plain numbers; nothing reads or
writes files, draws, or depends on Hydra. The engine uses
:func:`classify_people`, :func:`valuable_threshold` and :func:`person_activity`
to fill the ``people`` table; reports and sweeps use :func:`decile_table`,
:func:`headline`, :func:`gini`, :func:`lorenz_curve` and :func:`bootstrap_ci`.

Conventions:
    * Person ids are ``0..n-1``; ``-1`` means nobody.
    * *Large* people are the top ``large_fraction`` by audience (ties); the rest
      are *small*. Deciles run from 1 (smallest audiences) to 10 (largest).
    * *Credit* is one unit per closure, given to its broker (rule ``broker``) or
      spread evenly over everyone between seeker and provider (rule ``chain``).
    * Ratios whose denominator is zero (or undefined) are ``nan``, never an
      error and never infinite, so headline dicts stay JSON-friendly.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.optimize
import scipy.stats

from sim.tables import DECILE_COLUMNS

CREDIT_COLUMNS = ("closure", "person", "credit", "valuable")
ACTIVITY_COLUMNS = (
    "sought", "provided", "brokered", "brokered_valuable", "credit", "credit_valuable",
)  # fmt: skip
@dataclass(frozen=True)
class Metric:
    """One headline number of a run: its key, how to say it, and who it favours.

    Attributes:
        key: Key in :func:`headline` (and column of sweep tables).
        label: Short human label (tiles, axes, tables).
        unit: ``"count"``, ``"share"`` (0..1), ``"ratio"``, ``"ties"``, ``"days"``
            or ``"index"`` (Gini, 0..1).
        small_wins: For the small-versus-large comparisons: ``"higher"`` if a
            larger value means small people do relatively more, ``"lower"`` if a
            smaller value does; None for numbers that compare nobody.
        null: The value of "no difference" between small and large people, for
            ratios (1.0); None otherwise (for the small share the null is the
            run's own ``small_population_share``).
    """

    key: str
    label: str
    unit: str
    small_wins: str | None = None
    null: float | None = None


METRICS: tuple[Metric, ...] = (
    Metric("n_people", "people", "count"),
    Metric("n_ties", "ties at the start", "count"),
    Metric("n_large", "large-audience people", "count"),
    Metric("n_small", "small-audience people", "count"),
    Metric("n_needs", "needs posted", "count"),
    Metric("n_valuable_needs", "valuable needs posted", "count"),
    Metric("n_closed", "needs closed", "count"),
    Metric("n_direct", "closed directly", "count"),
    Metric("n_brokered", "closed by referral", "count"),
    Metric("n_valuable_closed", "valuable needs closed", "count"),
    Metric("n_valuable_brokered", "valuable referrals", "count"),
    Metric("closure_rate", "share of needs closed", "share"),
    Metric("valuable_closure_rate", "share of valuable needs closed", "share"),
    Metric("small_population_share", "small-audience share of people", "share"),
    Metric("small_share_valuable_brokered",
           "share of valuable referrals brokered by small-audience people", "share", "higher"),
    Metric("small_share_brokered", "share of all referrals brokered by small-audience people",
           "share", "higher"),
    Metric("per_capita_ratio_large_small",
           "valuable referrals per person, large over small", "ratio", "lower", 1.0),
    Metric("per_audience_ratio_small_large",
           "valuable referrals per tie of audience, small over large", "ratio", "higher", 1.0),
    Metric("frac_small_brokering_valuable",
           "share of small-audience people who brokered a valuable referral", "share", "higher"),
    Metric("frac_large_brokering_valuable",
           "share of large-audience people who brokered a valuable referral", "share", "lower"),
    Metric("weak_tie_share_brokered", "share of referrals that came over a weak tie", "share"),
    Metric("mean_hops", "mean hops to close", "ties"),
    Metric("mean_days_to_close", "mean days to close", "days"),
    Metric("median_days_to_close", "median days to close", "days"),
    Metric("top_decile_credit_share", "share of valuable referrals brokered by the top decile",
           "share", "lower"),
    Metric("gini_audience", "Gini index of audience", "index"),
    Metric("gini_credit_valuable", "Gini index of valuable brokerage", "index"),
    Metric("n_referrals_worked", "referrals that became engagements that worked", "count"),
    Metric("realised_valuable_small",
           "valuable referrals that worked, brokered by small-audience people", "count"),
    Metric("realised_valuable_large",
           "valuable referrals that worked, brokered by large-audience people", "count"),
    Metric("small_share_realised_valuable",
           "share of valuable referrals that worked brokered by small-audience people", "share",
           "higher"),
    Metric("success_rate_small", "share of small-audience people's referrals that worked",
           "share", "higher"),
    Metric("success_rate_large", "share of large-audience people's referrals that worked",
           "share", "lower"),
    Metric("realised_value_per_audience_ratio_small_large",
           "realised referral value per follower, small over large", "ratio", "higher", 1.0),
    Metric("success_rate_loyal", "share of referrals that worked, brokers with loyal audiences",
           "share"),
    Metric("success_rate_unloyal",
           "share of referrals that worked, brokers with less loyal audiences", "share"),
    Metric("realised_value_per_capita_ratio_loyal",
           "realised referral value per person, loyal over less loyal audiences", "ratio", None,
           1.0),
    Metric("realised_value_per_audience_ratio_loyal",
           "realised referral value per follower, loyal over less loyal audiences", "ratio",
           None, 1.0),
)
"""Every headline number of a run, in a stable order: the one list of metric names.

Tables, JSON, the sweep figures and the app's tiles read names and labels from here.
"""

METRIC: dict[str, Metric] = {m.key: m for m in METRICS}
""":data:`METRICS` by key."""

HEADLINE_KEYS: tuple[str, ...] = tuple(m.key for m in METRICS)
"""Keys of :func:`headline`, in a stable order (for tables and JSON)."""

COMPARISONS: tuple[str, ...] = (
    "small_share_valuable_brokered", "per_capita_ratio_large_small",
    "per_audience_ratio_small_large",
)
"""The three small-versus-large comparisons a talk leads with (tiles, figure titles)."""

_RULES = ("broker", "chain")
_NAN = float("nan")


# --- classes ---------------------------------------------------------------------


def n_large_for(n: int, large_fraction: float) -> int:
    """Return how many of ``n`` people are *large*.

    ``ceil(large_fraction * n)``, computed after rounding the product to 9
    decimals so that float noise (``0.07 * 100 = 7.000000000000001``) does not add
    a person; then clamped to at least 1 and, when ``n >= 2``, at most ``n - 1``
    so both classes are non-empty.

    Args:
        n: Number of people (count, >= 0).
        large_fraction: Share of people called large (in (0, 1)).

    Returns:
        Number of large people (count); 0 when ``n == 0``.
    """
    if n <= 0:
        return 0
    k = math.ceil(round(large_fraction * n, 9))
    k = max(k, 1)
    if n >= 2:
        k = min(k, n - 1)
    return min(k, n)


def classify_people(audience: np.ndarray, large_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Split people into large and small, and into audience deciles.

    People are ranked by audience, ties broken by the smaller person id first,
    so the result is deterministic. The top :func:`n_large_for` ranks by
    descending audience are large. For deciles, people are ranked by ascending
    audience (ties: smaller id first) and person at rank ``r`` (0-based) of
    ``n`` gets decile ``1 + floor(10 * r / n)``.

    Args:
        audience: Audience of each person (ties, count), indexed by person id.
        large_fraction: Share of people called large (in (0, 1)).

    Returns:
        ``(is_large, decile)``: a bool array and an int8 array of deciles 1..10,
        both of the same length as ``audience``.
    """
    audience = np.asarray(audience)
    n = audience.shape[0]
    ids = np.arange(n)
    is_large = np.zeros(n, dtype=bool)
    decile = np.zeros(n, dtype=np.int8)
    if n == 0:
        return is_large, decile
    # np.lexsort sorts by the last key first; negate for descending audience.
    key = audience.astype(np.float64)
    descending = np.lexsort((ids, -key))
    is_large[descending[: n_large_for(n, large_fraction)]] = True
    ascending = np.lexsort((ids, key))
    rank = np.empty(n, dtype=np.int64)
    rank[ascending] = ids
    decile[:] = 1 + (10 * rank) // n
    return is_large, decile


def valuable_threshold(value_log_mean: float, value_log_sd: float, quantile: float,
                       multipliers: np.ndarray | None = None,
                       weights: np.ndarray | None = None) -> float:
    """Return the value at or above which a need is *valuable*.

    The ``quantile`` of the value distribution. Without ``multipliers``, the
    base lognormal, ``exp(mu + sd * Phi^-1(q))``. With them, the distribution
    values actually have: a mixture over topics of lognormals scaled by each
    topic's rarity multiplier ``m_k`` (weights ``weights``, the chance that a
    need has topic ``k``), so that valuable marks the intended share of needs
    (the base quantile marked 16.8% at the default rarity exponent). It
    depends only on the configuration (see :func:`expected_value_mixture`), so
    it is the same in every run of a sweep.

    Args:
        value_log_mean: Mean ``mu`` of log value (log value units).
        value_log_sd: Standard deviation ``sd`` of log value (log value units, >= 0).
        quantile: Quantile ``q`` (in (0, 1)).
        multipliers: Value multiplier of each topic (> 0), or None.
        weights: Chance of each topic (sums to 1; default equal).

    Returns:
        The threshold (value units).

    Raises:
        ValueError: If ``quantile`` is not in (0, 1) or ``value_log_sd`` < 0.
    """
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be in (0, 1), got {quantile!r}")
    if value_log_sd < 0:
        raise ValueError(f"value_log_sd must be >= 0, got {value_log_sd!r}")
    z = NormalDist().inv_cdf(quantile)
    base = float(math.exp(value_log_mean + value_log_sd * z))
    if multipliers is None or value_log_sd == 0:
        return base
    shift = np.log(np.asarray(multipliers, np.float64))
    wts = (np.full(shift.shape[0], 1.0 / shift.shape[0]) if weights is None
           else np.asarray(weights, np.float64) / np.sum(weights))

    def excess(log_x: float) -> float:
        cdf = scipy.stats.norm.cdf((log_x - value_log_mean - shift) / value_log_sd)
        return float(np.dot(wts, cdf) - quantile)

    lo = value_log_mean + shift.min() + value_log_sd * z
    hi = value_log_mean + shift.max() + value_log_sd * z
    if lo == hi:
        return float(math.exp(lo))
    return float(math.exp(scipy.optimize.brentq(excess, lo, hi, xtol=1e-12)))


def expected_value_mixture(n_topics: int, topic_zipf: float,
                           rarity_exponent: float) -> tuple[np.ndarray, np.ndarray]:
    """Rarity multipliers and topic chances of a need, from the configuration alone.

    Topic ``k``'s expected population share is its Zipf popularity ``p_k``
    (``1 / k ** topic_zipf``, normalised); its multiplier ``(1/K / p_k) **
    rarity_exponent``; a need's topic is any but its seeker's own, so topic
    ``k`` comes up with chance ``(1 - p_k) / (K - 1)``.

    Returns:
        ``(multipliers, weights)`` for :func:`valuable_threshold`.
    """
    k = n_topics
    pop = 1.0 / np.arange(1, k + 1) ** topic_zipf
    pop /= pop.sum()
    mult = (1.0 / k / pop) ** rarity_exponent
    weights = (1.0 - pop) / (k - 1) if k > 1 else np.ones(1)
    return mult, weights


# --- credit ----------------------------------------------------------------------


def _column(df: pd.DataFrame, name: str, dtype: Any) -> np.ndarray:
    """Return ``df[name]`` as an array, or an empty array for an empty table."""
    if name in df.columns:
        return df[name].to_numpy(dtype=dtype)
    if len(df) == 0:
        return np.zeros(0, dtype=dtype)
    raise KeyError(f"table has no column {name!r}")


def _is_referral(closures: pd.DataFrame) -> np.ndarray:
    """Return a bool mask of referral closures (``kind == "referral"``)."""
    if len(closures) == 0:
        return np.zeros(0, dtype=bool)
    return closures["kind"].to_numpy(dtype=object) == "referral"


def _flat_paths(paths: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(lengths, flat)``: each path's length and all paths concatenated."""
    arrays = [np.asarray(p, dtype=np.int64).ravel() for p in paths]
    lengths = np.fromiter((a.size for a in arrays), dtype=np.int64, count=len(arrays))
    flat = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)
    return lengths, flat


def _empty_credit() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "closure": np.zeros(0, dtype=np.int64),
            "person": np.zeros(0, dtype=np.int32),
            "credit": np.zeros(0, dtype=np.float64),
            "valuable": np.zeros(0, dtype=bool),
        }
    )


def credit_table(closures: pd.DataFrame, rule: str) -> pd.DataFrame:
    """Return who gets credit for which closure, one row per (closure, person) share.

    Rules:
        ``broker``: each referral gives 1.0 to its broker; direct closures give
        nothing.
        ``chain``: each closure with at least one intermediary (everyone on
        ``path`` except the seeker and the provider: the carriers and, for a
        referral, the broker) gives ``1 / len(intermediaries)`` to each of them.
        Direct one-hop closures give nothing. (A person listed twice on one path
        would receive two shares; the engine never lists anyone twice.)

    Args:
        closures: The ``closures`` table (uses ``closure``, ``kind``, ``broker``,
            ``valuable`` and, for ``chain``, ``path``).
        rule: ``"broker"`` or ``"chain"``.

    Returns:
        Columns ``closure`` (int64), ``person`` (int32), ``credit`` (float64,
        units of closures) and ``valuable`` (bool), in closure order and, within
        a closure, path order.

    Raises:
        ValueError: Unknown rule.
    """
    if rule not in _RULES:
        raise ValueError(f"credit rule must be one of {', '.join(_RULES)}; got {rule!r}")
    if len(closures) == 0:
        return _empty_credit()
    closure_ids = _column(closures, "closure", np.int64)
    valuable = _column(closures, "valuable", bool)
    if rule == "broker":
        ref = _is_referral(closures)
        return pd.DataFrame(
            {
                "closure": closure_ids[ref],
                "person": _column(closures, "broker", np.int32)[ref],
                "credit": np.ones(int(ref.sum()), dtype=np.float64),
                "valuable": valuable[ref],
            }
        )
    lengths, flat = _flat_paths(closures["path"].tolist())
    owner = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.cumsum(lengths) - lengths
    position = np.arange(flat.size) - np.repeat(starts, lengths)
    keep = (position > 0) & (position < np.repeat(lengths, lengths) - 1)
    owner = owner[keep]
    n_between = np.maximum(lengths - 2, 0)
    return pd.DataFrame(
        {
            "closure": closure_ids[owner],
            "person": flat[keep].astype(np.int32),
            "credit": 1.0 / n_between[owner].astype(np.float64),
            "valuable": valuable[owner],
        }
    )


def _count(ids: np.ndarray, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Return ``np.bincount`` of person ids over ``0..n-1``, checking the range."""
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= n):
        raise ValueError(f"person ids must be in 0..{n - 1}; got {ids.min()}..{ids.max()}")
    return np.bincount(ids, weights=weights, minlength=n)


def person_activity(n: int, closures: pd.DataFrame, needs: pd.DataFrame, rule: str) -> pd.DataFrame:
    """Return what each person did in a run: needs sought, closures provided, brokered, credit.

    Args:
        n: Number of people (count).
        closures: The ``closures`` table.
        needs: The ``needs`` table (uses ``seeker``).
        rule: Credit rule, ``"broker"`` or ``"chain"`` (see :func:`credit_table`).

    Returns:
        A table of ``n`` rows (row = person id) with int32 columns ``sought``
        (needs posted), ``provided`` (closures as provider), ``brokered``
        (referrals made), ``brokered_valuable`` (valuable referrals made) and
        float64 columns ``credit`` and ``credit_valuable`` (closures' worth of
        credit, all and valuable only).

    Raises:
        ValueError: Unknown rule or a person id outside ``0..n-1``.
    """
    ref = _is_referral(closures)
    brokers = _column(closures, "broker", np.int64)[ref]
    valuable = _column(closures, "valuable", bool)[ref]
    credit = credit_table(closures, rule)
    holders = credit["person"].to_numpy(dtype=np.int64)
    amount = credit["credit"].to_numpy(dtype=np.float64)
    is_valuable = credit["valuable"].to_numpy(dtype=bool)
    return pd.DataFrame(
        {
            "sought": _count(_column(needs, "seeker", np.int64), n).astype(np.int32),
            "provided": _count(_column(closures, "provider", np.int64), n).astype(np.int32),
            "brokered": _count(brokers, n).astype(np.int32),
            "brokered_valuable": _count(brokers[valuable], n).astype(np.int32),
            "credit": _count(holders, n, amount).astype(np.float64),
            "credit_valuable": _count(holders[is_valuable], n, amount[is_valuable]).astype(
                np.float64
            ),
        }
    )


# --- tables and headline numbers ---------------------------------------------------


def _div(num: float, den: float) -> float:
    """Return ``num / den`` as a float, or nan if ``den`` is zero or either is nan."""
    num, den = float(num), float(den)
    if den == 0.0 or math.isnan(den) or math.isnan(num):
        return _NAN
    return num / den


def decile_table(people: pd.DataFrame) -> pd.DataFrame:
    """Return credit by audience decile, one row per decile present (ascending).

    Args:
        people: The ``people`` table (uses ``decile``, ``audience``, ``credit``,
            ``credit_valuable``).

    Returns:
        Columns exactly :data:`sim.tables.DECILE_COLUMNS`: ``decile`` (int8),
        ``people`` (int64), ``mean_audience`` (ties per person), ``credit`` and
        ``credit_valuable`` (total credit, closures), ``credit_per_capita`` and
        ``credit_valuable_per_capita`` (closures per person),
        ``credit_valuable_per_audience`` (closures per tie of audience; nan if
        the decile has no ties) and ``frac_brokering_valuable`` (share of the
        decile's people with any valuable credit).
    """
    frame = pd.DataFrame(
        {
            "decile": people["decile"].to_numpy(dtype=np.int8),
            "audience": people["audience"].to_numpy(dtype=np.float64),
            "credit": people["credit"].to_numpy(dtype=np.float64),
            "credit_valuable": people["credit_valuable"].to_numpy(dtype=np.float64),
        }
    )
    frame["any_valuable"] = (frame["credit_valuable"] > 0).astype(np.float64)
    grouped = frame.groupby("decile", sort=True)
    sums = grouped[["audience", "credit", "credit_valuable", "any_valuable"]].sum()
    count = grouped.size().to_numpy(dtype=np.int64)
    audience = sums["audience"].to_numpy()
    credit_valuable = sums["credit_valuable"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        per_audience = np.where(audience > 0, credit_valuable / audience, np.nan)
    out = pd.DataFrame(
        {
            "decile": sums.index.to_numpy(dtype=np.int8),
            "people": count,
            "mean_audience": audience / count,
            "credit": sums["credit"].to_numpy(),
            "credit_valuable": credit_valuable,
            "credit_per_capita": sums["credit"].to_numpy() / count,
            "credit_valuable_per_capita": credit_valuable / count,
            "credit_valuable_per_audience": per_audience,
            "frac_brokering_valuable": sums["any_valuable"].to_numpy() / count,
        }
    )
    return out.loc[:, list(DECILE_COLUMNS)].reset_index(drop=True)


def class_comparison(
    credit_small: float, credit_large: float, n_small: int, n_large: int,
    audience_small: float, audience_large: float,
) -> dict[str, float]:
    """The three small-versus-large comparisons (:data:`COMPARISONS`) from class totals.

    One formula for the run's headline numbers and the app's tiles (which
    compute them from the running totals of the days simulated so far).

    Args:
        credit_small: Valuable credit held by small people (closures).
        credit_large: Valuable credit held by large people (closures).
        n_small: Small people (count).
        n_large: Large people (count).
        audience_small: Total audience of small people (ties).
        audience_large: Total audience of large people (ties).

    Returns:
        ``small_share_valuable_brokered`` (share of the valuable credit held by
        small people), ``per_capita_ratio_large_small`` (credit per large person
        over credit per small person) and ``per_audience_ratio_small_large``
        (credit per tie of audience, small over large); nan where undefined.
    """
    return {
        "small_share_valuable_brokered": _div(credit_small, credit_small + credit_large),
        "per_capita_ratio_large_small": _div(_div(credit_large, n_large),
                                             _div(credit_small, n_small)),
        "per_audience_ratio_small_large": _div(_div(credit_small, audience_small),
                                               _div(credit_large, audience_large)),
    }


def headline(
    people: pd.DataFrame, closures: pd.DataFrame, needs: pd.DataFrame, n_ties: int
) -> dict[str, float | int]:
    """Return the headline numbers of a run, JSON-ready (plain ints and floats).

    Credit-based numbers use the ``credit`` / ``credit_valuable`` columns of
    ``people``, so they follow the credit rule the run was measured with; with
    rule ``broker`` a "share of valuable credit" is a share of valuable
    referrals. Undefined numbers (e.g. no brokered closures) are ``nan``.

    Keys (see :data:`HEADLINE_KEYS`): counts ``n_people``, ``n_ties``,
    ``n_large``, ``n_small``, ``n_needs``, ``n_valuable_needs``, ``n_closed``,
    ``n_direct``, ``n_brokered``, ``n_valuable_closed``, ``n_valuable_brokered``;
    rates ``closure_rate`` (closed / needs) and ``valuable_closure_rate``;
    ``small_population_share`` (small / people); ``small_share_valuable_brokered``
    and ``small_share_brokered`` (share of valuable / all credit held by small
    people); ``per_capita_ratio_large_small`` (valuable credit per large person
    over valuable credit per small person); ``per_audience_ratio_small_large``
    (valuable credit per tie of audience, small over large: cost-effectiveness);
    ``frac_small_brokering_valuable`` and ``frac_large_brokering_valuable``
    (share of the class with any valuable credit); ``weak_tie_share_brokered``
    (share of referrals whose broker received the need over a weak tie);
    ``mean_hops`` (ties), ``mean_days_to_close`` and ``median_days_to_close``
    (days); ``top_decile_credit_share`` (share of valuable credit held by
    decile 10); ``gini_audience`` and ``gini_credit_valuable``.

    Args:
        people: The ``people`` table.
        closures: The ``closures`` table.
        needs: The ``needs`` table.
        n_ties: Ties in the network at the start of the run (count).

    Returns:
        A dict with exactly the keys of :data:`HEADLINE_KEYS`.
    """
    is_large = people["is_large"].to_numpy(dtype=bool)
    audience = people["audience"].to_numpy(dtype=np.float64)
    credit = people["credit"].to_numpy(dtype=np.float64)
    credit_valuable = people["credit_valuable"].to_numpy(dtype=np.float64)
    decile = people["decile"].to_numpy(dtype=np.int64)
    small = ~is_large

    n_people = int(len(people))
    n_large = int(is_large.sum())
    n_small = n_people - n_large

    needs_valuable = _column(needs, "valuable", bool)
    kind = _column(closures, "kind", object)
    closed_valuable = _column(closures, "valuable", bool)
    referral = kind == "referral"
    hops = _column(closures, "hops", np.float64)
    days = _column(closures, "days_to_close", np.float64)
    arrival = _column(closures, "arrival_class", object)

    n_needs = int(len(needs))
    n_closed = int(len(closures))
    n_brokered = int(referral.sum())

    total_valuable = float(credit_valuable.sum())
    cv_small = float(credit_valuable[small].sum())
    cv_large = float(credit_valuable[is_large].sum())

    def mean_of(values: np.ndarray) -> float:
        return float(values.mean()) if values.size else _NAN

    compare = class_comparison(cv_small, cv_large, n_small, n_large,
                               float(audience[small].sum()), float(audience[is_large].sum()))

    out: dict[str, float | int] = {
        "n_people": n_people,
        "n_ties": int(n_ties),
        "n_large": n_large,
        "n_small": n_small,
        "n_needs": n_needs,
        "n_valuable_needs": int(needs_valuable.sum()),
        "n_closed": n_closed,
        "n_direct": int((kind == "direct").sum()),
        "n_brokered": n_brokered,
        "n_valuable_closed": int(closed_valuable.sum()),
        "n_valuable_brokered": int((closed_valuable & referral).sum()),
        "closure_rate": _div(n_closed, n_needs),
        "valuable_closure_rate": _div(closed_valuable.sum(), needs_valuable.sum()),
        "small_population_share": _div(n_small, n_people),
        # Over the total of all credit (the same number as compare's, to the last bit for
        # whole credits; kept so that tables stay byte-identical for fractional ones).
        "small_share_valuable_brokered": _div(cv_small, total_valuable),
        "small_share_brokered": _div(credit[small].sum(), credit.sum()),
        "per_capita_ratio_large_small": compare["per_capita_ratio_large_small"],
        "per_audience_ratio_small_large": compare["per_audience_ratio_small_large"],
        "frac_small_brokering_valuable": mean_of(credit_valuable[small] > 0),
        "frac_large_brokering_valuable": mean_of(credit_valuable[is_large] > 0),
        "weak_tie_share_brokered": mean_of(arrival[referral] == "weak"),
        "mean_hops": mean_of(hops),
        "mean_days_to_close": mean_of(days),
        "median_days_to_close": float(np.median(days)) if days.size else _NAN,
        "top_decile_credit_share": _div(credit_valuable[decile == 10].sum(), total_valuable),
        "gini_audience": gini(audience),
        "gini_credit_valuable": gini(credit_valuable),
    }
    out.update(quality_metrics(people, closures))
    assert tuple(out) == HEADLINE_KEYS
    return out


def _optional(df: pd.DataFrame, name: str, fill: Any) -> np.ndarray:
    """Column ``name`` of ``df``, or ``fill`` for every row where tables predate it."""
    if name in df.columns:
        return df[name].to_numpy()
    return np.full(len(df), fill)


def broker_outcomes(people: pd.DataFrame, closures: pd.DataFrame) -> pd.DataFrame:
    """Per person, their referrals and how they turned out (pure function of the tables).

    Returns:
        One row per person: ``referrals``, ``accepted``, ``worked`` (counts) and
        ``realised_value`` (value units) of the referrals they brokered.
    """
    n = len(people)
    # Referrals with a known broker (tables without provenance have none).
    referral = ((_column(closures, "kind", object) == "referral")
                & (_optional(closures, "broker", -1).astype(np.int64) >= 0))
    broker = _optional(closures, "broker", -1).astype(np.int64)[referral]
    accepted = _optional(closures, "accepted", True).astype(bool)[referral]
    worked = _optional(closures, "worked", True).astype(bool)[referral]
    value = _optional(closures, "value", np.nan).astype(np.float64)
    realised = _optional(closures, "realised_value", np.nan).astype(np.float64)
    if "realised_value" not in closures.columns:
        realised = value
    realised = realised[referral]
    return pd.DataFrame({
        "referrals": np.bincount(broker, minlength=n)[:n],
        "accepted": np.bincount(broker, accepted.astype(float), minlength=n)[:n],
        "worked": np.bincount(broker, worked.astype(float), minlength=n)[:n],
        "realised_value": np.bincount(broker, realised, minlength=n)[:n],
    })


def referral_quality_table(people: pd.DataFrame, closures: pd.DataFrame,
                           by: str = "decile") -> pd.DataFrame:
    """Referral success and realised value by audience decile (or another people column).

    The essay's question directly: per group, the referrals brokered, the
    share that became engagements (``acceptance_rate``) and that worked
    (``success_rate``, per referral), and the realised value per head
    (``realised_value_per_capita``) and per follower
    (``realised_value_per_audience``).

    Args:
        people: The ``people`` table.
        closures: The ``closures`` table.
        by: Column of ``people`` to group by (``decile``, or e.g. a loyalty
            class the caller adds).
    """
    out = broker_outcomes(people, closures)
    out["group"] = people[by].to_numpy()
    out["people"] = 1
    out["audience"] = people["audience"].to_numpy(dtype=np.float64)
    g = out.groupby("group", sort=True).sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        table = pd.DataFrame({
            by: g.index.to_numpy(),
            "people": g["people"].to_numpy(np.int64),
            "referrals": g["referrals"].to_numpy(np.int64),
            "acceptance_rate": np.where(g["referrals"] > 0, g["accepted"] / g["referrals"],
                                        np.nan),
            "success_rate": np.where(g["referrals"] > 0, g["worked"] / g["referrals"], np.nan),
            "realised_value": g["realised_value"].to_numpy(),
            "realised_value_per_capita": g["realised_value"].to_numpy() / g["people"].to_numpy(),
            "realised_value_per_audience": np.where(g["audience"] > 0,
                                                    g["realised_value"] / g["audience"], np.nan),
        })
    return table


def loyal_audience(people: pd.DataFrame) -> np.ndarray:
    """Whether each person's audience is *loyal*: loyalty at or above the median.

    The median is over people with an audience (``loyalty`` > 0); people
    without one are never loyal. Without a ``loyalty`` column, nobody is.
    """
    loyalty = _optional(people, "loyalty", 0.0).astype(np.float64)
    has = loyalty > 0
    if not has.any():
        return np.zeros(len(people), bool)
    return has & (loyalty >= np.median(loyalty[has]))


def class_totals(people: pd.DataFrame, closures: pd.DataFrame) -> dict[str, float | int]:
    """The sums behind the referral-quality numbers, per broker class.

    Classes: ``small`` / ``large`` (audience classes) and ``loyal`` / ``other``
    (audience loyalty at or above the median, :func:`loyal_audience`, and the rest
    who have an audience). For each class ``c``: ``referrals_c``, ``worked_c``
    (counts), ``value_c`` (realised referral value), ``audience_c`` (summed
    audience) and ``people_c``; and ``valuable_worked_small`` /
    ``valuable_worked_large``, the valuable referrals that worked by the broker's
    audience class. Ratios of these sums are the headline numbers
    (:func:`quality_metrics`); sums pool over runs (``experiments.claims``).
    """
    out = broker_outcomes(people, closures)
    is_large = people["is_large"].to_numpy(dtype=bool)
    audience = people["audience"].to_numpy(dtype=np.float64)
    referral = ((_column(closures, "kind", object) == "referral")
                & (_optional(closures, "broker", -1).astype(np.int64) >= 0))
    broker = _optional(closures, "broker", -1).astype(np.int64)[referral]
    good = (_optional(closures, "worked", True).astype(bool)
            & _column(closures, "valuable", bool))[referral]
    rv_large = int(is_large[broker[good]].sum())
    loyal = loyal_audience(people)
    masks = {"small": ~is_large, "large": is_large, "loyal": loyal,
             "other": ~loyal & (_optional(people, "loyalty", 0.0).astype(np.float64) > 0)}
    columns = {"referrals": out["referrals"].to_numpy(np.float64),
               "worked": out["worked"].to_numpy(np.float64),
               "value": out["realised_value"].to_numpy(np.float64),
               "audience": audience, "people": np.ones(len(people))}
    totals: dict[str, float | int] = {"valuable_worked_small": int(good.sum()) - rv_large,
                                      "valuable_worked_large": rv_large}
    for name, mask in masks.items():
        for column, values in columns.items():
            totals[f"{column}_{name}"] = values[mask].sum()
    return totals


def quality_metrics(people: pd.DataFrame, closures: pd.DataFrame) -> dict[str, float | int]:
    """Headline numbers of referral quality: engagements that worked, by class and loyalty.

    Small/large are the audience classes; *loyal* brokers are those whose
    audience loyalty is at or above the median (:func:`loyal_audience`),
    compared with the rest who have an audience (:func:`class_totals`).
    """
    t = class_totals(people, closures)

    def per(group: str, num: str, den: str) -> float:
        return _div(t[f"{num}_{group}"], t[f"{den}_{group}"])

    rv_small, rv_large = t["valuable_worked_small"], t["valuable_worked_large"]
    return {
        "n_referrals_worked": int(t["worked_small"] + t["worked_large"]),
        "realised_valuable_small": rv_small,
        "realised_valuable_large": rv_large,
        "small_share_realised_valuable": _div(rv_small, rv_small + rv_large),
        "success_rate_small": per("small", "worked", "referrals"),
        "success_rate_large": per("large", "worked", "referrals"),
        "realised_value_per_audience_ratio_small_large": _div(
            per("small", "value", "audience"), per("large", "value", "audience")),
        "success_rate_loyal": per("loyal", "worked", "referrals"),
        "success_rate_unloyal": per("other", "worked", "referrals"),
        "realised_value_per_capita_ratio_loyal": _div(per("loyal", "value", "people"),
                                                      per("other", "value", "people")),
        "realised_value_per_audience_ratio_loyal": _div(per("loyal", "value", "audience"),
                                                        per("other", "value", "audience")),
    }


# --- inequality and uncertainty ----------------------------------------------------


def _nonnegative(values: Any) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64).ravel()
    if np.isnan(x).any():
        raise ValueError("values must not contain nan")
    if (x < 0).any():
        raise ValueError("values must be >= 0")
    return x


def lorenz_curve(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return the Lorenz curve of non-negative values.

    Args:
        values: Non-negative amounts (any units), e.g. audiences or credit.

    Returns:
        ``(pop_share, value_share)``, each of length ``n + 1`` starting at 0
        and ending at 1: after sorting ascending, the poorest ``i / n`` of the
        population hold ``value_share[i]`` of the total. ``value_share`` is all
        nan when the total is zero (the shares are undefined).

    Raises:
        ValueError: If any value is negative or nan.
    """
    x = np.sort(_nonnegative(values))
    n = x.size
    pop_share = np.arange(n + 1, dtype=np.float64) / max(n, 1)
    total = x.sum()
    if total == 0:
        return pop_share, np.full(n + 1, np.nan)
    value_share = np.concatenate(([0.0], np.cumsum(x))) / total
    value_share[-1] = 1.0
    return pop_share, value_share


def gini(values: Any) -> float:
    """Return the Gini coefficient of non-negative values.

    Exact formula on the ascending sorted values ``x_1 <= ... <= x_n``:
    ``G = sum_i (2 i - n - 1) x_i / (n * sum_i x_i)``. It is 0 when all values
    are equal and ``(n - 1) / n`` when one person holds everything; it equals
    one minus twice the area under :func:`lorenz_curve`.

    Args:
        values: Non-negative amounts (any units).

    Returns:
        The coefficient (dimensionless, in [0, 1)); nan for no values or a zero
        total.

    Raises:
        ValueError: If any value is negative or nan.
    """
    x = np.sort(_nonnegative(values))
    n = x.size
    total = x.sum()
    if n == 0 or total == 0:
        return _NAN
    if x[0] == x[-1]:
        return 0.0
    weights = 2.0 * np.arange(1, n + 1, dtype=np.float64) - n - 1
    return float(max(0.0, (weights @ x) / (n * total)))


def concentration_index(values: Any, order: Any) -> float:
    """Return the concentration index of ``values`` over people ordered by ``order``.

    The index of the concentration curve: people sorted by ascending
    ``order`` (ties broken by position, smaller first), then the Gini formula
    on the values in that order, ``C = sum_i (2 i - n - 1) x_i / (n * sum_i x_i)``.
    It equals one minus twice the area under that curve; it is :func:`gini`
    when ``order`` is ``values`` itself, and it is negative when the values
    gather at the low end of ``order``. The Lorenz figure labels its brokerage
    curve (drawn in audience order) with this index, not with the Gini of
    brokerage (which would describe brokerage sorted by itself).

    Args:
        values: Non-negative amounts (any units), e.g. valuable credit.
        order: The ranking key of each person (e.g. audience).

    Returns:
        The index (dimensionless, in (-1, 1)); nan for no values or a zero total.

    Raises:
        ValueError: If any value is negative or nan, or the lengths differ.
    """
    x = _nonnegative(values)
    key = np.asarray(order, dtype=np.float64).ravel()
    if key.shape != x.shape:
        raise ValueError(f"values and order differ in length: {x.size} and {key.size}")
    n = x.size
    total = x.sum()
    if n == 0 or total == 0:
        return _NAN
    ranked = x[np.lexsort((np.arange(n), key))]
    weights = 2.0 * np.arange(1, n + 1, dtype=np.float64) - n - 1
    return float((weights @ ranked) / (n * total))


class Interval(NamedTuple):
    """A bootstrap confidence interval and how it was computed.

    Attributes:
        low: Lower end (units of the statistic); nan when there is no interval.
        high: Upper end.
        method: ``"BCa"``, ``"percentile"``, ``"t"`` (Student-t interval of the
            mean, for :data:`T_MIN_VALUES` values or more), ``"exact"`` (all values
            equal: the interval is that value) or ``"none"`` (fewer than two values).
    """

    low: float
    high: float
    method: str


BCA_MIN_VALUES = 3
"""Fewest values for a BCa interval (its acceleration needs a jackknife of >= 3)."""

T_MIN_VALUES = 500
"""Fewest values for which the interval of the mean is Student's t, not a bootstrap."""


def bootstrap_interval(
    values: Any,
    stat: Callable[..., Any] = np.mean,
    n_boot: int = 2000,
    level: float = 0.95,
    rng: np.random.Generator | int | None = None,
) -> Interval:
    """Return a bootstrap confidence interval of a statistic, with the method used.

    The project's only bootstrap: every interval of a table, figure, notebook
    or benchmark comes from here, through :func:`scipy.stats.bootstrap`. nan
    values are dropped first (e.g. runs where a ratio was undefined). Then:

    * fewer than 2 values: no interval, ``(nan, nan)``, method ``"none"`` (one
      run says nothing about how another seed would come out);
    * all values equal: ``(v, v)``, method ``"exact"`` (every resample is the same);
    * the mean (``stat`` is :func:`numpy.mean`) of at least :data:`T_MIN_VALUES`
      values: the Student-t interval ``mean +- t(n-1) * sd / sqrt(n)``, method
      ``"t"``. With hundreds of runs the central limit theorem holds for the
      mean and the bootstrap adds nothing but cost (2,000 resamples of every
      group and metric: minutes for a 100,000-run sweep); ``rng`` and
      ``n_boot`` are then unused;
    * at least :data:`BCA_MIN_VALUES` values: the bias-corrected and accelerated
      (BCa) interval, which corrects the percentile interval for the skew and
      bias of the bootstrap distribution (Efron 1987);
    * otherwise, or where BCa cannot be computed (scipy reports a degenerate
      sample, e.g. a jackknife with no spread), the percentile interval: the
      ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the resampled
      statistics.

    Args:
        values: One number per run (any units).
        stat: Statistic of a 1-d array (default the mean). If it accepts
            ``axis=-1`` it is applied to all resamples at once.
        n_boot: Number of resamples (count, >= 1).
        level: Confidence level (in (0, 1)).
        rng: Generator or seed; None means seed 0, so the interval is
            deterministic.

    Returns:
        An :class:`Interval` ``(low, high, method)`` in the units of ``stat``.

    Raises:
        ValueError: If ``n_boot`` < 1 or ``level`` is not in (0, 1).
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[~np.isnan(x)]
    if x.size < 2:
        return Interval(_NAN, _NAN, "none")
    if x[0] == x[-1] and (x == x[0]).all():
        value = float(stat(x))
        return Interval(value, value, "exact")
    if stat is np.mean and x.size >= T_MIN_VALUES:
        return t_interval(x, level)
    vectorized = _accepts_axis(stat, x)
    # Resample in batches of at most ~4 million numbers to bound memory.
    batch = max(1, 4_000_000 // x.size)
    methods = ("BCa", "percentile") if x.size >= BCA_MIN_VALUES else ("percentile",)
    for method in methods:
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng or 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy warns, then returns nan: handled below
            result = scipy.stats.bootstrap(
                (x,), stat, n_resamples=n_boot, batch=batch, vectorized=vectorized,
                confidence_level=level, method=method, rng=gen)
        low, high = (float(result.confidence_interval.low),
                     float(result.confidence_interval.high))
        if math.isfinite(low) and math.isfinite(high):
            return Interval(low, high, method)
    return Interval(_NAN, _NAN, "none")


def t_interval(values: Any, level: float = 0.95) -> Interval:
    """Student-t confidence interval of the mean of ``values`` (nan dropped), method ``"t"``.

    ``mean +- t_{(1+level)/2, n-1} * sd / sqrt(n)`` with the sample standard
    deviation (``ddof=1``); :func:`bootstrap_interval` uses it for means of
    :data:`T_MIN_VALUES` values or more.

    Args:
        values: One number per run (any units).
        level: Confidence level (in (0, 1)).

    Returns:
        An :class:`Interval` in the units of ``values``; ``(nan, nan, "none")``
        with fewer than two values.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[~np.isnan(x)]
    if x.size < 2:
        return Interval(_NAN, _NAN, "none")
    mean = float(x.mean())
    half = float(scipy.stats.t.ppf((1.0 + level) / 2.0, x.size - 1)
                 * x.std(ddof=1) / math.sqrt(x.size))
    return Interval(mean - half, mean + half, "t")


def bootstrap_ci(
    values: Any,
    stat: Callable[..., Any] = np.mean,
    n_boot: int = 2000,
    level: float = 0.95,
    rng: np.random.Generator | int | None = None,
) -> tuple[float, float]:
    """Return ``(low, high)`` of :func:`bootstrap_interval` (BCa where the sample allows).

    Args:
        values: One number per run (any units).
        stat: Statistic of a 1-d array (default the mean).
        n_boot: Number of resamples (count, >= 1).
        level: Confidence level (in (0, 1)).
        rng: Generator or seed; None means seed 0.

    Returns:
        ``(low, high)`` in the units of ``stat``; ``(nan, nan)`` with fewer than
        two values.

    Raises:
        ValueError: If ``n_boot`` < 1 or ``level`` is not in (0, 1).
    """
    interval = bootstrap_interval(values, stat, n_boot=n_boot, level=level, rng=rng)
    return interval.low, interval.high


def _accepts_axis(stat: Callable[..., Any], x: np.ndarray) -> bool:
    """Whether ``stat(samples, axis=-1)`` gives one value per row (vectorised bootstrap)."""
    try:
        result = np.asarray(stat(np.vstack([x, x]), axis=-1), dtype=np.float64)
    except TypeError:
        return False
    return result.shape == (2,)


def excludes(interval: tuple[float, float], null: float) -> int:
    """Which side of ``null`` an interval lies on: +1 above, -1 below, 0 straddles or unknown.

    Figures state a direction ("small people broker more ...") only when the
    interval excludes the value of no difference (``null``): this is the test.

    Args:
        interval: ``(low, high)``.
        null: The value of no difference (e.g. 1 for a ratio).

    Returns:
        ``1`` if ``low > null``, ``-1`` if ``high < null``, else ``0`` (also for nan).
    """
    low, high = float(interval[0]), float(interval[1])
    if math.isfinite(low) and low > null:
        return 1
    if math.isfinite(high) and high < null:
        return -1
    return 0


# --- across runs (sweeps) -----------------------------------------------------------


def group_summary(
    summary: pd.DataFrame,
    by: Sequence[str],
    metrics: Sequence[str],
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Mean and bootstrap confidence interval of each metric in each group of runs.

    Args:
        summary: One row per run (columns ``by``, ``metrics`` and ``status``;
            only ``status == "ok"`` rows count).
        by: Columns that define a group (the swept parameters other than seed).
        metrics: Metric columns to summarise.
        level: Confidence level of the interval (:func:`bootstrap_interval`:
            Student's t for groups of 500 runs or more, else BCa where the sample
            allows, else percentile).
        n_boot: Bootstrap resamples per group and metric.
        seed: Seed of the bootstrap (deterministic output).

    Returns:
        A tidy table: the ``by`` columns, ``metric``, ``n_runs`` (finite values
        used), ``mean``, ``std``, ``ci_low``, ``ci_high`` and ``ci_method``
        (how the interval was computed, see :func:`bootstrap_interval`).
    """
    ok = summary[summary["status"] == "ok"] if "status" in summary else summary
    rows = []
    groups = ok.groupby(list(by), dropna=False, sort=True) if by else [((), ok)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        for metric in metrics:
            values = pd.to_numeric(part[metric], errors="coerce").to_numpy(np.float64)
            values = values[np.isfinite(values)]
            ci = bootstrap_interval(values, n_boot=n_boot, level=level, rng=seed)
            rows.append({**dict(zip(by, key, strict=True)), "metric": metric,
                         "n_runs": int(values.size),
                         "mean": float(values.mean()) if values.size else math.nan,
                         "std": float(values.std(ddof=1)) if values.size > 1 else math.nan,
                         "ci_low": ci.low, "ci_high": ci.high, "ci_method": ci.method})
    return pd.DataFrame(rows, columns=[*by, "metric", "n_runs", "mean", "std", "ci_low",
                                       "ci_high", "ci_method"])


def audience_bins(people: pd.DataFrame, edges: np.ndarray | None = None) -> pd.DataFrame:
    """Valuable brokerage per capita in logarithmic audience bins.

    Args:
        people: A run's ``people`` table.
        edges: Bin edges in audience units (default powers of 2 from 1).

    Returns:
        One row per non-empty bin: ``bin_low``, ``bin_high`` (audience, bin is
        ``[low, high)``), ``people``, ``mean_audience``, ``credit_valuable``,
        ``credit_valuable_per_capita``.
    """
    audience = people["audience"].to_numpy(np.int64)
    credit = people["credit_valuable"].to_numpy(np.float64)
    if edges is None:
        top = max(int(audience.max()) if audience.size else 1, 1)
        edges = 2.0 ** np.arange(0, math.ceil(math.log2(top + 1)) + 1)
    idx = np.searchsorted(edges, audience, side="right") - 1
    rows = []
    for b in range(len(edges) - 1):
        sel = idx == b
        if not sel.any():
            continue
        rows.append({"bin_low": float(edges[b]), "bin_high": float(edges[b + 1]),
                     "people": int(sel.sum()), "mean_audience": float(audience[sel].mean()),
                     "credit_valuable": float(credit[sel].sum()),
                     "credit_valuable_per_capita": float(credit[sel].mean())})
    return pd.DataFrame(rows, columns=["bin_low", "bin_high", "people", "mean_audience",
                                       "credit_valuable", "credit_valuable_per_capita"])
