"""The numpy not-a-knot spline against its twin, scipy.interpolate.CubicSpline (its default
boundary condition, extrapolating), and against the polynomials it must reproduce exactly."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import CubicSpline

from empirical.estimators.cubic_spline import not_a_knot, slopes


@pytest.mark.parametrize("n", [2, 3, 4, 5, 8, 45, 400])
@pytest.mark.parametrize("seed", range(4))
def test_equals_scipys_cubic_spline(n, seed):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.uniform(0.01, 3.0, n)) - 1.0
    y = rng.standard_normal(n) * 10.0 ** rng.uniform(-5, 5)
    at = np.linspace(x[0] - 1.5, x[-1] + 1.5, 997)
    at = np.concatenate([at, x])  # the knots themselves and points beyond both ends
    twin = CubicSpline(x, y)
    scale = np.max(np.abs(twin(at)))
    np.testing.assert_allclose(not_a_knot(x, y, at), twin(at), rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(slopes(x, y), twin(x, 1), rtol=0, atol=1e-12 * np.max(np.abs(twin(x, 1))))


def test_the_growth_fits_knots_log1p_of_the_record_plan():
    """Knots as the growth fit has them: log(1 + k), dense early, sparse late; values decaying."""
    ks = np.unique(np.round(np.geomspace(1, 2000, 45)))
    x, at = np.log1p(np.concatenate([[0.0], ks])), np.log1p(np.arange(2000.0))
    rng = np.random.default_rng(1)
    y = 50.0 / (1.0 + np.expm1(x)) ** 0.7 + rng.normal(0, 0.5, x.size)
    np.testing.assert_allclose(not_a_knot(x, y, at), CubicSpline(x, y)(at), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("degree", [0, 1, 2, 3])
@pytest.mark.parametrize("n", [4, 9])
def test_reproduces_cubics_exactly(degree, n):
    """A not-a-knot spline through a polynomial of degree <= 3 is that polynomial (up to rounding)."""
    rng = np.random.default_rng(degree)
    coefficients = rng.standard_normal(degree + 1)
    x = np.sort(rng.uniform(-2, 2, n))
    at = np.linspace(-3, 3, 101)
    np.testing.assert_allclose(not_a_knot(x, np.polyval(coefficients, x), at), np.polyval(coefficients, at),
                               rtol=0, atol=1e-9)  # fmt: skip


def test_two_points_give_the_line_and_three_the_parabola():
    at = np.array([-1.0, 0.5, 4.0])
    np.testing.assert_allclose(not_a_knot([0.0, 2.0], [1.0, 5.0], at), 1.0 + 2.0 * at, rtol=1e-15)
    x = np.array([0.0, 1.0, 3.0])
    np.testing.assert_allclose(not_a_knot(x, x**2 - x, at), at**2 - at, rtol=1e-13, atol=1e-14)
