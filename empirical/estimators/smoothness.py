"""Smoothness L = sup_theta ||Hess F(theta)||_2: three lower estimates.

At one point by Lanczos (:func:`smoothness`), by secants along a trajectory
(:func:`smoothness_along_run`), and over points drawn in the parameter box
(:func:`smoothness_in_box`); the Lanczos interval: docs/estimators.md, "Smoothness L".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.linalg import lapack

from empirical.errors import ConfigError, LossError
from empirical.estimators.hvp import HessianOperator, gradient
from empirical.estimators.results import (
    Estimate,
    Params,
    ScalarLoss,
    check_params,
    exact,
    flatten,
    seeded,
    unflatten,
)
from empirical.inputs.rules import Number
from empirical.validate import whole

SOLVERS = ("lanczos", "arpack")
#: Most Lanczos steps (and points of smoothness_in_box).
MAX_ITER = 10**4


def smoothness(
    loss: ScalarLoss,
    params: Params,
    *,
    tol: float = 1e-3,
    max_iter: int = 100,
    generator: torch.Generator | None = None,
    seed: int = 0,
    hvp: str = "double_backward",
    solver: str = "lanczos",
    where: str = "the given point",
) -> Estimate:
    """The largest |eigenvalue| of the Hessian of a loss at a point.

    Stops when the residual of the top |Ritz| pair is <= ``tol * |theta|``.

    Args:
        loss: ``loss(params) -> scalar tensor``, deterministic (hold the noise fixed).
        params: The point.
        tol: The relative tolerance, in (0, 1).
        max_iter: The most Hessian-vector products.
        generator: The generator of the start vector (default: seeded with ``seed``).
        seed: The seed when no generator is given.
        hvp: The Hessian-vector product (:data:`empirical.estimators.hvp.MODES`).
        solver: ``"lanczos"`` (full re-orthogonalisation, float64 basis, checked after every
            product) or ``"arpack"`` (the twin through ``scipy.sparse.linalg.eigsh``).
        where: The point's name, for the method.

    Returns:
        |theta| with [|theta|, |theta| + residual], confidence 1; ``n_evals`` = 1 gradient +
        the Hessian-vector products.

    Raises:
        ConfigError: A bad solver, tol or max_iter.
        LossError: A loss, gradient or product that is not finite.
    """
    if solver not in SOLVERS:
        raise ConfigError(f"unknown solver {solver!r}; valid: {', '.join(SOLVERS)}")
    tol = Number(0.0, 1.0, hi_open=True).check("option tol", tol)
    max_iter = whole("max_iter", max_iter, 1, MAX_ITER)
    op = HessianOperator(loss, params, hvp)
    gen = seeded(generator, seed)
    v0 = torch.randn(op.dim, generator=gen, dtype=torch.float64)
    if solver == "lanczos":
        theta, resid, steps = lanczos_extreme(op, v0, tol, max_iter)
    else:
        theta, resid, steps = _arpack_extreme(op, v0, tol, max_iter)
    top = abs(theta)
    end = "negative" if theta < 0 else "positive"
    method = (
        f"{solver} ({hvp} HVP, {steps} products) at {where}: largest |Ritz value| "
        f"{theta:.6g} ({end} end of the spectrum); lower estimate of sup L"
    )
    return Estimate(top, top, top + resid, 1.0, method, op.n_evals)


@dataclass(frozen=True)
class Lanczos:
    """The tridiagonal T_m of m Lanczos steps and its Ritz pair of largest modulus.

    Attributes:
        alphas: T_m's diagonal.
        betas: T_m's off-diagonal.
        theta: The Ritz value of largest modulus.
        resid: That pair's residual norm beta_m |e_m^T y|.
        vector: Its unit Ritz vector Q_m y (float64), when asked for, else None.
    """

    alphas: tuple[float, ...]
    betas: tuple[float, ...]
    theta: float
    resid: float
    vector: torch.Tensor | None = field(default=None, compare=False, repr=False)

    @property
    def steps(self) -> int:
        """m, the number of products."""
        return len(self.alphas)


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
    invariant subspace, or at ``max_iter`` products. Each product goes through the three-term
    recurrence, then one classical Gram-Schmidt pass against the whole basis, and a second
    pass only by the DGKS criterion (docs/estimators.md, "Smoothness L"): the basis stays
    orthogonal to the working precision of the products (their dtype, in which the basis is
    kept). The basis is allocated for ``max_iter`` vectors but its memory is touched only as
    vectors are added.

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
    theta, resid = 0.0, float("inf")
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
        if resid <= tol * scale or lucky or j + 1 == n:
            break
        betas.append(beta)
        torch.div(w, beta, out=Q[j + 1])
    betas = betas[: len(alphas) - 1]
    vector = None
    if keep_vector:
        _, y = _extreme_ritz_pair(alphas, betas)
        vector = Q[: len(alphas)].to(torch.float64).T @ torch.from_numpy(y)
        vector /= vector.norm()
    return Lanczos(tuple(alphas), tuple(betas), theta, resid, vector)


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


def _arpack_extreme(
    op: HessianOperator, v0: torch.Tensor, tol: float, max_iter: int
) -> tuple[float, float, int]:
    n = op.dim
    if n < 3:  # ARPACK needs k < n - 1; a tiny problem is solved densely
        H = torch.stack([op.matvec(e.to(op.dtype)) for e in torch.eye(n, dtype=torch.float64)])
        evals, evecs = np.linalg.eigh(H.double().numpy())
        i = int(np.argmax(np.abs(evals)))
        return float(evals[i]), 0.0, n

    def mv(x: np.ndarray) -> np.ndarray:
        v = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64).reshape(-1))
        return op.matvec(v.to(op.dtype)).to(torch.float64).numpy()

    from scipy.sparse.linalg import LinearOperator, eigsh

    A = LinearOperator((n, n), matvec=mv, dtype=np.float64)
    before = op.n_evals
    evals, evecs = eigsh(A, k=1, which="LM", v0=v0.numpy(), tol=tol, maxiter=max_iter)
    y = evecs[:, 0]
    r = float(np.linalg.norm(mv(y) - evals[0] * y))
    return float(evals[0]), r, op.n_evals - before


def smoothness_along_run(
    loss: ScalarLoss,
    points: torch.Tensor | np.ndarray | Sequence[Mapping[str, torch.Tensor]],
    like: Params | None = None,
) -> Estimate:
    """The largest secant ``||grad F(theta_k) - grad F(theta_j)|| / ||theta_k - theta_j||`` over all pairs.

    Each ratio is at most the sup of ||Hess F|| on the segment [theta_j, theta_k].

    Args:
        loss: One deterministic function (same data, same noise) at every point.
        points: A (T, d) array of flat parameter vectors (dict order of ``like``, e.g.
            ``TrainRun.snapshots[i]`` of run i) or a sequence of param dicts.
        like: The names, shapes and dtypes of the parameters (for flat points).

    Returns:
        The largest secant, exact for the stated quantity (``lo = hi = value``); ``n_evals``
        = T gradients.

    Raises:
        ConfigError: Fewer than 2 distinct points, or flat points without ``like``.
        LossError: A point or gradient that is not finite.
    """
    dicts = _as_dicts(points, like)
    if len(dicts) < 2:
        raise ConfigError(f"need at least 2 points along the run, got {len(dicts)}")
    thetas = torch.stack([flatten(p).to(torch.float64) for p in dicts])
    grads = torch.stack([gradient(loss, p)[1].to(torch.float64) for p in dicts])
    dtheta = torch.cdist(thetas, thetas)
    dgrad = torch.cdist(grads, grads)
    mask = dtheta > 0
    if not mask.any():
        raise ConfigError("all points along the run are identical")
    ratio = torch.where(mask, dgrad / torch.where(mask, dtheta, 1.0), 0.0)
    k, j = divmod(int(torch.argmax(ratio)), len(dicts))
    method = (
        f"max secant ||grad F(theta_k) - grad F(theta_j)|| / ||theta_k - theta_j|| over "
        f"{len(dicts)} points of the run (attained at points {min(j, k)}, {max(j, k)}); "
        "lower estimate of sup L"
    )
    return exact(float(ratio.max()), method, len(dicts))


def smoothness_in_box(
    loss: ScalarLoss,
    like: Params,
    a: float,
    *,
    n_points: int = 8,
    generator: torch.Generator | None = None,
    seed: int = 0,
    **lanczos_options: object,
) -> Estimate:
    """The largest :func:`smoothness` over points drawn uniformly in ``||theta||_inf <= a``.

    Args:
        loss: ``loss(params) -> scalar tensor``, deterministic.
        like: The names, shapes and dtypes of the parameters.
        a: The box radius, > 0.
        n_points: The points drawn.
        generator: The generator (default: seeded with ``seed``).
        seed: The seed when no generator is given.
        **lanczos_options: Passed to :func:`smoothness`.

    Returns:
        The largest value with [max lo, max hi]; ``n_evals`` summed over points.

    Raises:
        ConfigError: A bad radius or n_points.
    """
    like = check_params(like)
    if not a > 0:
        raise ConfigError(f"box radius a must be > 0, got {a}")
    n_points = whole("n_points", n_points, 1, MAX_ITER)
    gen = seeded(generator, seed)
    best: Estimate | None = None
    his, n_evals = [], 0
    for i in range(n_points):
        point = {
            k: ((2 * torch.rand(v.shape, generator=gen, dtype=torch.float64) - 1) * a).to(v.dtype)
            for k, v in like.items()
        }
        est = smoothness(loss, point, generator=gen, where=f"box point {i}", **lanczos_options)
        n_evals += est.n_evals
        his.append(est.hi)
        if best is None or est.value > best.value:
            best = est
    assert best is not None
    method = (
        f"max over {n_points} uniform points of the box ||theta||_inf <= {a:g} of "
        f"[{best.method}]; lower estimate of sup L over the box"
    )
    return Estimate(best.value, best.lo, max(his), 1.0, method, n_evals)


def _as_dicts(
    points: torch.Tensor | np.ndarray | Sequence[Mapping[str, torch.Tensor]],
    like: Params | None,
) -> list[Params]:
    if isinstance(points, np.ndarray | torch.Tensor):
        if like is None:
            raise ConfigError("flat points need `like` (a params dict) to give names and shapes")
        like = check_params(like)
        arr = torch.as_tensor(np.asarray(points) if isinstance(points, np.ndarray) else points)
        if arr.ndim != 2:
            raise ConfigError(f"points must be a (T, d) array, got shape {tuple(arr.shape)}")
        if not torch.isfinite(arr).all():
            raise LossError("points along the run contain NaN or inf")
        return [unflatten(row, like) for row in arr]
    return [check_params(p) for p in points]
