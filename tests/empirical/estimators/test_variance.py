"""Per-example gradients and the nested variance estimator against brute-force twins and closed forms."""

from __future__ import annotations

import pytest
import torch
from cases import uniform_rows

from empirical import models
from empirical.errors import ConfigError, LossError
from empirical.estimators import gradient_variance, per_example_gradients, vae_gradient_variance
from empirical.estimators.per_example import combine, recorder_row_stats, vmap_row_stats
from empirical.estimators.variance import vae_row_stats

F64 = torch.float64


# ---- a per-example loss with known variance parts ------------------------------------
# g(x, eps) = grad_w [w . (x + s |x_0| eps) + |w|^2 / 2] at w = 0 is x + s |x_0| eps, so with
# x ~ N(0, diag(a)), eps ~ N(0, I_d): sigma2_data = sum(a), sigma2_mc = s^2 d E[x_0^2] = s^2 d a_0.
A = torch.tensor([1.0, 2.0, 3.0, 0.5, 0.25], dtype=F64)
S = 1.5
D = A.numel()
TRUE_DATA = float(A.sum())
TRUE_MC = S**2 * D * float(A[0])


def known_loss(p, x, eps):
    return p["w"] @ (x + S * x[0].abs() * eps) + 0.5 * (p["w"] ** 2).sum()


def known_noise(gen):
    return torch.randn(D, generator=gen, dtype=F64)


def known_data(seed: int, n: int = 20000) -> torch.Tensor:
    return torch.randn(n, D, generator=torch.Generator().manual_seed(seed), dtype=F64) * A.sqrt()


W0 = {"w": torch.zeros(D, dtype=F64)}


def test_both_parts_inside_their_intervals():
    v = gradient_variance(known_loss, W0, known_data(0), known_noise, mc_samples=3, n_examples=600, seed=1)
    assert v.data.lo <= TRUE_DATA <= v.data.hi
    assert v.mc.lo <= TRUE_MC <= v.mc.hi
    assert v.data.confidence == v.mc.confidence == 0.95
    assert v.data.n_evals == 600 * 3
    total = v.total(8, 2)
    assert total.value == pytest.approx(v.data.value / 8 + v.mc.value / 16)
    assert total.lo <= TRUE_DATA / 8 + TRUE_MC / 16 <= total.hi


def test_intervals_cover_and_the_small_sample_correction_is_needed():
    # J = 2 draws and a Monte-Carlo part larger than the data part: without the -sigma2_mc/J
    # correction the data estimate would sit near TRUE_DATA + TRUE_MC / 2 and miss.
    hits_data = hits_mc = 0
    naive_hits = 0
    reps = 40
    for r in range(reps):
        v = gradient_variance(known_loss, W0, known_data(100 + r, 4000), known_noise, mc_samples=2,
                              n_examples=300, seed=r)  # fmt: skip
        hits_data += v.data.lo <= TRUE_DATA <= v.data.hi
        hits_mc += v.mc.lo <= TRUE_MC <= v.mc.hi
        naive = v.data.value + v.mc.value / 2
        half = (v.data.hi - v.data.lo) / 2
        naive_hits += abs(naive - TRUE_DATA) <= half
    assert hits_data >= 0.85 * reps and hits_mc >= 0.85 * reps
    assert naive_hits <= 0.2 * reps


def test_deterministic_loss_has_zero_mc_part():
    def loss(p, x, eps):
        assert eps is None
        return 0.5 * ((p["w"] - x) ** 2).sum()  # gradient w - x: sigma2_data = sum(a)

    v = gradient_variance(loss, W0, known_data(5), None, n_examples=2000, seed=0)
    assert v.mc.value == v.mc.lo == v.mc.hi == 0.0
    assert v.data.lo <= TRUE_DATA <= v.data.hi
    assert v.mc_samples == 1


def test_mean_gradient_norm_is_bias_corrected():
    # E g = 0 here: the raw ||gbar||^2 is about Var(gbar) > 0, the corrected one about 0.
    v = gradient_variance(known_loss, W0, known_data(2), known_noise, mc_samples=2, n_examples=400, seed=3)
    raw_expectation = TRUE_DATA / 400 + TRUE_MC / 800
    assert v.mean_grad_sq.lo <= 0.0 + 1e-12 <= v.mean_grad_sq.hi
    assert v.mean_grad_sq.value < 0.5 * raw_expectation


# ---- per-example gradients: vmap vs a loop ----------------------------------------------


def test_vmap_per_example_gradients_match_a_loop():
    m = models.make("gaussian", 64, hidden=(16, 8), latent_dim=3, K=2)
    g = torch.Generator().manual_seed(0)
    params = m.init_params(g)
    X = torch.rand(12, 64, generator=g)
    eps = m.sample_noise(g, batch=12)
    fast = per_example_gradients(m.loss, params, X, eps)
    for i in range(12):
        leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
        loss = m.loss(leaves, X[i], eps[i])
        grads = torch.autograd.grad(loss, list(leaves.values()))
        for k, gk in zip(leaves, grads, strict=True):
            torch.testing.assert_close(fast[k][i], gk, atol=1e-5, rtol=1e-5)


