"""Hessian-vector products of a scalar loss over a dict of parameters.

Two twins of v -> (d^2 F / d theta^2) v on the flattened parameter vector (dict order):
``"double_backward"`` (the default) and ``"forward_over_reverse"``. The loss is called as
``loss(params)``: its noise lives inside the closure, so every product sees the same
noise (docs/estimators.md, "Smoothness L").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from empirical.errors import ConfigError, LossError
from empirical.estimators.results import (
    Params,
    ScalarLoss,
    check_finite,
    check_params,
    check_scalar,
    flatten,
    unflatten,
    with_gradient,
)
from empirical.softclip import second_order

MODES = ("double_backward", "forward_over_reverse")


@dataclass
class HessianOperator:
    """The Hessian of ``loss`` at ``params`` as an operator on flat vectors (same dtype as params).

    ``"double_backward"`` builds the gradient's graph once (inside
    :func:`empirical.softclip.second_order`) and every product is one more backward pass
    through it; ``"forward_over_reverse"`` recomputes ``jvp(grad(F))`` for every product.

    Attributes:
        loss: ``loss(params) -> scalar tensor``.
        params: The point.
        mode: One of :data:`MODES`.
        value: The loss at ``params``.
        grad: Its flat gradient.
        n_evals: The gradient evaluation plus every product done so far.

    Raises:
        ConfigError: An unknown mode.
        LossError: A loss that carries no gradient (detached), or a loss or gradient that is not finite.
    """

    loss: ScalarLoss
    params: Params
    mode: str = "double_backward"
    value: float = field(init=False)
    grad: torch.Tensor = field(init=False)
    n_evals: int = field(init=False, default=0)
    _matvec: Callable[[torch.Tensor], torch.Tensor] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"unknown HVP mode {self.mode!r}; valid: {', '.join(MODES)}")
        self.params = {k: v.detach() for k, v in check_params(self.params).items()}
        if self.mode == "double_backward":
            self._build_double_backward()
        else:
            self._build_forward_over_reverse()
        self.n_evals = 1

    @property
    def dim(self) -> int:
        """The number of parameters."""
        return int(self.grad.numel())

    @property
    def dtype(self) -> torch.dtype:
        """The parameters' dtype."""
        return self.grad.dtype

    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        """The Hessian times a flat vector.

        Args:
            v: (dim,).

        Returns:
            H v.

        Raises:
            LossError: A vector of the wrong shape, or a result that is not finite.
        """
        if v.shape != (self.dim,):
            raise LossError(f"HVP vector must have shape ({self.dim},), got {tuple(v.shape)}")
        out = self._matvec(v.to(self.dtype))
        self.n_evals += 1
        check_finite(out, "Hessian-vector product")
        return out

    def _build_double_backward(self) -> None:
        leaves = {k: v.clone().requires_grad_(True) for k, v in self.params.items()}
        names = list(leaves)
        with second_order():  # activations that know their second derivative record it
            value = with_gradient(check_scalar(self.loss(leaves), "loss(params)"), "loss(params)")
            grads = torch.autograd.grad(
                value, [leaves[k] for k in names], create_graph=True, allow_unused=True
            )
        grads = [torch.zeros_like(leaves[k]) if g is None else g for k, g in zip(names, grads, strict=True)]
        check_finite(dict(zip(names, grads, strict=True)), "gradient")
        flat_g = torch.cat([g.reshape(-1) for g in grads])
        self.value = float(value.detach())
        self.grad = flat_g.detach()
        wrt = [leaves[k] for k in names]

        def matvec(v: torch.Tensor) -> torch.Tensor:
            if not flat_g.requires_grad:  # loss is affine in params: Hessian is 0
                return torch.zeros_like(v)
            hv = torch.autograd.grad(flat_g, wrt, v, retain_graph=True, allow_unused=True)
            return torch.cat(
                [
                    torch.zeros_like(w).reshape(-1) if h is None else h.reshape(-1)
                    for w, h in zip(wrt, hv, strict=True)
                ]
            )

        self._matvec = matvec

    def _build_forward_over_reverse(self) -> None:
        loss = self.loss

        def scalar_loss(p: Params) -> torch.Tensor:
            return loss(p).reshape(())

        leaves = {k: v.clone().requires_grad_(True) for k, v in self.params.items()}
        with torch.enable_grad():  # with a graph: is there a gradient? (torch.func ignores no_grad)
            value = with_gradient(check_scalar(loss(leaves), "loss(params)"), "loss(params)")
        grad_fn = torch.func.grad(scalar_loss)
        g = grad_fn(self.params)
        check_finite(g, "gradient")
        self.value = float(value.detach())
        self.grad = flatten(g, list(self.params)).detach()
        params = self.params

        def matvec(v: torch.Tensor) -> torch.Tensor:
            _, hv = torch.func.jvp(grad_fn, (params,), (unflatten(v, params),))
            return flatten(hv, list(params)).detach()

        self._matvec = matvec


def hvp(loss: ScalarLoss, params: Params, v: Params, mode: str = "double_backward") -> Params:
    """One Hessian-vector product ``H(params) v``.

    Args:
        loss: ``loss(params) -> scalar tensor``.
        params: The point.
        v: A dict shaped like ``params``.
        mode: One of :data:`MODES`.

    Returns:
        H v, shaped like ``params``.
    """
    op = HessianOperator(loss, params, mode)
    return unflatten(op.matvec(flatten(v, list(op.params))), op.params)


def gradient(loss: ScalarLoss, params: Params) -> tuple[float, torch.Tensor]:
    """The loss value and flat gradient (dict order) at a point, checked finite.

    Args:
        loss: ``loss(params) -> scalar tensor``.
        params: The point.

    Returns:
        (value, flat gradient).

    Raises:
        LossError: A loss that carries no gradient (detached), or a loss or gradient that is not finite.
    """
    params = check_params(params)
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    value = with_gradient(check_scalar(loss(leaves), "loss(params)"), "loss(params)")
    names = list(leaves)
    grads = torch.autograd.grad(value, [leaves[k] for k in names], allow_unused=True)
    grads = [torch.zeros_like(leaves[k]) if g is None else g for k, g in zip(names, grads, strict=True)]
    check_finite(dict(zip(names, grads, strict=True)), "gradient")
    return float(value.detach()), torch.cat([g.reshape(-1) for g in grads]).detach()
