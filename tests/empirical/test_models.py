"""VAE models: closed forms vs Monte Carlo, IWAE identities, torch.func twins,
the recorder protocol, proven lower bounds and option validation."""

from __future__ import annotations

import math

import pytest
import torch
from torch.func import grad, jvp, vmap

from empirical import data, models
from empirical.errors import ConfigError, DataError
from empirical.nets import softclip
from theory.models import softclip as theory_softclip

F64 = torch.float64


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -- soft-clip ---------------------------------------------------------------------


def test_softclip_matches_formula_range_and_slope():
    x = torch.linspace(-80, 80, 2001, dtype=F64, requires_grad=True)
    for s, (s1, s2) in [(1.0, (0.0, 50.0)), (5.0, (-20.0, 20.0)), (0.5, (-1.0, 3.0))]:
        y = softclip(x, s, (s1, s2))
        naive = torch.log((1 + torch.exp(s * (x - s1))) / (1 + torch.exp(s * (x - s2)))) / s + s1
        ok = torch.isfinite(naive)
        assert torch.allclose(y[ok], naive[ok], atol=1e-9)
        assert bool((y >= s1).all() and (y <= s2).all())
        (dy,) = torch.autograd.grad(y.sum(), x)
        assert bool((dy >= 0).all() and (dy <= 1).all())
    assert torch.isfinite(softclip(torch.tensor([1e30, -1e30]), 10.0)).all()


def test_model_uses_theory_softclip_constants():
    m = models.make("gaussian", 64)
    assert m.hidden_bounds == theory_softclip.HIDDEN_BOUNDS
    assert m.mean_bounds == theory_softclip.MEAN_BOUNDS
    assert m.logvar_bounds == theory_softclip.LOGVAR_BOUNDS
    assert m.s == theory_softclip.DEFAULT_S


def test_softclip_heads_stay_in_bounds(digits):
    m = models.make("gaussian", 64, dtype="float64")
    params = {k: 1e3 * v for k, v in m.init_params(gen()).items()}
    mean, logvar = m.encode(params, digits[:50].double())
    assert mean.abs().max() <= 50 and logvar.min() >= -20 and logvar.max() <= 20
    relu = models.make("gaussian", 64, activation="relu", dtype="float64")
    mean, logvar = relu.encode(params, digits[:50].double())
    assert mean.abs().max() > 50  # ReLU heads are unclipped


# -- linear VAE ----------------------------------------------------------------------


def test_linear_closed_form_equals_monte_carlo_mean():
    d = data.ppca(n=5, dim=6, latent_dim=2, seed=0)
    closed = models.make("linear", 6, latent_dim=2, c=0.7, dtype="float64")
    mc = models.make("linear", 6, latent_dim=2, c=0.7, dtype="float64", closed_form=False)
    params = closed.init_params(gen(1))
    params["enc.logs"] = torch.tensor([-0.5, 0.3], dtype=F64)
    R = 20000
    for x in d.X.double():
        exact = closed.loss(params, x, torch.zeros(1, 2, dtype=F64))
        eps = mc.sample_noise(gen(2), R)
        draws = mc.batch_losses(params, x.expand(R, 6), eps)
        se = draws.std() / math.sqrt(R)
        assert abs(float(draws.mean() - exact)) < 4 * float(se)
        assert se > 0  # the Monte-Carlo form really is random


def test_linear_gradient_vanishes_at_ppca_truth():
    d = data.ppca(n=20000, dim=6, latent_dim=2, noise_std=0.5, seed=0)
    X = d.X.double()
    m = models.make("linear", 6, latent_dim=2, c=0.5, dtype="float64")
    truth = {k: v.requires_grad_() for k, v in m.truth_params(d.W, d.mu).items()}
    grads = torch.autograd.grad(m.full_loss(truth, X), list(truth.values()))
    g = dict(zip(truth, grads, strict=True))
    for key in m.encoder_keys:  # q is the exact posterior for every x: zero, not just small
        assert g[key].abs().max() < 1e-6
    truth_sq = sum(float(g[k].square().sum()) for k in m.decoder_keys)
    off = {k: v.detach().clone().requires_grad_() for k, v in truth.items()}
    with torch.no_grad():
        off["dec.W"].mul_(1.2)
    g_off = torch.autograd.grad(m.full_loss(off, X), list(off.values()))
    off_sq = sum(float(t.square().sum()) for t in g_off)
    assert truth_sq < 1e-2 * off_sq
    # the ELBO at the truth equals the pPCA log-likelihood (orthogonal W: no gap)
    assert float(m.full_loss(truth, X).detach()) == pytest.approx(-d.log_likelihood(), rel=1e-6)


