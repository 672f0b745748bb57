"""Lanczos with full re-orthogonalisation for the extreme eigenvalue of a Hessian operator.

The Ritz pair of largest modulus, its residual and whether the stopping rule was met
(docs/estimators.md, "Smoothness L", "Lanczos interval"); :mod:`empirical.estimators.smoothness`
turns a run into an :class:`~empirical.estimators.results.Estimate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.linalg import lapack

from empirical.errors import LossError
from empirical.estimators.hvp import HessianOperator


@dataclass(frozen=True)
class Lanczos:
    """The tridiagonal T_m of m Lanczos steps and its Ritz pair of largest modulus.

    Attributes:
        alphas: T_m's diagonal.
        betas: T_m's off-diagonal.
        theta: The Ritz value of largest modulus.
        resid: That pair's residual norm beta_m |e_m^T y|.
        vector: Its unit Ritz vector Q_m y (float64), when asked for, else None.
        converged: Stopped by resid <= tol |theta|, on an invariant subspace or with the whole
            space spanned (False: at ``max_iter`` products before any of these).
    """

    alphas: tuple[float, ...]
    betas: tuple[float, ...]
    theta: float
    resid: float
    vector: torch.Tensor | None = field(default=None, compare=False, repr=False)
    converged: bool = True

    @property
    def steps(self) -> int:
        """m, the number of products."""
        return len(self.alphas)

    def shortfall(self, tol: float) -> str:
        """What a method must say of a run stopped at ``max_iter`` ("" for a converged run).

        Args:
            tol: The relative tolerance the run was given.

        Returns:
            "not converged: residual r > tol |theta| = ... after m products (max_iter); ...".
        """
        if self.converged:
            return ""
        return (
            f"not converged: residual {self.resid:.3g} > tol |theta| = {tol * abs(self.theta):.3g} after "
            f"{self.steps} products (max_iter); hi is then no upper value for max|lambda|"
        )


def lanczos_extreme(
    op: HessianOperator, v0: torch.Tensor, tol: float, max_iter: int
) -> tuple[float, float, int]:
    """The extreme Ritz value of :func:`lanczos`.

    Args:
        op: The Hessian operator.
        v0: The start vector.
        tol: The relative tolerance.
        max_iter: The most products.

    Returns:
        (Ritz value of largest modulus, its residual norm, number of products).
    """
    run = lanczos(op, v0, tol, max_iter)
    return run.theta, run.resid, run.steps


def lanczos(
    op: HessianOperator, v0: torch.Tensor, tol: float, max_iter: int, keep_vector: bool = False
) -> Lanczos:
    """Lanczos with full re-orthogonalisation from ``v0``.

    Stopped when the Ritz pair of largest modulus has residual <= ``tol |theta|``, on an
    invariant subspace, with the whole space spanned, or at ``max_iter`` products (then not
    ``converged``). Each product goes through the three-term recurrence, then one classical
    Gram-Schmidt pass against the whole basis, and a second pass only by the DGKS criterion
    (docs/estimators.md, "Smoothness L"): the basis stays orthogonal to the working precision
    of the products (their dtype, in which the basis is kept). The basis is allocated for
    ``max_iter`` vectors but its memory is touched only as vectors are added.

    Args:
        op: The Hessian operator.
        v0: The start vector.
        tol: The relative tolerance.
        max_iter: The most products.
        keep_vector: Also the Ritz vector (a warm start for the next point, the direction of
            :mod:`empirical.estimators.stress`).

    Returns:
        The run.
    """
    n = op.dim
    m_max = min(max_iter, n)
    dtype = op.dtype
    Q = torch.empty(m_max + 1, n, dtype=dtype)  # pages are only touched as rows are written
    alphas: list[float] = []
    betas: list[float] = []
    Q[0] = (v0 / v0.norm()).to(dtype)
    theta, resid, converged = 0.0, float("inf"), False
    for j in range(m_max):
        w = op.matvec(Q[j])  # a fresh tensor: updated in place below
        alpha = float(Q[j] @ w)
        if j == 0:  # three-term recurrence (local orthogonalisation), one pass over w
            w.sub_(Q[0], alpha=alpha)
        else:
            w.addmv_(Q[j - 1 : j + 1].T, torch.tensor([betas[-1], alpha], dtype=dtype), alpha=-1.0)
        basis = Q[: j + 1]
        for _ in range(2):  # full re-orthogonalisation; a second pass only by the DGKS criterion
            h = basis @ w
            w.addmv_(basis.T, h, alpha=-1.0)
            alpha += float(h[j])
            beta = float(w.norm())
            # ||w before||^2 = beta^2 + ||h||^2, so beta < ||w before|| / sqrt 2 iff ||h|| > beta
            if float(h.norm()) <= beta:
                break
        alphas.append(alpha)
        theta, last = _extreme_ritz(alphas, betas)
        resid = abs(beta * last)
        scale = max(abs(theta), np.finfo(np.float64).tiny)
        lucky = beta <= torch.finfo(dtype).eps * max(abs(alpha), abs(theta))  # invariant subspace found
        converged = resid <= tol * scale or lucky or j + 1 == n
        if converged:
            break
        betas.append(beta)
        torch.div(w, beta, out=Q[j + 1])
    betas = betas[: len(alphas) - 1]
    vector = None
    if keep_vector:
        _, y = _extreme_ritz_pair(alphas, betas)
        vector = Q[: len(alphas)].to(torch.float64).T @ torch.from_numpy(y)
        vector /= vector.norm()
    return Lanczos(tuple(alphas), tuple(betas), theta, resid, vector, converged)


def _extreme_ritz(alphas: list[float], betas: list[float]) -> tuple[float, float]:
    """Eigenvalue of largest modulus of the tridiagonal T and the last entry of its unit eigenvector.

    T has diagonal ``alphas`` and off-diagonal ``betas`` (:func:`_extreme_ritz_pair`).
    """
    theta, y = _extreme_ritz_pair(alphas, betas)
    return theta, float(y[-1])


def _extreme_ritz_pair(alphas: list[float], betas: list[float]) -> tuple[float, np.ndarray]:
    """Eigenvalue of largest modulus of the tridiagonal T and its unit eigenvector.

    Only the two ends of the spectrum are computed, by LAPACK bisection (``dstebz``) and
    inverse iteration (``dstein``), O(m) each.
    """
    m = len(alphas)
    if m == 1:
        return alphas[0], np.ones(1)
    d, e = np.asarray(alphas, dtype=np.float64), np.asarray(betas, dtype=np.float64)
    ends = []
    for i in (1, m):  # 1-based indices of the smallest and the largest eigenvalue
        found, w, iblock, isplit, info = lapack.dstebz(d, e, 2, 0.0, 0.0, i, i, 0.0, "E")
        if info != 0 or found != 1:
            raise LossError(f"tridiagonal eigenvalue (LAPACK dstebz) failed, info={info}")
        ends.append((float(w[0]), w[:1], iblock, isplit))
    theta, w, iblock, isplit = max(ends, key=lambda end: abs(end[0]))
    z, info = lapack.dstein(d, e, w, iblock, isplit)
    if info != 0:
        raise LossError(f"tridiagonal eigenvector (LAPACK dstein) failed, info={info}")
    return theta, np.asarray(z[:, 0], dtype=np.float64)
