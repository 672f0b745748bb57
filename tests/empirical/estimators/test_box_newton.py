"""Projected Newton within a box: closed-form minima, a non-convex start, and the growth fit's
variance model against its twin, scipy's L-BFGS-B on the same likelihood."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize

from empirical.estimators.box_newton import minimise
from empirical.estimators.growth import _draw_variance


def quadratic(H, b):
    def model(u):
        return float(0.5 * u @ H @ u - b @ u), H @ u - b, H

    return model


@pytest.mark.parametrize("seed", range(5))
def test_separable_quadratic_minimum_is_the_clipped_one(seed):
    rng = np.random.default_rng(seed)
    d = rng.uniform(0.1, 10.0, 3)
    b = rng.normal(0, 5, 3)
    u = minimise(quadratic(np.diag(d), b), np.zeros(3), -1.0, 1.0)
    np.testing.assert_allclose(u, np.clip(b / d, -1.0, 1.0), rtol=1e-12, atol=1e-12)


def test_coupled_quadratic_matches_the_active_set_solution():
    """min 1/2 u'Hu - b'u over [0, 10]^2 with the minimum on the face u_1 = 0."""
    H, b = np.array([[2.0, 1.0], [1.0, 2.0]]), np.array([4.0, -1.0])
    u = minimise(quadratic(H, b), np.array([5.0, 5.0]), 0.0, 10.0)
    np.testing.assert_allclose(u, [2.0, 0.0], atol=1e-12)  # on u_1 = 0: 2 u_0 = 4; then g_1 = 2 - 1 > 0


def test_a_start_where_the_function_is_concave_still_descends_to_the_minimum():
    """f = u^4/4 - u^2/2 (minima at +-1), started at 0.1 where f'' < 0."""

    def model(u):
        return (
            float(u[0] ** 4 / 4 - u[0] ** 2 / 2),
            np.array([u[0] ** 3 - u[0]]),
            np.array([[3 * u[0] ** 2 - 1]]),
        )

    np.testing.assert_allclose(minimise(model, np.array([0.1]), -5.0, 5.0), [1.0], atol=1e-10)


def lbfgsb_twin(x, sq):
    """The growth fit's variance model as it was fitted before (scipy's L-BFGS-B over u = log c)."""
    scale = max(float(np.max(np.abs(x))), 1e-300)
    xp = np.maximum(x, 0.0) / scale
    B = np.column_stack([np.ones_like(x), xp, xp**2])
    level = max(float(np.mean(sq)), 1e-300)

    def f(u):
        c = np.exp(u)
        s2 = B @ c
        return float(np.sum(np.log(s2) + sq / s2)), (B.T @ (1.0 / s2 - sq / s2**2)) * c

    res = optimize.minimize(f, np.log(np.full(3, level / 3)), jac=True, method="L-BFGS-B",
                            bounds=[(math.log(level) - 60, math.log(level) + 20)] * 3)  # fmt: skip
    return B @ np.exp(res.x)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("truth", [(1.0, 1.0, 0.3), (1.0, 0.0, 0.0), (0.01, 0.0, 5.0)])
def test_variance_model_is_at_least_as_likely_as_lbfgsb_and_close_to_it(seed, truth):
    rng = np.random.default_rng(seed)
    x = np.abs(rng.standard_normal(120)) * 10.0 ** rng.uniform(-4, 4)
    c0, c1, c2 = truth
    scale = x.max()
    sq = (c0 + c1 * x / scale + c2 * (x / scale) ** 2) * 10.0 ** rng.uniform(-6, 6) * rng.chisquare(1, x.size)

    def nll(s2):
        return float(np.sum(np.log(s2) + sq / s2))

    ours, twin = _draw_variance(x, sq), lbfgsb_twin(x, sq)
    assert np.all(np.isfinite(ours)) and np.all(ours > 0)
    assert nll(ours) <= nll(twin) + 1e-9 * abs(nll(twin))
    np.testing.assert_allclose(ours, twin, rtol=2e-3)
