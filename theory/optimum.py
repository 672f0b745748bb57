"""The step constant C_gamma minimising a bound, in closed form (used by ``Bound.optimal_step``).

For the SGD bound it is C* = sqrt(2 Delta / (L sigma2 (1 + log n))) clipped to the
step limit (docs/theory.md, "SGD" and "Closed-form consequences").
"""

from __future__ import annotations

import sympy as sp

from theory import symbols as S
from theory.errors import TheoryError
from theory.orders import generic_point
from theory.symbols import C_gamma


def positive_at_typical(expr: sp.Expr) -> bool:
    """Whether an expression is real and positive at the symbols' typical values.

    Args:
        expr: An expression in registered symbols.

    Returns:
        True when ``expr`` evaluated at the typical values (:func:`theory.orders.generic_point`)
        has a real part > 0 and an imaginary part below 1e-12.
    """
    value = complex(generic_point(expr, sp.Symbol("_none"), set()).evalf())
    return abs(value.imag) < 1e-12 and value.real > 0


def compress(expr: sp.Expr, x: sp.Symbol) -> tuple[sp.Expr, dict[sp.Symbol, sp.Expr]]:
    """An expression with every largest subexpression free of ``x`` replaced by a symbol.

    The solve for x then sees a small expression: the expanded model bounds, whose
    constants are long products, are solved in a fraction of a second instead of not
    at all. The terms of a sum free of x become one symbol.

    Args:
        expr: The expression.
        x: The variable to keep.

    Returns:
        (the compressed expression, the map from each new symbol back to the
        subexpression it replaces). A new symbol is positive where SymPy proves
        its subexpression positive.
    """
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
    """The argmin over C_gamma > 0 of a bound, clipped to its step limit.

    The expression is written in variables that encode the domains
    (:func:`theory.symbols.domain_form`) so that SymPy can drop roots that are
    negative for every admissible value; exactly one root must remain.

    Args:
        expr: The bound's expression, a function of C_gamma.
        step_limit: The largest admissible C_gamma, or None for no limit.
        name: The bound's name, for error messages.

    Returns:
        The stationary point C* of ``expr`` in C_gamma, as min(C*, step_limit) when a
        limit is given.

    Raises:
        TheoryError: ``expr`` does not depend on C_gamma, or has no unique positive
            stationary point.
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
