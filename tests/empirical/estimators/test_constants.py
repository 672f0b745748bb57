"""Estimate, Delta, M and R: validation, closed forms and brute-force twins."""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from cases import uniform_rows
from scipy import stats

from empirical import models
from empirical.errors import ConfigError, LossError
from empirical.estimators import (
    Estimate,
    delta,
    loss_at,
    max_seen,
    norms_along_run,
    norms_at_point,
    uses_proven_bound,
)
from empirical.estimators.norms import combine_max
from empirical.estimators.results import exact, mean_interval


def test_estimate_is_frozen_and_validated():
    e = Estimate(1.0, 0.5, 2.0, 0.95, "m", 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.value = 2.0
    assert e.as_dict() == {
        "value": 1.0,
        "lo": 0.5,
        "hi": 2.0,
        "confidence": 0.95,
        "method": "m",
        "n_evals": 3,
    }
    with pytest.raises(LossError, match="NaN"):
        Estimate(float("nan"), 0.0, 1.0, 0.95, "m")
    with pytest.raises(LossError, match="hi is NaN"):
        Estimate(0.5, 0.0, float("nan"), 0.95, "m")
    with pytest.raises(ValueError, match="lo <= value <= hi"):
        Estimate(0.0, 0.5, 1.0, 0.95, "m")
    with pytest.raises(ValueError, match="confidence"):
        Estimate(0.5, 0.0, 1.0, 0.0, "m")


def test_mean_interval_is_the_student_t_interval():
    e = mean_interval(np.array([1.0, 2.0, 3.0, 6.0]), "t", 0.9)
    half = stats.t.ppf(0.95, 3) * np.std([1, 2, 3, 6], ddof=1) / 2
    assert (e.value, e.lo, e.hi) == pytest.approx((3.0, 3.0 - half, 3.0 + half))
    clipped = mean_interval(np.array([-1.0, 0.0, 0.5]), "v", clip_at_zero=True)
    assert clipped.value == 0.0 and clipped.lo == 0.0
    with pytest.raises(LossError, match="non-finite"):
        mean_interval(np.array([1.0, np.inf]), "x")
    with pytest.raises(ConfigError, match="2 samples"):
        mean_interval(np.array([1.0]), "x")


def test_delta_with_proven_bound_is_an_upper_value_and_observed_is_not():
    F0 = Estimate(10.0, 9.0, 11.0, 0.95, "F0", 7)
    up = delta(F0, lower_bound=2.0, lowest_observed=5.0)
    assert (up.value, up.lo, up.hi) == (8.0, 7.0, 9.0) and up.n_evals == 7
    assert uses_proven_bound(up) and up.method.startswith(
        "Delta upper end (valid for the bound at the interval's 95% confidence"
    )
    low = delta(F0, lower_bound=None, lowest_observed=5.0)
    assert low.value == 5.0 and not uses_proven_bound(low) and "NOT a valid upper value" in low.method
    with pytest.raises(ConfigError, match="lower bound"):
        delta(F0)


def test_snapshot_delta_is_the_largest_paired_difference_with_a_bonferroni_interval():
    """F(theta_0) - min_k F(theta_k) from per-row losses at 4 snapshots, against brute force: the
    largest mean paired difference, each difference's Student-t interval at 1 - 0.05/3 (jointly
    95 %), the ends the largest of theirs; snapshot 0 gives 0, so Delta >= 0; never a proven bound."""
    from scipy import stats

    from empirical.estimators.gap import snapshot_delta

    rng = np.random.default_rng(4)
    base = rng.normal(5.0, 1.0, 50)
    losses = np.stack([base, base - 1.0 + rng.normal(0, 0.2, 50), base - 2.0 + rng.normal(0, 0.2, 50),
                       base - 1.5 + rng.normal(0, 0.2, 50)])  # fmt: skip
    d = snapshot_delta(losses, ["theta_0", "theta_5", "theta_10", "theta_20"])
    diffs = losses[0] - losses[1:]
    half = stats.t.ppf(1 - 0.05 / 3 / 2, 49) * diffs.std(1, ddof=1) / np.sqrt(50)
    assert d.value == pytest.approx(diffs.mean(1).max())
    assert (d.lo, d.hi) == pytest.approx(((diffs.mean(1) - half).max(), (diffs.mean(1) + half).max()))
    assert "lowest at theta_10" in d.method and "Delta lower estimate" in d.method
    assert not uses_proven_bound(d) and d.n_evals == 200
    rising = snapshot_delta(np.stack([base, base + 1.0]), ["theta_0", "theta_9"])  # the loss went up
    assert (rising.value, rising.lo) == (0.0, 0.0)
    with pytest.raises(ConfigError, match="labels"):
        snapshot_delta(losses, ["theta_0"])


@pytest.mark.parametrize(
    "kind, opts, bound",
    [
        ("gaussian", {"decoder": "bernoulli"}, 0.0),
        ("gaussian", {"c": 0.5}, 8 * math.log(2 * math.pi * 0.25)),
        ("iwae", {"beta": 2.0}, None),
    ],
)
def test_loss_at_and_model_lower_bounds(kind, opts, bound):
    m = models.make(kind, 16, hidden=(8,), latent_dim=2, **opts)
    assert m.loss_lower_bound == (pytest.approx(bound) if bound is not None else None)
    params = m.init_params(torch.Generator().manual_seed(0))
    X = uniform_rows(30, 16, seed=1)
    F0 = loss_at(m, params, X, 3, seed=4)
    gen = torch.Generator().manual_seed(4)
    eps = m.sample_noise(gen, batch=90)
    brute = m.batch_losses(params, X.repeat_interleave(3, 0), eps).mean()
    assert F0.value == pytest.approx(float(brute), rel=1e-6)
    assert F0.lo < F0.value < F0.hi and F0.n_evals == 90
    if bound is not None:
        assert F0.value >= bound


def test_max_seen_and_norms_along_run():
    run = SimpleNamespace(grad_norm_sq=np.array([4.0, 9.0, 1.0]), full_grad_norm_sq=np.array([2.25, 0.25]))
    M, M_full = norms_along_run(run)
    assert (M.value, M.lo, M.hi) == (3.0, 3.0, 3.0) and M_full.value == 1.5
    assert "lower estimate" in M.method
    with pytest.raises(LossError, match="non-finite"):
        max_seen([1.0, float("nan")], "gradient norm")
    with pytest.raises(ConfigError, match="nothing recorded"):
        max_seen([], "gradient norm")


def test_norms_at_point_match_a_per_example_loop():
    m = models.make("gaussian", 16, hidden=(8,), latent_dim=2)
    params = m.init_params(torch.Generator().manual_seed(0))
    X = uniform_rows(7, 16, seed=1)
    eps = m.sample_noise(torch.Generator().manual_seed(2), batch=7)
    M, R = norms_at_point(m.loss, params, X, eps)
    l2, sup = [], []
    for i in range(7):
        leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
        g = torch.cat(
            [t.reshape(-1) for t in torch.autograd.grad(m.loss(leaves, X[i], eps[i]), list(leaves.values()))]
        )
        l2.append(float(g.norm()))
        sup.append(float(g.abs().max()))
    assert M.value == pytest.approx(max(l2), rel=1e-5) and R.value == pytest.approx(max(sup), rel=1e-5)


def test_combine_max_takes_the_largest_lower_estimate():
    a, b = exact(2.0, "a", 1), Estimate(3.0, 2.5, 3.5, 0.95, "b", 2)
    c = combine_max([a, b], "L")
    assert (c.value, c.lo, c.hi, c.confidence, c.n_evals) == (3.0, 2.5, 3.5, 0.95, 3)
    assert "attained by [b]" in c.method
