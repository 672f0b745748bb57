"""Property tests of the explicit model constants against dense float64 Hessians.

One-sided: the largest |eigenvalue| of the Hessian of the per-example loss of a
small random network inside the box must not exceed the explicit L."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from empirical import models
from theory import symbols as S
from theory.models import gaussian, iwae, linear, softclip

RTOL = 1e-9
#: Stated looseness of the Deep Gaussian L in the easy case below.
LOOSENESS = 500


@pytest.fixture(autouse=True)
def _float64():
    """Dense float64 Hessians in this module; the default dtype is restored after
    each test so other modules keep float32."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def _value(expr: sp.Expr, values: dict[str, float]) -> float:
    syms = sorted(expr.free_symbols, key=lambda x: x.name)
    missing = [x.name for x in syms if x.name not in values]
    assert not missing, missing
    return float(sp.lambdify(syms, expr, "math")(*[values[x.name] for x in syms]))


# ------------------------------------------------------------------ soft-clip
def _sigmoid(t):
    return 0.5 * (1 + np.tanh(t / 2))


@settings(max_examples=60, deadline=None)
@given(
    x=st.floats(-200, 200),
    sharp=st.floats(0.05, 20),
    lo=st.floats(-60, 60),
    span=st.floats(1e-3, 100),
)
def test_softclip_constants(x, sharp, lo, span):
    hi = lo + span
    softclip.check_parameters(sharp, lo, hi)
    # stable float64 forms: f = softplus_s(x - s1) - softplus_s(x - s2) + s1
    sp1 = np.logaddexp(0, sharp * (x - lo)) / sharp
    sp2 = np.logaddexp(0, sharp * (x - hi)) / sharp
    f = sp1 - sp2 + lo
    d1 = _sigmoid(sharp * (x - lo)) - _sigmoid(sharp * (x - hi))
    sig1, sig2 = _sigmoid(sharp * (x - lo)), _sigmoid(sharp * (x - hi))
    d2 = sharp * (sig1 * (1 - sig1) - sig2 * (1 - sig2))
    tol = 1e-9 * max(1.0, abs(lo), abs(hi))
    assert lo - tol <= f <= hi + tol
    assert abs(f) <= float(softclip.ABS_BOUND.subs({S.s1: lo, S.s2: hi})) + tol
    assert -1e-15 <= d1 <= float(softclip.LIPSCHITZ) + 1e-15
    assert abs(d2) <= float(softclip.SECOND_DERIVATIVE_BOUND.subs(S.s, sharp)) * (1 + 1e-12)


@settings(max_examples=25, deadline=None)
@given(x=st.floats(-5, 5), sharp=st.floats(0.2, 5), lo=st.floats(-3, 0), span=st.floats(0.5, 6))
def test_softclip_symbolic_derivatives_match(x, sharp, lo, span):
    """The SymPy expression and its derivatives agree with the numpy forms above."""
    hi = lo + span
    subs = {softclip.x: x, S.s: sharp, S.s1: lo, S.s2: hi}
    sig1, sig2 = _sigmoid(sharp * (x - lo)), _sigmoid(sharp * (x - hi))
    assert float(softclip.derivative(1).subs(subs)) == pytest.approx(sig1 - sig2, rel=1e-9, abs=1e-12)
    d2 = sharp * (sig1 * (1 - sig1) - sig2 * (1 - sig2))
    assert float(softclip.derivative(2).subs(subs)) == pytest.approx(d2, rel=1e-8, abs=1e-12)


# ----------------------------------------------------------- Deep Gaussian VAE
def _flat_loss(model, x, eps):
    """(flat -> loss of model at x, eps) on one flat parameter vector, and its length."""
    shapes = model.param_shapes

    def fun(flat):
        params, i = {}, 0
        for key, shape in shapes.items():
            size = math.prod(shape)
            params[key] = flat[i : i + size].reshape(shape)
            i += size
        return model.loss(params, x, eps)

    return fun, sum(math.prod(shape) for shape in shapes.values())


