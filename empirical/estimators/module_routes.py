"""The two routes to per-example gradient statistics of a user's module, and the loss they call.

The per-layer route (output gradients of ``nn.Linear`` and ``nn.Conv2d`` times their inputs,
checked against autograd on a probe at first use, the verdicts cached per model and loss) and
the vmap route (``vmap(grad(functional_call))`` over rows) for every other parameter; the
user's loss draws its noise in a forked, seeded RNG. :mod:`empirical.estimators.module_stats`
assembles them; the method is in docs/estimators.md, "Per-example gradients".
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

from empirical.errors import LossError
from empirical.estimators.per_example import RowStats, stats_of_gradients
from empirical.estimators.per_layer import Layer, capture, layer_stats, output_grads, row_grads
from empirical.estimators.results import with_gradient
from empirical.validate import SEED_MAX, whole

__all__ = [
    "PER_LAYER",
    "VMAP",
    "LossModule",
    "ModuleLoss",
    "checked_losses",
    "per_layer_pass",
    "verdicts",
    "vmap_stats",
]

#: ``loss(model, x) -> per-example losses (len(x),)``, drawing its own noise.
ModuleLoss = Callable[[nn.Module, torch.Tensor], torch.Tensor]

PER_LAYER, VMAP = "per-layer", "vmap"
PROBE_EXAMPLES, PROBE_DRAWS = 3, 2

# model -> loss -> {parameter name: True (per-layer verified) | False (vmap) | None (unused at the
# probe)}; weak on both, so verdicts live as long as the model and the loss do.
_VERIFIED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@contextmanager
def _forked(seed: int, model: nn.Module) -> Iterator[None]:
    """Give the user's loss (which draws from torch's global RNG) its own stream.

    The streams of the CPU and of the module's devices are seeded for the block and restored
    afterwards (:func:`empirical.rng.forked`).
    """
    from empirical.rng import cuda_devices, forked

    with forked(whole("seed", seed, 0, SEED_MAX), cuda_devices(model)):
        yield


def _losses(model: nn.Module, loss: ModuleLoss, rows: torch.Tensor) -> torch.Tensor:
    """The checked per-example losses, to be differentiated: refused when they carry no gradient."""
    return with_gradient(checked_losses(loss(model, rows), rows), "loss(model, x)")


def checked_losses(out: object, rows: torch.Tensor) -> torch.Tensor:
    """The output of ``loss(model, rows)``, checked.

    Args:
        out: The output.
        rows: The rows given.

    Returns:
        ``out``: per-example losses of shape (len(rows),), finite.

    Raises:
        LossError: Another shape, or a value that is not finite.
    """
    if not isinstance(out, torch.Tensor) or out.shape != (rows.shape[0],):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise LossError(
            f"loss(model, x) must return per-example losses of shape ({rows.shape[0]},), got {shape}"
        )
    if not torch.isfinite(out).all():
        raise LossError("loss(model, x) returned NaN or inf")
    return out


def per_layer_pass(
    model: nn.Module,
    loss: ModuleLoss,
    layers: list[Layer],
    verdicts: dict[str, bool | None],
    rows: torch.Tensor,
    n: int,
    J: int,
    seed: int,
) -> tuple[dict[str, RowStats], set[str]]:
    """Per-row gradient statistics of the verified parameters of ``layers``, by per-layer norms.

    One forward and backward of ``loss(model, rows)`` with the layers' inputs and output
    gradients captured; a row's gradient of a weight is its output gradient times its input
    (docs/estimators.md, "Per-example gradients"). A layer whose calls do not split into rows,
    or one unused at the probe that is called now, is left to vmap.

    Args:
        model: The user's module.
        loss: ``loss(model, x)``.
        layers: The layers to take (:func:`empirical.estimators.per_layer.known_layers`).
        verdicts: Each parameter's verdict from :func:`verdicts` (False: vmap).
        rows: The n examples, each repeated J times, (n J, ...).
        n: Examples.
        J: Draws per example.
        seed: The seed of the loss's noise.

    Returns:
        (statistics by parameter name, the names left to vmap).
    """
    if not layers:
        return {}, set()
    with _forked(seed, model), capture(layers) as calls:
        losses = _losses(model, loss, rows)
    grads = output_grads(losses.sum(), layers, calls)
    stats: dict[str, RowStats] = {}
    late: set[str] = set()
    for layer in layers:
        keys = [k for k in layer.keys if verdicts[k] is not False]
        got = None
        if not (grads[layer.name] and any(verdicts[k] is None for k in keys)):
            got = layer_stats(layer, grads[layer.name], n, J)
        if got is None:
            late.update(keys)
        else:
            stats.update({k: got[k] for k in keys})
    return stats, late


def verdicts(
    model: nn.Module,
    loss: ModuleLoss,
    layers: list[Layer],
    params: dict[str, torch.Tensor],
    X: torch.Tensor,
    seed: int,
) -> dict[str, bool | None]:
    """Per parameter of ``layers``: whether its per-layer gradients equal per-row autograd on a probe.

    The probe is the first :data:`PROBE_EXAMPLES` rows, :data:`PROBE_DRAWS` draws each; the
    per-layer gradient of a row agrees when ||mine - autograd|| <= sqrt(eps) ||autograd||.
    Cached per (model, loss): the probe runs at first use.

    Args:
        model: The user's module.
        loss: ``loss(model, x)``.
        layers: The layers to check.
        params: The trainable parameters by name.
        X: The examples (the probe takes the first few).
        seed: The seed of the loss's noise at the probe.

    Returns:
        Parameter name -> True (per-layer verified), False (vmap) or None (took no part in
        the loss at the probe: gradient 0).
    """
    cache = _cache_for(model, loss)
    todo = [layer for layer in layers if any(k not in cache for k in layer.keys)]
    if todo:
        rows = X[:PROBE_EXAMPLES].repeat_interleave(PROBE_DRAWS, 0)
        R = int(rows.shape[0])
        with _forked(seed, model), capture(todo) as calls:
            losses = _losses(model, loss, rows)
        grads = output_grads(losses.sum(), todo, calls, retain_graph=True)
        keys = [k for layer in todo for k in layer.keys]
        wrt = [params[k] for k in keys]
        per_row = [
            torch.autograd.grad(losses[r], wrt, retain_graph=True, allow_unused=True) for r in range(R)
        ]
        brute = {
            k: torch.stack([torch.zeros_like(params[k]) if g[j] is None else g[j] for g in per_row])
            for j, k in enumerate(keys)
        }
        tol = math.sqrt(torch.finfo(rows.dtype).eps)
        for layer in todo:
            mine = row_grads(layer, grads[layer.name], R)
            for k in layer.keys:
                got = None if mine is None else mine[k]
                cache[k] = _agrees(got, brute[k], bool(grads[layer.name]), tol)
    return {k: cache[k] for layer in layers for k in layer.keys}


def _cache_for(model: nn.Module, loss: ModuleLoss) -> dict[str, bool | None]:
    """The verdicts of (model, loss); a fresh dict (no caching) for a loss without weak references."""
    per_loss = _VERIFIED.setdefault(model, weakref.WeakKeyDictionary())
    try:
        return per_loss.setdefault(loss, {})
    except TypeError:
        return {}


def _agrees(mine: torch.Tensor | None, ref: torch.Tensor, called: bool, tol: float) -> bool | None:
    """The verdict of one parameter: ``mine`` (per-layer, None: layout unknown) against ``ref``."""
    ref_norm = float(ref.norm())
    if mine is None:
        return False
    if not called:  # per-layer gives 0, which is right only if autograd says 0 too
        return None if ref_norm == 0.0 else False
    if ref_norm == 0.0:
        return False  # nothing to compare at the probe: vmap is the safe route
    return float((mine - ref).norm()) <= tol * ref_norm


# ---- the vmap route ----------------------------------------------------------------------


class LossModule(nn.Module):
    """``forward(x) = loss(model, x)``, so that ``functional_call`` swaps the model's parameters.

    Args:
        model: The user's module.
        loss: ``loss(model, x)``.
    """

    def __init__(self, model: nn.Module, loss: ModuleLoss) -> None:
        super().__init__()
        self.model = model
        self.loss_fn = loss

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The per-example losses ``loss(model, x)`` of the rows ``x``."""
        return self.loss_fn(self.model, x)


