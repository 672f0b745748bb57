"""Registers the generic SGD theorem (theory-reference §3.1)."""

from __future__ import annotations

import sympy as sp

from theory.bound import Bound
from theory.registry import register
from theory.theorems.sgd import sgd_bound


@register("generic", "sgd")
def generic_sgd(alpha: float | str | None = sp.Rational(1, 2)) -> Bound:
    """``alpha`` is the schedule exponent of gamma_k = C_gamma k^(-alpha);
    ``alpha="symbolic"`` keeps it as a symbol (a Piecewise bound)."""
    return sgd_bound(None if alpha == "symbolic" else alpha)
