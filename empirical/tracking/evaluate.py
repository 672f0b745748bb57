"""Calling a user's ``loss(model, x)`` at given parameters without disturbing the user's run.

Every evaluation runs inside :func:`empirical.rng.forked` (the CPU generator and those of
the CUDA devices the module lives on), seeded once from the tracker's generator (the loss
draws its noise from the global RNG: the user's streams are untouched and our numbers are
reproducible), with the module's buffers (e.g. BatchNorm running statistics) replaced by
clones for the evaluation (the user's own are never written), and at parameters given as
a dict (``torch.func.functional_call``: a snapshot is evaluated without loading it into the
model). Rows are drawn from the tracker's own ``torch.Generator`` and moved to the data's
device.

:func:`probe` checks a model and its loss once, before any training: one forward and
backward on a few rows, with a one-line :class:`~empirical.errors.ConfigError` for each way
they can be unusable.

The records: m >= 3 independent gradients g_a = (1/b) sum_{i in S_a} grad l(theta, x_i, eps_i),
each over b rows drawn uniformly with replacement with fresh noise, are unbiased for
grad F (F the mean loss over all rows of the data), so their U-statistic
(:func:`empirical.estimators.gradnorm.u_statistic`) is an unbiased record of
||grad F(theta)||^2, with its jackknife variance on m - 1 degrees of freedom. The m
gradients come from one forward pass over the m x b rows and one backward batched over the
m group means (:func:`gradients`), or, for a loss whose backward cannot be batched, one by
one (:func:`gradient`): the same statistic.

The unbiased record and its variance: docs/estimators.md, "An unbiased ||grad F||^2".
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from empirical.errors import ConfigError, LossError
from empirical.estimators.gradnorm import u_statistic
from empirical.estimators.module_stats import LossModule, checked_losses
from empirical.rng import cuda_devices, forked

ModuleLoss = Callable[[nn.Module, torch.Tensor], torch.Tensor]
Params = dict[str, torch.Tensor]


@contextmanager
def isolated(model: nn.Module, seed: int) -> Iterator[None]:
    """A block with its own random stream and the module's buffers left as they were.

    The global generators of the CPU and of the module's CUDA devices are forked and seeded
    with ``seed`` (:func:`empirical.rng.forked`).

    For the block every buffer (e.g. BatchNorm's running statistics) is replaced by a clone,
    which the loss may update; afterwards the module gets its own buffer tensors back by
    reference. Nothing is written into the user's buffers (their values and autograd version
    counters are untouched), and a graph built in the block keeps the clones it read, so its
    backward may run after the block.

    Args:
        model: The user's module.
        seed: The stream's seed.

    Yields:
        Nothing: the block runs with the seeded generators and the cloned buffers.
    """
    owners = [(m, name, b) for m in model.modules() for name, b in m._buffers.items() if b is not None]
    clones: dict[int, torch.Tensor] = {}
    for m, name, b in owners:  # one clone per tensor: a buffer shared between modules stays shared
        m._buffers[name] = clones.setdefault(id(b), b.detach().clone())
    try:
        with forked(seed, cuda_devices(model)):
            yield
    finally:
        for m, name, b in owners:
            m._buffers[name] = b


def per_example(model: nn.Module, loss: ModuleLoss, params: Mapping[str, torch.Tensor], x: torch.Tensor):
    """The per-example losses ``loss(model, x)`` at ``params``, checked.

    Args:
        model: The user's module.
        loss: ``loss(model, x)``.
        params: Name (of ``model.named_parameters()``) -> tensor.
        x: The rows.

    Returns:
        The losses, shape (len(x),).
    """
    wrapper = LossModule(model, loss)
    swapped = {f"model.{k}": v for k, v in params.items()}
    return checked_losses(torch.func.functional_call(wrapper, swapped, (x,), strict=False), x)


def flat(grads: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """The gradients as one flat float64 vector (one concatenation, one conversion).

    Args:
        grads: One gradient per parameter.

    Returns:
        Their concatenation, float64.
    """
    return torch.cat([g.reshape(-1) for g in grads]).to(torch.float64)


@dataclass(frozen=True)
class Record:
    """An unbiased record of ||grad F(theta)||^2, its jackknife variance, and F(theta).

    The loss is unbiased too: the mean of every loss evaluated for the record (module docstring).
    ``batched``: True when its m gradients came from one forward and one batched backward
    (:func:`gradients`), False when that was tried and the loss could not be batched (they were
    taken one by one), None when it was not tried.
    """

    value: float
    variance: float
    loss: float
    batched: bool | None = None


def gradient(
    model: nn.Module, loss: ModuleLoss, params: Params, x: torch.Tensor, live: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean loss over the rows x and its gradient at ``params``.

    The loss draws its noise from the global RNG as it stands (call inside :func:`isolated`).
    Nothing is read back (no synchronisation); :func:`record` checks that the record it makes
    is finite.

    Args:
        model: The user's module.
        loss: ``loss(model, x)``.
        params: Name -> tensor.
        x: The rows.
        live: ``params`` are the model's own parameters (no swapping; ``autograd.grad`` leaves
            their ``.grad`` alone).

    Returns:
        (the mean loss, a 0-d tensor; its gradient, flat float64).
    """
    leaves = params if live else {k: v.detach().requires_grad_(True) for k, v in params.items()}
    out = (_shaped(loss(model, x), x) if live else per_example(model, loss, leaves, x)).mean()
    grads = torch.autograd.grad(out, list(leaves.values()), allow_unused=True)
    grads = tuple(torch.zeros_like(leaves[k]) if g is None else g for k, g in zip(leaves, grads, strict=True))
    return out.detach(), flat(grads)


