"""Leading order in n of a bound, with constants dropped (used by ``Bound.rate``).

A term's order is n^p log(n)^q; the leading order of a sum is its largest term's.
Exponents may depend on one exponent symbol (alpha, alpha_bias or K_growth) and are
then compared over its admissible range (docs/theory.md, "Closed-form consequences").
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from theory import symbols as S
from theory.errors import TheoryError
from theory.symbols import K_growth, alpha, alpha_bias, n

#: Symbols that may appear in exponents of n, and their admissible ranges.
EXPONENTS: dict[sp.Symbol, sp.Set] = {
    alpha: sp.Interval.open(0, 1),
    alpha_bias: sp.Interval.Ropen(0, 1),
    K_growth: sp.Interval.Ropen(0, 1),
}


@dataclass(frozen=True)
class Order:
    """A term's growth in n: n**exponent * log(n)**log_power.

    Attributes:
        exponent: The power p of n.
        log_power: The power q of log(n).
    """

    exponent: sp.Expr
    log_power: sp.Expr

    def expr(self, var: sp.Symbol = n) -> sp.Expr:
        """The order as an expression.

        Args:
            var: The variable that grows (default n).

        Returns:
            var**exponent * log(var)**log_power.
        """
        return var**self.exponent * sp.log(var) ** self.log_power


def generic_point(expr: sp.Expr, var: sp.Symbol, keep: set[sp.Symbol]) -> sp.Expr:
    """An expression with every constant but some replaced by its typical value.

    Args:
        expr: The expression.
        var: The variable to keep (e.g. n).
        keep: Other symbols to keep (e.g. exponent symbols).

    Returns:
        ``expr`` as a function of ``var`` and ``keep`` alone: registered symbols take
        their typical value, unregistered ones 2.
    """
    subs = {}
    for sym in expr.free_symbols - {var} - keep:
        typical = S.REGISTRY[sym.name].typical if sym.name in S.REGISTRY else 2.0
        subs[sym] = sp.nsimplify(typical)
    return expr.subs(subs)


def _order_of_term(term: sp.Expr, var: sp.Symbol) -> Order:
    """(p, q) with |term| ~ c n^p log(n)^q as n -> oo."""
    num, den = sp.fraction(sp.factor(sp.together(term)))
    p = sp.Integer(0)
    q = sp.Integer(0)
    other = sp.Integer(1)
    for part, sign in ((num, 1), (den, -1)):
        part = sp.powsimp(sp.expand_power_base(part, force=True), force=True)
        for factor in sp.Mul.make_args(part):
            base, exp = factor.as_base_exp()
            if base == var:
                p += sign * exp
            elif base == sp.log(var):
                q += sign * exp
            elif factor.has(var):
                other *= factor**sign
    if other != 1:
        if other.free_symbols - {var}:
            raise TheoryError(f"cannot take the order of {other} with symbolic exponents")
        pe = sp.limit(sp.log(sp.Abs(other)) / sp.log(var), var, sp.oo)
        qe = sp.limit(sp.log(sp.Abs(other) / var**pe) / sp.log(sp.log(var)), var, sp.oo)
        p += pe
        q += qe
    return Order(sp.simplify(p), sp.simplify(q))


def _dominant(orders: list[Order], assume: sp.Set) -> Order:
    """The largest order; exponents may depend on one exponent symbol in ``assume``."""
    best = orders[0]
    for other in orders[1:]:
        diff = sp.simplify(other.exponent - best.exponent)
        if diff.is_number:
            bigger = diff > 0 or (diff == 0 and other.log_power > best.log_power)
        else:
            (var,) = diff.free_symbols
            # compare over the admissible range: decidable only if one sign throughout
            pos = sp.solveset(diff > 0, var, assume)
            neg = sp.solveset(diff < 0, var, assume)
            if pos == sp.EmptySet:
                bigger = False
            elif neg == sp.EmptySet:
                bigger = True
            else:
                if best.log_power != 0 or other.log_power != 0:
                    raise TheoryError("cannot order log factors with a symbolic exponent")
                best = Order(sp.Max(best.exponent, other.exponent), sp.Integer(0))
                continue
        if bigger:
            best = other
    return best


def _exponent_symbol(expr: sp.Expr) -> sp.Symbol | None:
    found = expr.free_symbols & set(EXPONENTS)
    if len(found) > 1:
        raise TheoryError(f"more than one exponent symbol in {expr}: {sorted(map(str, found))}")
    return next(iter(found), None)


def leading_order(expr: sp.Expr, var: sp.Symbol = n, assume: sp.Set | None = None) -> sp.Expr:
    """Leading order of an expression as ``var`` -> oo, with constants dropped.

    E.g. ``log(n)/sqrt(n)`` for the SGD bound at alpha = 1/2. Constants are replaced
    by typical values, the expression is expanded into terms, each term's order
    n^p log(n)^q is found (exactly for products of powers and logs, by limits
    otherwise), and the largest is kept; a term free of n is of order 1.

    Args:
        expr: The expression (a bound).
        var: The variable that grows (default n).
        assume: The range over which exponents depending on an exponent symbol are
            compared (default: the symbol's admissible range, :data:`EXPONENTS`).

    Returns:
        The leading order n^p log(n)^q; a Piecewise of leading orders when ``expr`` is
        a Piecewise in an exponent symbol.

    Raises:
        TheoryError: More than one exponent symbol, or log factors that cannot be
            ordered under a symbolic exponent.
    """
    expr = sp.sympify(expr)
    exponent = _exponent_symbol(expr)
    if assume is None:
        assume = EXPONENTS[exponent] if exponent is not None else sp.Reals
    if isinstance(expr, sp.Piecewise):
        pieces = []
        for piece, cond in expr.args:
            region = assume if cond == sp.true else assume.intersect(cond.as_set())
            if isinstance(region, sp.FiniteSet) and len(region) == 1:
                value = next(iter(region))
                inner = leading_order(piece.subs(exponent, value), var, assume)
            else:
                inner = leading_order(piece, var, region)
            pieces.append((inner, cond))
        return sp.Piecewise(*pieces)
    generic = generic_point(expr, var, set(EXPONENTS))
    terms = [t for t in sp.Add.make_args(sp.expand(generic)) if t != 0]
    if not terms:
        return sp.Integer(1)
    orders = [_order_of_term(t, var) if t.has(var) else Order(sp.Integer(0), sp.Integer(0)) for t in terms]
    return _dominant(orders, assume).expr(var)


def rate_exponent(expr: sp.Expr, var: sp.Symbol = n) -> tuple[sp.Expr, sp.Expr]:
    """The exponents (p, q) of the leading order n^p log(n)^q of an expression.

    Args:
        expr: The expression (a bound).
        var: The variable that grows (default n).

    Returns:
        (p, q); each a Piecewise in the exponent symbol when the leading order is one.
    """
    lead = leading_order(expr, var)
    if isinstance(lead, sp.Piecewise):
        ps = [(rate_exponent(piece, var)[0], cond) for piece, cond in lead.args]
        qs = [(rate_exponent(piece, var)[1], cond) for piece, cond in lead.args]
        return sp.Piecewise(*ps), sp.Piecewise(*qs)
    order = _order_of_term(lead, var)
    return order.exponent, order.log_power
