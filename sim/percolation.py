"""Bond-percolation theory for cascade mode (Newman 2002; Callaway et al. 2000).

For a network whose degree distribution is ``p_k``, independent cascades with
transmissibility ``T`` reach a giant share ``S`` of the network with
probability ``S`` (for undirected bond percolation the two coincide), where

    u = 1 - T + T * G1(u),    S = 1 - G0(u),

``G0(x) = sum_k p_k x**k`` and ``G1(x) = G0'(x) / G0'(1)``. For an
Erdős–Rényi graph of mean degree ``c`` both reduce to ``S = 1 - exp(-c T S)``.
Below the threshold (``T * <k(k-1)>/<k> < 1``) the mean reach of a cascade is
``1 + T <k> / (1 - T <k(k-1)>/<k>)``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.measures import Metric

CASCADE_METRICS: tuple[Metric, ...] = (
    Metric("n_cascades", "cascades", "count"),
    Metric("mean_reach", "mean reach (people)", "count"),
    Metric("mean_reach_fraction", "mean reach, share of people", "share"),
    Metric("large_cascade_share", "share of cascades that are large", "share"),
    Metric("large_cascade_reach_fraction", "reach of a large cascade, share of people",
           "share"),
    Metric("theory_giant_fraction", "percolation theory: share of people in the giant cluster",
           "share"),
    Metric("theory_threshold", "percolation threshold of transmissibility", "ratio"),
    Metric("mean_depth", "mean cascade depth", "ties"),
)
"""The headline numbers of cascade mode (:func:`cascade_metrics`), as ``measures.METRICS``."""


def giant_fraction(degrees: np.ndarray, transmissibility: float, tol: float = 1e-13) -> float:
    """Share of people in the giant cluster of bond percolation (configuration model).

    Args:
        degrees: Audience of every person.
        transmissibility: T, probability that a tie passes (in [0, 1]).
        tol: Convergence tolerance of the fixed-point iteration.

    Returns:
        S in [0, 1].
    """
    k = np.asarray(degrees, np.int64)
    if k.size == 0 or k.sum() == 0:
        return 0.0
    pk = np.bincount(k) / k.size
    ks = np.arange(pk.size)
    mean = float((ks * pk).sum())
    t = float(transmissibility)
    u = 0.0  # start below the fixed point at 1 so the non-trivial root is found
    for _ in range(100_000):
        g1 = float((ks[1:] * pk[1:] * u ** (ks[1:] - 1)).sum()) / mean
        new = 1.0 - t + t * g1
        if abs(new - u) < tol:
            u = new
            break
        u = new
    return float(1.0 - (pk * u**ks).sum())


def erdos_renyi_giant_fraction(mean_degree: float, transmissibility: float) -> float:
    """Root of ``S = 1 - exp(-c T S)`` (0 at or below the threshold ``c T <= 1``)."""
    ct = mean_degree * transmissibility
    if ct <= 1.0:
        return 0.0
    s = 1.0
    for _ in range(10_000):
        new = 1.0 - math.exp(-ct * s)
        if abs(new - s) < 1e-15:
            break
        s = new
    return s


def threshold(degrees: np.ndarray) -> float:
    """Critical transmissibility ``<k> / <k(k-1)>`` (inf for a network of isolated people)."""
    k = np.asarray(degrees, np.float64)
    second = float((k * (k - 1)).mean())
    return math.inf if second <= 0 else float(k.mean()) / second


def subcritical_mean_reach(degrees: np.ndarray, transmissibility: float) -> float:
    """Mean cascade reach below the threshold (inf at or above it)."""
    k = np.asarray(degrees, np.float64)
    mean = float(k.mean())
    branching = transmissibility * float((k * (k - 1)).mean()) / mean
    if branching >= 1.0:
        return math.inf
    return 1.0 + transmissibility * mean / (1.0 - branching)


def cascade_metrics(cascades: pd.DataFrame, degrees: np.ndarray, transmissibility: float,
                    seconds: float | None = None) -> dict[str, float | int]:
    """Headline numbers of cascade mode.

    A cascade is *large* when it reaches more than ``sqrt(n)`` people, which
    separates the giant cluster from finite clusters in large networks.
    """
    n = len(degrees)
    reach = cascades["reach"].to_numpy()
    large = reach > math.sqrt(n)
    out: dict[str, float | int] = {
        "n_cascades": int(reach.size),
        "mean_reach": float(reach.mean()) if reach.size else math.nan,
        "mean_reach_fraction": float(reach.mean() / n) if reach.size else math.nan,
        "large_cascade_share": float(large.mean()) if reach.size else math.nan,
        "large_cascade_reach_fraction": float(reach[large].mean() / n) if large.any()
        else math.nan,
        "theory_giant_fraction": giant_fraction(degrees, transmissibility),
        "theory_threshold": threshold(degrees),
        "mean_depth": float(cascades["depth"].mean()) if reach.size else math.nan,
        "edge_checks": int(cascades["edge_checks"].sum()),
    }
    if seconds:
        out["edge_checks_per_second"] = out["edge_checks"] / seconds
    return out
