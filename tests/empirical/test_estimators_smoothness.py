"""L estimators against closed forms (quadratics) and the dense float64 Hessian of a small VAE."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from empirical import models
from empirical.errors import ConfigError, LossError
from empirical.estimators import (
    Estimate,
    HessianOperator,
    hvp,
    smoothness,
    smoothness_along_run,
    smoothness_in_box,
)
from empirical.estimators.results import flatten

F64 = torch.float64

# torch.func.jvp loads its jvp decompositions through torch.jit.script (deprecated upstream).
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


def quadratic(eigs: list[float], d_extra: int = 0, seed: int = 0):
    """F(x, y) = x^T A x / 2 + ||y||^2 with A = Q diag(eigs) Q^T; Hessian blocks A and 2 I."""
    g = torch.Generator().manual_seed(seed)
    n = len(eigs)
    Q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=F64))
    A = Q @ torch.diag(torch.tensor(eigs, dtype=F64)) @ Q.T

    def loss(p):
        out = 0.5 * p["x"] @ A @ p["x"]
        if d_extra:
            out = out + (p["y"] ** 2).sum()
        return out

    params = {"x": torch.randn(n, generator=g, dtype=F64)}
    if d_extra:
        params["y"] = torch.randn(d_extra, generator=g, dtype=F64)
    return loss, params, A, Q


@pytest.mark.parametrize("solver", ["lanczos", "arpack"])
@pytest.mark.parametrize("mode", ["double_backward", "forward_over_reverse"])
def test_negative_end_dominates(solver, mode):
    eigs = list(np.linspace(-1.0, 3.0, 60))
    eigs[7] = -7.5  # the largest |eigenvalue| is negative
    loss, params, _, _ = quadratic(eigs, d_extra=4)
    est = smoothness(loss, params, solver=solver, hvp=mode, tol=1e-4)
    assert isinstance(est, Estimate)
    assert est.value == pytest.approx(7.5, rel=1e-3)
    assert est.lo <= 7.5 * (1 + 1e-9) and est.hi >= 7.5 * (1 - 1e-3)
    assert "negative end" in est.method and "lower estimate of sup L" in est.method
    assert est.n_evals >= 2


def test_lanczos_needs_few_products_and_counts_them():
    eigs = list(np.linspace(-2.0, 2.0, 200)) + [9.0]
    loss, params, _, _ = quadratic(eigs)
    est = smoothness(loss, params, tol=1e-3)
    steps = int(est.method.split("HVP, ")[1].split(" products")[0])
    assert est.n_evals == steps + 1  # one gradient + the products
    assert steps <= 30
    assert est.value == pytest.approx(9.0, rel=1e-3)


def test_hvp_twins_agree_with_dense_hessian():
    loss, params, A, _ = quadratic([3.0, -1.0, 0.5, 2.0], d_extra=3)
    v = {"x": torch.tensor([1.0, 2.0, -1.0, 0.5], dtype=F64), "y": torch.ones(3, dtype=F64)}
    expect = {"x": A @ v["x"], "y": 2 * v["y"]}
    for mode in ("double_backward", "forward_over_reverse"):
        out = hvp(loss, params, v, mode=mode)
        for k in expect:
            torch.testing.assert_close(out[k], expect[k])


def small_vae():
    m = models.make("gaussian", 10, latent_dim=2, hidden=(5,), dtype="float64")
    g = torch.Generator().manual_seed(3)
    X = torch.rand(24, 10, generator=g, dtype=F64)
    eps = m.sample_noise(g, batch=24)
    params = m.init_params(torch.Generator().manual_seed(4))
    params = {k: 3 * v for k, v in params.items()}  # away from the flat init: a richer spectrum
    return m, X, eps, params


def test_lanczos_matches_dense_hessian_of_small_vae():
    m, X, eps, params = small_vae()
    keys = list(params)
    shapes = [params[k].shape for k in keys]
    sizes = [params[k].numel() for k in keys]

    def flat_loss(theta):
        parts = torch.split(theta, sizes)
        return m.batch_loss({k: t.reshape(s) for k, t, s in zip(keys, parts, shapes, strict=True)}, X, eps)

    H = torch.autograd.functional.hessian(flat_loss, flatten(params, keys), vectorize=True)
    dense = float(torch.linalg.eigvalsh(0.5 * (H + H.T)).abs().max())
    for solver in ("lanczos", "arpack"):
        est = smoothness(lambda p: m.batch_loss(p, X, eps), params, solver=solver, tol=1e-4, max_iter=200)
        assert est.value == pytest.approx(dense, rel=1e-3)
        assert est.lo <= dense * (1 + 1e-9) <= est.hi * (1 + 1e-6)


def test_secant_along_run_is_exact_on_the_top_eigenvector_and_never_above_L():
    loss, params, A, Q = quadratic([4.0, -6.0, 1.0, 0.5])
    top = Q[:, 1]  # eigenvalue -6
    points = torch.stack([params["x"] + t * top for t in (0.0, 0.3, 1.1)])
    est = smoothness_along_run(loss, points, like=params)
    assert est.value == pytest.approx(6.0, rel=1e-9)
    assert est.lo == est.hi == est.value and est.n_evals == 3
    g = torch.Generator().manual_seed(1)
    random_points = [{"x": torch.randn(4, generator=g, dtype=F64)} for _ in range(6)]
    est2 = smoothness_along_run(loss, random_points)
    assert 0 < est2.value <= 6.0 + 1e-9


def test_box_maximum_over_points_of_a_non_quadratic():
    # F(x) = sum cos(x_i): Hessian diag(-cos x_i); sup over the box |x| <= 1 is 1 (at x_i = 0),
    # on the box corners cos(1) ~ 0.54. Every sampled value is a lower estimate.
    def loss(p):
        return torch.cos(p["x"]).sum()

    like = {"x": torch.zeros(5, dtype=F64)}
    est = smoothness_in_box(loss, like, a=1.0, n_points=6, seed=2)
    assert math.cos(1.0) - 1e-6 <= est.value <= 1.0 + 1e-6
    assert "box ||theta||_inf <= 1" in est.method and "lower estimate" in est.method
    assert est.n_evals >= 6 * 2


def test_operator_counts_and_rejects_bad_vectors():
    loss, params, _, _ = quadratic([1.0, 2.0])
    op = HessianOperator(loss, params)
    assert op.n_evals == 1
    op.matvec(torch.ones(2, dtype=F64))
    assert op.n_evals == 2
    with pytest.raises(LossError, match="shape"):
        op.matvec(torch.ones(3, dtype=F64))


@pytest.mark.parametrize(
    "loss, params, match",
    [
        (lambda p: p["x"] * 2, {"x": torch.ones(3)}, "scalar"),
        (lambda p: (p["x"] ** 2).sum(), [torch.ones(3)], "dict of tensors"),
        (lambda p: (p["x"] ** 2).sum(), {"x": [1.0, 2.0]}, r"params\['x'\] must be a torch.Tensor"),
        (lambda p: (p["x"] ** 2).sum() * float("nan"), {"x": torch.ones(3)}, "not finite"),
        (lambda p: torch.sqrt(p["x"]).sum(), {"x": torch.tensor([0.0, 1.0])}, "gradient"),
        (lambda p: 3.0, {"x": torch.ones(3)}, "torch.Tensor"),
    ],
)
def test_bad_input_raises_a_typed_error_naming_it(loss, params, match):
    with pytest.raises(LossError, match=match):
        smoothness(loss, params)


def test_bad_options():
    loss, params, _, _ = quadratic([1.0, 2.0])
    with pytest.raises(ConfigError, match="solver"):
        smoothness(loss, params, solver="power")
    with pytest.raises(ConfigError, match="HVP mode"):
        smoothness(loss, params, hvp="finite_differences")
    with pytest.raises(ConfigError, match="like"):
        smoothness_along_run(loss, np.zeros((3, 2)))
    with pytest.raises(LossError, match="NaN"):
        smoothness_along_run(loss, np.full((3, 2), np.nan), like=params)
