"""empirical.estimate: all constants at a point and along a short training run."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from empirical import data, estimate, models
from empirical.estimators import Constants, Estimate, smoothness
from empirical.estimators.variance import select_examples
from empirical.train import train


@pytest.fixture(scope="module")
def digits():
    return data.load("digits")


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
    assert c.sigma2(16, 2) == pytest.approx(c.sigma2_data.value / 16 + c.sigma2_mc.value / 32)
    json.dumps(c.as_dict())
    # deterministic given the seed
    again = estimate(m, digits, n_examples=64, mc_samples=3, batch_size=16, snr_Ks=(1, 4))
    assert again.L == c.L and again.sigma2_data == c.sigma2_data


def test_estimate_along_a_run(digits):
    m = models.make("gaussian", 64, hidden=(16,), latent_dim=4)
    run = train(m, None, digits, steps=40, batch_size=16, lr_constant=0.05, record_every=10, progress=False)
    c = estimate(m, digits, run=run, n_examples=64, mc_samples=3)
    assert "theta_0, theta_n and the run's records" == c.where
    assert c.M.value >= float(np.sqrt(run.grad_norm_sq.max())) - 1e-9
    assert c.M_full is not None and c.M_full.value == pytest.approx(
        float(np.sqrt(run.full_grad_norm_sq.max()))
    )
    assert c.snr.batch_sizes == (1, 16)
    # L is the max over its lower estimates: at least the Lanczos value at theta_n
    Xs = select_examples(digits, 64, torch.Generator().manual_seed(0))
    eps = m.sample_noise(torch.Generator().manual_seed(1), batch=64)
    at_n = smoothness(lambda p: m.batch_loss(p, Xs, eps), run.params)
    assert c.L.value >= at_n.value * (1 - 1e-6)


def test_estimate_without_a_proven_bound_uses_the_lowest_observed_loss(digits):
    m = models.make("iwae", 64, hidden=(8,), latent_dim=2, beta=2.0, K=2)
    c = estimate(m, digits, n_examples=32, mc_samples=2)
    assert not c.delta_is_upper and "lowest observed loss" in c.Delta.method
