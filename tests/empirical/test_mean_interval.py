"""empirical.mean_interval: the lognormal pivot's CDF and quantiles against
adaptive quadrature and against a simulation of the pivot's definition, and
the interval's ends against the Student-t interval they widen."""

import math
import warnings

import numpy as np
import pytest
from scipy import integrate, special, stats

from empirical.mean_interval import interval_ends, pivot_cdf, pivot_quantile


def reference_cdf(a: float, s: float, runs: int) -> float:
    """P(V <= a), V = -Z s / sqrt(R W) + s^2 / (2 W): given W, V is normal, so
    P = E_W Phi((a - s^2/(2W)) sqrt(R W) / s), integrated adaptively over log W."""
    k = runs - 1

    def integrand(t):
        w = math.exp(t)
        return (
            special.ndtr((a - s * s / (2 * w)) * math.sqrt(runs * w) / s) * stats.chi2.pdf(k * w, k) * k * w
        )

    return integrate.quad(integrand, -90, 8, limit=2000, epsabs=1e-13, epsrel=1e-12)[0]


def test_pivot_cdf_is_the_adaptive_quadrature():
    """Both integrals (over W for a < 0.3, over Z from 0.3 on) agree with adaptive quadrature to 5e-6."""
    cases = [
        (r, s, a) for r in (2, 4, 64) for s in (0.01, 0.3, 4.0) for a in (-0.01, 0.001, 0.29, 0.31, 1.0, 10.0)
    ]
    errors = [abs(pivot_cdf(a / s, s, runs)[0] - reference_cdf(a, s, runs)) for runs, s, a in cases]
    assert max(errors) < 5e-6


@pytest.mark.parametrize("runs", [2, 3, 4, 8, 32])
@pytest.mark.parametrize("prob", [0.025, 0.975])
def test_pivot_quantile_solves_the_cdf(runs, prob):
    s = np.array([1e-3, 0.05, 0.2, 0.5, 0.8, 1.5, 3.0])
    q = pivot_quantile(s, runs, prob)
    assert np.all(np.isfinite(q))
    np.testing.assert_allclose(
        [reference_cdf(qi, si, runs) for qi, si in zip(q, s, strict=True)], prob, atol=5e-6
    )


def test_pivot_quantile_is_the_simulated_pivot():
    """The quantiles of V simulated from its definition (Z, W drawn) match, within Monte-Carlo error."""
    rng = np.random.default_rng(7)
    runs, draws = 4, 400_000
    z, w = rng.standard_normal(draws), rng.chisquare(runs - 1, draws) / (runs - 1)
    for s in (0.3, 0.8):
        v = -z * s / np.sqrt(runs * w) + s * s / (2 * w)
        for prob in (0.025, 0.975):
            q = pivot_quantile(np.array([s]), runs, prob)[0]
            # P(V <= q) estimated by simulation: binomial standard error sqrt(p(1-p)/draws) = 2.5e-4
            assert abs(np.mean(v <= q) - prob) < 4 * math.sqrt(prob * (1 - prob) / draws)


def t_ends(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    runs = values.shape[1]
    half = stats.t.ppf(0.975, runs - 1) * values.std(1, ddof=1) / math.sqrt(runs)
    return values.mean(1) - half, values.mean(1) + half


def test_each_end_is_at_least_as_wide_as_student_t():
    values = np.random.default_rng(1).lognormal(0.0, 0.5, (200, 5))
    lo, hi, lo_pivot, hi_pivot = interval_ends(values, values, 0.95)
    t_lo, t_hi = t_ends(values)
    assert lo_pivot.all() and hi_pivot.all()
    assert np.all(lo <= t_lo + 1e-12) and np.all(hi >= t_hi - 1e-12)
    assert np.mean(hi > t_hi + 1e-9) > 0.9  # the pivot widens the upper end of skewed values


def test_a_nonpositive_value_leaves_that_end_student_t():
    values = np.array([[-0.1, 0.5, 0.6, 0.4], [0.3, 0.5, 0.6, 0.4]])
    lo, hi, lo_pivot, hi_pivot = interval_ends(values, values + 1.0, 0.95)
    t_lo, _ = t_ends(values)
    assert lo_pivot.tolist() == [False, True] and hi_pivot.tolist() == [True, True]
    assert lo[0] == pytest.approx(t_lo[0], rel=1e-12)


def test_lower_and_upper_ends_come_from_their_own_values():
    rng = np.random.default_rng(2)
    lower = rng.lognormal(0.0, 0.3, (50, 4))
    upper = lower * 1.2
    lo, hi, _, _ = interval_ends(lower, upper, 0.95)
    lo_alone, _, _, _ = interval_ends(lower, lower, 0.95)
    _, hi_alone, _, _ = interval_ends(upper, upper, 0.95)
    np.testing.assert_array_equal(lo, lo_alone)
    np.testing.assert_array_equal(hi, hi_alone)


def test_equal_values_give_a_point_and_huge_spreads_give_inf_not_nan():
    lo, hi, _, _ = interval_ends(np.full((1, 4), 2.5), np.full((1, 4), 2.5), 0.95)
    assert lo[0] == pytest.approx(2.5) and hi[0] == pytest.approx(2.5)
    spread = np.array([[1e-3, 1e3]])
    lo, hi, _, _ = interval_ends(spread, spread, 0.95)
    assert hi[0] == math.inf and np.isfinite(lo[0]) and lo[0] < 0  # unclipped


def test_values_near_the_float_limits_give_ends_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lo, hi, _, _ = interval_ends(
            np.array([[1e308, 1.7e308, 1.5e308]]), np.array([[1e308, 1.7e308, 1.5e308]]), 0.95
        )
        assert 0 < lo[0] < 1.4e308 and hi[0] == math.inf
        lo, hi, _, _ = interval_ends(np.array([[1e-300, 2e-300]]), np.array([[1e-300, 2e-300]]), 0.95)
        assert lo[0] < 1.5e-300 < hi[0] < math.inf