# -- IWAE ------------------------------------------------------------------------------


@pytest.mark.parametrize("decoder, beta", [("bernoulli", 1.0), ("gaussian", 0.5)])
def test_iwae_k1_equals_elbo_under_same_noise(digits, decoder, beta):
    opts = dict(decoder=decoder, beta=beta, dtype="float64", hidden=(16, 8))
    iwae = models.make("iwae", 64, K=1, **opts)
    elbo = models.make("gaussian", 64, kl="mc", **opts)
    params = iwae.init_params(gen())
    eps = iwae.sample_noise(gen(1), 40)
    X = digits[:40].double()
    assert torch.allclose(iwae.batch_losses(params, X, eps), elbo.batch_losses(params, X, eps))
    analytic = models.make("gaussian", 64, **opts)
    assert not torch.allclose(analytic.batch_losses(params, X, eps), elbo.batch_losses(params, X, eps))


def test_iwae_objective_non_decreasing_in_k(digits):
    R = 3000
    x = digits[7].double()
    means, ses = [], []
    for K in (1, 5, 10):
        m = models.make("iwae", 64, K=K, decoder="bernoulli", dtype="float64")
        params = m.init_params(gen(0))  # same params for every K
        bound = -m.batch_losses(params, x.expand(R, 64), m.sample_noise(gen(K), R))
        means.append(float(bound.mean()))
        ses.append(float(bound.std()) / math.sqrt(R))
    for j in range(2):
        assert means[j + 1] - means[j] > 3 * math.hypot(ses[j], ses[j + 1])


# -- torch.func and the recorder protocol ---------------------------------------------


MODELS = [
    ("gaussian", {"hidden": (16, 8)}),
    ("gaussian", {"hidden": (16,), "activation": "relu", "decoder": "bernoulli", "K": 3}),
    ("iwae", {"hidden": (16,), "K": 4, "s": 5.0}),
    ("linear", {"closed_form": False, "K": 2}),
]


@pytest.mark.parametrize("kind, opts", MODELS)
def test_vmap_per_example_grads_equal_loop(digits, kind, opts):
    m = models.make(kind, 64, latent_dim=4, dtype="float64", **opts)
    params = m.init_params(gen())
    X = digits[:6].double()
    eps = m.sample_noise(gen(1), 6)
    batched = m.batch_losses(params, X, eps)
    per = vmap(grad(m.loss), in_dims=(None, 0, 0))(params, X, eps)
    leaves = {k: v.clone().requires_grad_() for k, v in params.items()}
    for i in range(6):
        li = m.loss(leaves, X[i], eps[i])
        assert torch.allclose(li, batched[i])
        gi = torch.autograd.grad(li, list(leaves.values()))
        for key, g in zip(leaves, gi, strict=True):
            assert torch.allclose(per[key][i], g, atol=1e-10)


def test_hvp_by_jvp_equals_double_backward(digits):
    m = models.make("gaussian", 64, latent_dim=4, hidden=(16,), dtype="float64")
    params = m.init_params(gen())
    X, eps = digits[:20].double(), m.sample_noise(gen(1), 20)
    v = {k: torch.randn(t.shape, generator=gen(2), dtype=F64) for k, t in params.items()}

    def f(p):
        return m.batch_loss(p, X, eps)

    hvp_fwd = jvp(grad(f), (params,), (v,))[1]
    leaves = {k: t.clone().requires_grad_() for k, t in params.items()}
    g = torch.autograd.grad(f(leaves), list(leaves.values()), create_graph=True)
    dot = sum((gi * v[k]).sum() for k, gi in zip(leaves, g, strict=True))
    hvp_bwd = torch.autograd.grad(dot, list(leaves.values()))
    for key, h in zip(leaves, hvp_bwd, strict=True):
        assert torch.allclose(hvp_fwd[key], h, atol=1e-9)


