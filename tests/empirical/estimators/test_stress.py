"""The stress search and the constants along the run against closed forms: a curvature bump
that no snapshot visits, a constant Hessian, the box, never lowering a constant; the gradient
of the top eigenvalue against finite differences of the dense Hessian; the variance probe's
differentiable objective against the project's nested estimator."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from cases import quadratic

from empirical import models
from empirical.errors import ConfigError
from empirical.estimators import (
    Estimate,
    SearchProblem,
    StressBudget,
    constants_along_run,
    stress,
    stress_runs,
    top_eigen,
    vae_problem,
)
from empirical.estimators.ascent import boxes
from empirical.estimators.probes import VAEProbe
from empirical.estimators.results import flatten, unflatten
from empirical.train import train

F64 = torch.float64


def bump(c: float = 1.0, peak: float = 40.0, s: float = 0.05):
    """F(x) = c ||x||^2 / 2 + A exp(-||x - x*||^2 / (2 s^2)) on R^3, A = peak s^2.

    Hessian c I + (A/s^2) g (r r^T / s^2 - I), r = x - x*, g = exp(-||r||^2 / (2 s^2)): its
    eigenvalues are c - peak g (twice) and c + peak g (||r||^2/s^2 - 1), so with
    2c < 0.55 peak the largest |eigenvalue| over R^3 is peak - c, at x* only.
    x* sits half a width s off the diagonal between the snapshots t = 0.25 and 0.5 of the path
    t (1, 1, 1), t in {0, .25, .5, .75, 1}: at every snapshot g < 1e-4.
    """
    center = 0.375 * torch.ones(3, dtype=F64) + 0.5 * s * torch.tensor(
        [1.0, -1.0, 0.0], dtype=F64
    ) / math.sqrt(2)
    A = peak * s * s

    def loss(p):
        x = p["x"]
        return 0.5 * c * (x * x).sum() + A * torch.exp(-((x - center) ** 2).sum() / (2 * s * s))

    snaps = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0], dtype=F64)[:, None] * torch.ones(3, dtype=F64)
    return loss, snaps, peak - c, center


def deterministic(loss, like, seen=None):
    """A SearchProblem for a deterministic loss; ``seen`` collects every point evaluated."""

    def spy(p):
        if seen is not None:
            seen.append(flatten({k: v.detach() for k, v in p.items()}).clone())
        return loss(p)

    return SearchProblem(spy, lambda gen: spy, like, None, "the test loss")


def test_hidden_curvature_bump_is_found_within_5_percent():
    loss, snaps, sup, center = bump()
    seen: list[torch.Tensor] = []
    problem = deterministic(loss, {"x": torch.zeros(3, dtype=F64)}, seen)
    along = constants_along_run(problem, [snaps])
    assert max(r.L.value for r in along.rows) < 0.05 * sup  # no snapshot sees the bump
    out = stress(problem, [snaps], along=along)
    L = out.L
    assert L.used.value == pytest.approx(along.largest("L").L.value)
    assert L.found.value >= 0.95 * sup, (L.found.value, sup)
    assert L.found.value <= sup * (1 + 1e-3)  # a Rayleigh quotient never exceeds the supremum
    assert L.stressed.value == L.found.value and L.gain == pytest.approx(L.found.value / L.used.value - 1)
    assert L.stressed.lo >= L.used.lo and L.stressed.hi >= max(L.used.hi, L.found.hi)  # no end falls
    assert L.where.start.startswith("segment 1-2") and L.where.steps >= 1
    assert float((L.where.point - center).norm()) < 0.05 * 0.4
    # every point the search evaluated lies in the box spanned by the snapshots
    lo, hi = boxes([snaps], 0.0)[0]
    pts = torch.stack(seen)
    assert bool(((pts >= lo - 1e-15) & (pts <= hi + 1e-15)).all())
    assert out.n_evals > 0 and out.sigma2_data is None and set(out.named()) == {"L"}
    json.dumps(out.as_dict())


def test_box_is_widened_by_the_margin_and_never_left():
    loss, snaps, sup, _ = bump()
    # move the bump's centre 0.1 outside the snapshots' box along the first coordinate
    shifted = snaps.clone()
    shifted[:, 0] = shifted[:, 0] * 0.25 + 0.5  # x_0 in [0.5, 0.75]; the bump sits at x_0 = 0.39
    seen: list[torch.Tensor] = []
    problem = deterministic(loss, {"x": torch.zeros(3, dtype=F64)}, seen)
    for margin in (0.0, 0.5):
        seen.clear()
        stress(problem, [shifted], margin=margin)
        lo, hi = boxes([shifted], margin)[0]
        pts = torch.stack(seen)
        assert bool(((pts >= lo - 1e-15) & (pts <= hi + 1e-15)).all()), margin
    assert float(lo[0]) == pytest.approx(0.5 - 0.5 * 0.25) and float(hi[0]) == pytest.approx(0.75 + 0.125)


def test_a_projected_runs_box_is_cut_to_its_radius():
    """With radius a (a projected run: snapshots inside ||theta||_inf <= a), the box widened by the
    margin is cut to ||theta||_inf <= a, and no point the search evaluates leaves it."""
    loss, snaps, _, _ = bump()  # snapshots on the diagonal from 0 to 1
    seen: list[torch.Tensor] = []
    problem = deterministic(loss, {"x": torch.zeros(3, dtype=F64)}, seen)
    stress(problem, [snaps], margin=1.0, radius=1.0)
    assert float(torch.stack(seen).abs().max()) <= 1.0
    lo, hi = boxes([snaps], 1.0, 1.0)[0]
    assert float(lo.min()) == -1.0 and float(hi.max()) == 1.0
    assert float(boxes([snaps], 1.0)[0][1].max()) == 2.0  # uncut: one width beyond the snapshots
    with pytest.raises(ConfigError, match="radius"):
        stress(problem, [snaps], radius=0.0)


def test_constant_hessian_gives_the_snapshot_value():
    loss, params, A, _ = quadratic(list(np.linspace(-1.0, 3.0, 12)) + [-6.5], d_extra=2)
    g = torch.Generator().manual_seed(3)
    snaps = [torch.randn(5, 15, generator=g, dtype=F64) for _ in range(2)]
    problem = deterministic(loss, params)
    out = stress(problem, snaps, tol=1e-6)
    assert out.L.used.value == pytest.approx(6.5, rel=1e-6)
    assert out.L.found.value == pytest.approx(out.L.used.value, rel=1e-6)
    assert out.L.gain <= 1e-6
    assert out.L.stressed.value >= out.L.used.value
    assert out.L.where.steps == 0  # grad of v^T H v is 0: no step is taken


def test_never_lowers_the_used_value():
    loss, snaps, sup, _ = bump()
    problem = deterministic(loss, {"x": torch.zeros(3, dtype=F64)})
    used = Estimate(2 * sup, 2 * sup, 2 * sup + 1, 1.0, "a larger value from elsewhere")
    out = stress(problem, [snaps], used={"L": used}, budget=StressBudget(starts=1, steps=2))
    assert out.L.stressed is used and out.L.gain == 0.0
    assert out.L.found.value < used.value


def test_budget_is_checked():
    with pytest.raises(ConfigError, match="budget.fresh"):
        StressBudget(fresh=1)
    with pytest.raises(ConfigError, match="budget.starts"):
        StressBudget(starts=-1)
    with pytest.raises(ConfigError, match="margin"):
        loss, snaps, _, _ = bump()
        stress(deterministic(loss, {"x": torch.zeros(3, dtype=F64)}), [snaps], margin=-0.1)


def _dense_top(loss, like, x):
    H = torch.autograd.functional.hessian(lambda y: loss(unflatten(y, like)), x)
    e = torch.linalg.eigvalsh(H)
    return e[e.abs().argmax()]


def test_top_eigenvalue_gradient_matches_finite_differences():
    m = models.make("gaussian", 6, latent_dim=2, hidden=(5,), dtype=F64)
    g = torch.Generator().manual_seed(0)
    p = m.init_params(g)
    X = torch.rand(20, 6, generator=g, dtype=F64)
    eps = m.sample_noise(g, batch=20)

    def loss(q):
        return m.batch_loss(q, X, eps)

    te = top_eigen(loss, p, tol=1e-12, max_iter=500)
    x = flatten(p)
    assert te.theta == pytest.approx(float(_dense_top(loss, p, x)), rel=1e-9)
    h = 1e-5
    for _ in range(3):
        d = torch.randn(x.numel(), generator=g, dtype=F64)
        fd = (_dense_top(loss, p, x + h * d).abs() - _dense_top(loss, p, x - h * d).abs()) / (2 * h)
        assert float(te.gradient @ d) == pytest.approx(float(fd), rel=1e-5, abs=1e-8)


@pytest.mark.parametrize(
    ("kind", "options", "mc_name", "per_draw"),
    [
        ("gaussian", {"hidden": (6,)}, "sigma2_mc", 1.0),
        ("gaussian", {"hidden": (6,), "K": 3}, "sigma2_mc", 3.0),  # per variational sample: K x
        ("iwae", {"hidden": (6,), "K": 3}, "sigma2_mc_K", 1.0),  # at the K used
        ("linear", {}, "sigma2_mc", 1.0),  # deterministic: the MC part is 0
    ],
)
def test_variance_objective_is_the_nested_estimator(kind, options, mc_name, per_draw):
    m = models.make(kind, 8, latent_dim=2, dtype=F64, **options)
    data = torch.rand(40, 8, generator=torch.Generator().manual_seed(1), dtype=F64)
    p = m.init_params(torch.Generator().manual_seed(2))
    probe = VAEProbe(m, data, n_examples=24, mc_samples=3, n_grad=24, seed=5)
    assert probe.mc_name == mc_name
    at = probe.at(p, 0)
    # the differentiable twin on the whole fixed sample = the project's estimator (before its clip)
    assert float(probe.objective(p)) == pytest.approx(at.objective, rel=1e-9)
    assert at.mc.value == pytest.approx(per_draw * (at.objective - at.data.value), rel=1e-9, abs=1e-12)
    fresh = probe.at(p, 1)
    assert fresh.objective != at.objective  # another sample of examples and noise


@pytest.fixture(scope="module")
def small_run(digits):
    m = models.make("gaussian", 64, hidden=(8,), latent_dim=2)
    run = train(m, None, digits, steps=30, batch_size=16, C_gamma=0.05, records=range(0, 31, 5), runs=2)
    return m, run


def test_stress_runs_on_a_vae(small_run, digits):
    from empirical import estimate

    m, run = small_run
    c = estimate(m, digits, run=run, n_examples=64, mc_samples=3)
    budget = StressBudget(starts=1, steps=3, variance_steps=1)
    out = stress_runs(m, digits, run, c, budget=budget, n_examples=64, mc_samples=3)
    R, S = run.snapshots.shape[:2]
    along = out.along
    assert len(along.rows) == R * S and {(r.run, r.snapshot) for r in along.rows} == {
        (i, j) for i in range(R) for j in range(S)
    }
    # the table shares estimate's examples and noise: at theta_0 and theta_n, estimate's points,
    # its variance parts are estimate's, exactly
    ends = [r for r in along.rows if r.snapshot in (0, S - 1)]
    assert max(r.variance.data.value for r in ends) == pytest.approx(c.sigma2_data.value, rel=1e-12)
    assert max(r.variance.mc.value for r in ends) == pytest.approx(c.sigma2_mc.value, rel=1e-12)
    for r in along.rows:
        theta = np.asarray(run.snapshots[r.run, r.snapshot])
        assert r.theta_sup == pytest.approx(float(np.abs(theta).max()))
        assert r.step == int(run.snapshot_steps[r.snapshot])
    report = json.loads(json.dumps(out.as_dict()))
    assert len(report["constants_along_run"]["rows"]) == R * S
    assert set(report["constants_along_run"]["largest"]) == {
        "L",
        "sigma2_data",
        "sigma2_mc",
        "M",
        "theta_sup",
    }
    assert set(report["stress"]) >= {"L", "sigma2_data", "sigma2_mc", "margin", "budget", "n_evals"}
    for name, s in out.stress.named().items():
        assert s.used is c.named()[name]
        assert s.stressed.value >= s.used.value and s.gain >= 0.0, name
        lo, hi = boxes([torch.as_tensor(run.snapshots[s.where.run])], 0.0)[0]
        assert bool(((s.where.point >= lo) & (s.where.point <= hi)).all()), name
    table_only = stress_runs(m, digits, run, c, search=False, n_examples=64, mc_samples=3)
    assert table_only.stress is None and table_only.along.rows == along.rows
    # without the pipeline's constants the values used are the table's largest
    tiny = StressBudget(segment_points=0, starts=1, steps=1, variance_steps=0)
    alone = stress_runs(m, digits, run, None, budget=tiny, n_examples=64, mc_samples=3).stress
    assert alone.L.used.value == along.largest("L").L.value
    assert alone.sigma2_data.used.value == along.largest("sigma2_data").variance.data.value
    assert alone.mc.used.value == along.largest("mc").variance.mc.value


def test_vae_problem_uses_estimates_examples_and_noise(digits):
    from empirical.estimators import smoothness
    from empirical.estimators.variance import select_examples

    m = models.make("gaussian", 64, hidden=(8,), latent_dim=2)
    p = m.init_params(torch.Generator().manual_seed(0))
    problem = vae_problem(m, digits, n_examples=32, seed=4)
    X = select_examples(digits, 32, torch.Generator().manual_seed(4))
    eps = m.sample_noise(torch.Generator().manual_seed(5), batch=32)
    assert float(problem.loss(p)) == float(m.batch_loss(p, X, eps))
    a = smoothness(problem.loss, p, tol=1e-8).value
    b = smoothness(problem.fresh_loss(torch.Generator().manual_seed(9)), p, tol=1e-8).value
    assert a != b  # fresh noise, same rows


def _convergence_warnings(call):
    import warnings

    from empirical.errors import ConvergenceWarning

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        out = call()
    return out, [w for w in seen if issubclass(w.category, ConvergenceWarning)]


def test_lanczos_stopped_at_max_iter_is_named_along_the_run_and_at_the_found_point():
    loss, params, _, _ = quadratic(list(np.linspace(-1.0, 1.0, 58)) + [1.02, -1.03])
    g = torch.Generator().manual_seed(3)
    snaps = [torch.randn(3, 60, generator=g, dtype=F64)]
    problem = deterministic(loss, params)
    along, warned = _convergence_warnings(lambda: constants_along_run(problem, snaps, max_iter=2))
    assert all("not converged: residual" in r.L.method for r in along.rows)
    assert (
        "not converged (residual > tol |theta| after max_iter = 2 products) at 3 of 3" in along.methods["L"]
    )
    assert len(warned) == 1 and warned[0].filename == __file__
    out, warned = _convergence_warnings(
        lambda: stress(problem, snaps, max_iter=2, budget=StressBudget(starts=1, steps=1, fresh=2))
    )
    assert "not converged at draws [0, 1] of 2" in out.L.found.method
    assert warned and all(w.filename == __file__ for w in warned)
    done, warned = _convergence_warnings(lambda: constants_along_run(problem, snaps, max_iter=100))
    assert not warned and not any("not converged" in r.L.method for r in done.rows)


def test_top_eigen_refuses_a_loss_without_gradient():
    from empirical.errors import LossError

    with pytest.raises(LossError, match="no gradient with respect to params"):
        top_eigen(lambda p: (p["x"].detach() ** 2).sum(), {"x": torch.ones(3, dtype=F64)})