def _empirical_case(seed: int, kind: str = "gaussian", K: int | None = None):
    """A small empirical.models network with every weight and bias drawn uniformly in [-a, a];
    even seeds keep the default soft-clip bounds, odd seeds draw narrow ones (saturated regime)."""
    rng = np.random.default_rng(seed)
    D = int(rng.integers(2, 4))
    dz = int(rng.integers(1, min(D, 2) + 1))
    depth, w = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    options = dict(
        latent_dim=dz,
        hidden=(w,) * (depth - 1),
        activation="softclip",
        s=float(rng.uniform(0.5, 4)),
        c=float(rng.uniform(0.3, 2)),
        K=K or int(rng.integers(1, 3)),
        dtype="float64",
    )
    if seed % 2:
        lo = float(rng.uniform(-2, 0))
        options["hidden_bounds"] = (lo, lo + float(rng.uniform(0.5, 3)))
        options["mean_bounds"] = (-float(rng.uniform(0.3, 2)), float(rng.uniform(0.3, 2)))
        lv = float(rng.uniform(-2, 0))
        options["logvar_bounds"] = (lv, lv + float(rng.uniform(0.2, 2.5)))
    model = models.make(kind, D, **options)
    a = float(rng.uniform(0.2, 1.2))
    x = torch.tensor(rng.normal(size=D)) * float(rng.uniform(0.1, 3))
    eps = torch.tensor(rng.normal(size=(model.K, dz)))
    fun, size = _flat_loss(model, x, eps)
    theta = torch.tensor(rng.uniform(-a, a, size=size))
    values = gaussian.model_values(
        D, dz, model.hidden, model.s, model.c, model.hidden_bounds, model.mean_bounds, model.logvar_bounds
    )
    values |= {"a": a, "C_x": float(x.norm()), "C_eps": float(eps.norm(dim=-1).max())}
    return fun, theta, values


def _hessian_norm(fun, theta) -> float:
    H = torch.autograd.functional.hessian(fun, theta)
    return float(torch.linalg.eigvalsh((H + H.T) / 2).abs().max())


GAUSSIAN_SEEDS = range(24)


@pytest.mark.parametrize("seed", GAUSSIAN_SEEDS)
def test_gaussian_L_and_M_bound_dense_hessian_of_empirical_model(seed):
    """empirical.models GaussianVAE (biases, soft-clipped heads, log-variance): |eig| <= L, ||g|| <= M."""
    fun, theta, values = _empirical_case(seed)
    bound = _value(gaussian.smoothness_given_noise(), values)
    empirical = _hessian_norm(fun, theta)
    assert empirical <= bound * (1 + RTOL), (empirical, bound)
    grad = torch.autograd.functional.jacobian(fun, theta)
    assert float(grad.norm()) <= _value(gaussian.gradient_bound_given_noise(), values) * (1 + RTOL)


@pytest.mark.parametrize("seed", range(6))
def test_iwae_L_bounds_dense_hessian_of_empirical_model(seed):
    fun, theta, values = _empirical_case(100 + seed, kind="iwae", K=3)
    bound = _value(iwae.smoothness_given_noise(), values)
    empirical = _hessian_norm(fun, theta)
    assert empirical <= bound * (1 + RTOL), (empirical, bound)


def test_gaussian_L_not_absurdly_loose_in_an_easy_case():
    """N = 1, D = d_z = 1, soft-clip bounds (-1, 1) and log-variance in (-1, 0), x = -1, eps = 1,
    at the corner theta = -a of the box: 1 <= L / |eig| < LOOSENESS (about 2e2 today)."""
    bounds = {"hidden_bounds": (-1.0, 1.0), "mean_bounds": (-1.0, 1.0), "logvar_bounds": (-1.0, 0.0)}
    model = models.make("gaussian", 1, latent_dim=1, hidden=(), s=1.0, c=1.0, dtype="float64", **bounds)
    x, eps, a = torch.tensor([-1.0]), torch.tensor([[1.0]]), 1.0
    fun, size = _flat_loss(model, x, eps)
    values = gaussian.model_values(1, 1, (), 1.0, 1.0, *bounds.values()) | {"a": a, "C_x": 1.0, "C_eps": 1.0}
    ratio = _value(gaussian.smoothness_given_noise(), values) / _hessian_norm(fun, torch.full((size,), -a))
    assert 1 <= ratio < LOOSENESS, ratio


