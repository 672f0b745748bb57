"""The soft-clip as one autograd node (empirical.softclip): its derivatives against the
closed forms of theory.models.softclip, its gradient bit for bit that of autograd through the
formula, Hessian-vector products of a model with and without it, vmap and jvp."""

from __future__ import annotations

import pytest
import sympy as sp
import torch
from torch.func import jvp, vmap

from empirical import models
from empirical.estimators.hvp import HessianOperator
from empirical.nets import softclip
from empirical.softclip import curvature, in_second_order, second_order, slope, softclip_node
from theory.models import softclip as theory_softclip
from theory.symbols import s as s_sym
from theory.symbols import s1 as s1_sym
from theory.symbols import s2 as s2_sym

F64 = torch.float64
CASES = [(1.0, (0.0, 50.0)), (5.0, (-20.0, 20.0)), (0.5, (-1.0, 3.0))]


def closed_form(order: int, s: float, s1: float, s2: float):
    """The ``order``-th derivative of theory's SymPy soft-clip, as a numpy function of x."""
    expr = theory_softclip.derivative(order).subs({s_sym: s, s1_sym: s1, s2_sym: s2})
    return sp.lambdify(theory_softclip.x, expr, "numpy")


@pytest.mark.parametrize("s, bounds", CASES)
def test_slope_and_curvature_are_the_closed_forms(s, bounds):
    x = torch.linspace(-30, 30, 601, dtype=F64)
    linear = (s * (x - bounds[0]) >= 20) | (s * (x - bounds[1]) >= 20)  # torch: linear softplus
    for order, ours in ((1, slope), (2, curvature)):
        ref = torch.as_tensor(closed_form(order, s, *bounds)(x.numpy()), dtype=F64)
        got = ours(x, s, *bounds)
        assert torch.allclose(got[~linear], ref[~linear], rtol=1e-10, atol=1e-14), order
        assert torch.allclose(got, ref, atol=s * 1e-8), order  # sigma'(20) < 1e-8 where masked
    assert float(curvature(x, s, *bounds).abs().max()) <= s / 4


@pytest.mark.parametrize("s, bounds", CASES)
def test_node_values_are_those_of_the_formula_bit_for_bit_and_its_gradient(s, bounds):
    x = (20 * torch.randn(257, generator=torch.Generator().manual_seed(0))).requires_grad_(True)
    g = torch.randn(257, generator=torch.Generator().manual_seed(1))
    y_formula = softclip(x, s, bounds)
    y_node = softclip_node(x, s, *bounds)
    assert torch.equal(y_formula, y_node)
    (d_formula,) = torch.autograd.grad(y_formula, x, g)
    (d_node,) = torch.autograd.grad(y_node, x, g)
    assert torch.allclose(d_formula, d_node, rtol=1e-5, atol=1e-6)  # float32: sigma(a) - sigma(b) cancels


def test_node_second_derivative_and_jvp_and_vmap():
    s, bounds = 2.0, (-3.0, 4.0)
    x = torch.linspace(-6, 7, 53, dtype=F64, requires_grad=True)
    with second_order():
        assert in_second_order()
        (d,) = torch.autograd.grad(softclip(x, s, bounds).sum(), x, create_graph=True)
    assert not in_second_order()
    (dd,) = torch.autograd.grad(d.sum(), x)
    assert torch.allclose(d.detach(), slope(x.detach(), s, *bounds), atol=1e-14)
    assert torch.allclose(dd, curvature(x.detach(), s, *bounds), atol=1e-14)
    t = torch.randn(53, dtype=F64, generator=torch.Generator().manual_seed(2))
    _, tangent = jvp(lambda z: softclip_node(z, s, *bounds), (x.detach(),), (t,))
    assert torch.allclose(tangent, t * slope(x.detach(), s, *bounds), atol=1e-14)
    batch = x.detach().reshape(1, -1).expand(3, -1)
    assert torch.equal(vmap(lambda z: softclip_node(z, s, *bounds))(batch)[1], softclip_node(x, s, *bounds))


def test_model_hvp_with_the_node_equals_the_formula_and_forward_over_reverse(digits):
    """The double-backward HVP (node recorded) against the HVP through the formula's own
    double backward and against forward-over-reverse (jvp of grad, formula)."""
    m = models.make("gaussian", 64, latent_dim=4, hidden=(16,), dtype="float64")
    params = m.init_params(torch.Generator().manual_seed(0))
    X, eps = digits[:40].double(), m.sample_noise(torch.Generator().manual_seed(1), 40)

    def f(p):
        return m.batch_loss(p, X, eps)

    op = HessianOperator(f, params)
    v = torch.randn(op.dim, dtype=F64, generator=torch.Generator().manual_seed(3))
    leaves = [t.clone().requires_grad_() for t in params.values()]
    g = torch.autograd.grad(f(dict(zip(params, leaves, strict=True))), leaves, create_graph=True)
    flat = torch.cat([t.reshape(-1) for t in g])
    formula = torch.cat([h.reshape(-1) for h in torch.autograd.grad(flat, leaves, v)])
    assert torch.allclose(op.grad, flat.detach(), rtol=1e-12, atol=1e-12)
    assert torch.allclose(op.matvec(v), formula, rtol=1e-10, atol=1e-10)
    reverse = HessianOperator(f, params, "forward_over_reverse").matvec(v)
    assert torch.allclose(op.matvec(v), reverse, rtol=1e-10, atol=1e-10)
