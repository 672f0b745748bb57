"""An unbiased estimate of ||grad F(theta)||^2 for a noisy objective: the U-statistic of gradients.

For m independent unbiased gradients, U = (||sum_a g_a||^2 - sum_a ||g_a||^2) / (m(m-1)) has
E U = ||grad F||^2 exactly, with a delete-one jackknife interval; nothing is subtracted and
nothing is clipped (docs/estimators.md, "An unbiased ||grad F||^2").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import torch

from empirical.errors import ConfigError, LossError
from empirical.estimators.per_example import ExampleLoss, check_dtypes, check_first_example, own_noise_refused
from empirical.estimators.results import (
    Estimate,
    Params,
    _t_quantile,
    check_confidence,
    check_finite,
    check_params,
    exact,
    seeded,
)
from empirical.validate import whole

Grads = torch.Tensor | Mapping[str, torch.Tensor]


def unbiased_sq_norm(*grads: Grads, batch_dims: int = 0) -> torch.Tensor:
    """U = (||sum_a g_a||^2 - sum_a ||g_a||^2) / (m(m-1)) over m >= 2 independent gradients.

    Each ``g_a`` is an unbiased estimate of grad F computed with its own noise; the result is
    an unbiased estimate of ||grad F||^2 (for two, <g_a, g_b>).

    Args:
        *grads: The gradients: tensors, or dicts of tensors with the same keys.
        batch_dims: The first dimensions that index separate records (e.g. runs batched into
            one computation) and are kept; the rest are summed.

    Returns:
        U, float64, one per record.

    Raises:
        ConfigError: Fewer than 2 gradients, or gradients of different kinds or shapes.
    """
    if len(grads) < 2:
        raise ConfigError(f"unbiased_sq_norm needs at least 2 independent gradients, got {len(grads)}")
    keys = {tuple(sorted(g)) if isinstance(g, Mapping) else None for g in grads}
    if len(keys) != 1:
        raise ConfigError("gradients must all be tensors or all dicts with the same keys")
    flat = [_flat(g, batch_dims) for g in grads]
    shapes = {tuple(f.shape) for f in flat}
    if len(shapes) != 1:
        raise ConfigError(f"gradients must have one shape, got {sorted(shapes)}")
    if len(flat) == 2:
        return (flat[0] * flat[1]).sum(-1)
    m = len(flat)
    total = sum(flat)
    sq = sum((f * f).sum(-1) for f in flat)
    return ((total * total).sum(-1) - sq) / (m * (m - 1))


def _flat(g: Grads, batch_dims: int) -> torch.Tensor:
    if isinstance(g, Mapping):
        parts = [v.to(torch.float64) for _, v in sorted(g.items())]
    elif isinstance(g, torch.Tensor):
        parts = [g.to(torch.float64)]
    else:
        raise ConfigError(f"a gradient must be a tensor or a dict of tensors, got {type(g).__name__}")
    if not parts:
        raise ConfigError("a gradient dict must not be empty")
    for p in parts:
        if p.ndim < batch_dims:
            raise ConfigError(f"batch_dims={batch_dims} exceeds a gradient's {p.ndim} dimensions")
    lead = parts[0].shape[:batch_dims]
    return torch.cat([p.reshape(*lead, -1) for p in parts], -1)


#: Most independent full-data gradients of gradient_norm_sq.
MAX_GRADIENTS = 10**4


def gradient_norm_sq(
    loss: ExampleLoss,
    params: Params,
    data: torch.Tensor,
    noise: Callable[[torch.Generator], torch.Tensor] | None = None,
    *,
    n_gradients: int = 8,
    generator: torch.Generator | None = None,
    seed: int = 0,
    confidence: float = 0.95,
    chunk_size: int = 4096,
) -> Estimate:
    """An unbiased estimate of ||grad F(params)||^2, F the mean over all rows of ``data``.

    ``n_gradients`` independent full-data gradients give the U-statistic and its jackknife
    t interval. Each full-data gradient is one batched (vmapped) evaluation, ``chunk_size``
    example evaluations at a time.

    Args:
        loss: ``loss(params, x, eps)``, the loss of one example under one noise draw.
        params: The point.
        data: The rows.
        noise: ``noise(generator)`` draws one eps (None: a deterministic loss, exact result).
        n_gradients: The independent gradients, >= 3.
        generator: The generator of the noise (default: seeded with ``seed``).
        seed: The seed when no generator is given.
        confidence: The interval's two-sided level.
        chunk_size: The example evaluations per call.

    Returns:
        The estimate; ``n_evals`` = the per-example gradients spent.

    Raises:
        ConfigError: Bad data or options, or data or noise of another floating dtype than params.
        LossError: A loss or noise that is not a finite tensor, or a loss that draws its own random
            numbers or carries no gradient with respect to params (detached: refused, not 0).
    """
    params = check_params(params)
    confidence = check_confidence(confidence)
    chunk_size = whole("chunk_size", chunk_size, 1)
    if not isinstance(data, torch.Tensor) or data.ndim < 1 or data.shape[0] < 1:
        raise ConfigError("data must be a non-empty tensor whose rows are examples")
    N = int(data.shape[0])
    check_dtypes(params, data)
    if noise is None:
        g = full_gradients(loss, params, data, None, chunk_size)[0]
        value = float((g * g).sum())
        return exact(value, f"||grad F||^2 from the full-data gradient over {N} rows (deterministic loss)", N)
    if isinstance(n_gradients, int) and not isinstance(n_gradients, bool) and n_gradients < 3:
        raise ConfigError(f"n_gradients must be >= 3 for a jackknife interval, got {n_gradients}")
    n_gradients = whole("n_gradients", n_gradients, 3, MAX_GRADIENTS)
    gen = seeded(generator, seed)
    m = n_gradients
    draws = [noise(gen) for _ in range(m * N)]
    if not all(isinstance(e, torch.Tensor) for e in draws):
        raise LossError("noise(generator) must return a torch.Tensor")
    eps = torch.stack(draws).reshape(m, N, *draws[0].shape)
    check_dtypes(params, data, eps)
    g = full_gradients(loss, params, data, eps, chunk_size)  # (m, d) float64
    return u_statistic_estimate(
        g,
        confidence,
        f"||grad F||^2 over {N} rows: U-statistic of <g_a, g_b> over {m} independent full-data "
        "gradients (unbiased), jackknife t interval",
        m * N,
    )


def u_statistic(g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """U and its delete-one jackknife variance from m >= 3 independent unbiased gradients per record.

    U = (||sum_a g_a||^2 - sum_a ||g_a||^2) / (m(m-1)), unbiased for ||grad F||^2, and
    v = (m-1)/m sum_a (U_(-a) - mean U_(-a))^2 on m - 1 degrees of freedom (E v >= Var U by the
    Efron-Stein inequality); the one definition of a recorded ||grad F||^2.

    Args:
        g: (..., m, d) gradients; leading dimensions index separate records (e.g. runs).

    Returns:
        (U, v), float64, one each per record.

    Raises:
        ConfigError: m < 3.
    """
    m = int(g.shape[-2])
    if m < 3:
        raise ConfigError(f"need at least 3 gradients for a jackknife variance, got {m}")
    g = g.to(torch.float64)
    gram = g @ g.transpose(-1, -2)  # <g_a, g_b>: everything below is a sum of its entries
    cross = gram.sum((-2, -1)) - torch.diagonal(gram, dim1=-2, dim2=-1).sum(-1)  # sum over a != b
    value = cross / (m * (m - 1))
    row = gram.sum(-1) - torch.diagonal(gram, dim1=-2, dim2=-1)  # sum over b != a of <g_a, g_b>
    loo = (cross.unsqueeze(-1) - 2.0 * row) / ((m - 1) * (m - 2))  # U without gradient a
    var = (m - 1) / m * (loo - loo.mean(-1, keepdim=True)).square().sum(-1)
    return value, var


def u_statistic_estimate(g: torch.Tensor, confidence: float, method: str, n_evals: int) -> Estimate:
    """U and its delete-one jackknife Student-t interval.

    Args:
        g: (m, d) gradients, m >= 3.
        confidence: The interval's two-sided level.
        method: What was computed.
        n_evals: The evaluations spent.

    Returns:
        The estimate, unclipped.

    Raises:
        LossError: A value or half-width that is not finite.
    """
    m = int(g.shape[0])
    value_t, var_t = u_statistic(g)
    value, var = float(value_t), float(var_t)
    half = _t_quantile(confidence, m - 1) * math.sqrt(var)
    if not (math.isfinite(value) and math.isfinite(half)):
        raise LossError(f"{method}: not finite (value {value}, half-width {half})")
    return Estimate(value, value - half, value + half, confidence, method, n_evals)


def full_gradients(
    loss: ExampleLoss,
    params: Params,
    X: torch.Tensor,
    eps: torch.Tensor | None,
    chunk_size: int = 4096,
) -> torch.Tensor:
    """Flat full-data gradients, one per noise set, in float64 (dict order).

    g_a = (1/N) sum_i grad l(params, x_i, eps[a, i]); every chunk is one call of
    ``vmap(grad(sum_i vmap(loss)))`` over the m noise sets.

    Args:
        loss: ``loss(params, x, eps)``.
        params: The point.
        X: The N rows.
        eps: (m, N, ...) noise, or None (deterministic: m = 1).
        chunk_size: The example evaluations per call.

    Returns:
        (m, d) gradients.

    Raises:
        LossError: A loss or gradient that is not finite, a loss that draws its own random numbers,
            or one that carries no gradient with respect to params.
    """
    detached = {k: v.detach() for k, v in params.items()}
    N = int(X.shape[0])
    m = 1 if eps is None else int(eps.shape[0])
    check_first_example(loss, detached, X[0], None if eps is None else eps[0, 0])
    rows = max(1, chunk_size // m)

    def chunk_sum(p: Params, Xc: torch.Tensor, ec: torch.Tensor | None) -> torch.Tensor:
        in_dims = (None, 0, None if ec is None else 0)
        return torch.func.vmap(loss, in_dims=in_dims)(p, Xc, ec).sum()

    total: list[torch.Tensor] | None = None
    for start in range(0, N, rows):
        Xc = X[start : start + rows]
        with own_noise_refused():
            if eps is None:
                parts = torch.func.grad(chunk_sum)(detached, Xc, None)
                parts = {k: v.unsqueeze(0) for k, v in parts.items()}
            else:
                ec = eps[:, start : start + rows]
                parts = torch.func.vmap(torch.func.grad(chunk_sum), in_dims=(None, None, 0))(detached, Xc, ec)
        flat = [parts[k].reshape(m, -1).to(torch.float64) for k in detached]
        total = flat if total is None else [t + f for t, f in zip(total, flat, strict=True)]
    assert total is not None
    g = torch.cat(total, -1) / N
    check_finite(g, "full-data gradient")
    return g
