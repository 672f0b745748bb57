"""empirical.estimate: all constants at a point and along a short training run."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from empirical import estimate, models
from empirical.estimators import Constants, Estimate, loss_at, smoothness, vae_gradient_variance
from empirical.estimators.results import unflatten
from empirical.estimators.variance import select_examples
from empirical.train import train


def test_estimate_at_a_point(digits):
    m = models.make("gaussian", 64, hidden=(16,), latent_dim=4)
    c = estimate(m, digits, n_examples=64, mc_samples=3, batch_size=16, snr_Ks=(1, 4))
    assert isinstance(c, Constants)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.L = c.M
    for name in ("L", "sigma2_data", "sigma2_mc", "M", "R", "Delta"):
        e = getattr(c, name)
        assert isinstance(e, Estimate) and e.lo <= e.value <= e.hi and e.value > 0, name
    assert "lower estimate of sup L" in c.L.method
    assert c.delta_is_upper and "proven lower bound" in c.Delta.method
    assert c.snr.Ks == (1, 4) and c.snr.batch_sizes == (1, 16)
    assert c.n_evals >= c.L.n_evals + c.sigma2_data.n_evals + c.snr.n_evals
    json.dumps(c.as_dict())
    # deterministic given the seed
    again = estimate(m, digits, n_examples=64, mc_samples=3, batch_size=16, snr_Ks=(1, 4))
    assert again.L == c.L and again.sigma2_data == c.sigma2_data


def test_estimate_along_runs(digits):
    m = models.make("gaussian", 64, hidden=(16,), latent_dim=4)
    run = train(m, None, digits, steps=40, batch_size=16, C_gamma=0.05, records=range(0, 41, 10), runs=2)
    c = estimate(m, digits, run=run, n_examples=64, mc_samples=3)
    for label in ("theta_0 (seed 0)", "theta_40 (seed 0)", "theta_0 (seed 1)", "theta_40 (seed 1)"):
        assert label in c.where
    assert c.where.endswith("and the runs' records")
    assert c.M.value >= float(np.sqrt(run.grad_norm_sq.max())) - 1e-9
    assert c.snr.batch_sizes == (1, 16)
    assert set(c.lower_estimates) == {"L", "sigma2_data", "sigma2_mc", "M", "R"}
    # L is the max over its lower estimates: at least the Lanczos value at theta_n of every run
    Xs = select_examples(digits, 64, torch.Generator().manual_seed(0))
    eps = m.sample_noise(torch.Generator().manual_seed(1), batch=64)
    for i in range(2):
        at_n = smoothness(lambda p: m.batch_loss(p, Xs, eps), run.final_params(i))
        assert c.L.value >= at_n.value * (1 - 1e-6)
    # Delta: the largest F(theta_0) over the runs, above the proven lower bound
    F0 = [
        loss_at(m, unflatten(torch.as_tensor(run.snapshots[i, 0]), run.final_params(i)), Xs, 3, seed=3)
        for i in range(2)
    ]
    assert c.Delta.hi == pytest.approx(max(f.hi for f in F0) - m.loss_lower_bound, rel=1e-9)
    assert c.delta_is_upper


def test_iwae_monte_carlo_variance_is_measured_at_the_k_used(digits):
    """IWAE's K draws sit inside a log-mean-exp: sigma2_mc_K is the variance of
    the K-sample gradient itself, not the per-draw variance divided by K."""
    m = models.make("iwae", 64, hidden=(8,), latent_dim=2, K=4)
    c = estimate(m, digits, n_examples=32, mc_samples=3)
    assert c.sigma2_mc is None and c.sigma2_mc_K is not None
    assert "sigma2_mc_K" in c.named() and "sigma2_mc" not in c.named()
    direct = vae_gradient_variance(
        m, m.init_params(torch.Generator().manual_seed(0)), digits, 3, n_examples=32, seed=0
    )
    assert c.sigma2_mc_K.value == pytest.approx(direct.mc.value, rel=1e-9)
    elbo = models.make("gaussian", 64, hidden=(8,), latent_dim=2, K=4)
    per_sample = estimate(elbo, digits, n_examples=32, mc_samples=3)
    assert per_sample.sigma2_mc_K is None and "per variational sample" in per_sample.sigma2_mc.method


def test_estimate_without_a_proven_bound_uses_the_lowest_observed_loss(digits):
    m = models.make("iwae", 64, hidden=(8,), latent_dim=2, beta=2.0, K=2)
    c = estimate(m, digits, n_examples=32, mc_samples=2)
    assert not c.delta_is_upper and "lowest observed loss" in c.Delta.method


def test_estimate_takes_the_largest_seed(digits):
    """F(theta_0) drew from seed + 3, refused beyond 2**63 - 1: --seed 2**63 - 1 exited 2."""
    m = models.make("gaussian", 64, hidden=(8,), latent_dim=2)
    c = estimate(m, digits, n_examples=16, mc_samples=2, seed=2**63 - 1)
    assert math.isfinite(c.Delta.value)
