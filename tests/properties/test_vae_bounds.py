"""Empirical <= theoretical on real VAEs: the linear VAE on ppca data and small
soft-clip VAEs for random configurations inside the assumptions; and the
direction of the measured effect of B and K against the sign of the bound's
derivative."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import theory
from empirical.data import ppca
from empirical.errors import ConfigError
from empirical.models import make
from empirical.strategies import vae_configs
from empirical.train import train
from empirical.verify import Settings, verify
from theory.rates import derivative_sign

PPCA = ppca(n=300, dim=6, latent_dim=2, noise_std=0.5, seed=0).X


def _holds(result):
    c = result.comparison
    assert c.assumptions_hold, [a for a in c.assumptions if a.status == "fails"]
    # one-sided: the observed upper end is below the bound (rtol 0)
    assert c.observed.hi <= c.bound_value
    return c


@pytest.mark.slow
@settings(max_examples=3)
@given(seed=st.integers(0, 1000), batch=st.sampled_from([8, 32]))
def test_linear_vae_on_ppca(seed, batch):
    model = make("linear", 6, latent_dim=2, dtype="float64")
    result = verify(
        Settings(model="linear", steps=150, batch_size=batch, seed=seed), model=model, data=PPCA.double()
    )
    _holds(result)


def _small_soft_clip_vae(config, seed):
    config = dict(config)
    kind, dim = config.pop("kind"), config.pop("data_dim")
    model = make(kind, dim, **config)
    name = "iwae" if kind == "iwae" else "gaussian"
    result = verify(
        Settings(model=name, steps=120, batch_size=16, seed=seed), model=model, data=PPCA.double()
    )
    _holds(result)


@pytest.mark.slow
@settings(max_examples=3)
@given(config=vae_configs(kinds=("gaussian",), data_dim=6), seed=st.integers(0, 1000))
def test_small_soft_clip_vaes(config, seed):
    _small_soft_clip_vae(config, seed)


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    raises=ConfigError,
    reason="the IWAE bound needs sigma2_mc_K (the K-sample Monte-Carlo variance at the K used); "
    "this verify pipeline binds sigma2_mc only -- the rewritten pipeline supplies it",
)
def test_small_iwae_vae():
    _small_soft_clip_vae({"kind": "iwae", "data_dim": 6, "latent_dim": 2, "hidden": (8,), "K": 3}, 0)


def _average_grad_norm(model, B, seed, C=0.05, steps=300):
    """Observed (1/n) sum_k ||grad F(theta_k)||^2 from one theta_0; runs differ only
    in their minibatches and noise (``seed``), so the effect of B or K is not
    drowned by the spread of Delta over initialisations."""
    theta0 = model.init_params(torch.Generator().manual_seed(0))
    run = train(
        model,
        theta0,
        PPCA,
        steps=steps,
        batch_size=B,
        lr_constant=C,
        seed=seed,
        record_every=10,
        progress=False,
    )
    return float(np.mean(run.full_grad_norm_sq[run.record_steps < steps]))


def _effect(bound, name, small, large, seeds):
    """(p-value, agrees): Welch test of the measured effect of going from
    ``small`` to ``large``, and whether its sign is that of d(bound)/d(name)."""
    a = np.array([small(s) for s in seeds])
    b = np.array([large(s) for s in seeds])
    p = stats.ttest_ind(b, a, equal_var=False).pvalue
    return p, np.sign(b.mean() - a.mean()) == derivative_sign(bound, name).sign


@pytest.mark.slow
def test_direction_of_batch_size_effect():
    model = make("gaussian", 6, latent_dim=2, hidden=(8,))
    bound = theory.bound("gaussian", "sgd", expand=False)
    assert derivative_sign(bound, "B").sign == -1
    p, agrees = _effect(
        bound,
        "B",
        lambda s: _average_grad_norm(model, 1, s),
        lambda s: _average_grad_norm(model, 64, s),
        range(5),
    )
    # this configuration is powered to see the effect (p ~ 3e-4 measured); where
    # the effect is significant its direction must be the bound's
    assert p < 0.05 and agrees, p


def test_no_direction_is_claimed_for_iwae_samples():
    """IWAE's Monte-Carlo variance is measured at the K used (sigma2_mc_K): how the bound
    moves with K is an empirical question for a sweep, not a proved sign."""
    for expand in (True, False):
        sign = derivative_sign(theory.bound("iwae", "sgd", expand=expand), "K")
        assert sign.sign is None and not sign.proved and "sigma2_mc_K" in sign.method
