"""The soft-clip activation as one autograd node, with its first and second derivatives.

f(x) = softplus_s(x - s1) - softplus_s(x - s2) + s1 with torch's softplus (threshold
20); its derivatives: docs/theory.md, "How the model constants are derived". The node
makes Hessian-vector products cheap (:class:`_SoftClip`); it is recorded only inside
:func:`second_order`. Forward-mode derivatives (torch.func.jvp) and vmap are supported.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import torch
import torch.nn.functional as F

#: torch's softplus threshold (F.softplus's default): above it softplus is the identity.
THRESHOLD = 20.0
_SECOND_ORDER: ContextVar[bool] = ContextVar("softclip_second_order", default=False)


@contextmanager
def second_order() -> Iterator[None]:
    """Inside, :func:`empirical.nets.softclip` records the soft-clip as one node per layer.

    Its gradient is cheap to differentiate again: for building a gradient's graph that
    Hessian-vector products will run through. A custom node costs a Python call per
    layer, more than it saves on the small batches of a training step (and far more
    under vmap): the double-backward Hessian-vector product
    (:class:`empirical.estimators.hvp.HessianOperator`) enters this block while it builds
    the gradient's graph; everywhere else (training) autograd differentiates the formula
    itself. Both give the same values (bit for bit) and the same derivatives up to rounding
    (sigma against softplus's own backward formula).

    Yields:
        Nothing; the block runs in second-order mode.
    """
    token = _SECOND_ORDER.set(True)
    try:
        yield
    finally:
        _SECOND_ORDER.reset(token)


def in_second_order() -> bool:
    """Whether the code runs inside :func:`second_order`.

    Returns:
        True inside it.
    """
    return _SECOND_ORDER.get()


def slope(x: torch.Tensor, s: float, s1: float, s2: float) -> torch.Tensor:
    """The soft-clip's derivative f'(x) = sigma(s(x - s1)) - sigma(s(x - s2)), in [0, 1].

    Each sigma is 1 where its softplus is linear (s y > 20), as in torch's softplus backward.

    Args:
        x: The pre-activations.
        s: The sharpness.
        s1: The lower bound.
        s2: The upper bound.

    Returns:
        f'(x), elementwise.
    """
    a, b = s * (x - s1), s * (x - s2)
    one = torch.ones((), dtype=x.dtype, device=x.device)
    return torch.where(a > THRESHOLD, one, torch.sigmoid(a)) - torch.where(
        b > THRESHOLD, one, torch.sigmoid(b)
    )


def curvature(x: torch.Tensor, s: float, s1: float, s2: float) -> torch.Tensor:
    """The soft-clip's second derivative f''(x) = s [sigma'(s(x - s1)) - sigma'(s(x - s2))].

    sigma' = sigma (1 - sigma), each term 0 where its softplus is linear (s y > 20); |f''| <= s/4.

    Args:
        x: The pre-activations.
        s: The sharpness.
        s1: The lower bound.
        s2: The upper bound.

    Returns:
        f''(x), elementwise.
    """
    a, b = s * (x - s1), s * (x - s2)
    sa, sb = torch.sigmoid(a), torch.sigmoid(b)
    return s * (sa * (1.0 - sa) * (a < THRESHOLD) - sb * (1.0 - sb) * (b < THRESHOLD))


class _Slope(torch.autograd.Function):
    """x -> f'(x), whose derivative f''(x) is computed once, when the node is recorded."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor, s: float, s1: float, s2: float) -> torch.Tensor:
        return slope(x, s, s1, s2)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        x, s, s1, s2 = inputs
        ctx.constants = (s, s1, s2)
        ctx.save_for_backward(curvature(x, s, s1, s2) if ctx.needs_input_grad[0] else None)
        ctx.save_for_forward(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (second,) = ctx.saved_tensors
        return grad * second, None, None, None

    @staticmethod
    def jvp(ctx, x_t: torch.Tensor, *_):
        (x,) = ctx.saved_tensors
        return x_t * curvature(x, *ctx.constants)


class _SoftClip(torch.autograd.Function):
    """x -> f(x) clamped to [s1, s2], one autograd node.

    Autograd through the formula records six nodes per layer; its double backward
    (Hessian-vector products) runs torch's softplus double backward twice per layer at
    every product, about eight elementwise passes each. Here the forward is the formula,
    clamped to [s1, s2] (identity in exact arithmetic; far from the bounds the difference
    of two large softplus values can round one ulp past them), with f'(x) computed once
    beside it; a gradient that will itself be differentiated (``create_graph=True``,
    torch.func.grad) is g f'(x) with f' a node (:class:`_Slope`) that computes f'' once,
    when the gradient's graph is built; a backward pass with grad mode off (a
    Hessian-vector product runs back through the forward part of the graph too) is
    g f'(x), one product. So every Hessian-vector product costs three products per layer
    where autograd through the formula runs about twenty elementwise passes.
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor, s: float, s1: float, s2: float) -> torch.Tensor:
        y = F.softplus(x - s1, beta=s) - F.softplus(x - s2, beta=s) + s1
        return y.clamp(s1, s2)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        x, s, s1, s2 = inputs
        ctx.constants = (s, s1, s2)
        ctx.save_for_backward(x, slope(x, s, s1, s2) if ctx.needs_input_grad[0] else None)
        ctx.save_for_forward(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, first = ctx.saved_tensors
        if torch.is_grad_enabled():  # the gradient will be differentiated: g f'(x), f' a node
            return grad * _Slope.apply(x, *ctx.constants), None, None, None
        return grad * first, None, None, None

    @staticmethod
    def jvp(ctx, x_t: torch.Tensor, *_):
        (x,) = ctx.saved_tensors
        return x_t * slope(x, *ctx.constants)


def softclip_node(x: torch.Tensor, s: float, s1: float, s2: float) -> torch.Tensor:
    """The soft-clip f(x) as one autograd node.

    Args:
        x: The pre-activations.
        s: The sharpness, a plain number.
        s1: The lower bound, a plain number.
        s2: The upper bound, a plain number.

    Returns:
        f(x) clamped to [s1, s2].
    """
    return _SoftClip.apply(x, float(s), float(s1), float(s2))
