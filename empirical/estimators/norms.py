"""M and R: the largest gradient norm (||g||_2 <= M) and sup-norm (||g||_inf <= R) seen.

Both are suprema, so every value here is a lower estimate, exact for what it maximised
over (docs/estimators.md, "M and R").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from empirical.errors import ConfigError
from empirical.estimators.per_example import ExampleLoss, per_example_gradients
from empirical.estimators.results import Estimate, Params, check_finite_array, exact


def max_seen(values: np.ndarray | Sequence[float], what: str, n_evals: int = 0) -> Estimate:
    """The exact maximum of recorded values, a lower estimate of their supremum.

    Args:
        values: The values.
        what: What they are, for the method.
        n_evals: The evaluations spent.

    Returns:
        The maximum, ``lo = hi = value``.

    Raises:
        ConfigError: No value.
        LossError: A value that is not finite.
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if x.size == 0:
        raise ConfigError(f"{what}: nothing recorded")
    check_finite_array(x, what)
    return exact(
        float(x.max()), f"max of {what} over {x.size} values; lower estimate of the supremum", n_evals
    )


def norms_along_run(run: object) -> tuple[Estimate, Estimate]:
    """M along a run, from its records.

    Args:
        run: A :class:`~empirical.train.TrainRun`.

    Returns:
        (M over the minibatch gradients of every step, M over the full gradients at the
        record steps).
    """
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
    """The norm and sup-norm of every row's gradient, via vmap.

    Args:
        loss: ``loss(params, x, eps)``.
        params: The point.
        X: The rows.
        eps: Each row's noise, or None.
        chunk_size: The rows per call.

    Returns:
        (||g_r||_2, ||g_r||_inf), each (n,).
    """
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
    """M and R at one point: ``max_i ||g_i||`` and ``max_i ||g_i||_inf`` over the rows of X.

    A minibatch gradient built from these rows is never larger (convexity of norms).

    Args:
        loss: ``loss(params, x, eps)``.
        params: The point.
        X: The rows.
        eps: Each row's noise, or None.
        where: The point's name, for the method.

    Returns:
        (M, R).
    """
    l2, sup = per_example_norms(loss, params, X, eps)
    n = int(X.shape[0])
    return (
        max_seen(l2.numpy(), f"per-example gradient norm ||g_i|| at {where}", n),
        max_seen(sup.numpy(), f"per-example gradient sup-norm ||g_i||_inf at {where}", n),
    )


def combine_max(estimates: Sequence[Estimate], what: str) -> Estimate:
    """The largest of several lower estimates of one supremum.

    Args:
        estimates: The estimates.
        what: The supremum's name, for the method (which names all of them).

    Returns:
        The largest value, with the largest ends and the smallest confidence.

    Raises:
        ConfigError: No estimate.
    """
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
