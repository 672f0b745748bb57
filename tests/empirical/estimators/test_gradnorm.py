"""The unbiased ||grad F||^2 estimator against closed forms and autograd."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from empirical.errors import ConfigError, LossError
from empirical.estimators import gradient_norm_sq, unbiased_sq_norm
from empirical.estimators.gradnorm import full_gradients
from empirical.estimators.results import mean_interval

F64 = torch.float64

# loss(w, x, eps) = <x + S eps_{:D}, w> + (1 + eps_D) ||w||^2 / 2, eps ~ N(0, I_{D+1}):
# grad F(w) = xbar + w exactly, while a full-data gradient over N rows carries the noise
# S mean_i eps_i + mean_i eps_iD w, so E||g||^2 = ||grad F||^2 + (S^2 D + ||w||^2) / N.
D, N, S = 10, 50, 4.0
X = torch.randn(N, D, generator=torch.Generator().manual_seed(0), dtype=F64)
W = {"w": 0.1 * torch.randn(D, generator=torch.Generator().manual_seed(1), dtype=F64)}
TRUTH = float(((X.mean(0) + W["w"]) ** 2).sum())
INFLATION = (S**2 * D + float((W["w"] ** 2).sum())) / N


def noisy_loss(p, x, eps):
    return p["w"] @ (x + S * eps[:D]) + 0.5 * (1.0 + eps[D]) * (p["w"] ** 2).sum()


def noise(gen):
    return torch.randn(D + 1, generator=gen, dtype=F64)


@pytest.mark.slow
def test_unbiased_where_the_naive_estimator_is_biased_and_intervals_cover():
    assert INFLATION >= 3 * TRUTH  # the naive ||g||^2 is biased by at least 3x the truth
    reps, m = 600, 8
    values, covered, naive_covered, naive = [], 0, 0, []
    for seed in range(reps):
        est = gradient_norm_sq(noisy_loss, W, X, noise, n_gradients=m, seed=seed)
        values.append(est.value)
        covered += est.lo <= TRUTH <= est.hi
        assert est.confidence == 0.95 and est.n_evals == m * N
        # the naive estimator on the same kind of gradients: mean of ||g_a||^2 with a t interval
        gen = torch.Generator().manual_seed(10_000 + seed)
        eps = torch.stack([noise(gen) for _ in range(m * N)]).reshape(m, N, D + 1)
        sq = (full_gradients(noisy_loss, W, X, eps) ** 2).sum(-1)
        ni = mean_interval(sq, "naive")
        naive.append(ni.value)
        naive_covered += ni.lo <= TRUTH <= ni.hi
    values = np.array(values)
    se = values.std(ddof=1) / np.sqrt(reps)
    assert abs(values.mean() - TRUTH) <= 4 * se
    assert np.mean(naive) - TRUTH >= 3 * TRUTH - 4 * np.std(naive) / np.sqrt(reps)
    # nominal 0.95; the jackknife errs on the wide side (Efron-Stein). With 600 runs the band
    # [0.92, 0.995] holds a correct 95-98 % interval with overwhelming probability.
    assert 0.92 <= covered / reps <= 0.995
    assert naive_covered / reps < 0.92  # the same band rejects the biased estimator


def test_deterministic_loss_gives_autograd_exactly():
    g = torch.Generator().manual_seed(2)
    Xd = torch.randn(37, 4, generator=g, dtype=F64)
    params = {"A": torch.randn(3, 4, generator=g, dtype=F64), "b": torch.randn(3, generator=g, dtype=F64)}

    def loss(p, x, eps):
        return torch.logsumexp(p["A"] @ x + p["b"], 0) + 0.1 * (p["A"] ** 2).sum()

    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    F = torch.stack([loss(leaves, x, None) for x in Xd]).mean()
    grads = torch.autograd.grad(F, list(leaves.values()))
    truth = float(sum((gr**2).sum() for gr in grads))
    for chunk in (4096, 5):
        est = gradient_norm_sq(loss, params, Xd, None, chunk_size=chunk)
        assert est.value == pytest.approx(truth, rel=1e-12)
        assert est.lo == est.hi == est.value and est.confidence == 1.0
        assert "deterministic" in est.method and est.n_evals == 37


def test_chunking_does_not_change_the_estimate():
    a = gradient_norm_sq(noisy_loss, W, X, noise, seed=3)
    b = gradient_norm_sq(noisy_loss, W, X, noise, seed=3, chunk_size=7)
    assert a.value == pytest.approx(b.value, rel=1e-10)
    assert a.hi == pytest.approx(b.hi, rel=1e-10)


def test_u_statistic_is_the_mean_over_pairs_and_two_gradients_give_their_inner_product():
    g = torch.randn(5, 7, generator=torch.Generator().manual_seed(4), dtype=F64)
    pairs = [float(g[a] @ g[b]) for a in range(5) for b in range(5) if a != b]
    assert float(unbiased_sq_norm(*g)) == pytest.approx(np.mean(pairs), rel=1e-12)
    assert float(unbiased_sq_norm(g[0], g[1])) == pytest.approx(float(g[0] @ g[1]), rel=1e-14)
    # dicts of parameter blocks and batched records (e.g. runs) give the same numbers
    da = {"x": g[0, :3], "y": g[0, 3:].reshape(2, 2)}
    db = {"x": g[1, :3], "y": g[1, 3:].reshape(2, 2)}
    assert float(unbiased_sq_norm(da, db)) == pytest.approx(float(g[0] @ g[1]), rel=1e-14)
    runs = torch.randn(3, 4, 6, generator=torch.Generator().manual_seed(5), dtype=F64)  # (m, R, d)
    per_run = unbiased_sq_norm(*runs, batch_dims=1)
    assert per_run.shape == (4,)
    for r in range(4):
        assert float(per_run[r]) == pytest.approx(float(unbiased_sq_norm(*runs[:, r])), rel=1e-12)


def test_bad_inputs_raise_typed_errors():
    with pytest.raises(ConfigError, match="at least 2"):
        unbiased_sq_norm(torch.ones(3))
    with pytest.raises(ConfigError, match="same keys"):
        unbiased_sq_norm({"a": torch.ones(3)}, {"b": torch.ones(3)})
    with pytest.raises(ConfigError, match="one shape"):
        unbiased_sq_norm(torch.ones(3), torch.ones(4))
    with pytest.raises(ConfigError, match="n_gradients must be >= 3"):
        gradient_norm_sq(noisy_loss, W, X, noise, n_gradients=2)
    with pytest.raises(ConfigError, match="chunk_size"):
        gradient_norm_sq(noisy_loss, W, X, noise, chunk_size=0)
    with pytest.raises(LossError, match="scalar"):
        gradient_norm_sq(lambda p, x, e: p["w"] * x, W, X, noise)
    with pytest.raises(LossError, match="not finite|NaN"):
        gradient_norm_sq(lambda p, x, e: p["w"] @ x * float("nan"), W, X, noise)


@pytest.mark.parametrize("with_noise", [False, True])
def test_a_loss_without_gradient_is_refused_not_reported_as_zero(with_noise):
    kw = {"noise": noise} if with_noise else {}
    for loss in (lambda p, x, e: x.sum(), lambda p, x, e: p["w"].detach() @ x):
        with pytest.raises(LossError, match="no gradient with respect to params"):
            gradient_norm_sq(loss, W, X, **kw)
    zero = gradient_norm_sq(lambda p, x, e: (p["w"] * 0).sum() + x.sum(), W, X, **kw)  # a true 0 gradient
    assert zero.value == 0.0
    with torch.no_grad():  # torch.func differentiates under an outer no_grad: still no refusal
        assert gradient_norm_sq(lambda p, x, e: p["w"] @ x + (p["w"] ** 2).sum(), W, X, **kw).value != 0


def test_data_or_noise_of_another_dtype_and_a_loss_drawing_its_own_noise_are_refused():
    w32 = {"w": W["w"].float()}
    with pytest.raises(
        ConfigError, match=r"data has dtype torch\.float64.*float32.*data\.to\(torch\.float32\)"
    ):
        gradient_norm_sq(lambda p, x, e: p["w"] @ x, w32, X)
    with pytest.raises(ConfigError, match=r"noise\(generator\) has dtype torch\.float64"):
        gradient_norm_sq(noisy_loss, w32, X.float(), noise)
    with pytest.raises(LossError, match=r"draws its own random numbers.*eps"):
        gradient_norm_sq(lambda p, x, e: p["w"] @ (x + torch.randn(D, dtype=F64)), W, X, noise)
