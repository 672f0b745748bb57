"""The top |eigenvalue| of the Hessian as a function of the point, and its gradient.

With H(theta) the Hessian of a deterministic loss (noise held fixed) and (lambda, v)
its eigenpair of largest |lambda| (unit v, sign s = sign lambda),

    |lambda(theta)| = s v^T H(theta) v,
    grad_theta |lambda| = s grad_theta (v^T H(theta) v)   with v held fixed

for a simple top eigenvalue (Hellmann-Feynman: ||v|| = 1 makes dv orthogonal to v,
so the term 2 dv^T H v = 2 lambda dv^T v vanishes). The right-hand side is a
third-order product: with u = grad F, v^T H v = v . grad_theta(u . v), so one backward
through the gradient's graph with ``create_graph=True`` gives H v as a differentiable
function of theta and one more backward gives grad_theta(v . H v).

:class:`CurvatureAt` builds the gradient's graph once at a point; the Lanczos
products, the Rayleigh quotient of a trial point and the third-order product all run
through it. The graph is plain autograd through the loss (never
:class:`~empirical.estimators.hvp.HessianOperator`'s second-order shortcuts, which
need not be differentiable a third time).

L and its Lanczos estimate: docs/estimators.md, "Smoothness L".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from empirical.errors import LossError
from empirical.estimators.lanczos import Lanczos, lanczos
from empirical.estimators.results import (
    Params,
    ScalarLoss,
    check_finite,
    check_params,
    check_scalar,
    with_gradient,
)


class CurvatureAt:
    """The gradient's graph of ``loss`` at ``params`` (built once, kept for products).

    ``value`` = F(params); ``grad`` = flat grad F (dict order); ``n_evals`` counts the
    gradient (1), every Hessian-vector product and every third-order product (each 1).
    Duck-typed as a Hessian operator for :func:`empirical.estimators.lanczos.lanczos`
    (``dim``, ``dtype``, ``matvec``).
    """

    def __init__(self, loss: ScalarLoss, params: Params) -> None:
        params = check_params(params)
        self._names = list(params)
        self._leaves = [params[k].detach().clone().requires_grad_(True) for k in self._names]
        leaves = dict(zip(self._names, self._leaves, strict=True))
        value = with_gradient(check_scalar(loss(leaves), "loss(params)"), "loss(params)")
        grads = torch.autograd.grad(value, self._leaves, create_graph=True, allow_unused=True)
        grads = [torch.zeros_like(w) if g is None else g for w, g in zip(self._leaves, grads, strict=True)]
        self._flat_g = torch.cat([g.reshape(-1) for g in grads])
        check_finite(self._flat_g.detach(), "gradient")
        self.value = float(value.detach())
        self.grad = self._flat_g.detach()
        self.n_evals = 1

    @property
    def dim(self) -> int:
        """d, the number of parameters."""
        return int(self._flat_g.numel())

    @property
    def dtype(self) -> torch.dtype:
        """The gradient's dtype (the parameters')."""
        return self._flat_g.dtype

    def _hv(self, v: torch.Tensor, create_graph: bool) -> torch.Tensor:
        if v.shape != (self.dim,):
            raise LossError(f"HVP vector must have shape ({self.dim},), got {tuple(v.shape)}")
        self.n_evals += 1
        if not self._flat_g.requires_grad:  # the loss is affine in params: H = 0
            return torch.zeros(self.dim, dtype=self.dtype)
        hv = torch.autograd.grad(
            self._flat_g, self._leaves, v.to(self.dtype), retain_graph=True, create_graph=create_graph,
            allow_unused=True,
        )  # fmt: skip
        out = torch.cat(
            [
                torch.zeros_like(w).reshape(-1) if h is None else h.reshape(-1)
                for w, h in zip(self._leaves, hv, strict=True)
            ]
        )
        check_finite(out.detach(), "Hessian-vector product")
        return out

    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        """H(params) v (one product).

        Args:
            v: A flat (d,) vector.

        Returns:
            H v, flat (d,).

        Raises:
            LossError: ``v`` of another shape, or a product that is not finite.
        """
        return self._hv(v, create_graph=False)

    def rayleigh(self, v: torch.Tensor) -> float:
        """The Rayleigh quotient v^T H(params) v (one product).

        Args:
            v: A unit flat (d,) vector.

        Returns:
            v^T H v, in float64 arithmetic.
        """
        return float(v.to(torch.float64) @ self.matvec(v).to(torch.float64))

    def rayleigh_gradient(self, v: torch.Tensor) -> torch.Tensor:
        """The gradient grad_theta (v^T H(theta) v) at params with ``v`` held fixed.

        One third-order product; for a simple top eigenvalue with v its eigenvector, times
        sign(lambda) it is grad_theta |lambda(theta)|.

        Args:
            v: A flat (d,) vector.

        Returns:
            The gradient, flat float64 (d,); 0 when H does not depend on theta.
        """
        hv = self._hv(v, create_graph=True)
        if not hv.requires_grad:  # H does not depend on theta
            return torch.zeros(self.dim, dtype=torch.float64)
        q = hv @ v.to(self.dtype)
        out = torch.autograd.grad(q, self._leaves, retain_graph=True, allow_unused=True)
        flat = torch.cat(
            [
                torch.zeros_like(w).reshape(-1) if g is None else g.reshape(-1)
                for w, g in zip(self._leaves, out, strict=True)
            ]
        )
        check_finite(flat, "third-order product grad(v^T H v)")
        return flat.to(torch.float64)


@dataclass(frozen=True)
class TopEigen:
    """The eigenpair of largest |eigenvalue| at a point and the gradient of that |eigenvalue|.

    Attributes:
        theta: The Ritz value (signed).
        resid: Its residual norm: an eigenvalue lies in [theta - resid, theta + resid].
        vector: The unit Ritz vector (float64).
        gradient: grad_theta |lambda| = sign(theta) grad_theta(v^T H v) (float64, flat; None
            when not asked for).
        n_evals: The gradient and products spent.
    """

    theta: float
    resid: float
    vector: torch.Tensor = field(compare=False, repr=False)
    gradient: torch.Tensor | None = field(compare=False, repr=False)
    n_evals: int


def top_pair(op: CurvatureAt, v0: torch.Tensor, tol: float, max_iter: int) -> Lanczos:
    """Lanczos (:func:`~empirical.estimators.lanczos.lanczos`) from ``v0``, keeping its Ritz vector.

    Args:
        op: The Hessian at a point.
        v0: The start, flat (d,).
        tol: Stop at residual <= tol |theta|.
        max_iter: Or after this many products.

    Returns:
        The run: the Ritz value of largest modulus, its residual and unit vector.

    Raises:
        LossError: A Ritz vector that is not finite.
    """
    run = lanczos(op, v0, tol, max_iter, keep_vector=True)
    if run.vector is None or not torch.isfinite(run.vector).all():
        raise LossError("the Ritz vector of the top |eigenvalue| is not finite")
    return run


def top_eigen(
    loss: ScalarLoss,
    params: Params,
    *,
    v0: torch.Tensor | None = None,
    tol: float = 1e-3,
    max_iter: int = 100,
    generator: torch.Generator | None = None,
    gradient: bool = True,
) -> TopEigen:
    """Top |eigenvalue| of the Hessian of ``loss`` at ``params`` and its gradient.

    Args:
        loss: ``loss(params) -> scalar``, deterministic (noise held fixed).
        params: the point theta.
        v0: Lanczos start (flat; e.g. the Ritz vector of a nearby point); default a
            standard normal draw from ``generator``.
        tol: Lanczos stops at residual <= ``tol |theta|``.
        max_iter: Or after ``max_iter`` products.
        generator: Draws the default start (default: seeded with 0).
        gradient: also grad_theta |lambda(theta)| (one third-order product).

    Returns:
        :class:`TopEigen` with ``theta`` the Ritz value of largest modulus (|theta| <=
        max|eig H|: a Rayleigh quotient) and ``gradient`` = sign(theta) grad_theta(v^T H(theta) v),
        v the Ritz vector held fixed: the gradient of |lambda| for a simple top eigenvalue.
    """
    op = CurvatureAt(loss, params)
    if v0 is None:
        gen = generator if generator is not None else torch.Generator().manual_seed(0)
        v0 = torch.randn(op.dim, generator=gen, dtype=torch.float64)
    run = top_pair(op, v0, tol, max_iter)
    assert run.vector is not None
    grad = None
    if gradient:
        grad = (1.0 if run.theta >= 0 else -1.0) * op.rayleigh_gradient(run.vector)
    return TopEigen(run.theta, run.resid, run.vector, grad, op.n_evals)
