"""Empirical <= theoretical on real VAEs: the linear VAE on ppca data and small
soft-clip VAEs for random configurations inside the assumptions; and the
direction of the measured effect of B and K against the sign of the bound's
derivative."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import theory
from empirical.data import ppca
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


@pytest.mark.slow
@settings(max_examples=3)
@given(config=vae_configs(kinds=("gaussian", "iwae"), data_dim=6), seed=st.integers(0, 1000))
def test_small_soft_clip_vaes(config, seed):
    config = dict(config)
    kind, dim = config.pop("kind"), config.pop("data_dim")
    model = make(kind, dim, **config)
    name = "iwae" if kind == "iwae" else "gaussian"
    result = verify(
        Settings(model=name, steps=120, batch_size=16, seed=seed), model=model, data=PPCA.double()
    )
    _holds(result)


def _average_grad_norm(model, B, seed, C=0.02, steps=150):
    run = train(
        model,
        None,
        PPCA,
        steps=steps,
        batch_size=B,
        lr_constant=C,
        seed=seed,
        record_every=10,
        progress=False,
    )
    return float(np.mean(run.full_grad_norm_sq[run.record_steps < steps]))


def _agrees(bound, name, small, large, seeds=range(4)):
    """If the measured effect of going from ``small`` to ``large`` is significant,
    its sign is that of d(bound)/d(name)."""
    a = np.array([small(s) for s in seeds])
    b = np.array([large(s) for s in seeds])
    test = stats.ttest_ind(b, a, equal_var=False)
    sign = derivative_sign(bound, name).sign
    if test.pvalue < 0.01:
        assert np.sign(b.mean() - a.mean()) == sign, (name, a, b, sign)
    return test.pvalue


@pytest.mark.slow
def test_direction_of_batch_size_effect():
    model = make("gaussian", 6, latent_dim=2, hidden=(8,))
    bound = theory.bound("gaussian", "sgd", expand=False)
    assert derivative_sign(bound, "B").sign == -1
    _agrees(bound, "B", lambda s: _average_grad_norm(model, 2, s), lambda s: _average_grad_norm(model, 64, s))


@pytest.mark.slow
def test_direction_of_samples_effect():
    bound = theory.bound("iwae", "sgd", expand=False)
    assert derivative_sign(bound, "K").sign == -1
    m1 = make("iwae", 6, latent_dim=2, hidden=(8,), K=1)
    m8 = make("iwae", 6, latent_dim=2, hidden=(8,), K=8)
    _agrees(bound, "K", lambda s: _average_grad_norm(m1, 4, s), lambda s: _average_grad_norm(m8, 4, s))
