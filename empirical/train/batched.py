"""R independent runs in one computation, and the unbiased records of ||grad F||^2.

The parameters of R runs are stacked along a leading axis; ``torch.func.vmap`` maps the
model's functional loss over that axis, so one forward and one backward pass give every
run's loss and gradient (the runs share nothing). Randomness stays an argument: each
run's minibatch indices and noise come from that run's own ``torch.Generator``, so run
i does exactly what a single run with the same generator does. The records:
docs/architecture.md, "Observed side".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch.func import vmap

from empirical.estimators.gradnorm import u_statistic

Tensors = dict[str, torch.Tensor]

#: Rows per chunk when differentiating the full-data objective.
FULL_CHUNK = 4096


def stack(params: Sequence[Mapping[str, torch.Tensor]]) -> Tensors:
    """Stack R runs' parameters along a leading run axis.

    Args:
        params: R dicts of one run each.

    Returns:
        One dict of tensors (R, ...).
    """
    return {key: torch.stack([p[key] for p in params]) for key in params[0]}


def run_slice(params: Mapping[str, torch.Tensor], i: int) -> Tensors:
    """One run's parameters from a stacked dict.

    Args:
        params: The stacked parameters.
        i: The run.

    Returns:
        Run ``i``'s parameters.
    """
    return {key: p[i] for key, p in params.items()}


def per_run_sq_norm(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """The squared Euclidean norm over all parameters of each run.

    Args:
        tensors: Tensors with a leading run axis.

    Returns:
        (R,) norms.
    """
    return torch.stack([t.reshape(t.shape[0], -1).square().sum(1) for t in tensors]).sum(0)


def per_run_sup_norm(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """The sup-norm ||theta||_inf over all parameters of each run.

    Args:
        tensors: Tensors with a leading run axis.

    Returns:
        (R,) norms.
    """
    return torch.stack([t.reshape(t.shape[0], -1).abs().amax(1) for t in tensors]).amax(0)


def draw_minibatches(
    model: object, N: int, batch_size: int, generators: Sequence[torch.Generator]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each run's minibatch: B rows drawn uniformly with replacement, and their noise.

    Args:
        model: The VAE.
        N: The data rows.
        batch_size: B.
        generators: One generator per run.

    Returns:
        (indices (R, B), noise (R, B, K, d)).
    """
    idx = [torch.randint(N, (batch_size,), generator=g) for g in generators]
    eps = [model.sample_noise(g, batch_size) for g in generators]
    return torch.stack(idx), torch.stack(eps)