def gradients(
    model: nn.Module, loss: ModuleLoss, params: Params, x: torch.Tensor, m: int, live: bool = False
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The m gradients of :func:`record`, each over its own len(x)/m rows, in one pass.

    One forward over all the rows (their losses are per example: row i's loss depends on row i
    and its own noise only, as F's definition as a mean over rows already takes), the m group
    means, and one backward batched over them (``torch.autograd.grad(..., is_grads_batched=True)``):
    g_a = grad of (1/b) sum_{i in S_a} l(theta, x_i, eps_i), exactly the gradients
    :func:`gradient` gives group by group, for about half the cost on a small model (where a
    pass costs its operators' dispatch, not their arithmetic).

    Args:
        model: The user's module.
        loss: ``loss(model, x)``.
        params: Name -> tensor.
        x: The rows, m groups of len(x)/m one after the other.
        m: The groups.
        live: ``params`` are the model's own parameters.

    Returns:
        (the m mean losses, (m,); the m gradients, (m, d) float64), or None when the backward
        cannot be batched over this loss (an operator without a batching rule: it raised or
        warned), and :func:`gradient` must take them one by one.
    """
    leaves = params if live else {k: v.detach().requires_grad_(True) for k, v in params.items()}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # vmap's slow fallback warns: one by one is faster then
            out = _shaped(loss(model, x), x) if live else per_example(model, loss, leaves, x)
            means = out.reshape(m, -1).mean(1)
            eye = torch.eye(m, dtype=means.dtype, device=means.device)
            grads = torch.autograd.grad(
                means, list(leaves.values()), eye, is_grads_batched=True, allow_unused=True
            )
    except (RuntimeError, NotImplementedError, Warning):
        return None
    parts = [
        torch.zeros((m, leaves[k].numel()), dtype=leaves[k].dtype, device=leaves[k].device)
        if g is None
        else g.reshape(m, -1)
        for k, g in zip(leaves, grads, strict=True)
    ]
    return means.detach(), torch.cat(parts, 1).to(torch.float64)


def batches_well(model: nn.Module) -> bool:
    """Whether a record's m gradients are taken in one batched pass (:func:`gradients`) for ``model``.

    Decided by the module's layers, never by timing (the two ways may draw the loss's noise in
    a different order, so a timed choice would make the records depend on the machine's load):
    not for a module with convolutions, whose backward batched over the m group means is slower
    than m backward passes (measured on empirical.conv's VAE: a record 122 ms batched against
    69 ms one by one, a step 23 ms), and for every other module, where a pass costs its
    operators' dispatch more than their arithmetic (MLP VAEs of 6k to 158k parameters: 0.6 to
    0.86 of one by one).

    Args:
        model: The user's module.

    Returns:
        False when it holds a convolution (``nn.Conv1d/2d/3d`` and their transposes).
    """
    return not any(isinstance(m, nn.modules.conv._ConvNd) for m in model.modules())


def _shaped(out: object, x: torch.Tensor) -> torch.Tensor:
    """``loss(model, x)`` of shape (len(x),) (finiteness is checked on the record it enters)."""
    if not isinstance(out, torch.Tensor) or out.shape != (x.shape[0],):
        return checked_losses(out, x)  # its message names what was wrong
    return out


def record(
    model: nn.Module,
    loss: ModuleLoss,
    params: Params,
    data: torch.Tensor,
    rows: int | None,
    m: int,
    generator: torch.Generator,
    chunk: int = 4096,
    live: bool = False,
    batched: bool = True,
) -> Record:
    """The record at ``params`` (module docstring).

    M gradients over ``rows`` rows drawn uniformly with replacement (all m x ``rows`` in one
    draw and one pass when ``batched``), or over all rows of ``data`` (``rows`` None), inside
    one forked RNG stream seeded from ``generator`` (seeded once per record), so each row has
    its own noise; a full-data gradient is computed ``chunk`` rows at a time.

    Args:
        model: The user's module.
        loss: ``loss(model, x)``.
        params: Name -> tensor, the point theta.
        data: The rows F is the mean loss over.
        rows: Rows per gradient (None: all of them).
        m: Gradients (>= 2: the U-statistic of their pairwise inner products).
        generator: Seeds the record's stream.
        chunk: Rows per piece of a full-data gradient.
        live: ``params`` are the model's own parameters (theta_k of a running loop).
        batched: Try :func:`gradients` (one pass over the m x ``rows`` rows; at most ``chunk``
            of them); when the loss cannot be batched, or False, the gradients are taken one
            by one. The record is the same statistic either way.

    Returns:
        The record, its jackknife variance and the loss.

    Raises:
        LossError: The record, its variance or the loss is NaN or inf.
    """
    N = int(data.shape[0])
    grads, losses = [], []
    seed = int(torch.randint(2**62, (1,), generator=generator))
    tried = batched and rows is not None and m * rows <= chunk
    with isolated(model, seed):
        if tried:
            x = data[torch.randint(N, (m * rows,), generator=generator).to(data.device)]
            got = gradients(model, loss, params, x, m, live)
            if got is not None:
                return _record(*got, batched=True)
        for _ in range(m):
            if rows is None:
                parts = [data[start : start + chunk] for start in range(0, N, chunk)]
            else:
                parts = [data[torch.randint(N, (rows,), generator=generator).to(data.device)]]
            if len(parts) == 1:
                f, total = gradient(model, loss, params, parts[0], live)
            else:
                f, total = 0.0, 0.0
                for x in parts:
                    fx, gx = gradient(model, loss, params, x, live)
                    w = x.shape[0] / N
                    f, total = f + fx * w, total + gx * w
            grads.append(total)
            losses.append(f)
    return _record(torch.stack(losses), torch.stack(grads), batched=False if tried else None)


def _record(losses: torch.Tensor, grads: torch.Tensor, batched: bool | None) -> Record:
    """The :class:`Record` of m losses and m gradients (m, d), read back in one synchronisation."""
    u, var = u_statistic(grads)
    value, variance, mean_loss = (float(t) for t in torch.stack([u, var, losses.double().mean()]))
    if not all(math.isfinite(t) for t in (value, variance, mean_loss)):
        raise LossError(
            f"loss(model, x) gave a record that is not finite: ||grad F||^2 {value}, its variance "
            f"{variance}, F {mean_loss} (NaN or inf in the losses or their gradients)"
        )
    return Record(value, variance, mean_loss, batched)


#: Rows the probe evaluates the loss on.
PROBE_ROWS = 2


def probe(model: nn.Module, loss: ModuleLoss, params: Mapping[str, torch.Tensor], data: torch.Tensor) -> None:
    """Check that ``loss(model, x)`` is usable on the rows of ``data`` before any training.

    One forward and backward on the first :data:`PROBE_ROWS` rows, isolated (:func:`isolated`,
    seed 0; ``.grad`` untouched).

    Args:
        model: the user's module.
        loss: ``loss(model, x)``, per-example losses.
        params: the parameters that are trained (name -> parameter of ``model``); empty is an
            error.
        data: the rows (2-D), on the module's device.

    Raises:
        ConfigError: one line saying what is wrong (no parameter requiring grad, the loss failing
            on the data's rows, e.g. a module built for another width, losses of the wrong
            shape, an integer dtype, NaN or inf, no dependence on the parameters, a gradient
            that is not finite) and what is allowed.

    """
    if not params:
        raise ConfigError(
            "the model has no parameter that requires grad and is trained by the optimizer: "
            "nothing to track (give the optimizer the module's trainable parameters)"
        )
    x = data[:PROBE_ROWS]
    D = int(data.shape[1])
    with isolated(model, 0):
        try:
            out = loss(model, x)
        except Exception as err:  # the user's code: any error it raises on our rows is bad input
            raise ConfigError(
                f"loss(model, x) failed on {x.shape[0]} rows of the data ({D} columns, {x.dtype}): "
                f"{type(err).__name__}: {_first_line(err)} (is the module built for {D} columns?)"
            ) from err
        if isinstance(out, torch.Tensor) and not (out.is_floating_point() or out.is_complex()):
            raise ConfigError(
                f"loss(model, x) returned {str(out.dtype).removeprefix('torch.')} losses: they must be "
                "floating-point (per-example losses that depend on the parameters)"
            )
        try:
            out = checked_losses(out, x)
        except ValueError as err:
            raise ConfigError(str(err)) from err
        leaves = list(params.values())
        if not out.requires_grad:
            raise ConfigError(
                "loss(model, x) does not depend on the trained parameters (its output needs no "
                "gradient): the loss must be computed from the model's parameters"
            )
        grads = torch.autograd.grad(out.sum(), leaves, allow_unused=True)
    if all(g is None for g in grads):
        raise ConfigError(
            "loss(model, x) does not depend on the trained parameters (no gradient reaches any of "
            "them): the loss must be computed from the model's parameters"
        )
    if not all(bool(torch.isfinite(g).all()) for g in grads if g is not None):
        raise ConfigError("the gradient of loss(model, x) is NaN or inf at the initial parameters")


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else "(no message)"
