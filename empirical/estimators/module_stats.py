"""Per-example gradient statistics of a user's ``torch.nn.Module`` near the cost of one backward.

Per-layer norms for ``nn.Linear`` and ``nn.Conv2d`` (checked against autograd on a probe
at first use), vmap for every other parameter; the user's loss draws its noise in a
forked, seeded RNG (docs/estimators.md, "Per-example gradients").
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

from empirical.errors import ConfigError, LossError
from empirical.estimators.per_example import RowStats, stats_of_gradients
from empirical.estimators.per_layer import Layer, capture, known_layers, layer_stats, output_grads, row_grads
from empirical.estimators.results import check_confidence, seeded
from empirical.estimators.variance import ParameterStats, VarianceEstimate, select_examples
from empirical.validate import SEED_MAX, whole

#: ``loss(model, x) -> per-example losses (len(x),)``, drawing its own noise.
ModuleLoss = Callable[[nn.Module, torch.Tensor], torch.Tensor]

PER_LAYER, VMAP = "per-layer", "vmap"
PROBE_EXAMPLES, PROBE_DRAWS = 3, 2

# model -> loss -> {parameter name: True (per-layer verified) | False (vmap) | None (unused at the
# probe)}; weak on both, so verdicts live as long as the model and the loss do.
_VERIFIED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class ModuleStats(ParameterStats):
    """:class:`ParameterStats` of a user's module plus the route of every parameter.

    Attributes:
        routes: Parameter name -> ``"per-layer"`` or ``"vmap"``.
    """

    routes: dict[str, str] = field(default_factory=dict)

    def variance(
        self, keys: Iterable[str] | None = None, confidence: float = 0.95, label: str = ""
    ) -> VarianceEstimate:
        """The variance split of some parameters (as :meth:`ParameterStats.variance`), naming their routes."""
        keys = list(self.stats) if keys is None else list(keys)
        return super().variance(keys, confidence, label or f"{self.route_summary(keys)}; ")

    def route_summary(self, keys: Iterable[str] | None = None) -> str:
        """The routes of some parameters in words.

        Args:
            keys: The parameters (default all).

        Returns:
            E.g. ``"per-layer norms for 8 parameters, vmap for 2 (enc.scale, dec.gain)"``.
        """
        keys = list(self.routes) if keys is None else list(keys)
        fast = [k for k in keys if self.routes[k] == PER_LAYER]
        slow = [k for k in keys if self.routes[k] == VMAP]
        parts = [f"per-layer norms for {len(fast)} parameters"] if fast else []
        if slow:
            parts.append(f"vmap for {len(slow)} ({', '.join(slow)})")
        return ", ".join(parts)


def module_gradient_variance(
    model: nn.Module,
    loss: ModuleLoss,
    data: torch.Tensor,
    mc_samples: int = 4,
    *,
    keys: Iterable[str] | None = None,
    n_examples: int | None = None,
    generator: torch.Generator | None = None,
    seed: int = 0,
    confidence: float = 0.95,
) -> VarianceEstimate:
    """sigma2_data and sigma2_mc of a user module's per-example gradient (nested estimator).

    Args:
        model: The module.
        loss: ``loss(model, x) -> per-example losses (len(x),)``, drawing its own noise.
        data: The rows.
        mc_samples: The draws per example.
        keys: Some parameters (names of ``model.named_parameters()``; default all).
        n_examples: The rows used (default all).
        generator: The generator (default: seeded with ``seed``).
        seed: The seed when no generator is given.
        confidence: The intervals' two-sided level.

    Returns:
        The split; the method strings name the route (per-layer norms / vmap) of the parameters.
    """
    confidence = check_confidence(confidence)
    ms = module_row_stats(
        model, loss, data, mc_samples, n_examples=n_examples, generator=generator, seed=seed
    )
    return ms.variance(keys, confidence)


def module_row_stats(
    model: nn.Module,
    loss: ModuleLoss,
    data: torch.Tensor,
    mc_samples: int = 4,
    *,
    n_examples: int | None = None,
    generator: torch.Generator | None = None,
    seed: int = 0,
    chunk_size: int | None = None,
    per_layer: bool = True,
) -> ModuleStats:
    """Per-parameter :class:`RowStats` of ``loss(model, x)`` over n examples x J draws.

    Args:
        model: The module.
        loss: ``loss(model, x)``.
        data: The rows.
        mc_samples: J.
        n_examples: The rows used (default all).
        generator: Draws the examples without replacement and seeds the loss's noise
            (default: seeded with ``seed``).
        seed: The seed when no generator is given.
        chunk_size: The rows of one vmap call (default: all at once).
        per_layer: Use per-layer norms where they apply (False: vmap for every parameter).

    Returns:
        The statistics with the routes (:func:`module_stats_at`).
    """
    gen = seeded(generator, seed)
    X = select_examples(data, n_examples, gen)
    noise_seed = int(torch.randint(0, 2**62, (1,), generator=gen))
    return module_stats_at(
        model,
        loss,
        X,
        mc_samples,
        noise_seed,
        population=int(data.shape[0]),
        chunk_size=chunk_size,
        per_layer=per_layer,
    )


def module_stats_at(
    model: nn.Module,
    loss: ModuleLoss,
    X: torch.Tensor,
    mc_samples: int,
    noise_seed: int,
    *,
    population: int | None = None,
    chunk_size: int | None = None,
    per_layer: bool = True,
) -> ModuleStats:
    """:class:`RowStats` of every trainable parameter for exactly some examples.

    Each example is repeated J times in one batch ``X.repeat_interleave(J, 0)``, the loss
    drawing its noise from torch's global RNG seeded with ``noise_seed`` (inside ``fork_rng``).

    Args:
        model: The module.
        loss: ``loss(model, x)``.
        X: (n, ...) the examples.
        mc_samples: J, >= 2.
        noise_seed: The seed of the loss's noise.
        population: The rows of the data set ``X`` was drawn from (default n).
        chunk_size: The rows of one vmap call (default: all at once).
        per_layer: False sends every parameter through vmap (the slow twin).

    Returns:
        The statistics with the routes; ``n_evals`` = n J per-example gradients.

    Raises:
        ConfigError: Not a module, no trainable parameter, mc_samples < 2, or bad data.
        LossError: Losses or gradients that are not finite, or vmap failing.
    """
    if not isinstance(model, nn.Module):
        raise ConfigError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if mc_samples < 2:
        raise ConfigError(f"mc_samples must be >= 2 to separate the Monte-Carlo part, got {mc_samples}")
    params = {k: p for k, p in model.named_parameters() if p.requires_grad}
    if not params:
        raise ConfigError("model has no trainable parameters")
    if not isinstance(X, torch.Tensor) or X.ndim < 2 or X.shape[0] < 2:
        shape = tuple(X.shape) if isinstance(X, torch.Tensor) else type(X).__name__
        raise ConfigError(f"data must be a tensor of at least 2 rows of features, got {shape}")
    X = X.to(next(iter(params.values())).dtype)
    n, J = int(X.shape[0]), int(mc_samples)
    layers = known_layers(model, params) if per_layer else []
    verdicts = _verdicts(model, loss, layers, params, X, (noise_seed + 1) % 2**63)
    fast = [layer for layer in layers if any(verdicts[k] is not False for k in layer.keys)]
    rows = X.repeat_interleave(J, 0)
    stats, late = _per_layer_pass(model, loss, fast, verdicts, rows, n, J, noise_seed)
    slow = [k for k in params if k not in stats]
    if slow:
        sub = {k: params[k] for k in slow}
        stats.update(_vmap_stats(model, loss, sub, rows, n, J, noise_seed, chunk_size))
    routes = {k: VMAP if k in slow or k in late else PER_LAYER for k in params}
    bad = [k for k, s in stats.items() if not math.isfinite(float(s.sq_draw.sum()))]
    if bad:
        raise LossError(f"per-example gradients of {bad} contain NaN or inf")
    pop = n if population is None else int(population)
    return ModuleStats({k: stats[k] for k in params}, pop, n * J, False, routes)


# ---- the per-layer route and its check at first use ----------------------------------------


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
    return checked_losses(loss(model, rows), rows)


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


def _per_layer_pass(
    model: nn.Module,
    loss: ModuleLoss,
    layers: list[Layer],
    verdicts: dict[str, bool | None],
    rows: torch.Tensor,
    n: int,
    J: int,
    seed: int,
) -> tuple[dict[str, RowStats], set[str]]:
    """Stats of the verified parameters of ``layers``.

    A layer whose calls do not split into rows, or one unused at the probe that is called now,
    is left to vmap (``late``).
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


def _verdicts(
    model: nn.Module,
    loss: ModuleLoss,
    layers: list[Layer],
    params: dict[str, torch.Tensor],
    X: torch.Tensor,
    seed: int,
) -> dict[str, bool | None]:
    """Per parameter of ``layers``: whether its per-layer gradients equal per-row autograd on a probe.

    True if they do, False if not (vmap), None if it took no part in the loss (gradient 0).
    Cached per (model, loss): the probe runs at first use.
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


def _vmap_stats(
    model: nn.Module,
    loss: ModuleLoss,
    sub: dict[str, torch.Tensor],
    rows: torch.Tensor,
    n: int,
    J: int,
    seed: int,
    chunk_size: int | None,
) -> dict[str, RowStats]:
    """Per-row gradients of the parameters ``sub`` by ``vmap(grad(functional_call))`` over rows."""
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
            f"need torch.func.vmap over loss(model, x) for one row, which failed: {err}"
        ) from err
    return {k: stats_of_gradients(g.reshape(n, J, *g.shape[1:])) for k, g in grads.items()}