CASES = [
    ("gaussian", {"hidden": (16, 8), "latent_dim": 3}),
    ("gaussian", {"hidden": (6,), "latent_dim": 2, "K": 3, "decoder": "bernoulli", "activation": "relu"}),
    ("iwae", {"hidden": (16,), "latent_dim": 4, "K": 5}),
    ("iwae", {"hidden": (40,), "latent_dim": 2, "K": 20}),  # T*(in+out) > in*out: materialised branch
    ("linear", {"latent_dim": 3, "closed_form": False}),  # no linear layers: all through vmap
]


@pytest.mark.parametrize("kind, opts", CASES)
def test_recorder_statistics_match_vmap_twin(kind, opts):
    m = models.make(kind, 64, dtype="float64", **opts)
    g = torch.Generator().manual_seed(1)
    params = m.init_params(g)
    X = torch.rand(10, 64, generator=g, dtype=F64)
    eps = m.sample_noise(g, batch=30).reshape(10, 3, m.K, m.latent_dim)
    fast = recorder_row_stats(m, params, X, eps)
    slow = vmap_row_stats(m.loss, params, X, eps)
    assert set(fast) == set(slow) == set(params)
    for k in params:
        for field in ("sq_draw", "sq_mean", "dot_mean"):
            torch.testing.assert_close(
                getattr(fast[k], field), getattr(slow[k], field), rtol=1e-9, atol=1e-12
            )
        assert fast[k].grand_sq == pytest.approx(slow[k].grand_sq, rel=1e-9, abs=1e-14)
    # the statistics are those of the materialised per-row gradients
    rows = per_example_gradients(m.loss, params, X.repeat_interleave(3, 0), eps.reshape(30, m.K, -1))
    flat = torch.cat([rows[k].reshape(30, -1) for k in params], 1).reshape(10, 3, -1)
    total = combine(fast)
    torch.testing.assert_close(total.sq_draw, flat.pow(2).sum(-1))
    gbar = flat.mean(1)
    torch.testing.assert_close(total.sq_mean, gbar.pow(2).sum(-1))
    torch.testing.assert_close(total.dot_mean, gbar @ gbar.mean(0))


def test_model_variance_backends_agree_and_groups_add_up():
    m = models.make("gaussian", 64, hidden=(8,), latent_dim=2)
    params = m.init_params(torch.Generator().manual_seed(0))
    X = uniform_rows(50, 64, seed=1)
    a = vae_gradient_variance(m, params, X, 3, seed=2, backend="recorder")
    b = vae_gradient_variance(m, params, X, 3, seed=2, backend="vmap")
    assert a.data.value == pytest.approx(b.data.value, rel=1e-4)
    assert a.mc.value == pytest.approx(b.mc.value, rel=1e-4)
    ms = vae_row_stats(m, params, X, 3, seed=2)
    dec, enc = ms.variance(m.decoder_keys), ms.variance(m.encoder_keys)
    assert dec.mc.value + enc.mc.value == pytest.approx(a.mc.value, rel=1e-9)


def test_closed_form_linear_vae_is_deterministic():
    m = models.make("linear", 64, latent_dim=3)
    params = m.init_params(torch.Generator().manual_seed(0))
    X = uniform_rows(40, 64, seed=1)
    v = vae_gradient_variance(m, params, X)
    assert v.mc.value == 0.0 and v.data.value > 0


# ---- bad input ----------------------------------------------------------------------------


def test_bad_inputs_raise_typed_errors():
    X = known_data(0, 50)
    with pytest.raises(LossError, match="scalar"):
        gradient_variance(lambda p, x, e: p["w"] * x, W0, X, known_noise)
    with pytest.raises(LossError, match="dict of tensors"):
        gradient_variance(known_loss, torch.zeros(D), X, known_noise)
    with pytest.raises(LossError, match="per-example gradient"):
        gradient_variance(lambda p, x, e: (p["w"].abs() ** 0.5).sum(), W0, X, known_noise)
    with pytest.raises(LossError, match="not finite"):
        gradient_variance(lambda p, x, e: p["w"].sum() / 0.0, W0, X, known_noise)
    with pytest.raises(LossError, match="noise"):
        gradient_variance(known_loss, W0, X, lambda gen: [0.0] * D)
    with pytest.raises(ConfigError, match="mc_samples"):
        gradient_variance(known_loss, W0, X, known_noise, mc_samples=1)
    with pytest.raises(ConfigError, match="confidence"):
        gradient_variance(known_loss, W0, X, known_noise, confidence=1.5)
    v = gradient_variance(known_loss, W0, X, known_noise)
    with pytest.raises(ConfigError, match="batch_size"):
        v.total(0, 1)