def vmap_stats(
    model: nn.Module,
    loss: ModuleLoss,
    sub: dict[str, torch.Tensor],
    rows: torch.Tensor,
    n: int,
    J: int,
    seed: int,
    chunk_size: int | None,
) -> dict[str, RowStats]:
    """Per-row gradient statistics of the parameters ``sub`` by ``vmap(grad(functional_call))`` over rows.

    Args:
        model: The user's module.
        loss: ``loss(model, x)``.
        sub: The parameters to take, by name.
        rows: The n examples, each repeated J times, (n J, ...).
        n: Examples.
        J: Draws per example.
        seed: The seed of the loss's noise (each row draws its own: ``randomness="different"``).
        chunk_size: The rows of one vmap call (None: all at once).

    Returns:
        :class:`RowStats` by parameter name.

    Raises:
        LossError: vmap over the user's loss failed, or the loss carries no gradient (detached).
    """
    wrapper = LossModule(model, loss)
    detached = {k: v.detach() for k, v in sub.items()}
    fixed = {f"model.{k}": p.detach() for k, p in model.named_parameters() if k not in sub}

    def one(p: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        swapped = {**fixed, **{f"model.{k}": v for k, v in p.items()}}
        return torch.func.functional_call(wrapper, swapped, (x.unsqueeze(0),)).reshape(())

    per_row = torch.func.vmap(
        torch.func.grad(one), in_dims=(None, 0), randomness="different", chunk_size=chunk_size
    )
    try:
        with _forked(seed, model):
            grads = per_row(detached, rows)
    except RuntimeError as err:
        raise LossError(
            f"per-example gradients of {sorted(sub)} (layers the per-layer route does not cover) "
            f"need torch.func.vmap over loss(model, x) for one row, which failed: "
            f"{str(err).strip().rstrip('.')}{_buffer_hint(model)}"
        ) from err
    if not any(bool(g.any()) for g in grads.values()):  # 0, or a loss that ignores the module
        with _forked(seed, model), torch.enable_grad():
            _losses(model, loss, rows[:1])
    return {k: stats_of_gradients(g.reshape(n, J, *g.shape[1:])) for k, g in grads.items()}


def _buffer_hint(model: torch.nn.Module) -> str:
    """Why a module with buffers may fail per-example gradients, naming its layers that hold them.

    A layer that updates a buffer in its forward pass (BatchNorm's running statistics) mutates
    the module inside the transform, and a layer normalising by batch statistics makes one
    row's loss depend on the rest of its batch: F is then not the mean of per-example losses
    the theorems and the per-example gradients are about.
    """
    kinds = sorted({type(m).__name__ for m in model.modules() if any(True for _ in m.buffers(recurse=False))})
    if not kinds:
        return ""
    return (
        f"; the module has layers with buffers ({', '.join(kinds)}): a layer that updates them in its "
        "forward pass or normalises by batch statistics (BatchNorm in training mode) gives no "
        "per-example loss; use a layer without batch statistics (LayerNorm, GroupNorm) or none"
    )
