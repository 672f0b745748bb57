"""empirical.tracking.estimate: the constants of tracked runs of a user's module."""

from __future__ import annotations

import pytest
import torch

import empirical
from empirical.tracking.estimate import STAT_EXAMPLES, estimate_runs, params_at


def test_m_is_the_largest_per_example_gradient_norm_at_the_kept_points():
    """M was left out for a user's module (report.json had no M); it is the largest per-example
    gradient norm of the variance's rows: with every row used and a loss without noise, exactly
    the largest ||grad loss(x_i)|| over the rows at theta_0 and theta_n (a per-example loop)."""
    torch.manual_seed(0)
    X = torch.randn(40, 3)
    assert len(X) <= STAT_EXAMPLES  # every row enters the statistics
    model = torch.nn.Linear(3, 3)

    def loss(m, x):
        return ((m(x) - x) ** 2).sum(1)

    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    tracker = empirical.track(model, loss, X, opt, seed=0)
    for _ in range(10):
        opt.zero_grad()
        loss(model, X[torch.randint(0, 40, (8,))]).mean().backward()
        opt.step()
        tracker.step()
    run = tracker.finish()
    M = estimate_runs(run).M
    norms = []
    for j in (0, len(run.snapshot_steps) - 1):
        params = params_at(run, 0, j)
        for x in X:
            leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
            out = torch.func.functional_call(model, leaves, (x[None],))
            value = ((out - x[None]) ** 2).sum()
            grads = torch.autograd.grad(value, list(leaves.values()))
            norms.append(float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads))))
    assert M is not None and M.value == pytest.approx(max(norms), rel=1e-5)
    assert M.lo == M.hi == M.value and "lower estimate of sup ||g||" in M.method