@pytest.mark.parametrize("kind, opts", MODELS[:3])
def test_recorder_gives_per_example_gradients(digits, kind, opts):
    m = models.make(kind, 64, latent_dim=4, dtype="float64", **opts)
    assert m.other_keys == ()
    assert {k for pair in m.linear_layers for k in pair} == set(m.param_shapes)
    params = m.init_params(gen())
    X, eps = digits[:5].double(), m.sample_noise(gen(1), 5)
    store = {}

    def recorder(wkey, bkey, inputs, pre):
        probe = torch.zeros_like(pre, requires_grad=True)
        store[wkey] = (bkey, inputs, probe)
        return pre + probe

    losses = m.batch_losses(params, X, eps, recorder=recorder)
    probes = [p for _, _, p in store.values()]
    douts = torch.autograd.grad(losses.sum(), probes)
    per = vmap(grad(m.loss), in_dims=(None, 0, 0))(params, X, eps)
    for (wkey, (bkey, inputs, _)), dout in zip(store.items(), douts, strict=True):
        a, g = inputs.reshape(5, -1, inputs.shape[-1]), dout.reshape(5, -1, dout.shape[-1])
        assert torch.allclose(torch.einsum("bko,bki->boi", g, a), per[wkey], atol=1e-10)
        assert torch.allclose(g.sum(1), per[bkey], atol=1e-10)
    assert set(store) == {w for w, _ in m.linear_layers}


def test_linear_vae_lists_all_params_as_other():
    m = models.make("linear", 10, latent_dim=3)
    assert m.linear_layers == () and set(m.other_keys) == set(m.param_shapes)
    assert m.n_params == 10 * 3 + 10 + 3 * 10 + 3
    assert set(m.decoder_keys) == {"dec.W", "dec.mu"}


# -- lower bounds, data checks, options ------------------------------------------------


@pytest.mark.parametrize(
    "kind, opts",
    [
        ("gaussian", {"decoder": "bernoulli"}),
        ("gaussian", {"c": 0.05, "beta": 3.0}),
        ("iwae", {"K": 5, "beta": 0.5, "c": 0.1}),
        ("linear", {"c": 0.05}),
    ],
)
def test_loss_is_above_proven_lower_bound(digits, kind, opts):
    m = models.make(kind, 64, dtype="float64", **opts)
    X = digits[:300].double()
    for seed in range(3):
        params = {k: (1 + 5 * seed) * v for k, v in m.init_params(gen(seed)).items()}
        assert float(m.full_loss(params, X, gen(seed), mc=2)) >= m.loss_lower_bound
    # the bound is attained-order: for the Gaussian decoder it is the constant term
    if kind == "linear":
        assert m.loss_lower_bound == pytest.approx(32 * math.log(2 * math.pi * 0.05**2))


def test_iwae_with_beta_above_one_has_no_bound():
    assert models.make("iwae", 8, latent_dim=2, beta=2.0).loss_lower_bound is None


def test_check_data(digits):
    m = models.make("gaussian", 64, decoder="bernoulli")
    m.check_data(digits)
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        m.check_data(digits * 2)
    with pytest.raises(DataError, match="64"):
        m.check_data(digits[:, :10])


def test_dtype_and_defaults():
    m = models.make("iwae", 64, dtype="float64", hidden=None)  # None means default
    assert m.hidden == models.DEFAULTS["hidden"]
    assert all(v.dtype == F64 for v in m.init_params(gen()).values())
    assert models.make("gaussian", 64).options()["latent_dim"] == models.DEFAULTS["latent_dim"]


@pytest.mark.parametrize(
    "kind, opts, word",
    [
        ("gaussian", {"K": 0}, "K"),
        ("iwae", {"K": -2}, "K"),
        ("gaussian", {"beta": -0.1}, "beta"),
        ("gaussian", {"s": 0.0}, "option s"),
        ("gaussian", {"hidden_bounds": (1.0, 0.0)}, "hidden_bounds.*s1 < s2"),
        ("iwae", {"logvar_bounds": (5.0, 5.0)}, "logvar_bounds"),
        ("gaussian", {"latent_dim": 65}, "latent_dim.*64"),
        ("linear", {"latent_dim": 65}, "latent_dim"),
        ("gaussian", {"activation": "tanh"}, "activation.*softclip, relu"),
        ("gaussian", {"decoder": "poisson"}, "decoder.*gaussian, bernoulli"),
        ("gaussian", {"c": -1.0}, "option c"),
        ("gaussian", {"hidden": (8, 0)}, "hidden"),
        ("linear", {"hidden": (8,)}, "hidden.*allowed"),
        ("gaussian", {"dtype": "float16"}, "dtype"),
        ("vae", {}, "kind.*linear, gaussian, iwae"),
    ],
)
def test_bad_options_raise_typed_error(kind, opts, word):
    with pytest.raises(ConfigError, match=word):
        models.make(kind, 64, **opts)


