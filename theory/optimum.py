"""The step constant C_gamma minimising a bound, in closed form (used by
Bound.optimal_step).

For the SGD bound (2 Delta + L sigma2 C^2 (1 + log n)) / (C sqrt(n)) the
derivative in C vanishes at C* = sqrt(2 Delta / (L sigma2 (1 + log n))), the
unique positive root; the optimum is min(C*, step limit).
"""

from __future__ import annotations

import sympy as sp

from theory import symbols as S
from theory.errors import TheoryError
from theory.orders import generic_point
from theory.symbols import C_gamma


def positive_at_typical(expr: sp.Expr) -> bool:
    """True when ``expr`` is real and positive at the symbols' typical values."""
    value = complex(generic_point(expr, sp.Symbol("_none"), set()).evalf())
    return abs(value.imag) < 1e-12 and value.real > 0


def optimal_step(expr: sp.Expr, step_limit: sp.Expr | None, name: str) -> sp.Expr:
    """argmin over C_gamma > 0 of ``expr``, clipped to ``step_limit``.

    The expression is written in variables that encode the domains
    (:func:`theory.symbols.domain_form`) so that SymPy can drop roots that are
    negative for every admissible value; exactly one root must remain.
    """
    if C_gamma not in expr.free_symbols:
        raise TheoryError(f"{name} does not depend on C_gamma")
    shifted, back = S.domain_form(expr)
    roots = [
        r.xreplace(back)
        for r in sp.solve(sp.Eq(sp.diff(shifted, C_gamma), 0), C_gamma)
        if r.is_nonpositive is not True and positive_at_typical(r.xreplace(back))
    ]
    if len(roots) != 1:
        raise TheoryError(f"no unique stationary C_gamma for {name}: {roots}")
    best = roots[0]
    if step_limit is not None:
        best = sp.Min(best, step_limit)
    return best
