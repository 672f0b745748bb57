"""The optimal step constants a verify needs before its first step, derived once and kept here.

A run does not solve for them again (issue 24: fixed costs).

``Bound.optimal_step`` solves d bound / d C_gamma = 0 with SymPy at each process; the pilot needs
the generic SGD theorem's C* = min(1/L, sqrt(2 Delta / (L sigma2 (1 + log n)))) before training.
:data:`CACHED` holds each such expression as SymPy's ``srepr`` (symbols with their assumptions),
keyed by ``(model, optimizer, variant)``; a test derives each again and fails when one is stale,
printing :func:`render`'s text to paste here.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

#: (model, optimizer, variant) -> (the bound's name, srepr of its ``optimal_step``).
CACHED: dict[tuple[str, str, str], tuple[str, str]] = {
    ("generic", "sgd", ""): (
        "generic/sgd",
        "Min(Pow(Symbol('L', positive=True), Integer(-1)), Mul(Pow(Integer(2), Rational(1, 2)), "
        "Pow(Symbol('Delta', nonnegative=True, real=True), Rational(1, 2)), Pow(Symbol('L', positive=True), "
        "Rational(-1, 2)), Pow(Symbol('sigma2', nonnegative=True, real=True), Rational(-1, 2)), "
        "Pow(Add(log(Symbol('n', positive=True, integer=True)), Integer(1)), Rational(-1, 2))))",
    ),
}


@lru_cache(maxsize=16)
def cached_optimal_step(model: str, optimizer: str, variant: str = "") -> tuple[str, sp.Expr] | None:
    """The cached optimal step constant of a theorem, if :data:`CACHED` holds it.

    Args:
        model: The model, as in :func:`theory.bound`.
        optimizer: The optimizer.
        variant: The variant ("" for the default).

    Returns:
        (the bound's name, its ``optimal_step``: min(C*, step limit) with C* the root of
        d bound / d C_gamma = 0), or None when not cached.
    """
    entry = CACHED.get((model, optimizer, variant))
    if entry is None:
        return None
    name, text = entry
    return name, sp.sympify(text)


def render(keys: list[tuple[str, str, str]]) -> str:
    """The text of :data:`CACHED` for ``keys``, derived now (to paste into this module).

    Args:
        keys: (model, optimizer, variant) of each theorem.

    Returns:
        The dict's entries, one per key: the bound's name and srepr of its optimal step.
    """
    import theory

    lines = []
    for model, optimizer, variant in keys:
        bound = theory.bound(model, optimizer, variant or None)
        lines.append(
            f"    {(model, optimizer, variant)!r}: ({bound.name!r}, {sp.srepr(bound.optimal_step)!r}),"
        )
    return "\n".join(lines)