def test_gaussian_expected_L_is_the_noise_bound_at_sqrt_dz():
    L_noise = gaussian.smoothness_given_noise()
    assert sp.simplify(gaussian.constants().L - L_noise.subs(S.C_eps, sp.sqrt(S.d_z))) == 0
    # degree <= 2 in ||eps|| with nonnegative coefficients (what the expectation step needs)
    poly = sp.Poly(sp.expand(L_noise.subs({S.N_layers: 2})), S.C_eps)
    assert poly.degree() <= 2
    typical = {sym: S.REGISTRY[sym.name].typical for sym in L_noise.free_symbols if sym != S.C_eps}
    assert all(float(cf.subs(typical)) >= 0 for cf in poly.all_coeffs())


# ------------------------------------------------------------------ linear VAE
def _linear_loss(flat, x, D, dz, c):
    i = 0
    W = flat[i : i + D * dz].reshape(D, dz)
    i += D * dz
    mu = flat[i : i + D]
    i += D
    V = flat[i : i + dz * D].reshape(dz, D)
    i += dz * D
    ell = flat[i : i + dz]
    r = x - mu
    m = V @ r
    e = r - W @ m
    S_diag = torch.exp(ell)
    rec = (e**2).sum() / (2 * c**2) + (W**2 * S_diag).sum() / (2 * c**2)
    kl = 0.5 * (S_diag.sum() + (m**2).sum() - dz - ell.sum())
    return rec + kl


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    D=st.integers(1, 4),
    dz=st.integers(1, 3),
    a=st.floats(0.05, 2.0),
    c=st.floats(0.2, 3.0),
    scale=st.floats(0.0, 5.0),
)
def test_linear_L_and_M_bound_dense_hessian(seed, D, dz, a, c, scale):
    rng = np.random.default_rng(seed)
    theta = torch.tensor(rng.uniform(-a, a, size=2 * D * dz + D + dz))
    x = torch.tensor(rng.normal(size=D)) * scale
    values = {"a": a, "c": c, "C_x": max(float(x.norm()), 1e-12), "D": D, "d_z": dz}
    fun = lambda t: _linear_loss(t, x, D, dz, c)  # noqa: E731
    assert _hessian_norm(fun, theta) <= _value(linear.constants().L, values) * (1 + RTOL)
    grad = torch.autograd.functional.jacobian(fun, theta)
    assert float(grad.norm()) <= _value(linear.constants().M, values) * (1 + RTOL)
    assert theta.numel() == int(linear.parameter_count().subs({S.D: D, S.d_z: dz}))


def test_linear_L_attains_a_sizeable_fraction_somewhere():
    """Not vacuous: at a corner of the box the dense Hessian is within a factor 50 of L."""
    D, dz, a, c = 2, 1, 1.0, 1.0
    theta = torch.full((2 * D * dz + D + dz,), a)
    x = torch.full((D,), -1.0)
    values = {"a": a, "c": c, "C_x": float(x.norm()), "D": D, "d_z": dz}
    ratio = _value(linear.constants().L, values) / _hessian_norm(
        lambda t: _linear_loss(t, x, D, dz, c), theta
    )
    assert 1 <= ratio < 50


# ------------------------------------------------- the Deep Gaussian derivation's pieces
#: (D, d_z, hidden, s, a, soft-clip bounds of the hidden layers, the mean, the log-variance,
#: ||x||, ||eps||), drawn once by an independent review; the first is where J_e is attained
#: (no hidden layer, a sharp soft-clip in its linear part: measured / bound = 1 - 9e-9).
PIECE_CASES = [
    (3, 1, (), 20.0225, 0.076, (-0.5446, -0.081), (-0.9229, 1.0102), (-2.361, -0.1308), 1.1737, 1.5985),
    (3, 3, (), 5.3656, 1.9939, (-1.2855, -0.9345), (-0.8284, 0.8761), (-2.8189, -2.5775), 1.9571, 0.7801),
    (3, 3, (), 22.6913, 1.7062, (-1.6268, 0.0091), (-0.3582, 1.4092), (0.367, 1.701), 2.476, 1.0808),
    (1, 1, (), 7.9793, 0.4958, (-1.9283, -1.3141), (-1.8636, 0.2338), (-2.4809, 0.3692), 1.107, 1.583),
    (2, 2, (1, 1), 8.04, 0.251, (-1.8, -0.4), (-0.5, 1.1), (-2.9, -1.0), 1.5, 2.0),
]
#: The intermediate bounds and the output each bounds (Jacobian J_*, Hessian H_* of every coordinate).
PIECE_OF = {"mu": "e", "logvar": "e", "z": "z", "G": "G"}