def test_elbo_with_K_draws_has_the_same_data_part_and_K_times_smaller_mc_part():
    # The ELBO loss averages K i.i.d. draws: E_eps g does not depend on K and Var_eps g scales as 1/K.
    X = uniform_rows(400, 16, seed=0)
    m1 = models.make("gaussian", 16, hidden=(8,), latent_dim=2, K=1)
    m4 = models.make("gaussian", 16, hidden=(8,), latent_dim=2, K=4)
    params = m1.init_params(torch.Generator().manual_seed(1))
    v1 = vae_gradient_variance(m1, params, X, 4, seed=2)
    v4 = vae_gradient_variance(m4, params, X, 4, seed=3)
    mc4 = v4.mc.scaled(4, "per sample")
    assert mc4.lo <= v1.mc.hi and v1.mc.lo <= mc4.hi
    assert v4.mc.hi < v1.mc.lo  # and the unscaled parts really differ
    assert v4.data.lo <= v1.data.hi and v1.data.lo <= v4.data.hi
    assert "per sample: 4 x" in mc4.method


def test_model_path_names_a_non_finite_parameter():
    m = models.make("gaussian", 16, hidden=(8,), latent_dim=2)
    params = m.init_params(torch.Generator().manual_seed(0))
    params["dec.out.bias"] = params["dec.out.bias"].clone()
    params["dec.out.bias"][3] = float("nan")
    X = uniform_rows(10, 16, seed=1)
    for backend in ("recorder", "vmap"):
        with pytest.raises(LossError, match=r"dec\.out\.bias"):
            vae_gradient_variance(m, params, X, 2, backend=backend)


# ---- losses the vmapped per-example gradients cannot take, and total's integers ---------------

X5 = known_data(3, n=12)


@pytest.mark.parametrize(
    "call",
    [
        lambda loss: gradient_variance(loss, W0, X5, known_noise),
        lambda loss: gradient_variance(loss, W0, X5),
        lambda loss: per_example_gradients(loss, W0, X5),
    ],
)
@pytest.mark.parametrize(
    "loss",
    [
        lambda p, x, e: x.sum(),
        lambda p, x, e: p["w"].detach() @ x,
        lambda p, x, e: torch.as_tensor(float(p["w"].detach().numpy() @ x.numpy())),
    ],
    ids=["ignores-params", "detached", "numpy"],
)
def test_a_loss_without_gradient_is_a_loss_error(call, loss):
    with pytest.raises(LossError, match="no gradient with respect to params.*detached"):
        call(loss)
    zero = gradient_variance(lambda p, x, e: (p["w"] * 0).sum() + x.sum(), W0, X5)  # a true 0 gradient
    assert zero.data.value == 0.0


def test_data_or_noise_of_another_dtype_than_params_is_a_config_error():
    w32 = {"w": torch.zeros(D)}

    def loss(p, x, e):
        return p["w"] @ x + (0.0 if e is None else p["w"] @ e)

    with pytest.raises(
        ConfigError, match=r"data has dtype torch\.float64 but params .*float32.*data\.to\(torch\.float32\)"
    ):
        gradient_variance(loss, w32, X5)
    with pytest.raises(ConfigError, match=r"noise\(generator\) has dtype torch\.float64.*float32"):
        gradient_variance(loss, w32, X5.float(), known_noise)
    v = gradient_variance(loss, w32, X5.float(), lambda g: torch.randn(D, generator=g))  # matching: fine
    assert v.data.value > 0
    ints = gradient_variance(lambda p, x, e: p["w"] @ x.to(p["w"].dtype), w32, X5.round().long())
    assert ints.data.value > 0  # integer rows (e.g. indices) are the loss's business


def test_a_loss_drawing_its_own_noise_is_told_to_take_eps():
    def own(p, x, e):
        return p["w"] @ (x + torch.randn(D, dtype=F64))

    for noise in (None, known_noise):
        with pytest.raises(
            LossError, match=r"draws its own random numbers.*ONE noise draw eps.*noise\(generator\)"
        ):
            gradient_variance(own, W0, X5, noise)


@pytest.mark.parametrize("B, K", [(1.5, 1), (True, 1), (2, 1.5), (2, False), (0, 1), (2, 0), ("2", 1)])
def test_total_takes_integers_of_at_least_one(B, K):
    v = gradient_variance(known_loss, W0, X5, known_noise)
    with pytest.raises(ConfigError, match=r"(batch_size|K) must be an integer > 0"):
        v.total(B, K)
    assert v.total(2, 3).value == pytest.approx(v.data.value / 2 + v.mc.value / 6)
