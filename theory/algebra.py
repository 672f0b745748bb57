"""Expressions in the Adam parameters simplified on their domain, and equality of two such expressions.

The domain is 0 <= beta1 < 1, 0 < beta2 < 1; used to compare the analysed
algorithms (:mod:`theory.algorithms`, docs/theory.md "The analysed algorithms").
"""

from __future__ import annotations

import sympy as sp

from theory.symbols import beta1, beta2

_U1, _U2 = sp.symbols("u1 u2", positive=True)


def tidy(expr: sp.Expr) -> sp.Expr:
    """An expression simplified with 0 <= beta1 < 1 and 0 < beta2 < 1 known.

    The Adam parameters are written beta = 1 - u with u > 0 while SymPy simplifies,
    and a factor 1/(x - 1) of a negative term is shown as 1/(1 - x).

    Args:
        expr: An expression in beta1, beta2 and any other symbols.

    Returns:
        The simplified expression, equal to ``expr`` on the domain.
    """
    expr = sp.sympify(expr).subs({beta1: 1 - _U1, beta2: 1 - _U2})
    expr = sp.simplify(sp.powsimp(expr, force=True)).subs({_U1: 1 - beta1, _U2: 1 - beta2})
    expr = expr.replace(_is_root_of_negated_inverse, lambda e: (1 / e.base) ** (-e.exp))
    coeff, factors = expr.as_coeff_mul()
    if coeff.is_negative:
        for i, f in enumerate(factors):
            base, power = f.as_base_exp()
            if base.is_Add and power.is_integer and power.is_odd and (-base).as_coeff_add()[0].is_positive:
                rest = factors[:i] + ((-base) ** power,) + factors[i + 1 :]
                return sp.Mul(-coeff, *rest)
    return expr


def _is_root_of_negated_inverse(e: sp.Basic) -> bool:
    """Whether ``e`` is (-1/(x - 1))^p with p not an integer (shown as (1 - x)^(-p))."""
    if not (e.is_Pow and e.exp.is_integer is False):
        return False
    inner = -1 / e.base
    return inner.is_Add and inner.as_coeff_add()[0].is_negative


def same(a: sp.Expr, b: sp.Expr) -> bool:
    """Whether two expressions are equal as functions.

    Args:
        a: The first expression.
        b: The second expression.

    Returns:
        True when a - b simplifies to 0 (:func:`tidy`), or else vanishes to 1e-12 at
        two sample points of the Adam parameters and the step variables.
    """
    diff = sp.sympify(a) - sp.sympify(b)
    if tidy(diff) == 0:
        return True
    points = ({"k": 3, "beta1": 0.9, "beta2": 0.999}, {"k": 7, "beta1": 0.5, "beta2": 0.9})
    rest = {"alpha_step": 0.01, "C_gamma": 0.02, "eps": 1e-3, "lr_decay": 0.1, "v_init": 0.3}
    return all(
        abs(complex(diff.subs({s: {**rest, **p}.get(s.name, 1.3) for s in diff.free_symbols}))) < 1e-12
        for p in points
    )