@pytest.mark.parametrize("case", PIECE_CASES, ids=lambda c: f"D{c[0]}-dz{c[1]}-h{len(c[2])}")
def test_gaussian_derivation_pieces_bound_the_built_models_jacobians_and_hessians(case):
    """The review found the whole-loss L and M looser than 1e-2 in most cases, so that 9 planted
    errors of the derivation (a dropped curvature term, ||W|| <= a for a width, c for c^2, ...) left
    every test green; its pieces are far tighter (J_e attained). Each piece must bound the
    Jacobian's spectral norm and every coordinate's Hessian of the encoder's mean and log-variance,
    of z = mu + exp(logvar / 2) eps and of the decoder's mean G, at 3 interior points and 3
    corners of the box ||theta||_inf <= a, with x and eps at the norms the pieces are evaluated at."""
    D, dz, hidden, s, a, hb, mb, lb, Cx, Ce = case
    model = models.make(
        "gaussian", D, latent_dim=dz, hidden=hidden, s=s, dtype="float64",
        hidden_bounds=hb, mean_bounds=mb, logvar_bounds=lb,
    )  # fmt: skip
    values = {**gaussian.model_values(D, dz, hidden, s, 1.0, hb, mb, lb), "a": a, "C_x": Cx, "C_eps": Ce}
    bounds = {name: _value(expr, values) for name, expr in gaussian.pieces().items()}
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(size=D))
    x = x / x.norm() * Cx
    eps = torch.tensor(rng.normal(size=(1, dz)))
    eps = eps / eps.norm() * Ce
    shapes = model.param_shapes
    size = sum(math.prod(sh) for sh in shapes.values())

    def outputs(theta: torch.Tensor) -> dict[str, torch.Tensor]:
        p, i = {}, 0
        for k, sh in shapes.items():
            p[k] = theta[i : i + math.prod(sh)].reshape(sh)
            i += math.prod(sh)
        mu, logvar = model.encode(p, x[None])
        z = mu[:, None] + (0.5 * logvar).exp()[:, None] * eps[None]
        return {
            "mu": mu.reshape(-1),
            "logvar": logvar.reshape(-1),
            "z": z.reshape(-1),
            "G": model.decode(p, z).reshape(-1),
        }

    points = [torch.tensor(rng.uniform(-a, a, size)) for _ in range(3)]
    points += [a * torch.tensor(rng.choice([-1.0, 1.0], size)) for _ in range(3)]
    worst = dict.fromkeys(("mu", "logvar", "z", "G"), 0.0)
    for theta in points:
        for name, piece in PIECE_OF.items():
            f = lambda t, name=name: outputs(t)[name]  # noqa: E731
            J = float(torch.linalg.matrix_norm(torch.autograd.functional.jacobian(f, theta), 2))
            H = max(
                float(
                    torch.linalg.eigvalsh(
                        torch.autograd.functional.hessian(lambda t, i=i, f=f: f(t)[i], theta)
                    )
                    .abs()
                    .max()
                )
                for i in range(f(theta).numel())
            )
            assert J <= bounds[f"J_{piece}"] * (1 + RTOL), (name, J, bounds[f"J_{piece}"])
            assert H <= bounds[f"H_{piece}"] * (1 + RTOL), (name, H, bounds[f"H_{piece}"])
            worst[name] = max(worst[name], J / bounds[f"J_{piece}"])
    if case is PIECE_CASES[0]:  # where the review found J_e attained: a loosened J_e fails here
        assert worst["mu"] >= 0.999, worst
