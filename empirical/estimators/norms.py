"""M and R: the largest gradient norm (||g||_2 <= M) and sup-norm (||g||_inf <= R) seen.

Both are suprema over the whole run and over all minibatches, so every value
here is a *lower* estimate, exact for what it says it maximised over
(``lo = hi = value``):

* along a run, from ``TrainRun``: ``max_k ||g_k||`` over the minibatch gradients
  of every step, and ``max ||grad F(theta_k)||`` over the record steps;
* at a point, from per-example gradients: ``max_i ||g_i||`` and ``max_i ||g_i||_inf``.
  By convexity of norms, a minibatch gradient (a mean of per-example ones
  drawn among these) is never larger, so these also bound every minibatch
  built from the examples looked at.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from empirical.errors import ConfigError
from empirical.estimators.per_example import ExampleLoss, per_example_gradients
from empirical.estimators.results import Estimate, Params, check_finite_array, exact


def max_seen(values: np.ndarray | Sequence[float], what: str, n_evals: int = 0) -> Estimate:
    """Exact maximum of recorded values (``what`` names them); raises on NaN/inf."""
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if x.size == 0:
        raise ConfigError(f"{what}: nothing recorded")
    check_finite_array(x, what)
    return exact(
        float(x.max()), f"max of {what} over {x.size} values; lower estimate of the supremum", n_evals
    )


def norms_along_run(run: object) -> tuple[Estimate, Estimate]:
    """(M over minibatch gradients of every step, M over full gradients at record steps) of a TrainRun."""
    mb = np.sqrt(np.asarray(run.grad_norm_sq, dtype=np.float64))
    full = np.sqrt(np.asarray(run.full_grad_norm_sq, dtype=np.float64))
    return (
        max_seen(mb, "minibatch gradient norm ||g_k|| along the run"),
        max_seen(full, "full gradient norm ||grad F(theta_k)|| at the record steps"),
    )


def per_example_norms(
    loss: ExampleLoss,
    params: Params,
    X: torch.Tensor,
    eps: torch.Tensor | None = None,
    chunk_size: int = 64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(||g_r||_2, ||g_r||_inf) for every row r of ``X`` (noise ``eps[r]``), via vmap."""
    l2, sup = [], []
    for start in range(0, X.shape[0], chunk_size):
        e = None if eps is None else eps[start : start + chunk_size]
        grads = per_example_gradients(loss, params, X[start : start + chunk_size], e)
        flat = torch.cat([g.reshape(g.shape[0], -1) for g in grads.values()], 1).to(torch.float64)
        l2.append(flat.norm(dim=1))
        sup.append(flat.abs().amax(1))
    return torch.cat(l2), torch.cat(sup)


def norms_at_point(
    loss: ExampleLoss,
    params: Params,
    X: torch.Tensor,
    eps: torch.Tensor | None = None,
    where: str = "the given point",
) -> tuple[Estimate, Estimate]:
    """(M, R) at one point: ``max_i ||g_i||`` and ``max_i ||g_i||_inf`` over the rows of X."""
    l2, sup = per_example_norms(loss, params, X, eps)
    n = int(X.shape[0])
    return (
        max_seen(l2.numpy(), f"per-example gradient norm ||g_i|| at {where}", n),
        max_seen(sup.numpy(), f"per-example gradient sup-norm ||g_i||_inf at {where}", n),
    )


def combine_max(estimates: Sequence[Estimate], what: str) -> Estimate:
    """The largest of several lower estimates of one supremum (the method names all of them)."""
    if not estimates:
        raise ConfigError(f"{what}: no estimates to combine")
    best = max(estimates, key=lambda e: e.value)
    if len(estimates) == 1:
        method = f"{what}: {best.method}"
    else:
        method = f"{what}: largest of {len(estimates)} estimates, attained by [{best.method}]"
    return Estimate(
        best.value,
        max(e.lo for e in estimates),
        max(e.hi for e in estimates),
        min(e.confidence for e in estimates),
        method,
        sum(e.n_evals for e in estimates),
    )
