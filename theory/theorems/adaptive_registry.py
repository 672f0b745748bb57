"""Registers the adaptive and biased theorems for the generic model
(theory-reference §3.2, §3.3)."""

from __future__ import annotations

from theory.bound import Bound
from theory.registry import register
from theory.theorems import adam, biased


@register("generic", "adam")
def generic_adam() -> Bound:
    """The seed paper's constant-beta2 Adam bound (preconditioned SGD proof)."""
    return adam.seed_adam()


@register("generic", "adam", "defossez")
def generic_adam_defossez() -> Bound:
    """Défossez et al. 2022, Adam with momentum, exact constants."""
    return adam.defossez_adam()


@register("generic", "adam", "defossez-horizon")
def generic_adam_horizon() -> Bound:
    """Défossez et al. 2022 with beta2 = 1 - 1/n, alpha = C_gamma/sqrt(n)."""
    return adam.defossez_horizon()


@register("generic", "adagrad")
def generic_adagrad() -> Bound:
    """Défossez et al. 2022, Adagrad, exact constants."""
    return adam.defossez_adagrad()


@register("generic", "adam", "biased")
def generic_adam_biased(alpha: float | str | None = None) -> Bound:
    """Biased adaptive SA (bias C_alpha k^(-alpha)); ``alpha`` None: Piecewise in alpha."""
    return biased.biased_bound(alpha, "adam")


@register("generic", "sgd", "biased")
def generic_sgd_biased(alpha: float | str | None = None) -> Bound:
    """Biased SGD (bias C_alpha k^(-alpha)); ``alpha`` None: Piecewise in alpha."""
    return biased.biased_bound(alpha, "sgd")
