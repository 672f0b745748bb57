"""Per-example gradient statistics of a user's ``torch.nn.Module`` near the cost of one backward.

Per-layer norms for ``nn.Linear`` and ``nn.Conv2d`` (checked against autograd on a probe
at first use), vmap for every other parameter; the user's loss draws its noise in a
forked, seeded RNG (docs/estimators.md, "Per-example gradients"). The routes themselves are
in :mod:`empirical.estimators.module_routes`; this module picks them per parameter and
assembles the statistics.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
from torch import nn

from empirical.errors import ConfigError, LossError
from empirical.estimators.module_routes import (
    PER_LAYER,
    VMAP,
    LossModule,
    ModuleLoss,
    checked_losses,
    per_layer_pass,
    verdicts,
    vmap_stats,
)
from empirical.estimators.per_layer import known_layers
from empirical.estimators.results import check_confidence, seeded
from empirical.estimators.variance import ParameterStats, VarianceEstimate, select_examples

__all__ = [
    "PER_LAYER",
    "VMAP",
    "LossModule",
    "ModuleLoss",
    "ModuleStats",
    "checked_losses",
    "module_gradient_variance",
    "module_row_stats",
    "module_stats_at",
]


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
    verdict = verdicts(model, loss, layers, params, X, (noise_seed + 1) % 2**63)
    fast = [layer for layer in layers if any(verdict[k] is not False for k in layer.keys)]
    rows = X.repeat_interleave(J, 0)
    stats, late = per_layer_pass(model, loss, fast, verdict, rows, n, J, noise_seed)
    slow = [k for k in params if k not in stats]
    if slow:
        sub = {k: params[k] for k in slow}
        stats.update(vmap_stats(model, loss, sub, rows, n, J, noise_seed, chunk_size))
    routes = {k: VMAP if k in slow or k in late else PER_LAYER for k in params}
    bad = [k for k, s in stats.items() if not math.isfinite(float(s.sq_draw.sum()))]
    if bad:
        raise LossError(f"per-example gradients of {bad} contain NaN or inf")
    pop = n if population is None else int(population)
    return ModuleStats({k: stats[k] for k in params}, pop, n * J, False, routes)


# ---- the per-layer route and its check at first use ----------------------------------------
