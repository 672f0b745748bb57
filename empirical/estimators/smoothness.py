"""Smoothness L = sup_theta ||Hess F(theta)||_2: three lower estimates.

At one point by Lanczos (:func:`smoothness`), by secants along a trajectory
(:func:`smoothness_along_run`), and over points drawn in the parameter box
(:func:`smoothness_in_box`); Lanczos itself is in :mod:`empirical.estimators.lanczos`; the
Lanczos interval: docs/estimators.md, "Smoothness L".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from empirical.errors import ConfigError, ConvergenceWarning, LossError
from empirical.estimators.hvp import HessianOperator, gradient
from empirical.estimators.lanczos import Lanczos as Lanczos  # re-exported: its former home
from empirical.estimators.lanczos import lanczos
from empirical.estimators.lanczos import lanczos_extreme as lanczos_extreme
from empirical.estimators.results import (
    Estimate,
    Params,
    ScalarLoss,
    check_params,
    exact,
    flatten,
    seeded,
    unflatten,
    warn_caller,
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

    Stops when the residual of the top |Ritz| pair is <= ``tol * |theta|``. Stopped at
    ``max_iter`` before that (Lanczos), the method says "not converged" and a
    :class:`~empirical.errors.ConvergenceWarning` is emitted: |theta| is still a lower value of
    max|lambda|, but |theta| + residual is then no upper value.

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
        ConfigError: A bad solver, tol or max_iter, or ARPACK not converged within ``max_iter``.
        LossError: A loss that carries no gradient, or a loss, gradient or product that is not finite.
    """
    est, note = smoothness_noted(
        loss, params, tol=tol, max_iter=max_iter, generator=generator, seed=seed, hvp=hvp, solver=solver,
        where=where,
    )  # fmt: skip
    if note:
        warn_caller(f"smoothness at {where}: {note}", ConvergenceWarning)
    return est


def smoothness_noted(
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
) -> tuple[Estimate, str]:
    """:func:`smoothness` without the warning (for estimators that warn once for many points).

    Args:
        loss: As :func:`smoothness`.
        params: As :func:`smoothness`.
        tol: As :func:`smoothness`.
        max_iter: As :func:`smoothness`.
        generator: As :func:`smoothness`.
        seed: As :func:`smoothness`.
        hvp: As :func:`smoothness`.
        solver: As :func:`smoothness`.
        where: As :func:`smoothness`.

    Returns:
        (the estimate |theta| with [|theta|, |theta| + residual], :meth:`Lanczos.shortfall`: "" when
        converged, else the note its method ends with).
    """
    if solver not in SOLVERS:
        raise ConfigError(f"unknown solver {solver!r}; valid: {', '.join(SOLVERS)}")
    tol = Number(0.0, 1.0, hi_open=True).check("option tol", tol)
    max_iter = whole("max_iter", max_iter, 1, MAX_ITER)
    op = HessianOperator(loss, params, hvp)
    gen = seeded(generator, seed)
    v0 = torch.randn(op.dim, generator=gen, dtype=torch.float64)
    note = ""
    if solver == "lanczos":
        run = lanczos(op, v0, tol, max_iter)
        theta, resid, steps, note = run.theta, run.resid, run.steps, run.shortfall(tol)
    else:
        theta, resid, steps = _arpack_extreme(op, v0, tol, max_iter)
    top = abs(theta)
    end = "negative" if theta < 0 else "positive"
    method = (
        f"{solver} ({hvp} HVP, {steps} products) at {where}: largest |Ritz value| "
        f"{theta:.6g} ({end} end of the spectrum); lower estimate of sup L" + (f"; {note}" if note else "")
    )
    return Estimate(top, top, top + resid, 1.0, method, op.n_evals), note


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

    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    A = LinearOperator((n, n), matvec=mv, dtype=np.float64)
    before = op.n_evals
    try:
        evals, evecs = eigsh(A, k=1, which="LM", v0=v0.numpy(), tol=tol, maxiter=max_iter)
    except ArpackNoConvergence as err:
        raise ConfigError(
            f"ARPACK did not converge to tol={tol:g} within max_iter={max_iter} restarts "
            f"({op.n_evals - before} products); raise max_iter, or use solver='lanczos' (which returns "
            "its last Ritz value with a 'not converged' note)"
        ) from err
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
        The largest value with [max lo, max hi]; ``n_evals`` summed over points. When Lanczos
        stopped at ``max_iter`` at some points, the method names them ("not converged") and a
        :class:`~empirical.errors.ConvergenceWarning` is emitted: max hi is then no upper value.

    Raises:
        ConfigError: A bad radius or n_points.
    """
    like = check_params(like)
    if not a > 0:
        raise ConfigError(f"box radius a must be > 0, got {a}")
    n_points = whole("n_points", n_points, 1, MAX_ITER)
    gen = seeded(generator, seed)
    best: Estimate | None = None
    his, n_evals, stopped = [], 0, []
    for i in range(n_points):
        point = {
            k: ((2 * torch.rand(v.shape, generator=gen, dtype=torch.float64) - 1) * a).to(v.dtype)
            for k, v in like.items()
        }
        est, note = smoothness_noted(loss, point, generator=gen, where=f"box point {i}", **lanczos_options)
        stopped += [i] if note else []
        n_evals += est.n_evals
        his.append(est.hi)
        if best is None or est.value > best.value:
            best = est
    assert best is not None
    method = (
        f"max over {n_points} uniform points of the box ||theta||_inf <= {a:g} of "
        f"[{best.method}]; lower estimate of sup L over the box"
    )
    if stopped:
        note = (
            f"not converged at box points {stopped} of {n_points} (residual > tol |theta| after max_iter "
            "products); hi is then no upper value for max|lambda| at these points"
        )
        method += f"; {note}"
        warn_caller(f"smoothness_in_box: {note}", ConvergenceWarning)
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