@pytest.mark.parametrize(
    "opts, words",
    [
        (
            {"hidden": "32"},
            "option hidden must be a width or a list of widths, each an integer in [1, 10**6], got '32'",
        ),
        ({"hidden": [32, "8"]}, "got [32, '8']"),
        ({"hidden_bounds": "12"}, "option hidden_bounds must be a pair (s1, s2) of numbers, got '12'"),
        ({"mean_bounds": ["-1", "1"]}, "got ['-1', '1']"),
        ({"logvar_bounds": (True, 2.0)}, "got (True, 2.0)"),
    ],
)
def test_a_text_option_is_refused_showing_the_text_given(opts, words):
    """A text is not iterated as digits: '32' is reported (not '3'), '12' is not read as (1, 2)."""
    with pytest.raises(ConfigError) as info:
        models.make("gaussian", 64, **opts)
    assert words in str(info.value)


def test_truncated_noise_has_unit_variance_and_a_sure_bound():
    """The truncated normal of the CLI's Adam and Adagrad runs: v_t against scipy's truncnorm (the
    closed-form twin), every draw within t / sqrt(v_t), mean 0 and variance 1 within Monte-Carlo
    error (4 standard errors over 400 000 draws), the mass cut 2 Phi(-t) at t = 5."""
    from scipy import stats

    from empirical.vae import truncated_normal, truncated_variance

    for t in (1.0, 2.5, 5.0):
        assert truncated_variance(t) == pytest.approx(stats.truncnorm(-t, t).var(), rel=1e-12)
    t, n = 5.0, 400_000
    assert 2 * stats.norm.cdf(-t) == pytest.approx(5.733e-7, rel=1e-3)
    eps = truncated_normal((n,), torch.Generator().manual_seed(0), torch.float64, t)
    assert float(eps.abs().max()) <= t / math.sqrt(truncated_variance(t))
    assert abs(float(eps.mean())) <= 4 / math.sqrt(n)
    assert abs(float(eps.var()) - 1.0) <= 4 * math.sqrt(2 / n)
    # the rejection step is exercised: at t = 1 about a third of the first draws are outside
    narrow = truncated_normal((10_000,), torch.Generator().manual_seed(1), torch.float32, 1.0)
    assert float(narrow.abs().max()) <= 1.0 / math.sqrt(truncated_variance(1.0)) + 1e-6


def test_a_model_with_a_noise_bound_draws_it_and_gaussian_models_draw_as_before(digits):
    D = digits.shape[1]
    gaussian = models.make("gaussian", D)
    eps = gaussian.sample_noise(torch.Generator().manual_seed(3), batch=7)
    same = torch.randn((7, gaussian.K, gaussian.latent_dim), generator=torch.Generator().manual_seed(3))
    assert torch.equal(eps, same) and gaussian.noise_sup is None and "noise_bound" not in gaussian.options()
    bounded = models.make("gaussian", D, noise_bound=5.0)
    draws = bounded.sample_noise(torch.Generator().manual_seed(3), batch=20_000)
    assert float(draws.abs().max()) <= bounded.noise_sup and bounded.noise_sup == pytest.approx(
        5.0000372, rel=1e-7
    )
    assert models.make("gaussian", D, **{k: v for k, v in bounded.options().items()}).noise_bound == 5.0
    assert models.make("linear", D).noise_sup == 0.0  # closed form: no noise
    with pytest.raises(ConfigError, match="noise_bound"):
        models.make("gaussian", D, noise_bound=0.5)


def test_the_clis_adaptive_runs_truncate_their_noise_and_sgd_runs_do_not():
    from empirical.settings import ADAPTIVE_NOISE_BOUND, Settings

    assert ADAPTIVE_NOISE_BOUND == 5.0
    for optimizer in ("adam", "adagrad"):
        assert Settings(optimizer=optimizer).model_options()[1]["noise_bound"] == 5.0
    assert "noise_bound" not in Settings().model_options()[1]
