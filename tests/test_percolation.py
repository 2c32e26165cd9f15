"""Cascade mode against bond-percolation theory and an independent implementation."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from scipy import stats

from sim import kernels
from sim.config import NetworkConfig
from sim.network import generate, to_csr
from sim.percolation import erdos_renyi_giant_fraction, giant_fraction, subcritical_mean_reach
from sim.ties import TieState


def er_graph(n, c, seed):
    raw = generate(NetworkConfig(name="erdos_renyi", mean_degree=c), n,
                   np.random.default_rng(seed))
    return raw, TieState.build(raw.n, raw.u, raw.v, np.full(raw.u.shape[0], 0.5), 0.05)


def model_cascades(ties, sources, t, seed):
    rng = np.random.default_rng(seed)
    return kernels.cascade_spread(np.asarray(sources, np.int64), ties.arrays(), t, rng, rng)


def test_theory_formulas_agree():
    # A Poisson degree sequence gives the ER equation S = 1 - exp(-cTS).
    rng = np.random.default_rng(0)
    degrees = rng.poisson(10, 400_000)
    assert giant_fraction(degrees, 0.3) == pytest.approx(erdos_renyi_giant_fraction(10, 0.3),
                                                         abs=2e-3)
    assert erdos_renyi_giant_fraction(10, 0.3) == pytest.approx(0.940478, abs=1e-5)
    assert erdos_renyi_giant_fraction(10, 0.09) == 0.0
    assert giant_fraction(np.full(100, 2), 1.0) == pytest.approx(1.0)


@pytest.mark.slow
@pytest.mark.parametrize("t", [0.15, 0.3])
def test_supercritical_giant_fraction_matches_theory(t):
    n, c = 100_000, 10.0
    raw, ties = er_graph(n, c, seed=1)
    c_real = 2 * raw.u.shape[0] / n
    s_theory = erdos_renyi_giant_fraction(c_real, t)
    reach, _, checks = model_cascades(ties, np.random.default_rng(2).integers(0, n, 150), t, 3)
    large = reach > math.sqrt(n)
    # The share of large cascades estimates S (binomial, 150 draws: SE <= 0.041).
    assert abs(large.mean() - s_theory) < 4 * math.sqrt(s_theory * (1 - s_theory) / 150)
    # Each large cascade is the giant cluster of one percolation draw: size S n +- O(sqrt n).
    frac = reach[large] / n
    assert abs(frac.mean() - s_theory) < 0.004
    assert frac.std() < 0.01
    # Every reached person checks every tie once.
    assert (checks[large] > 0).all()


@pytest.mark.slow
def test_subcritical_mean_reach_matches_theory():
    n, c, t = 100_000, 10.0, 0.05
    raw, ties = er_graph(n, c, seed=4)
    degrees = ties.row_len
    expected = subcritical_mean_reach(degrees, t)
    reach, _, _ = model_cascades(ties, np.random.default_rng(5).integers(0, n, 40_000), t, 6)
    se = reach.std() / math.sqrt(reach.size)
    assert abs(reach.mean() - expected) < 4 * se
    assert expected == pytest.approx(2.0, abs=0.02)


def test_model_kernel_agrees_with_independent_bfs():
    n, c, t = 20_000, 6.0, 0.25
    raw, ties = er_graph(n, c, seed=7)
    sources = np.random.default_rng(8).integers(0, n, 600)
    r1, d1, _ = model_cascades(ties, sources, t, 9)
    rng = np.random.default_rng(10)
    r2, d2, _ = kernels.cascade_batch(sources.astype(np.int64), ties.row_start, ties.row_len,
                                      ties.nbr, t, rng)
    assert stats.ks_2samp(r1, r2).pvalue > 1e-3
    assert stats.ks_2samp(d1, d2).pvalue > 1e-3


def test_csr_of_tie_state_matches_network_csr():
    raw, ties = er_graph(2_000, 5.0, seed=11)
    indptr, indices, strengths = ties.csr()
    ref_ptr, ref_idx = to_csr(raw.n, raw.u, raw.v)
    assert np.array_equal(indptr, ref_ptr)
    assert np.array_equal(indices, ref_idx)
    assert np.allclose(strengths, 0.5)


@pytest.mark.parametrize("p", [0.02, 0.15, 0.6])
def test_geometric_skip_is_geometric(p):
    # The fixed-attention fast path jumps over contacts who miss the post: the
    # gap must follow Geometric(p) exactly (P(gap = k) = (1-p)^k p), or cascade
    # mode would not be bond percolation. Chi-square over the pmf, tail pooled.
    @numba.njit
    def draws(p, mean_gap, rng, size):
        out = np.empty(size, np.int64)
        for i in range(size):
            out[i] = kernels.geometric_skip(p, mean_gap, rng)
        return out

    size = 200_000
    gaps = draws(p, -1.0 / math.log1p(-p), np.random.default_rng(11), size)
    k_max = int(math.log(1e-3) / math.log1p(-p))  # pool the last 0.1% of mass
    observed = np.bincount(np.minimum(gaps, k_max), minlength=k_max + 1)
    expected = size * np.append((1 - p) ** np.arange(k_max) * p, (1 - p) ** k_max)
    _, p_value = stats.chisquare(observed, expected)
    assert p_value > 1e-3
    assert gaps.mean() == pytest.approx((1 - p) / p, rel=0.02)
    assert kernels.geometric_skip.py_func(1.0, 0.0, None) == 0