def minibatch_gradients(
    model: object,
    leaves: Mapping[str, torch.Tensor],
    X: torch.Tensor,
    idx: torch.Tensor,
    eps: torch.Tensor,
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Every run's minibatch loss and gradient at its own parameters (one vmapped pass each way).

    Args:
        model: The VAE.
        leaves: The stacked parameters, requiring grad.
        X: The data.
        idx: (R, B) row indices.
        eps: (R, B, K, d) noise.

    Returns:
        (losses (R,), gradients stacked like ``leaves``).
    """
    losses = vmap(model.batch_loss)(dict(leaves), X[idx.to(X.device)], eps.to(X.device))
    grads = torch.autograd.grad(losses.sum(), list(leaves.values()))
    return losses.detach(), grads


def full_gradients(
    model: object, params: Mapping[str, torch.Tensor], X: torch.Tensor, eps: torch.Tensor | None
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """The full-data objective and its gradient for C parameter copies.

    F_c is the mean over the N rows of X of the loss under noise ``eps[c]``, in chunks of
    :data:`FULL_CHUNK` rows.

    Args:
        model: The VAE.
        params: C stacked copies of the parameters.
        X: Every row.
        eps: (C, N, K, d) noise, or None for the exact loss.

    Returns:
        (F values (C,), gradients (C, ...)).
    """
    N = X.shape[0]
    keys = list(params)
    leaves = [params[k].detach().requires_grad_(True) for k in keys]
    C = leaves[0].shape[0]
    values = torch.zeros(C, dtype=leaves[0].dtype, device=X.device)
    totals = [torch.zeros_like(p) for p in leaves]
    f = vmap(model.batch_loss, in_dims=(0, None, 0))
    for start in range(0, N, FULL_CHUNK):
        Xc = X[start : start + FULL_CHUNK]
        if eps is None:
            e = torch.zeros((C, Xc.shape[0], model.K, model.latent_dim), dtype=X.dtype, device=X.device)
        else:
            e = eps[:, start : start + FULL_CHUNK].to(X.device)
        Fc = f(dict(zip(keys, leaves, strict=True)), Xc, e) * (Xc.shape[0] / N)
        grads = torch.autograd.grad(Fc.sum(), leaves)
        values += Fc.detach()
        totals = [t + g for t, g in zip(totals, grads, strict=True)]
    return values, tuple(totals)


#: Independent gradients per record: the U-statistic over 3 of them and its jackknife
#: variance (2 degrees of freedom).
RECORD_GRADIENTS = 3
#: Rows (over all copies) per vmapped call when the records' gradients are over sampled rows.
SAMPLED_CALL_ROWS = 16384


def gradient_norm_records(
    model: object,
    params: Mapping[str, torch.Tensor],
    X: torch.Tensor,
    generators: Sequence[torch.Generator],
    rows: Sequence[int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every run's F(theta), unbiased ||grad F(theta)||^2 and its variance.

    ||grad F||^2 is the U-statistic of m = :data:`RECORD_GRADIENTS` gradients, each over
    ``rows[i]`` rows of X drawn uniformly without replacement for run i, with noise drawn
    independently from the run's recording generator: E<G_a, G_b> = <E G_a, E G_b> =
    ||grad F||^2 exactly, nothing to subtract
    (:func:`empirical.estimators.gradnorm.u_statistic`, the one definition; rows as in
    :mod:`empirical.estimators.sampled`), with its delete-one jackknife variance on m - 1
    degrees of freedom, batched over runs. A deterministic loss needs one full-data
    gradient: ||G||^2 is exact (variance 0). F is the mean of the gradients' losses (unbiased).

    Args:
        model: The VAE.
        params: The stacked parameters of R runs.
        X: The data.
        generators: Each run's recording generator.
        rows: The rows of each run's gradients (None, or N: all rows, the full-data gradient).

    Returns:
        (F (R,), ||grad F||^2 (R,), its variance (R,)), float64.
    """
    R = len(generators)
    if getattr(model, "is_deterministic", False):
        values, grads = full_gradients(model, params, X, None)
        return values.double(), per_run_sq_norm(grads).double(), torch.zeros(R, dtype=torch.float64)
    m = RECORD_GRADIENTS
    N = X.shape[0]
    rows = [N] * R if rows is None else [min(int(b), N) for b in rows]
    copies = {k: p.detach().repeat_interleave(m, dim=0) for k, p in params.items()}
    if all(b == N for b in rows):
        shape = (m, N, model.K, model.latent_dim)
        eps = torch.stack([model.sample_noise(g, m * N, X.dtype).reshape(shape) for g in generators])
        values, grads = full_gradients(model, copies, X, eps.reshape(m * R, *shape[1:]))
    else:
        idx, eps, weights = _sampled_rows(model, N, rows, generators, X.dtype)
        values, grads = sampled_gradients(model, copies, X, idx, eps, weights)
    flat = torch.cat([g.reshape(R, m, -1) for g in grads], -1)
    records, var = u_statistic(flat)
    return values.reshape(R, m).mean(1).double(), records, var


def _sampled_rows(
    model: object, N: int, rows: Sequence[int], generators: Sequence[torch.Generator], dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(indices (R m, b), noise (R m, b, K, d), weights (R m, b)) of every run's m gradients.

    Run i draws, from its own generator, its rows (:func:`empirical.estimators.sampled.draw_rows`;
    all N in order when ``rows[i]`` = N) and then their noise, so its draws do not depend on the
    other runs; b = max rows, a run with fewer is padded with weight 0 (weights 1/rows[i]).
    """
    from empirical.estimators.sampled import draw_rows

    m, b = RECORD_GRADIENTS, max(rows)
    idx, eps, weights = [], [], []
    for g, n in zip(generators, rows, strict=True):
        drawn = draw_rows(N, n, m, g)
        drawn = torch.arange(N).expand(m, N) if drawn is None else drawn
        noise = model.sample_noise(g, m * n, dtype).reshape(m, n, model.K, model.latent_dim)
        w = torch.full((m, n), 1.0 / n, dtype=dtype)
        if n < b:
            drawn = torch.cat([drawn, torch.zeros((m, b - n), dtype=drawn.dtype)], 1)
            noise = torch.cat([noise, noise.new_zeros((m, b - n, *noise.shape[2:]))], 1)
            w = torch.cat([w, w.new_zeros((m, b - n))], 1)
        idx.append(drawn)
        eps.append(noise)
        weights.append(w)
    return torch.cat(idx), torch.cat(eps), torch.cat(weights)


def sampled_gradients(
    model: object,
    params: Mapping[str, torch.Tensor],
    X: torch.Tensor,
    idx: torch.Tensor,
    eps: torch.Tensor,
    weights: torch.Tensor,
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Weighted losses over sampled rows and their gradients, for C parameter copies.

    Each copy's value is sum_r weights[c, r] l(theta_c, X[idx[c, r]], eps[c, r]), computed
    :data:`SAMPLED_CALL_ROWS` rows (over all copies) per vmapped call.

    Args:
        model: The VAE.
        params: C stacked copies of the parameters.
        X: The data.
        idx: (C, b) row indices.
        eps: (C, b, K, d) noise.
        weights: (C, b) weights.

    Returns:
        (values (C,), gradients (C, ...)).
    """
    keys = list(params)
    leaves = [params[k].detach().requires_grad_(True) for k in keys]
    C, b = idx.shape
    values = torch.zeros(C, dtype=leaves[0].dtype, device=X.device)
    totals = [torch.zeros_like(p) for p in leaves]

    def weighted(p: Tensors, x: torch.Tensor, e: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return (model.batch_losses(p, x, e) * w).sum()

    f = vmap(weighted)
    step = max(1, SAMPLED_CALL_ROWS // C)
    for start in range(0, b, step):
        sl = slice(start, start + step)
        Fc = f(dict(zip(keys, leaves, strict=True)), X[idx[:, sl].to(X.device)], eps[:, sl].to(X.device),
               weights[:, sl].to(X.device))  # fmt: skip
        grads = torch.autograd.grad(Fc.sum(), leaves)
        values += Fc.detach()
        totals = [t + g for t, g in zip(totals, grads, strict=True)]
    return values, tuple(totals)
