"""L estimators against closed forms (quadratics) and the dense float64 Hessian of a small VAE."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cases import quadratic

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


def test_box_maximum_is_the_maximum_over_uniform_points_of_the_exact_curvature():
    # F(x) = sum_i cos(w_i x_i): Hessian diag(-w_i^2 cos(w_i x_i)), so at a point the top
    # |eigenvalue| is max_i w_i^2 |cos(w_i x_i)|, which varies over the box from 0 to max w_i^2.
    # The loss records the points it is evaluated at; the estimate must be the maximum of the
    # exact curvature over those points, and the points must be uniform in the box.
    w = torch.tensor([0.5, 1.0, 2.0, 3.0, 4.0], dtype=F64)
    a = 2.0
    seen: list[torch.Tensor] = []

    def loss(p):
        seen.append(p["x"].detach().clone())
        return torch.cos(w * p["x"]).sum()

    def curvature(x):
        return float((w**2 * torch.cos(w * x).abs()).max())

    like = {"x": torch.zeros(5, dtype=F64)}
    est = smoothness_in_box(loss, like, a=a, n_points=40, seed=2, tol=1e-10)
    assert len(seen) == 40
    points = torch.stack(seen)
    assert float(points.abs().max()) <= a
    exact = [curvature(x) for x in points]
    assert est.value == pytest.approx(max(exact), rel=1e-8)  # the max, not the last or the mean
    assert est.lo <= max(exact) * (1 + 1e-9) <= est.hi * (1 + 1e-9)
    assert max(exact) < float((w**2).max())  # still a lower estimate of sup L over the box
    # uniform on [-a, a] in every coordinate (Kolmogorov-Smirnov, 200 coordinates)
    from scipy import stats

    assert stats.kstest(points.reshape(-1).numpy(), stats.uniform(loc=-a, scale=2 * a).cdf).pvalue > 1e-3
    assert "box ||theta||_inf <= 2" in est.method and "lower estimate" in est.method
    assert est.n_evals >= 40 * 2


def test_lanczos_keeps_its_basis_orthogonal_no_ghost_ritz_values():
    # A clustered spectrum with a well separated top. Run far past convergence: with an
    # orthonormal basis the Ritz values interlace with the eigenvalues (Cauchy), so the k-th
    # largest Ritz value never exceeds the k-th largest eigenvalue. Lanczos without
    # re-orthogonalisation breaks this within these steps (copies of 1.2, "ghosts").
    from empirical.estimators.smoothness import lanczos

    g = torch.Generator().manual_seed(7)
    top = torch.tensor([1.05, -1.1, 1.2], dtype=F64)
    eigs = torch.cat([torch.rand(250, generator=g, dtype=F64) * 2 - 1, top])
    Q, _ = torch.linalg.qr(torch.randn(253, 253, generator=g, dtype=F64))
    A = Q @ torch.diag(eigs) @ Q.T
    x0 = torch.randn(253, generator=g, dtype=F64)
    truth = np.sort(eigs.numpy())
    for dtype, slack in ((F64, 1e-12), (torch.float32, 1e-5)):
        Ad = A.to(dtype)
        op = HessianOperator(lambda p, Ad=Ad: 0.5 * p["x"] @ Ad @ p["x"], {"x": x0.to(dtype)})
        run = lanczos(op, torch.randn(253, generator=g, dtype=F64), 1e-300, 150)
        assert run.steps >= 60
        T = np.diag(run.alphas) + np.diag(run.betas, 1) + np.diag(run.betas, -1)
        ritz = np.sort(np.linalg.eigvalsh(T))
        m = ritz.size
        assert np.all(ritz[::-1] <= truth[::-1][:m] + slack)  # k-th largest
        assert np.all(ritz >= truth[:m] - slack)  # k-th smallest
        assert run.theta == pytest.approx(1.2, rel=slack * 10)
    est = smoothness(lambda p: 0.5 * p["x"] @ A @ p["x"], {"x": x0}, tol=1e-12, max_iter=253)
    arp = smoothness(lambda p: 0.5 * p["x"] @ A @ p["x"], {"x": x0}, tol=1e-12, max_iter=500, solver="arpack")
    assert est.value == pytest.approx(1.2, rel=1e-10) and arp.value == pytest.approx(1.2, rel=1e-9)


def test_lanczos_stops_exactly_on_an_invariant_subspace():
    # three distinct eigenvalues: the Krylov space has dimension 3, so Lanczos ends after 3
    # products with the exact value (the DGKS second pass meets the rounding-level remainder)
    eigs = [2.0] * 20 + [-0.5] * 20 + [-3.0] * 20
    loss, params, _, _ = quadratic(eigs)
    est = smoothness(loss, params, tol=1e-14, max_iter=60)
    assert est.value == pytest.approx(3.0, rel=1e-12)
    assert est.n_evals - 1 == 3


def test_extreme_ritz_pair_of_tridiagonal_matrices():
    from empirical.estimators.lanczos import _extreme_ritz

    rng = np.random.default_rng(0)
    for m in (1, 2, 3, 7, 40, 100):
        for trial in range(10):
            a, b = rng.normal(size=m), np.abs(rng.normal(size=m - 1)) + 1e-3
            if trial == 1 and m > 4:
                b[2] = 0.0  # a split: the extreme pair may live in either block
            if trial == 2:
                a[0] = -40.0  # the negative end dominates
            T = np.diag(a) + np.diag(b, 1) + np.diag(b, -1)
            vals, vecs = np.linalg.eigh(T)
            i = int(np.argmax(np.abs(vals)))
            theta, last = _extreme_ritz(list(a), list(b))
            assert theta == pytest.approx(vals[i], rel=1e-12, abs=1e-12)
            assert abs(last) == pytest.approx(abs(vecs[-1, i]), abs=1e-9)


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


# ---- Lanczos stopped at max_iter, a loss without gradient, ARPACK without convergence ------


def _stopped_quadratic():
    """200 eigenvalues, the largest |eigenvalue| 1.03 (negative end) just beyond 1.02: two
    products land well inside the spectrum."""
    eigs = list(np.linspace(-1.0, 1.0, 198)) + [1.02, -1.03]
    loss, params, _, _ = quadratic(eigs)
    return loss, params


def _caught(call):
    """``call()`` and the warnings it emitted (every one recorded)."""
    import warnings

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        out = call()
    return out, seen


def test_lanczos_stopped_at_max_iter_says_so_and_warns_at_the_callers_line():
    from empirical.errors import ConvergenceWarning
    from empirical.estimators.lanczos import lanczos

    loss, params = _stopped_quadratic()
    est, seen = _caught(lambda: smoothness(loss, params, max_iter=2))
    run = lanczos(
        HessianOperator(loss, params),
        torch.randn(200, generator=torch.Generator().manual_seed(0), dtype=F64),
        1e-3,
        2,
    )
    assert not run.converged and est.value == pytest.approx(abs(run.theta), rel=1e-12)  # numbers as before
    assert est.hi < 1.03  # why the note matters: hi is below max|lambda| here
    assert "not converged: residual" in est.method and "after 2 products (max_iter)" in est.method
    assert "hi is then no upper value for max|lambda|" in est.method
    [w] = [w for w in seen if issubclass(w.category, ConvergenceWarning)]
    assert w.filename == __file__ and "not converged" in str(w.message)
    # converged (tolerance, invariant subspace, the whole space spanned): no note, no warning
    done, seen = _caught(lambda: smoothness(loss, params, max_iter=100))
    assert "not converged" not in done.method and not seen
    three, seen = _caught(lambda: smoothness(*quadratic([2.0] * 5 + [-3.0] * 5)[:2], tol=1e-14, max_iter=10))
    assert three.value == pytest.approx(3.0, rel=1e-12) and "not converged" not in three.method and not seen
    small, seen = _caught(lambda: smoothness(*quadratic([1.0, -2.0, 0.5, 0.3])[:2], tol=1e-300, max_iter=4))
    assert small.value == pytest.approx(2.0, rel=1e-12) and "not converged" not in small.method and not seen


def test_box_names_the_points_where_lanczos_stopped_at_max_iter_and_warns_once():
    from empirical.errors import ConvergenceWarning

    loss, params = _stopped_quadratic()
    est, seen = _caught(lambda: smoothness_in_box(loss, params, 1.0, n_points=3, max_iter=2))
    assert "not converged at box points [0, 1, 2] of 3" in est.method
    assert len([w for w in seen if issubclass(w.category, ConvergenceWarning)]) == 1
    est, seen = _caught(lambda: smoothness_in_box(loss, params, 1.0, n_points=2, max_iter=200))
    assert "not converged" not in est.method and not seen


@pytest.mark.parametrize(
    "call",
    [
        lambda loss, p: smoothness(loss, p),
        lambda loss, p: smoothness(loss, p, hvp="forward_over_reverse"),
        lambda loss, p: smoothness_in_box(loss, p, 1.0, n_points=2),
        lambda loss, p: smoothness_along_run(loss, [p, {"x": p["x"] + 1}]),
        lambda loss, p: hvp(loss, p, p),
    ],
)
@pytest.mark.parametrize(
    "loss",
    [
        lambda p: (p["x"].detach() ** 2).sum(),
        lambda p: torch.as_tensor(float(np.sum(p["x"].detach().numpy() ** 2))),
    ],
    ids=["detached", "float"],
)
def test_a_loss_without_gradient_is_refused_but_a_zero_hessian_is_not(call, loss):
    params = {"x": torch.randn(4, generator=torch.Generator().manual_seed(0), dtype=F64)}
    with pytest.raises(LossError, match="no gradient with respect to params"):
        call(loss, params)
    flat = call(lambda p: (p["x"] * 0).sum() + 1, params)  # a true 0 Hessian (and gradient) stays 0
    assert (flat.value if isinstance(flat, Estimate) else float(flat["x"].abs().max())) == 0.0


def test_arpack_without_convergence_is_a_config_error():
    eigs = torch.linspace(-1, 1, 50, dtype=F64)
    eigs[-1], eigs[0] = 1.0001, -1.0002
    params = {"x": torch.zeros(50, dtype=F64)}
    with pytest.raises(ConfigError, match="ARPACK did not converge.*max_iter=1.*solver='lanczos'"):
        smoothness(
            lambda p: 0.5 * p["x"] @ torch.diag(eigs) @ p["x"], params, max_iter=1, tol=1e-9, solver="arpack"
        )
