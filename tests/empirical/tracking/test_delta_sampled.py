"""The tracker's Delta with a proven lower bound: F(theta_0) by ``sampled_mean`` over the rows a
standard error of FINAL_PRECISION |F - F*| needs (planned from independent pilot rows), not
over a fixed number of rows; unbiased for the exact F(theta_0), its
interval covering it about as often as stated."""

from __future__ import annotations

import numpy as np
import torch
from cases import QuadraticModule, quadratic_rows, run_quadratic_loop

from empirical.tracking import estimate


def test_delta_is_f0_over_rows_planned_for_the_stated_precision():
    X = quadratic_rows(N=8192, spread=1.0, seed=2)
    theta0 = X.mean(0) + 2.0
    curvatures, mask, sigma = [1.0, 0.5, 0.25, 0.125], [0, 1, 1, 1], 0.5
    run = run_quadratic_loop(QuadraticModule(theta0, curvatures, mask, sigma), X, 8, 0.1, 20, seed=0).finish()
    Xn = X.numpy()
    # F(theta) = (1/2) (theta - xbar)^T A (theta - xbar) + (1/2) sum_i a_i v_i; F* bound 0.
    a = np.asarray(curvatures)
    exact = 0.5 * float((a * (theta0.numpy() - Xn.mean(0)) ** 2).sum()) + 0.5 * float((a * Xn.var(0)).sum())
    deltas = [estimate._delta(run, 0, torch.Generator().manual_seed(seed)) for seed in range(20)]
    for D in deltas:
        assert "planned from a 128-row pilot for 5% of |F(theta_0) (seed 0) - 0|" in D.method, D.method
        assert 128 <= D.n_evals - 128 < X.shape[0]  # as many rows as the precision needs, not all
        assert (D.hi - D.lo) / 2 <= 3 * estimate.FINAL_PRECISION * D.value  # ~ t_0.975 x 5 %, planned
    values = np.array([D.value for D in deltas])
    assert abs(values.mean() - exact) <= 4 * values.std(ddof=1) / np.sqrt(len(values)), (values, exact)
    assert sum(D.lo <= exact <= D.hi for D in deltas) >= 15  # ~95 % coverage, a skewed loss
