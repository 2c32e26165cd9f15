"""Published patterns the model should reproduce, as numbers with intervals over seeds.

Three patterns of issue 12 (Granovetter's tables live in ``sim.evidence``):

* **Onnela et al. (2007)**: removing ties weakest first fragments a network far
  sooner than removing them strongest first, because weak ties bridge
  communities and strong ties sit inside them. :func:`removal_curves` tracks the
  share of people in the largest connected component (and Onnela's
  susceptibility) against the share of ties removed, for both orders, in one
  union-find pass each (ties are added back in reverse order of removal).
* **Bakshy et al. (2011)**: in cascade mode, seeds with large audiences start
  larger cascades on average but reach fewer people per follower
  (:func:`cascade_table`, :func:`bakshy_bins`, :func:`bakshy_ratios`).
* **Headline metrics on real networks** (:func:`headline_runs`): the small
  people's share of valuable referrals against their population share, and the
  per-audience ratio, on the networks in ``../shared/data``.

Every function that runs the model takes a :class:`sim.config.Config` and
optional overrides (dotted keys, :func:`with_overrides`), so the same numbers
can be regenerated on any configuration (e.g. the calibrated one). Pure
numpy / scipy / numba / pandas: no Hydra, no matplotlib (figures are in
:mod:`sim.viz.patterns`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numba import njit

from sim.config import Config, ConfigError, with_values
from sim.measures import COMPARISONS, bootstrap_interval, class_comparison

#: Overrides: a mapping of dotted keys to values, or ``"key=value"`` strings.
Overrides = Mapping[str, Any] | Sequence[str] | None

#: Shares of ties removed at which removal curves are reported by default.
DEFAULT_FRACTIONS = np.round(np.linspace(0.0, 1.0, 101), 10)

#: Share of ties removed at which the two removal orders are compared (the comparison
#: issue 12 quotes; the critical fractions of :func:`critical_fractions` need no choice).
ONNELA_AT = 0.8


# --- configuration -------------------------------------------------------------------------


def _parse_value(text: str) -> Any:
    """A command-line value as the config would read it: bool, int, float or text."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _as_mapping(overrides: Overrides) -> dict[str, Any]:
    if overrides is None:
        return {}
    if isinstance(overrides, Mapping):
        return dict(overrides)
    out: dict[str, Any] = {}
    for item in overrides:
        key, sep, value = str(item).partition("=")
        if not sep or not key:
            raise ConfigError(str(item), "an override must be key=value (a dotted config key)")
        out[key.strip()] = _parse_value(value)
    return out


def with_overrides(config: Config, overrides: Overrides = None) -> Config:
    """A validated copy of ``config`` with some values changed.

    Args:
        config: The base configuration (not changed).
        overrides: Dotted keys and values, as a mapping (``{"seed": 3,
            "ties.strength_community": 0.0}``) or ``"key=value"`` strings
            (``["seed=3", "mode=cascade"]``: ``true``/``false``, whole numbers and
            numbers are read as such, anything else as text).

    Returns:
        A new, validated :class:`Config`.

    Raises:
        ConfigError: An unknown key, a wrong type or a value out of range.
    """
    return with_values(config, _as_mapping(overrides))


# --- Onnela et al. (2007): removal of ties by strength ------------------------------------


