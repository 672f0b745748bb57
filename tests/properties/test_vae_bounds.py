"""Empirical <= theoretical on real VAEs: the linear VAE on ppca data and small
soft-clip VAEs for random configurations inside the assumptions (the upper
end of the interval over runs below the bound); and the direction of the
measured effect of B and K (ELBO, whose variance split in K is exact) against
the sign of the bound's derivative. IWAE's dependence on K is an empirical
question (its Monte-Carlo variance is measured at the K used): no sign is
claimed for it."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import theory
from empirical.conclusion.assumption_row import FAILS
from empirical.data import ppca
from empirical.models import make
from empirical.pipeline import verify
from empirical.settings import Settings
from empirical.strategies import vae_configs
from empirical.train import train
from empirical.train.batched import draw_minibatches, minibatch_gradients
from theory.rates import derivative_sign

PPCA = ppca(n=300, dim=6, latent_dim=2, noise_std=0.5, seed=0).X


def _holds(result):
    """4 runs each: with 2 the rule's interval (t_1 quantile 12.7, a lognormal pivot on 1 degree of
    freedom) is too wide to decide (docs/decision.md)."""
    assert not any(r.status == FAILS for r in result.assumptions), result.assumptions
    # one-sided: the upper end of the observed interval is below the bound (rtol 0)
    assert result.observed.hi <= result.bound_value
    assert result.exit_code == 0


@pytest.mark.slow
@settings(max_examples=3)
@given(seed=st.integers(0, 1000), batch=st.sampled_from([8, 32]))
def test_linear_vae_on_ppca(seed, batch):
    model = make("linear", 6, latent_dim=2, dtype="float64")
    result = verify(
        Settings(model="linear", steps=150, batch_size=batch, seed=seed, runs=4),
        model=model,
        data=PPCA.double(),
    )
    _holds(result)


def _small_soft_clip_vae(config, seed):
    config = dict(config)
    kind, dim = config.pop("kind"), config.pop("data_dim")
    model = make(kind, dim, **config)
    name = "iwae" if kind == "iwae" else "gaussian"
    result = verify(
        Settings(model=name, steps=120, batch_size=16, seed=seed, runs=4, K=model.K),
        model=model,
        data=PPCA.double(),
    )
    _holds(result)
    return result


@pytest.mark.slow
@settings(max_examples=3)
@given(config=vae_configs(kinds=("gaussian", "iwae"), data_dim=6), seed=st.integers(0, 1000))
def test_small_soft_clip_vaes(config, seed):
    _small_soft_clip_vae(config, seed)


@pytest.mark.slow
def test_small_iwae_vae_binds_its_monte_carlo_variance_at_k():
    result = _small_soft_clip_vae({"kind": "iwae", "data_dim": 6, "latent_dim": 2, "hidden": (8,), "K": 3}, 0)
    assert "sigma2_mc_K" in result.binding.values and "sigma2_mc" not in result.binding.values


def _average_grad_norm(model, B, seed, C=0.05, steps=300):
    """Observed (1/n) sum_k ||grad F(theta_k)||^2 (every 10th step, the mean of
    the unbiased records) from one theta_0; runs differ only in their
    minibatches and noise (``seed``), so the effect of B or K is not drowned
    by the spread of Delta over initialisations."""
    theta0 = model.init_params(torch.Generator().manual_seed(0))
    run = train(
        model,
        theta0,
        PPCA,
        steps=steps,
        batch_size=B,
        C_gamma=C,
        seed=seed,
        records=range(0, steps, 10),
        progress=False,
    )
    return float(np.mean(run.full_grad_norm_sq[0, run.record_steps < steps]))


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


def _minibatch_variance(model, theta, B, draws=1500, seed=0):
    """Brute force: E||g - E g||^2 of the (B, K) minibatch gradient at theta,
    from ``draws`` independent minibatches (one batched computation)."""
    X = PPCA.to(model.dtype)
    stacked = {k: v.unsqueeze(0).expand(draws, *v.shape).clone().requires_grad_() for k, v in theta.items()}
    gens = [torch.Generator().manual_seed(seed + i) for i in range(draws)]
    idx, eps = draw_minibatches(model, X.shape[0], B, gens)
    _, grads = minibatch_gradients(model, stacked, X, idx, eps)
    flat = torch.cat([g.reshape(draws, -1) for g in grads], 1).double()
    return float(flat.var(0, unbiased=True).sum())


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["gaussian", "iwae"])
def test_variance_of_a_step_in_k(kind):
    """The variance of a (B, K) step measured by brute force equals the split the
    bound uses: sigma2_data/B + sigma2_mc/(B K) for the ELBO (so it falls with K,
    the sign of d bound/dK), sigma2_data/B + sigma2_mc_K/B for IWAE with
    sigma2_mc_K measured at that K (no extrapolation from K = 1)."""
    from empirical.estimators import estimate

    B = 4
    measured, split, mc_at = {}, {}, {}
    for K in (1, 4, 16):
        model = make(kind, 6, latent_dim=2, hidden=(8,), K=K, dtype="float64")
        theta = model.init_params(torch.Generator().manual_seed(0))
        c = estimate(model, PPCA.double(), theta, n_examples=300, mc_samples=8)
        mc_at[K] = c.sigma2_mc.value / K if kind == "gaussian" else c.sigma2_mc_K.value
        split[K] = c.sigma2_data.value / B + mc_at[K] / B
        measured[K] = _minibatch_variance(model, theta, B)
        assert measured[K] == pytest.approx(split[K], rel=0.08), (K, measured[K], split[K])
    if kind == "iwae":  # extrapolating the K = 1 variance by 1/K would be further off
        extrapolated = split[16] - mc_at[16] / B + mc_at[1] / (16 * B)
        assert abs(measured[16] - split[16]) < abs(measured[16] - extrapolated)
    if kind == "gaussian":
        bound = theory.bound("gaussian", "sgd", expand=False)
        assert derivative_sign(bound, "K").sign == -1
        assert measured[1] > measured[4] > measured[16]


def test_no_direction_is_claimed_for_iwae_samples():
    """IWAE's Monte-Carlo variance is measured at the K used (sigma2_mc_K): how the bound
    moves with K is an empirical question for a sweep, not a proved sign."""
    for expand in (True, False):
        sign = derivative_sign(theory.bound("iwae", "sgd", expand=expand), "K")
        assert sign.sign is None and not sign.proved and "sigma2_mc_K" in sign.method
