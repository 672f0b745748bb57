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


def compress(expr: sp.Expr, x: sp.Symbol) -> tuple[sp.Expr, dict[sp.Symbol, sp.Expr]]:
    """``expr`` with every largest subexpression free of ``x`` replaced by a symbol
    (positive where SymPy proves the subexpression positive), and the map back.
    The solve for x then sees a small expression: the expanded model bounds,
    whose constants are long products, are solved in a fraction of a second
    instead of not at all. The terms of a sum free of x become one symbol."""
    parts: dict[sp.Symbol, sp.Expr] = {}

    def opaque(sub: sp.Expr) -> sp.Expr:
        if sub.is_Number or sub.is_Symbol:
            return sub
        sym = sp.Dummy(f"k{len(parts)}", positive=True) if sub.is_positive else sp.Dummy(f"k{len(parts)}")
        parts[sym] = sub
        return sym

    def walk(node: sp.Expr) -> sp.Expr:
        if x not in node.free_symbols:
            return opaque(node)
        if node.is_Add:
            free = [a for a in node.args if x not in a.free_symbols]
            rest = [walk(a) for a in node.args if x in a.free_symbols]
            return sp.Add(*rest, *([opaque(sp.Add(*free))] if free else []))
        if node.is_Mul:
            free = [a for a in node.args if x not in a.free_symbols]
            rest = [walk(a) for a in node.args if x in a.free_symbols]
            return sp.Mul(*rest, *([opaque(sp.Mul(*free))] if free else []))
        if node.args:
            return node.func(*(walk(a) for a in node.args))
        return node

    return walk(expr), parts


def optimal_step(expr: sp.Expr, step_limit: sp.Expr | None, name: str) -> sp.Expr:
    """argmin over C_gamma > 0 of ``expr``, clipped to ``step_limit``.

    The expression is written in variables that encode the domains
    (:func:`theory.symbols.domain_form`) so that SymPy can drop roots that are
    negative for every admissible value; exactly one root must remain.
    """
    if C_gamma not in expr.free_symbols:
        raise TheoryError(f"{name} does not depend on C_gamma")
    shifted, back = S.domain_form(expr)
    small, parts = compress(shifted, C_gamma)
    roots = [
        r.xreplace(parts).xreplace(back)
        for r in sp.solve(sp.Eq(sp.diff(small, C_gamma), 0), C_gamma)
        if r.xreplace(parts).is_nonpositive is not True
        and positive_at_typical(r.xreplace(parts).xreplace(back))
    ]
    if len(roots) != 1:
        raise TheoryError(f"no unique stationary C_gamma for {name}: {roots}")
    best = roots[0]
    if step_limit is not None:
        best = sp.Min(best, step_limit)
    return best
