"""Every assumption of the theorem checked on the runs, one row per assumption id.

The ids are listed in docs/architecture.md, "Assumption ids"; the assumptions in docs/theory.md.

Statuses: ``holds`` only for what is proved or checked exactly; ``estimated``
for what rests on estimated constants (a step condition against an estimated
L, a variance bound, Delta without a proven lower bound); ``approximate`` where
the algorithm run differs from the analysed one in named details; ``fails``
(the theorem does not cover the run); ``unchecked``.

A theorem with measured L keeps A1 and A2 out of its own assumptions; the
rows ``smooth-activations`` and ``box`` are added here, because the measured
constants are meaningful only under them.

A user's module (``Settings.source`` other than built-in) has its own words for
three rows: ``unbiased`` holds by construction only when the loop says how it
drew its minibatches (the CLI's loop does), ``bounded-variance`` names B, how it
was found and the per-example route, and its activations are not inspected.

``bounded-sup`` (||g_k||_inf <= R almost surely) is ``estimated`` only when the
noise the loss draws is bounded (the built-in models under Adam and Adagrad draw
it truncated, :data:`empirical.settings.ADAPTIVE_NOISE_BOUND`; a user's module may
declare ``noise_bound``, the largest |eps_j| its loss draws, 0 for none): R is then
a lower estimate of a finite supremum, like L. Under Gaussian noise no almost-sure
bound exists and the row is ``approximate``: R is a quantile, the largest value seen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from empirical.conclusion.algorithm_rows import ALGORITHM_CHECKS, BOX_RTOL
from empirical.conclusion.assumption_row import ESTIMATED, FAILS, HOLDS, UNCHECKED, Row
from empirical.conclusion.evidence import Evidence, stressed_constants
from empirical.conclusion.problem_rows import PROBLEM_CHECKS

if TYPE_CHECKING:
    from theory.bound import Bound

__all__ = ["BOX_RTOL", "CHECKS", "Evidence", "assumption_rows", "constraint_row"]


def _show(expr: Any, values: Mapping[str, float]) -> str:
    """A SymPy expression at ``values``, or as text when some symbol is left."""
    import sympy as sp

    subs = {sym: values[sym.name] for sym in expr.free_symbols if sym.name in values}
    try:
        return f"{float(sp.sympify(expr).subs(subs)):.4g}"
    except TypeError:
        return sp.sstr(expr)


def constraint_row(assumption, ev: Evidence) -> Row:
    """The row of an assumption with constraints, at the values bound into the theorem.

    Each constraint lhs <= rhs is shown at the bound values; the row fails when one is broken
    (:func:`empirical.compare.bind` found it violated), is estimated when it involves an
    estimated constant (checked at the estimate, not proved), and holds otherwise.

    Args:
        assumption: A :class:`theory.assumptions.Assumption` with constraints.
        ev: The evidence.

    Returns:
        The row.
    """
    broken = [v.message for v in ev.binding.violations if v.id == assumption.id]
    if broken:
        return Row(assumption.id, assumption.name, FAILS, "; ".join(broken))
    values = ev.binding.values
    used = {s.name for c in assumption.constraints for s in c.lhs.free_symbols | c.rhs.free_symbols}
    missing = sorted(used - set(values))
    if missing:
        return Row(assumption.id, assumption.name, UNCHECKED, f"no value for {', '.join(missing)}")
    shown = "; ".join(
        f"{c.description}: {_show(c.lhs, values)} <= {_show(c.rhs, values)}" for c in assumption.constraints
    )
    estimated = sorted(used & set(ev.binding.ends))
    if estimated:
        stressed = stressed_constants(ev)
        which = ", ".join(f"{'stressed' if n in stressed else 'estimated'} {n}" for n in estimated)
        return Row(
            assumption.id,
            assumption.name,
            ESTIMATED,
            f"{shown} at the {which} (lower estimates of suprema where they are "
            "L, sigma2, M or R: the condition is checked at the estimate, not proved)",
        )
    return Row(assumption.id, assumption.name, HOLDS, f"checked exactly: {shown}")


#: Assumption id -> its check (the rows without constraints of their own).
CHECKS: dict[str, Callable[[Any, Evidence], Row]] = {**PROBLEM_CHECKS, **ALGORITHM_CHECKS}


@dataclass(frozen=True)
class _Extra:
    """A row the pipeline adds for an assumption the theorem does not carry."""

    id: str
    name: str
    constraints: tuple = ()


def assumption_rows(theorem: Bound, ev: Evidence) -> tuple[Row, ...]:
    """Every assumption of ``theorem`` checked on the runs.

    One row per assumption (by id: :data:`CHECKS`, or :func:`constraint_row` for one with
    constraints), then A1 (smooth activations) and A2 (the box) when the theorem leaves them
    out, then a ``domain`` row for any inadmissible value of a constant.

    Args:
        theorem: The theorem compared.
        ev: The evidence.

    Returns:
        The rows, in that order.
    """
    checks = CHECKS
    rows = []
    for a in theorem.assumptions:
        check = constraint_row if a.constraints else checks.get(a.id)
        if check is None:
            rows.append(Row(a.id, a.name, UNCHECKED, "no empirical check of this assumption"))
        else:
            rows.append(check(a, ev))
    ids = {a.id for a in theorem.assumptions}
    if "smooth-activations" not in ids and hasattr(ev.model, "activation"):
        rows.append(checks["smooth-activations"](_Extra("smooth-activations", "smooth activations (A1)"), ev))
    if "box" not in ids:
        rows.append(checks["box"](_Extra("box", "parameter box (A2)"), ev))
    domain = [v.message for v in ev.binding.violations if v.id == "domain"]
    if domain:
        rows.append(Row("domain", "admissible constants", FAILS, "; ".join(domain)))
    return tuple(rows)
