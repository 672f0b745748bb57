"""A bound written readably: its statement in the theorem's own constants, then named sub-expressions.

The names come from where the constants are built (``Bound.definitions`` and
``Bound.named``): common-subexpression elimination with the derivation's own
names, undone exactly by :meth:`Readable.unfold` (docs/theory.md, "Reading a bound").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import sympy as sp

from theory import symbols as S
from theory.bound import Bound, Named


@dataclass(frozen=True)
class Readable:
    """A bound with its definitions and named sub-expressions as symbols.

    Attributes:
        expr: The bound in the theorem's own constants (L, M, R, sigma2, ...) and the names.
        where: What each name stands for (in terms of other names): the definitions
            first, then the named sub-expressions in derivation order.
        folding: Value -> symbol, the substitutions :meth:`shorten` makes.
    """

    expr: sp.Expr
    where: tuple[Named, ...]
    folding: tuple[tuple[sp.Expr, sp.Symbol], ...] = field(default=(), repr=False)

    def shorten(self, expr: sp.Basic) -> sp.Basic:
        """Another expression of the same bound (a step, the step limit) with the same names.

        Args:
            expr: The expression.

        Returns:
            ``expr`` with every definition's value replaced by its symbol.
        """
        return _fold(sp.sympify(expr), dict(self.folding))

    def unfold(self, expr: sp.Basic | None = None) -> sp.Basic:
        """An expression with every name replaced by what it stands for.

        Args:
            expr: The expression (default: the bound, :attr:`expr`).

        Returns:
            ``expr`` in the constants alone; for the bound, the bound exactly.
        """
        out = self.expr if expr is None else sp.sympify(expr)
        table = {n.symbol: n.expr for n in self.where}
        for _ in range(len(table) + 1):
            new = out.xreplace(table)
            if new == out:
                break
            out = new
        return out.doit() if out.has(sp.Subs) else out


def readable(bound: Bound, extra: tuple[sp.Basic, ...] = ()) -> Readable:
    """The readable form of a bound.

    Args:
        bound: The bound.
        extra: Other expressions of it (its derivation steps), searched for names to list too.

    Returns:
        The bound and the names it and ``extra`` use; a Piecewise bound's branches are
        named B_1, B_2, ...
    """
    return _readable(bound, tuple(extra))


@lru_cache(maxsize=256)
def _readable(bound: Bound, extra: tuple[sp.Basic, ...]) -> Readable:
    definitions = dict(bound.definitions)
    display = {n.symbol: n for n in bound.named if n.symbol in definitions}
    folding = {value: sym for sym, value in definitions.items()}
    expr = _fold(bound.expr, folding) if bound.unexpanded is None else bound.unexpanded
    entries: dict[sp.Symbol, Named] = {}
    for sym, value in definitions.items():
        shown = display.get(sym)
        entries[sym] = shown or Named(sym, value, S.REGISTRY[sym.name].meaning)
    for n in bound.named:
        if n.symbol.name not in S.REGISTRY:
            entries[n.symbol] = n
    roots = [expr, *(_fold(e, folding) for e in extra)]
    if bound.step_limit is not None:
        roots.append(_fold(bound.step_limit, folding))
    used = _used(roots, entries)
    where = tuple(entries[s] for s in entries if s in used)
    expr, branches = _branches(expr)
    return Readable(expr, branches + where, tuple(folding.items()))


def _branches(expr: sp.Expr) -> tuple[sp.Expr, tuple[Named, ...]]:
    """A bound that is a Piecewise, with its branches named B_1, B_2, ...

    Equal branches share one name.
    """
    if not isinstance(expr, sp.Piecewise):
        return expr, ()
    names: dict[sp.Expr, sp.Symbol] = {}
    where: dict[sp.Expr, list[str]] = {}
    for branch, condition in expr.args:
        names.setdefault(branch, sp.Symbol(f"B_{len(names) + 1}"))
        where.setdefault(branch, []).append(sp.sstr(condition))
    named = tuple(
        Named(sym, branch, f"the bound where {' or '.join(where[branch])}") for branch, sym in names.items()
    )
    return sp.Piecewise(*((names[branch], c) for branch, c in expr.args)), named


def _fold(expr: sp.Basic, folding: Mapping[sp.Expr, sp.Symbol]) -> sp.Basic:
    """An expression with every occurrence of a value of ``folding`` replaced by its symbol.

    As a sub-tree (where it was substituted into the theorem), else as a factor of a
    product or a part of a sum that SymPy merged with its neighbours (e.g. max(1, beta) L).
    """
    out = sp.sympify(expr).xreplace(dict(folding)) if folding else sp.sympify(expr)
    for value, sym in folding.items():
        if sym not in out.free_symbols and value.free_symbols and value.free_symbols <= out.free_symbols:
            out = out.subs(value, sym)
    return out


def _symbols(expr: sp.Basic) -> set[sp.Symbol]:
    return expr.free_symbols | {v for s in expr.atoms(sp.Subs) for v in s.expr.free_symbols}


def _used(roots: list[sp.Basic], entries: Mapping[sp.Symbol, Named]) -> set[sp.Symbol]:
    seen: set[sp.Symbol] = set()
    todo = [s for root in roots for s in _symbols(root) if s in entries]
    while todo:
        sym = todo.pop()
        if sym not in seen:
            seen.add(sym)
            todo += [s for s in _symbols(entries[sym].expr) if s in entries and s not in seen]
    return seen