@njit(cache=True)
def _find(parent: np.ndarray, i: int) -> int:
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@njit(cache=True)
def _grow_components(n: int, u: np.ndarray, v: np.ndarray,
                     order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Add ties ``order[0], order[1], ...`` to ``n`` isolated people, tracking components.

    Returns:
        ``(largest, rest_sq)``, each of length ``len(order) + 1``: after ``k`` ties,
        the size of the largest component and the sum of squared sizes of all
        the other components (people).
    """
    m = order.shape[0]
    parent = np.arange(n)
    size = np.ones(n, np.int64)
    largest = np.empty(m + 1, np.int64)
    rest_sq = np.empty(m + 1, np.int64)
    big = 1 if n > 0 else 0
    sum_sq = n  # every component has size 1
    largest[0] = big
    rest_sq[0] = sum_sq - big * big
    for k in range(m):
        e = order[k]
        a = _find(parent, u[e])
        b = _find(parent, v[e])
        if a != b:
            if size[a] < size[b]:
                a, b = b, a
            sum_sq += 2 * size[a] * size[b]
            parent[b] = a
            size[a] += size[b]
            if size[a] > big:
                big = size[a]
        largest[k + 1] = big
        rest_sq[k + 1] = sum_sq - big * big
    return largest, rest_sq


def removal_order(w: np.ndarray, weakest_first: bool) -> np.ndarray:
    """Order in which ties are removed: by strength, ties of equal strength by index.

    Args:
        w: Strength of each tie.
        weakest_first: Remove the weakest tie first (else the strongest).

    Returns:
        ``int64`` tie indices, first removed first.
    """
    w = np.asarray(w, np.float64)
    key = w if weakest_first else -w
    return np.argsort(key, kind="stable").astype(np.int64)


def removal_curve(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, weakest_first: bool,
                  fractions: Iterable[float] = DEFAULT_FRACTIONS) -> pd.DataFrame:
    """Largest component and susceptibility as ties are removed in order of strength.

    After removing ``r = round(f * M)`` of the ``M`` ties (the ``r`` weakest, or
    strongest), the people in the largest connected component as a share of all
    ``n`` people, and Onnela et al.'s (2007) susceptibility
    ``sum_{s < s_max} n_s s**2 / n`` (``n_s`` components of ``s`` people, the
    largest left out), which peaks where the network falls apart. One
    union-find pass adds the ties back in reverse order of removal.

    Args:
        n: Number of people (count).
        u: First endpoint of each tie.
        v: Second endpoint of each tie.
        w: Strength of each tie (any units; only the order matters).
        weakest_first: Remove the weakest ties first (else the strongest).
        fractions: Shares of ties removed to report (each in [0, 1]).

    Returns:
        One row per fraction: ``fraction_removed``, ``ties_removed`` (count),
        ``lcc_fraction`` (share of people), ``susceptibility`` (people).
    """
    u = np.ascontiguousarray(u, np.int64)
    v = np.ascontiguousarray(v, np.int64)
    f = np.asarray(list(fractions), np.float64)
    if f.size and (f.min() < 0 or f.max() > 1):
        raise ValueError(f"fractions must lie in [0, 1]; got {f.min():g}..{f.max():g}")
    m = u.shape[0]
    order = removal_order(w, weakest_first)[::-1].copy()  # add back: last removed first
    largest, rest_sq = _grow_components(int(n), u, v, order)
    removed = np.rint(f * m).astype(np.int64)
    kept = m - removed
    denom = max(int(n), 1)
    return pd.DataFrame({
        "fraction_removed": f,
        "ties_removed": removed,
        "lcc_fraction": largest[kept] / denom,
        "susceptibility": rest_sq[kept] / denom,
    })


def removal_curves(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray,
                   fractions: Iterable[float] = DEFAULT_FRACTIONS) -> pd.DataFrame:
    """:func:`removal_curve` for both orders, stacked, with a column ``order``.

    ``order`` is ``"weak_first"`` or ``"strong_first"``.
    """
    fractions = list(fractions)
    parts = []
    for name, weakest in (("weak_first", True), ("strong_first", False)):
        part = removal_curve(n, u, v, w, weakest, fractions)
        part.insert(0, "order", name)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


@dataclass
class TieNetwork:
    """A network's ties and their strengths at one moment.

    Attributes:
        n: Number of people (count).
        u: First endpoint of each tie.
        v: Second endpoint of each tie.
        w: Strength of each tie (strength units, in (0, 1]).
        community: Community of each person.
    """

    n: int
    u: np.ndarray
    v: np.ndarray
    w: np.ndarray
    community: np.ndarray


def tie_network(config: Config, overrides: Overrides = None, warmup: bool = False) -> TieNetwork:
    """The ties of a run and their strengths, as the model sets them.

    Without ``warmup``: the network of :func:`sim.network.generate` and the
    initial strengths of :func:`sim.ties.graph_strengths`, from the run's own
    random streams (exactly what a run starts from). With ``warmup``: the ties
    after the model has run ``config.warmup_days`` days (strengths decayed and
    grown by use, new ties from closures and meetups included).

    Args:
        config: The run's configuration (its seed picks the network).
        overrides: Changes to ``config`` (:func:`with_overrides`).
        warmup: Take the ties after the warm-up instead of at the start.
    """
    config = with_overrides(config, overrides)
    if warmup:
        from sim.model import ReferralModel

        model = ReferralModel(config, checked=True)
        for _ in range(config.warmup_days):
            model.world.step()
        ties = model.world.ties
        u, v = ties.edges()
        return TieNetwork(model.world.n, u.copy(), v.copy(), ties.strengths().copy(),
                          model.world.community.copy())
    from sim.network import generate
    from sim.rng import stream
    from sim.ties import graph_strengths

    graph = generate(config.network, config.people.n, stream(config.seed, "network"))
    w = graph_strengths(graph, config.ties, stream(config.seed, "strengths"))
    return TieNetwork(graph.n, graph.u, graph.v, w, graph.community)


def onnela_curves(config: Config, seeds: Iterable[int], overrides: Overrides = None,
                  warmup: bool = False,
                  fractions: Iterable[float] = DEFAULT_FRACTIONS) -> pd.DataFrame:
    """:func:`removal_curves` of the model's network for each seed.

    Returns:
        The rows of :func:`removal_curves` with a leading ``seed`` column.
    """
    fractions = list(fractions)
    parts = []
    for seed in seeds:
        net = tie_network(config, {**_as_mapping(overrides), "seed": int(seed)}, warmup)
        part = removal_curves(net.n, net.u, net.v, net.w, fractions)
        part.insert(0, "seed", int(seed))
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def curve_gap(curves: pd.DataFrame, at: float = ONNELA_AT) -> pd.DataFrame:
    """Per seed, the largest component after removing a share ``at`` of ties, both orders.

    Args:
        curves: Output of :func:`onnela_curves` (must contain fraction ``at``).
        at: Share of ties removed.

    Returns:
        One row per seed: ``seed``, ``weak_first``, ``strong_first`` (shares of
        people in the largest component) and ``gap`` (strong-first minus
        weak-first: how much sooner weak-first removal fragments the network).
    """
    sel = curves[np.isclose(curves["fraction_removed"], at)]
    if sel.empty:
        raise ValueError(f"the curves have no point at fraction_removed={at:g}")
    wide = sel.pivot_table(index="seed", columns="order", values="lcc_fraction").reset_index()
    wide.columns.name = None
    wide["gap"] = wide["strong_first"] - wide["weak_first"]
    return wide[["seed", "weak_first", "strong_first", "gap"]]


def critical_fractions(curves: pd.DataFrame) -> pd.DataFrame:
    """Per seed and order, the share of ties removed where the network falls apart.

    Onnela et al.'s (2007) critical point ``f_c``: the fraction removed at which
    the susceptibility peaks (the first peak, over fractions below 1, where
    every person is alone and the susceptibility is trivially about 1).

    Args:
        curves: Output of :func:`onnela_curves` (a fine grid of fractions gives
            a precise ``f_c``; :data:`DEFAULT_FRACTIONS` is steps of 0.01).

    Returns:
        One row per seed: ``seed``, ``fc_weak_first``, ``fc_strong_first`` and
        ``fc_gap`` (strong-first minus weak-first: positive when removing weak
        ties first breaks the network at a smaller fraction).
    """
    rows: dict[int, dict[str, float]] = {}
    inner = curves[curves["fraction_removed"] < 1.0]
    for (seed, order), part in inner.groupby(["seed", "order"], sort=True):
        f = part["fraction_removed"].to_numpy(np.float64)
        chi = part["susceptibility"].to_numpy(np.float64)
        rows.setdefault(int(seed), {"seed": int(seed)})[f"fc_{order}"] = float(f[np.argmax(chi)])
    out = pd.DataFrame(list(rows.values()), columns=["seed", "fc_weak_first",
                                                      "fc_strong_first"])
    out["fc_gap"] = out["fc_strong_first"] - out["fc_weak_first"]
    return out


def onnela_table(curves: pd.DataFrame, at: Sequence[float] = (ONNELA_AT, 0.9)) -> pd.DataFrame:
    """Per seed: the largest component at each share ``at`` of ties removed, and ``f_c``.

    Returns:
        One row per seed: ``seed``; for each ``a`` in ``at`` (as a percentage
        ``p``), ``weak_first_p``, ``strong_first_p`` and ``gap_p``
        (:func:`curve_gap`); then the columns of :func:`critical_fractions`.
    """
    fractions = critical_fractions(curves)
    out = fractions[["seed"]]
    for a in at:
        pct = f"{100 * a:.0f}"
        gap = curve_gap(curves, a).rename(columns={
            "weak_first": f"weak_first_{pct}", "strong_first": f"strong_first_{pct}",
            "gap": f"gap_{pct}"})
        out = out.merge(gap, on="seed")
    return out.merge(fractions, on="seed")


def summarize(values: Any, rng: int = 0) -> dict[str, float]:
    """Mean, 95% bootstrap interval (:func:`sim.measures.bootstrap_interval`) and count.

    Returns:
        ``mean``, ``ci_low``, ``ci_high``, ``n`` (finite values used).
    """
    x = np.asarray(values, np.float64)
    x = x[np.isfinite(x)]
    ci = bootstrap_interval(x, rng=rng)
    return {"mean": float(x.mean()) if x.size else math.nan, "ci_low": ci.low,
            "ci_high": ci.high, "n": int(x.size)}


# --- Bakshy et al. (2011): cascades by the audience of their seed -------------------------


def cascade_table(config: Config, seeds: Iterable[int], overrides: Overrides = None
                  ) -> pd.DataFrame:
    """Run cascade mode once per seed and list every cascade with its seed's audience.

    Args:
        config: Base configuration; ``mode`` is set to ``cascade``.
        seeds: Root seeds (one network and one set of cascades each).
        overrides: Changes to ``config`` (:func:`with_overrides`).

    Returns:
        One row per cascade: ``seed`` (the run's root seed), ``source`` (person
        it started from), ``audience`` (the source's followers), ``is_large``
        (source in the top ``measures.large_fraction`` by audience), ``reach``
        (people reached, the source included) and ``threshold`` (the network's
        bond-percolation threshold of transmissibility,
        :func:`sim.percolation.threshold`).
    """
    from sim.run import run

    parts = []
    for seed in seeds:
        cfg = with_overrides(config, {**_as_mapping(overrides), "mode": "cascade",
                                      "seed": int(seed)})
        result = run(cfg)
        people = result.people
        src = result.cascades["source"].to_numpy(np.int64)
        parts.append(pd.DataFrame({
            "seed": int(seed),
            "source": src.astype(np.int32),
            "audience": people["audience"].to_numpy(np.int64)[src],
            "is_large": people["is_large"].to_numpy(bool)[src],
            "reach": result.cascades["reach"].to_numpy(np.int64),
            "threshold": float(result.metrics["theory_threshold"]),
        }))
    return pd.concat(parts, ignore_index=True)


def audience_bin_edges(max_audience: int) -> np.ndarray:
    """Bin edges in powers of 2 from 1 up past ``max_audience`` (audience, bins ``[lo, hi)``)."""
    top = max(int(max_audience), 1)
    return 2.0 ** np.arange(0, math.ceil(math.log2(top + 1)) + 1)


def bakshy_bins(cascades: pd.DataFrame, edges: np.ndarray | None = None) -> pd.DataFrame:
    """Mean cascade size and size per follower in audience bins, per seed.

    Sources without followers (audience 0) are left out: size per follower is
    undefined for them. Two per-follower measures: ``reach / audience``
    (Bakshy et al.'s size per follower, the source counted) and
    ``(reach - 1) / audience`` (other people reached per follower), which
    does not fall with audience merely because the source is counted once.

    Args:
        cascades: Output of :func:`cascade_table` (columns ``seed``, ``audience``,
            ``reach``).
        edges: Bin edges (audience); default :func:`audience_bin_edges` of the
            largest audience.

    Returns:
        One row per seed and non-empty bin: ``seed``, ``bin_low``, ``bin_high``
        (audience, the bin is ``[low, high)``), ``cascades`` (count),
        ``mean_audience``, ``mean_reach`` (people), ``mean_per_follower`` and
        ``mean_others_per_follower`` (means over the bin's cascades).
    """
    df = cascades[cascades["audience"] > 0]
    if edges is None:
        edges = audience_bin_edges(int(df["audience"].max()) if len(df) else 1)
    edges = np.asarray(edges, np.float64)
    audience = df["audience"].to_numpy(np.float64)
    reach = df["reach"].to_numpy(np.float64)
    idx = np.searchsorted(edges, audience, side="right") - 1
    ok = (idx >= 0) & (idx < edges.size - 1)
    frame = pd.DataFrame({"seed": df["seed"].to_numpy()[ok], "bin": idx[ok],
                          "audience": audience[ok], "reach": reach[ok],
                          "per_follower": reach[ok] / audience[ok],
                          "others": (reach[ok] - 1.0) / audience[ok]})
    out = frame.groupby(["seed", "bin"], sort=True).agg(
        cascades=("reach", "size"), mean_audience=("audience", "mean"),
        mean_reach=("reach", "mean"), mean_per_follower=("per_follower", "mean"),
        mean_others_per_follower=("others", "mean"),
    ).reset_index()
    out.insert(2, "bin_low", edges[out["bin"].to_numpy()])
    out.insert(3, "bin_high", edges[out["bin"].to_numpy() + 1])
    return out.drop(columns="bin")


#: Per-bin quantities of :func:`bakshy_bins` summarised over seeds by :func:`bin_summary`.
BIN_QUANTITIES = {"mean_reach": "reach", "mean_per_follower": "per_follower",
                  "mean_others_per_follower": "others_per_follower"}


def bin_summary(bins: pd.DataFrame, min_seeds: int = 2) -> pd.DataFrame:
    """Across seeds, per audience bin: mean and 95% interval of size and size per follower.

    Args:
        bins: Output of :func:`bakshy_bins`.
        min_seeds: Bins present in fewer seeds are dropped (no interval).

    Returns:
        One row per bin: ``bin_low``, ``bin_high``, ``seeds``, ``cascades``
        (total), ``mean_audience``, then for ``reach``, ``per_follower`` and
        ``others_per_follower`` the mean over seeds of the per-seed bin means
        and its bootstrap interval over seeds (``<name>``, ``<name>_low``,
        ``<name>_high``).
    """
    columns = ["bin_low", "bin_high", "seeds", "cascades", "mean_audience"]
    for name in BIN_QUANTITIES.values():
        columns += [name, f"{name}_low", f"{name}_high"]
    rows = []
    for (lo, hi), part in bins.groupby(["bin_low", "bin_high"], sort=True):
        if part["seed"].nunique() < min_seeds:
            continue
        row = {"bin_low": lo, "bin_high": hi, "seeds": int(part["seed"].nunique()),
               "cascades": int(part["cascades"].sum()),
               "mean_audience": float(part["mean_audience"].mean())}
        for column, name in BIN_QUANTITIES.items():
            stats = summarize(part[column])
            row.update({name: stats["mean"], f"{name}_low": stats["ci_low"],
                        f"{name}_high": stats["ci_high"]})
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def bakshy_ratios(cascades: pd.DataFrame) -> pd.DataFrame:
    """Per seed, large-audience sources against small ones: mean size and size per follower.

    Args:
        cascades: Output of :func:`cascade_table` (``is_large`` marks sources in
            the top ``measures.large_fraction`` by audience).

    Returns:
        One row per seed: ``seed``, ``n_large``, ``n_small`` (cascades from a
        source with at least one follower), ``reach_large``, ``reach_small``
        (mean people reached), ``reach_ratio`` (large over small: above 1 when
        large sources start larger cascades), ``per_follower_ratio`` (mean
        ``reach / audience``, large over small: below 1 when they reach fewer
        people per follower) and ``others_ratio`` (the same for
        ``(reach - 1) / audience``). NaN where a class has no cascade.
    """
    columns = ["seed", "n_large", "n_small", "reach_large", "reach_small", "reach_ratio",
               "per_follower_ratio", "others_ratio"]
    rows = []
    for seed, part in cascades[cascades["audience"] > 0].groupby("seed", sort=True):
        large = part["is_large"].to_numpy(bool)
        reach = part["reach"].to_numpy(np.float64)
        audience = part["audience"].to_numpy(np.float64)

        def ratio(x: np.ndarray, large: np.ndarray = large) -> float:
            if not large.any() or large.all():
                return math.nan
            small = float(x[~large].mean())
            return float(x[large].mean()) / small if small > 0 else math.nan

        rows.append({"seed": int(seed), "n_large": int(large.sum()),
                     "n_small": int((~large).sum()),
                     "reach_large": float(reach[large].mean()) if large.any() else math.nan,
                     "reach_small": float(reach[~large].mean()) if (~large).any() else math.nan,
                     "reach_ratio": ratio(reach), "per_follower_ratio": ratio(reach / audience),
                     "others_ratio": ratio((reach - 1.0) / audience)})
    return pd.DataFrame(rows, columns=columns)


# --- headline metrics on real networks ------------------------------------------------------

#: The metrics reported for the real networks (keys of :data:`sim.measures.METRICS`).
HEADLINE = ("small_population_share", "small_share_valuable_brokered",
            "per_audience_ratio_small_large", "per_capita_ratio_large_small",
            "n_valuable_brokered")


#: Class totals kept per run, from which :func:`pooled_comparison` pools seeds.
TOTALS = ("credit_small", "credit_large", "n_small", "n_large", "audience_small",
          "audience_large")


def headline_runs(config: Config, seeds: Iterable[int], overrides: Overrides = None,
                  metrics: Sequence[str] = HEADLINE) -> pd.DataFrame:
    """Run referral mode once per seed and keep the headline metrics and class totals.

    Returns:
        One row per seed: ``seed``, each metric (:func:`sim.measures.headline`)
        and the class totals :data:`TOTALS` (valuable credit, people and
        audience of small and of large people).
    """
    from sim.run import run

    rows = []
    for seed in seeds:
        cfg = with_overrides(config, {**_as_mapping(overrides), "seed": int(seed)})
        result = run(cfg)
        people = result.people
        large = people["is_large"].to_numpy(bool)
        credit = people["credit_valuable"].to_numpy(np.float64)
        audience = people["audience"].to_numpy(np.float64)
        rows.append({"seed": int(seed), **{k: result.metrics[k] for k in metrics},
                     "credit_small": float(credit[~large].sum()),
                     "credit_large": float(credit[large].sum()),
                     "n_small": int((~large).sum()), "n_large": int(large.sum()),
                     "audience_small": float(audience[~large].sum()),
                     "audience_large": float(audience[large].sum())})
    return pd.DataFrame(rows, columns=["seed", *metrics, *TOTALS])


def pooled_comparison(runs: pd.DataFrame, rng: int = 0) -> pd.DataFrame:
    """The small-versus-large comparisons of all seeds' referrals pooled, with intervals.

    On a small network a single run brokers few valuable referrals (86 people
    in Malawi: about one a year), so the per-run ratios are often undefined;
    pooling the class totals of all runs (:func:`sim.measures.class_comparison`)
    uses every referral. The interval resamples whole runs (a bootstrap over
    seeds, :func:`sim.measures.bootstrap_interval`).

    Args:
        runs: Output of :func:`headline_runs` (the columns :data:`TOTALS`).
        rng: Seed of the bootstrap.

    Returns:
        One row per comparison (:data:`sim.measures.COMPARISONS`): ``metric``,
        ``pooled`` (the ratio of the totals), ``ci_low``, ``ci_high``, ``n``
        (runs).
    """
    totals = runs[list(TOTALS)].to_numpy(np.float64)
    index = np.arange(len(runs), dtype=np.float64)
    rows = []
    for key in COMPARISONS:
        def stat(sample: np.ndarray, axis: int = -1, key: str = key) -> np.ndarray:
            # Runs drawn (as row numbers) along ``axis`` -> the comparison of their totals.
            picked = totals[np.moveaxis(np.asarray(sample), axis, -1).astype(np.int64)]
            summed = picked.sum(axis=-2)
            flat = [class_comparison(*row)[key] for row in summed.reshape(-1, len(TOTALS))]
            return np.asarray(flat, np.float64).reshape(summed.shape[:-1])

        value = float(stat(index))
        ci = bootstrap_interval(index, stat, rng=rng) if math.isfinite(value) else None
        rows.append({"metric": key, "pooled": value,
                     "ci_low": ci.low if ci else math.nan, "ci_high": ci.high if ci else math.nan,
                     "n": len(runs)})
    return pd.DataFrame(rows, columns=["metric", "pooled", "ci_low", "ci_high", "n"])


def small_share_excess(runs: pd.DataFrame) -> np.ndarray:
    """Per seed, small people's share of valuable referrals minus their population share.

    Negative: small people broker fewer valuable referrals than their numbers
    (large people broker more per person); it is the per-person comparison,
    while ``per_audience_ratio_small_large`` is the per-follower one.
    """
    return (runs["small_share_valuable_brokered"].to_numpy(np.float64)
            - runs["small_population_share"].to_numpy(np.float64))


__all__ = [
    "BIN_QUANTITIES", "DEFAULT_FRACTIONS", "HEADLINE", "ONNELA_AT", "TOTALS", "TieNetwork",
    "audience_bin_edges", "bakshy_bins", "bakshy_ratios", "bin_summary", "cascade_table",
    "critical_fractions", "curve_gap", "headline_runs", "onnela_curves",
    "onnela_table", "pooled_comparison", "removal_curve", "removal_curves", "removal_order",
    "small_share_excess", "summarize", "tie_network", "with_overrides",
]
