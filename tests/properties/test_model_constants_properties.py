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

from theory import symbols as S
from theory.models import gaussian, iwae, linear, softclip

RTOL = 1e-9


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
def _softclip_t(t: torch.Tensor, sharp: float, lo: float, hi: float) -> torch.Tensor:
    f = torch.nn.functional.softplus
    return f(t - lo, beta=sharp) - f(t - hi, beta=sharp) + lo


class TinyGaussianVAE:
    """The network documented in theory.models.gaussian (no biases)."""

    def __init__(self, D, dz, width, depth, sharp, bounds, sigma_bounds, c, rng, a):
        self.D, self.dz, self.width, self.depth = D, dz, width, depth
        self.sharp, self.bounds, self.sigma_bounds, self.c = sharp, bounds, sigma_bounds, c
        enc = [(width, D if i == 0 else width) for i in range(depth - 1)]
        last_in = D if depth == 1 else width
        enc += [(dz, last_in), (dz, last_in)]  # A_mu, A_sigma
        dec = [(width, dz if i == 0 else width) for i in range(depth - 1)]
        dec += [(D, dz if depth == 1 else width)]
        self.shapes = enc + dec
        self.n_enc = len(enc)
        sizes = [r * q for r, q in self.shapes]
        self.theta = torch.tensor(rng.uniform(-a, a, size=sum(sizes)))
        self.a = a

    def _unpack(self, flat):
        out, i = [], 0
        for r, q in self.shapes:
            out.append(flat[i : i + r * q].reshape(r, q))
            i += r * q
        return out[: self.n_enc], out[self.n_enc :]

    def parts(self, flat, x, noise):
        enc, dec = self._unpack(flat)
        act = lambda t: _softclip_t(t, self.sharp, *self.bounds)  # noqa: E731
        h = x
        for W in enc[:-2]:
            h = act(W @ h)
        mu = enc[-2] @ h
        sigma = _softclip_t(enc[-1] @ h, self.sharp, *self.sigma_bounds)
        z = mu + sigma * noise
        g = z
        for W in dec[:-1]:
            g = act(W @ g)
        G = dec[-1] @ g
        return G, mu, sigma, z

    def loss(self, flat, x, noise):
        G, mu, sigma, _ = self.parts(flat, x, noise)
        rec = ((x - G) ** 2).sum() / (2 * self.c**2)
        kl = 0.5 * (sigma**2 + mu**2 - 1 - 2 * torch.log(sigma)).sum()
        return rec + kl

    def iwae_loss(self, flat, x, noises):
        """-log (1/K) sum_k w_k with -log w = ||x-G||^2/(2c^2) + ||z||^2/2 - sum log sigma."""
        logw = []
        for noise in noises:
            G, _, sigma, z = self.parts(flat, x, noise)
            nlw = ((x - G) ** 2).sum() / (2 * self.c**2) + 0.5 * (z**2).sum() - torch.log(sigma).sum()
            logw.append(-nlw)
        logw = torch.stack(logw)
        return -(torch.logsumexp(logw, 0) - math.log(len(noises)))


def _gaussian_case(seed: int):
    rng = np.random.default_rng(seed)
    D, dz = int(rng.integers(2, 4)), int(rng.integers(1, 3))
    width = int(rng.integers(max(D, dz), 5))
    depth = int(rng.integers(1, 4))
    sharp = float(rng.uniform(0.5, 4))
    lo = float(rng.uniform(-2, 0))
    bounds = (lo, lo + float(rng.uniform(0.5, 3)))
    sig_lo = float(rng.uniform(0.3, 0.8))
    sigma_bounds = (sig_lo, sig_lo + float(rng.uniform(0.2, 1.5)))
    c = float(rng.uniform(0.3, 2))
    a = float(rng.uniform(0.2, 1.2))
    net = TinyGaussianVAE(D, dz, width, depth, sharp, bounds, sigma_bounds, c, rng, a)
    x = torch.tensor(rng.normal(size=D))
    return net, x, rng


def _gaussian_values(net, x, noise_norm, G, mu):
    return {
        "a": net.a,
        "width": net.width,
        "N_layers": net.depth,
        "s": net.sharp,
        "s1": net.bounds[0],
        "s2": net.bounds[1],
        "C_x": float(x.norm()),
        "C_G": float(G.norm()),
        "C_mu": float(mu.norm()),
        "c_Sigma": net.sigma_bounds[0] ** 2,
        "C_Sigma": net.sigma_bounds[1] ** 2,
        "c": net.c,
        "d_z": net.dz,
        "C_eps": noise_norm,
    }


def _hessian_norm(fun, theta) -> float:
    H = torch.autograd.functional.hessian(fun, theta)
    return float(torch.linalg.eigvalsh((H + H.T) / 2).abs().max())


@pytest.mark.parametrize("seed", range(10))
def test_gaussian_L_bounds_dense_hessian(seed):
    net, x, rng = _gaussian_case(seed)
    noise = torch.tensor(rng.normal(size=net.dz))
    theta = net.theta.clone()
    G, mu, _, _ = net.parts(theta, x, noise)
    values = _gaussian_values(net, x, float(noise.norm()), G.detach(), mu.detach())
    bound = _value(gaussian.smoothness_given_noise(), values)
    empirical = _hessian_norm(lambda t: net.loss(t, x, noise), theta)
    assert empirical <= bound * (1 + RTOL), (empirical, bound)
    grad = torch.autograd.functional.jacobian(lambda t: net.loss(t, x, noise), theta)
    assert float(grad.norm()) <= _value(gaussian.gradient_bound_given_noise(), values) * (1 + RTOL)


@pytest.mark.parametrize("seed", range(4))
def test_iwae_L_bounds_dense_hessian(seed):
    net, x, rng = _gaussian_case(100 + seed)
    noises = [torch.tensor(rng.normal(size=net.dz)) for _ in range(3)]
    theta = net.theta.clone()
    worst = max(float(e.norm()) for e in noises)
    parts = [net.parts(theta, x, e) for e in noises]
    values = _gaussian_values(
        net, x, worst, max((p[0] for p in parts), key=lambda t: float(t.norm())), parts[0][1]
    )
    bound = _value(iwae.smoothness_given_noise(), values)
    empirical = _hessian_norm(lambda t: net.iwae_loss(t, x, noises), theta)
    assert empirical <= bound * (1 + RTOL), (empirical, bound)


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
