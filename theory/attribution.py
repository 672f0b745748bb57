"""Which part of a bound carries its value: its terms and the elasticities of its constants.

Both views are exact at the given constants (docs/theory.md, "Where a bound's
value comes from").

Example::

    >>> import theory
    >>> a = theory.attribution(theory.bound("generic", "sgd"), n=10_000, L=2.0, sigma2=0.5,
    ...                        Delta=3.0, C_gamma=0.25)
    >>> [(t.name, round(t.share, 3)) for t in a.terms]
    [('Delta term', 0.904), ('L sigma2 term (log n)', 0.096)]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import sympy as sp

from theory import checks
from theory import symbols as S
from theory.bound import Bound, check_domains
from theory.errors import AssumptionViolation, MissingConstantError

#: The constants a term is named after, in the order they are written.
NAMING = (
    S.Delta,
    S.d,
    S.R,
    S.M,
    S.L,
    S.sigma2,
    S.sigma2_data,
    S.sigma2_mc,
    S.sigma2_mc_K,
    S.C_alpha,
    S.C_bias,
    S.lambda_max,
)
#: Most terms a bound is split into (a product of larger sums is kept whole).
MAX_TERMS = 16


@dataclass(frozen=True)
class Term:
    """One additive term of a bound.

    Attributes:
        name: A readable name from the constants it contains (e.g. "L sigma2 term (log n)").
        expr: The term.
        value: Its value at the constants.
        share: value / bound.
    """

    name: str
    expr: sp.Expr
    value: float
    share: float


@dataclass(frozen=True)
class Elasticity:
    """The elasticity d log(bound) / d log(quantity) at the constants.

    A bound proportional to c^p has elasticity p in c.

    Attributes:
        quantity: A constant's name, ``1 - beta1``, ``1/(1 - beta2)`` or a log factor
            such as ``log(n)``.
        value: The elasticity.
    """

    quantity: str
    value: float


@dataclass(frozen=True)
class Attribution:
    """Where a bound's value comes from, at given constants.

    Attributes:
        bound: The bound's name.
        value: The bound's value at the constants.
        terms: Its additive terms, largest first.
        elasticities: The elasticities of every constant, largest in absolute value first.
    """

    bound: str
    value: float
    terms: tuple[Term, ...]
    elasticities: tuple[Elasticity, ...]

    @property
    def dominant(self) -> Term:
        """The term with the largest value."""
        return self.terms[0]

    def elasticity(self, quantity: str) -> float:
        """The elasticity of one quantity.

        Args:
            quantity: A name as in :attr:`elasticities` (e.g. ``"L"``, ``"1 - beta1"``, ``"log(n)"``).

        Returns:
            d log(bound) / d log(quantity).

        Raises:
            KeyError: No elasticity of that name (the known names are listed).
        """
        for e in self.elasticities:
            if e.quantity == quantity:
                return e.value
        raise KeyError(
            f"no elasticity for {quantity!r}; known: {', '.join(e.quantity for e in self.elasticities)}"
        )

    def as_dict(self) -> dict:
        """The attribution, JSON-ready.

        Returns:
            ``{"bound", "value", "terms": [{name, expr, value, share}], "elasticities": {quantity: value}}``.
        """
        return {
            "bound": self.bound,
            "value": self.value,
            "terms": [
                {"name": t.name, "expr": sp.sstr(t.expr), "value": t.value, "share": t.share}
                for t in self.terms
            ],
            "elasticities": {e.quantity: e.value for e in self.elasticities},
        }

    def table(self) -> str:
        """The attribution as Markdown.

        Returns:
            Two tables: the terms with their shares, then the elasticities.
        """
        rows = ["| term | value | share |", "|---|---|---|"]
        rows += [f"| {t.name} | {t.value:.4g} | {t.share:.1%} |" for t in self.terms]
        rows += ["", "| quantity | d log bound / d log quantity |", "|---|---|"]
        rows += [f"| {e.quantity} | {e.value:+.3g} |" for e in self.elasticities]
        return "\n".join(rows)


def attribution(bound: Bound, **values: float) -> Attribution:
    """The terms and elasticities of a bound at given constants.

    The theorem's conditions are not checked, so a bound can be examined where it does
    not apply (e.g. a step above the step limit), except those its expression needs:
    a ``defines`` constraint such as N~ = N - beta1/(1 - beta1) > 0. A Piecewise bound
    uses the branch that holds.

    Args:
        bound: The bound.
        **values: Symbol name -> value, for every constant of its expression.

    Returns:
        The bound's value, its terms (products distributed over sums, except sums in n
        alone such as 1 + log n and sums of hyperparameters such as 1 - beta1) and the
        elasticity c (d bound/dc) / bound of every constant c (beta1 and beta2 through
        1 - beta1 and 1/(1 - beta2); each log factor scaled as a whole).

    Raises:
        TheoryError: Missing, unknown or out-of-domain values, a broken ``defines``
            constraint, or a bound that is zero or not finite there.
    """
    clean = _values(bound, values)
    expr = _branch(bound.expr, clean)
    terms = split_terms(expr)
    term_values = [_evaluate(t, clean) for t in terms]
    total = float(sum(term_values))
    if not (np.isfinite(total) and total != 0):
        raise AssumptionViolation(f"{bound.name}: the bound is {total} at {clean}: nothing to attribute")
    names = _names(terms)
    parts = sorted(
        (Term(name, t, v, v / total) for name, t, v in zip(names, terms, term_values, strict=True)),
        key=lambda term: -term.value,
    )
    elasticities = sorted(_elasticities(expr, clean, total), key=lambda e: -abs(e.value))
    return Attribution(bound.name, total, tuple(parts), tuple(elasticities))


def split_terms(expr: sp.Expr, limit: int = MAX_TERMS) -> list[sp.Expr]:
    """An expression as a list of terms summing to it.

    Args:
        expr: The expression.
        limit: The most terms; a product whose distribution would give more is kept whole.

    Returns:
        The terms: sums are split and products are distributed over their sums, except
        sums in n alone (1 + log n stays one factor).
    """
    expr = sp.sympify(expr)
    if expr.is_Add:
        parts = [t for a in expr.args for t in split_terms(a, limit)]
        return parts if len(parts) <= limit else list(expr.args)
    if expr.is_Mul:
        for i, factor in enumerate(expr.args):
            if _splits(factor):
                rest = sp.Mul(*(expr.args[:i] + expr.args[i + 1 :]))
                parts = [t for a in factor.args for t in split_terms(rest * a, limit)]
                return parts if len(parts) <= limit else [expr]
    return [expr]


def _splits(factor: sp.Expr) -> bool:
    """Whether a sum is worth distributing over.

    It holds a naming constant or a log factor, and is not a sum in n alone (1 + log n)
    nor of hyperparameters alone (1 - beta1).
    """
    free = factor.free_symbols
    return factor.is_Add and not free <= {S.n} and bool(free & set(NAMING) or factor.has(sp.log))


def _values(bound: Bound, values: Mapping[str, object]) -> dict[sp.Symbol, float]:
    for name in values:
        S.get(name)
    needed = sorted(s.name for s in bound.expr.free_symbols)
    missing = [name for name in needed if name not in values]
    if missing:
        raise MissingConstantError(
            f"{bound.name}: missing value for {', '.join(missing)} (needs {', '.join(needed)})"
        )
    clean = {name: checks.real_value(name, values[name]) for name in values}
    check_domains({name: np.asarray(v) for name, v in clean.items()})
    for ident, con in bound.conditions:
        broken = con.defines and con.violation(clean)
        if broken:
            raise AssumptionViolation(f"{bound.name}: [{ident}] {broken}: the expression is undefined there")
    return {S.get(name): clean[name] for name in needed}


def _branch(expr: sp.Expr, values: Mapping[sp.Symbol, float]) -> sp.Expr:
    """The branch of a Piecewise that holds at ``values`` (``expr`` itself otherwise)."""
    expr = sp.piecewise_fold(expr)
    if not isinstance(expr, sp.Piecewise):
        return expr
    for branch, condition in expr.args:
        if bool(sp.sympify(condition).subs(values)):
            return branch
    raise AssumptionViolation(f"no branch of the bound holds at {values}")


def _evaluate(expr: sp.Expr, values: Mapping[sp.Symbol, float]) -> float:
    syms = sorted(expr.free_symbols, key=lambda s: s.name)
    with np.errstate(all="ignore"):
        return float(sp.lambdify(syms, expr, "numpy", cse=True)(*(values[s] for s in syms)))


def _names(terms: list[sp.Expr]) -> list[str]:
    names = [_name(t) for t in terms]
    for name in set(names):
        same = [i for i, other in enumerate(names) if other == name]
        if len(same) > 1:
            for count, i in enumerate(same, 1):
                names[i] = f"{name} #{count}"
    return names


def _name(term: sp.Expr) -> str:
    """A term's name, e.g. "d R^2 term x log(beta2)".

    The naming constants of the numerator with their powers (constants inside a log do
    not count), then the log factors (log n shown as "(log n)").
    """
    logs = _logs(term)
    plain = term.xreplace({lg: sp.Dummy() for lg in logs})
    powers = sp.Mul.make_args(plain)
    parts = []
    for sym in NAMING:
        exponent = sum((f.as_base_exp()[1] for f in powers if f.as_base_exp()[0] == sym), sp.Integer(0))
        nested = any(
            sym in f.free_symbols and f.as_base_exp()[0] != sym and not f.as_base_exp()[1].is_negative
            for f in powers
        )
        if exponent.is_positive:
            parts.append(sym.name if exponent == 1 else f"{sym.name}^{sp.sstr(exponent)}")
        elif nested:
            parts.append(sym.name)
    name = (" ".join(parts) or "constant") + " term"
    for lg in logs:
        name += " (log n)" if lg == sp.log(S.n) else f" x {sp.sstr(lg)}"
    return name


def _logs(expr: sp.Expr) -> list[sp.Expr]:
    """The log factors of ``expr`` that depend on a constant (log 2 is a number)."""
    return sorted((lg for lg in expr.atoms(sp.log) if lg.free_symbols), key=sp.default_sort_key)


def _elasticities(expr: sp.Expr, values: Mapping[sp.Symbol, float], total: float) -> list[Elasticity]:
    """The elasticity c (d bound/dc) / bound of every constant c with c != 0.

    beta1 and beta2 enter through 1 - beta1 and 1/(1 - beta2); each log factor is
    scaled by t, with the derivative taken at t = 1.
    """
    out = []
    for sym in sorted(expr.free_symbols, key=lambda s: s.name):
        slope = _evaluate(sp.diff(expr, sym), values)
        if sym == S.beta1:
            out.append(Elasticity("1 - beta1", -(1 - values[sym]) * slope / total))
        elif sym == S.beta2:
            out.append(Elasticity("1/(1 - beta2)", (1 - values[sym]) * slope / total))
        elif values[sym] != 0:
            out.append(Elasticity(sym.name, values[sym] * slope / total))
    t = sp.Dummy("t", positive=True)
    for lg in _logs(expr):
        scaled = expr.xreplace({lg: t * lg})
        out.append(Elasticity(sp.sstr(lg), _evaluate(sp.diff(scaled, t).subs(t, 1), values) / total))
    return out
