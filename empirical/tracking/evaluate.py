"""Calling a user's ``loss(model, x)`` at given parameters without disturbing the user's run.

Every call runs inside ``torch.random.fork_rng`` seeded from the tracker's generator
(the loss draws its noise from the global RNG: the user's stream is untouched and our
numbers are reproducible), with the module's buffers (e.g. BatchNorm running statistics)
restored afterwards, and at parameters given as a dict (``torch.func.functional_call``:
a snapshot is evaluated without loading it into the model).

The records: m >= 3 independent gradients g_a = (1/b) sum_{i in S_a} grad l(theta, x_i, eps_i),
each over b rows drawn uniformly with replacement with fresh noise, are unbiased for
grad F (F the mean loss over all rows of the data), so their U-statistic
(:func:`empirical.estimators.gradnorm.u_statistic`) is an unbiased record of
||grad F(theta)||^2, with its jackknife variance on m - 1 degrees of freedom.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from empirical.estimators.gradnorm import u_statistic
from empirical.estimators.module_stats import LossModule, checked_losses

ModuleLoss = Callable[[nn.Module, torch.Tensor], torch.Tensor]
Params = dict[str, torch.Tensor]


@contextmanager
def isolated(model: nn.Module, seed: int) -> Iterator[None]:
    """The global RNG forked and seeded with ``seed``, the module's buffers restored afterwards."""
    saved = {name: b.detach().clone() for name, b in model.named_buffers()}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            yield
        finally:
            with torch.no_grad():
                for name, b in model.named_buffers():
                    if name in saved:
                        b.copy_(saved[name])


def per_example(model: nn.Module, loss: ModuleLoss, params: Mapping[str, torch.Tensor], x: torch.Tensor):
    """loss(model, x) at ``params`` (names of ``model.named_parameters()``), shape (len(x),), checked."""
    wrapper = LossModule(model, loss)
    swapped = {f"model.{k}": v for k, v in params.items()}
    return checked_losses(torch.func.functional_call(wrapper, swapped, (x,), strict=False), x)


def flat(grads: tuple[torch.Tensor, ...]) -> torch.Tensor:
    return torch.cat([g.reshape(-1).to(torch.float64) for g in grads])


@dataclass(frozen=True)
class Record:
    """An unbiased record of ||grad F(theta)||^2, its jackknife variance, and an unbiased
    estimate of F(theta) (the mean of every loss evaluated for it)."""

    value: float
    variance: float
    loss: float


def gradient(
    model: nn.Module, loss: ModuleLoss, params: Params, x: torch.Tensor, live: bool = False
) -> tuple[float, torch.Tensor]:
    """(mean loss over the rows x, flat float64 gradient of it) at ``params``, the loss drawing its
    noise from the global RNG as it stands (call inside :func:`isolated`). ``live``: ``params``
    are the model's own parameters (no swapping; ``autograd.grad`` leaves their ``.grad`` alone)."""
    leaves = params if live else {k: v.detach().requires_grad_(True) for k, v in params.items()}
    out = (checked_losses(loss(model, x), x) if live else per_example(model, loss, leaves, x)).mean()
    grads = torch.autograd.grad(out, list(leaves.values()), allow_unused=True)
    grads = tuple(torch.zeros_like(leaves[k]) if g is None else g for k, g in zip(leaves, grads, strict=True))
    return float(out.detach()), flat(grads)


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
) -> Record:
    """The record at ``params`` (module docstring): m gradients over ``rows`` rows drawn
    uniformly with replacement, or over all rows of ``data`` (``rows`` None), one after the
    other inside one forked RNG stream seeded from ``generator``, so each has its own noise;
    a full-data gradient is computed ``chunk`` rows at a time. ``live``: ``params`` are the
    model's own parameters (theta_k of a running loop)."""
    N = int(data.shape[0])
    grads, losses = [], []
    seed = int(torch.randint(2**62, (1,), generator=generator))
    with isolated(model, seed):
        for _ in range(m):
            if rows is None:
                parts = [data[start : start + chunk] for start in range(0, N, chunk)]
            else:
                parts = [data[torch.randint(N, (rows,), generator=generator)]]
            total, value = None, 0.0
            for x in parts:
                f, g = gradient(model, loss, params, x, live)
                w = x.shape[0] / (N if rows is None else rows)
                total = g * w if total is None else total + g * w
                value += f * w
            grads.append(total)
            losses.append(value)
    u, var = u_statistic(torch.stack(grads))
    return Record(float(u), float(var), sum(losses) / m)
