"""The :class:`Bound` object: a proved upper bound with its left-hand side, assumptions and reference.

A bound also carries its tightness flag and derivation steps; how a bound is
evaluated and checked: docs/theory.md, "Evaluating a bound".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from theory import checks
from theory import symbols as S
from theory.assumptions import Assumption, Constraint, Violation
from theory.errors import AssumptionViolation, MissingConstantError, TheoryError
from theory.lhs import UNIFORM, LeftHandSide
from theory.optimum import optimal_step
from theory.orders import leading_order
from theory.symbols import S1, S2, C_gamma, to_latex
from theory.vectorised import NumpyBound, check_domains, failures, lambdified, registered_name

if TYPE_CHECKING:
    from theory.algorithms import Algorithm

__all__ = ["Bound", "Named", "NumpyBound", "Step", "check_domains"]


@dataclass(frozen=True)
class Step:
    """One step of a derivation: the statement reached and why it holds.

    Attributes:
        title: The step's name (e.g. "descent lemma").
        justification: Why it holds, in one line.
        statement: The statement reached, a SymPy relation or expression.
    """

    title: str
    justification: str
    statement: sp.Basic


@dataclass(frozen=True)
class Named:
    """A named sub-expression, for display only: ``symbol`` stands for ``expr``.

    Attributes:
        symbol: The name (e.g. J_e, the Jacobian bound of the encoder).
        expr: What it stands for.
        meaning: What it bounds, in words.
    """

    symbol: sp.Symbol
    expr: sp.Expr
    meaning: str = ""


@dataclass(frozen=True)
class Bound:
    """An upper bound ``lhs <= expr`` proved under ``assumptions``.

    Attributes:
        name: The theorem's name.
        expr: The bound, an expression in the constants (and n).
        assumptions: The hypotheses of the theorem.
        reference: Where the theorem is proved (or "derived here").
        tight: True only when the constants are exactly the published or derived
            ones (no loosened step).
        steps: The derivation, step by step.
        lhs: What is bounded: the observable and its weights over the iterates
            (docs/theory.md, "What a bound bounds").
        step_limit: The largest admissible step constant C_gamma (None when the
            theorem has no such condition).
        definitions: Substitutions already made (e.g. sigma2 = sigma2_data/B + sigma2_mc/(B K)).
        notes: Remarks shown by :meth:`explain`.
        model: The model name.
        optimizer: The optimizer name.
        variant: The variant name ("" for the default).
        order: The leading order in n when the theorem states it (None: derived from ``expr``).
        same_order_as: A bound with the same leading order (a specialisation by n-free
            substitutions), whose rate is reused.
        condition_constants: Constants that appear only in the theorem's conditions
            (e.g. gamma_max <= 1/L) and must be given to evaluate it all the same.
        algorithm: The adaptive update the theorem analyses (None for the SGD
            theorems, whose update is stated by their ``algorithm`` assumption).
        named: Sub-expressions with names (a model's Jacobian and Hessian bounds,
            display forms of the definitions), used to write the bound readably
            (:mod:`theory.readable`); they do not change ``expr``.
        unexpanded: The bound before its ``definitions`` were substituted (None when
            there are none).
        numeric: Rewrites an expression of the bound for float evaluation
            (:meth:`float_form`; None: as it is), where the exact form would lose its
            digits to cancellation (e.g. :func:`theory.theorems.biased.float_safe`).
    """

    name: str
    expr: sp.Expr
    assumptions: tuple[Assumption, ...]
    reference: str
    tight: bool
    steps: tuple[Step, ...] = ()
    lhs: LeftHandSide = UNIFORM
    step_limit: sp.Expr | None = None
    definitions: tuple[tuple[sp.Symbol, sp.Expr], ...] = ()
    notes: tuple[str, ...] = ()
    model: str = "generic"
    optimizer: str = "sgd"
    variant: str = ""
    order: sp.Expr | None = None
    same_order_as: Bound | None = None
    condition_constants: tuple[sp.Symbol, ...] = ()
    algorithm: Algorithm | None = None
    named: tuple[Named, ...] = ()
    unexpanded: sp.Expr | None = None
    numeric: Callable[[sp.Expr], sp.Expr] | None = None

    # ------------------------------------------------------------------ constants
    @cached_property
    def constants(self) -> tuple[str, ...]:
        """Every value :meth:`evaluate` needs, sorted.

        The names of the free symbols of ``expr``, of the step limit and of the condition constants.
        """
        syms = set(self.expr.free_symbols) | set(self.condition_constants)
        if self.step_limit is not None:
            syms |= self.step_limit.free_symbols
        return tuple(sorted(sym.name for sym in syms))

    def check(self, values: Mapping[str, float]) -> list[Violation]:
        """Every assumption violated at some values (domains first, then constraints).

        Args:
            values: Symbol name -> value.

        Returns:
            The violations; the constraints are checked only when every domain holds.
        """
        out: list[Violation] = []
        for name, value in values.items():
            if name in S.REGISTRY:
                message = checks.domain_message(name, checks.real_value(name, value))
                if message:
                    out.append(Violation("domain", "domain", message))
        if out:
            return out
        for assumption in self.assumptions:
            out.extend(assumption.check(values))
        return out

    @cached_property
    def conditions(self) -> tuple[tuple[str, Constraint], ...]:
        """Every constraint of the theorem with the id of its assumption."""
        return tuple((a.id, con) for a in self.assumptions for con in a.constraints)

    def check_arrays(self, values: Mapping[str, np.ndarray]) -> None:
        """Vectorised :meth:`check`: raise at the first point where a domain or a constraint fails.

        Args:
            values: Symbol name -> array (broadcasting).

        Raises:
            AssumptionViolation: At the first refused point, naming the assumption.
        """
        check_domains(values)
        arrays = {k: np.asarray(v, dtype=float) for k, v in values.items()}
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
        for ident, bad, con, left, right in failures(self.conditions, arrays, shape):
            at = int(np.argmax(bad.ravel()))
            raise AssumptionViolation(
                f"{self.name}: [{ident}] {con.message(left.ravel()[at], right.ravel()[at])}"
            )

    def upper_limits(self, names: set[str]) -> tuple[tuple[str, sp.Expr], ...]:
        """The constraints x <= rhs with a constant x of ``names`` on the left, in drawing order.

        E.g. C_gamma below the step limit, gamma_max <= 1/L, S2 <= gamma_max S1.

        Args:
            names: The constants a sampler draws.

        Returns:
            (x, rhs) pairs, one per x, ordered so that every rhs needs only constants of
            ``names`` that are no left side or come earlier: the order in which a sampler
            can draw x below rhs.
        """
        pairs = [
            (con.lhs.name, con.rhs)
            for assumption in self.assumptions
            for con in assumption.constraints
            if con.lhs.is_Symbol and con.lhs.name in names and con.lhs not in con.rhs.free_symbols
        ]
        if self.step_limit is not None and C_gamma.name in names:
            pairs.append((C_gamma.name, self.step_limit))
        pending = {}
        for x, rhs in pairs:
            pending.setdefault(x, rhs)
        done = set(names) - set(pending)
        out = []
        while True:
            ready = [x for x, rhs in pending.items() if {v.name for v in rhs.free_symbols} <= done]
            if not ready:
                return tuple(out)
            out.append((ready[0], pending.pop(ready[0])))
            done.add(ready[0])

    def _clean(self, values: Mapping[str, object]) -> dict[str, float]:
        clean: dict[str, float] = {}
        for key, value in values.items():
            registered_name(key, self.constants)
            clean[key] = checks.real_value(key, value)
        return clean

    def evaluate(self, **values: float) -> float:
        """The bound's value at some constants.

        Args:
            **values: Symbol name -> value, for every name of :attr:`constants`.

        Returns:
            The bound, a finite float >= 0.

        Raises:
            MissingConstantError: A constant has no value (every one is named).
            UnknownNameError: A name is no symbol of :mod:`theory.symbols` (the names of
                registered symbols the bound does not use are accepted and left aside, so
                that one dict of constants serves several bounds).
            AssumptionViolation: A value that is not a real number, lies outside its domain
                (negative, NaN, not an integer where one is needed, too large for a float) or
                breaks a constraint (e.g. C_gamma > 1/L), or a bound that is not finite and >= 0.
        """
        clean = self._clean(values)
        missing = [name for name in self.constants if name not in clean]
        if missing:
            raise MissingConstantError(
                f"{self.name}: missing value for {', '.join(missing)} (needs {', '.join(self.constants)})"
            )
        violations = self.check(clean)
        if violations:
            raise AssumptionViolation(
                f"{self.name}: " + "; ".join(f"[{v.id}] {v.message}" for v in violations)
            )
        f = self.numpy()
        with np.errstate(all="ignore"):
            try:  # numpy floats: 1/0 is inf (then refused below), not a ZeroDivisionError
                result = float(f.func(*(np.float64(clean[a]) for a in f.args)))
            except (ZeroDivisionError, OverflowError):
                result = math.inf
        if not (math.isfinite(result) and result >= 0):
            raise AssumptionViolation(
                f"{self.name}: the bound is not a finite number >= 0 at {clean} ({result}): a float "
                "overflow, or a domain no constraint encodes"
            )
        return result

    def numpy(self) -> NumpyBound:
        """A vectorised numpy callable of ``expr`` that checks what :meth:`evaluate` checks.

        Returns:
            A :class:`theory.vectorised.NumpyBound`, which raises at the first refused
            point; ``.masked`` gives NaN with a mask instead, ``.raw`` leaves the theorem's
            conditions aside.
        """
        return self._numpy

    def float_form(self, expr: sp.Expr | None = None) -> sp.Expr:
        """An expression of the bound as floats evaluate it.

        Args:
            expr: The expression (default: the bound's).

        Returns:
            ``expr`` with :attr:`numeric` applied (``expr`` itself when there is none).
        """
        expr = self.expr if expr is None else expr
        return expr if self.numeric is None else self.numeric(expr)

    @cached_property
    def _numpy(self) -> NumpyBound:
        syms = sorted(self.expr.free_symbols, key=lambda x: x.name)
        func = lambdified(syms, self.float_form())
        return NumpyBound(tuple(x.name for x in syms), func, self.constants, self.conditions, self.name)

    # ---------------------------------------------------------------- structure
    @property
    def has_rate(self) -> bool:
        """Whether the bound has a leading order in n of its own.

        False when it depends on the steps only through their sums S1, S2 (the rate is the schedule's).
        """
        return self.order is not None or not (self.expr.free_symbols & {S1, S2})

    def rate(self) -> sp.Expr:
        """Leading order in n with constants dropped, e.g. ``log(n)/sqrt(n)``.

        Returns:
            The order the theorem states, else :func:`theory.orders.leading_order` of ``expr``.

        Raises:
            TheoryError: The bound has no rate of its own (:attr:`has_rate` is False).
        """
        return self._rate

    @cached_property
    def _rate(self) -> sp.Expr:
        if self.order is not None:
            return self.order
        if not self.has_rate:
            raise TheoryError(
                f"{self.name} depends on the step sizes only through S1 = sum gamma_k and "
                "S2 = sum gamma_k^2: its rate in n is the schedule's (substitute S1, S2 first)"
            )
        if self.same_order_as is not None:
            rate = self.same_order_as.rate()
            if rate.free_symbols <= self.expr.free_symbols | {S.n}:  # not renamed by a substitution
                return rate
        return leading_order(self.expr)

    @cached_property
    def optimal_step(self) -> sp.Expr:
        """The C_gamma minimising ``expr``, clipped to the step limit (closed form, :mod:`theory.optimum`)."""
        return optimal_step(self.expr, self.step_limit, self.name)

    def substitute(self, **values: float | sp.Expr) -> Bound:
        """The same bound with some constants replaced.

        Args:
            **values: Symbol name -> number or expression.

        Returns:
            A new bound; it keeps its rate when no value contains n.
        """
        subs = {S.get(key): sp.sympify(v) for key, v in values.items()}
        limit = None if self.step_limit is None else self.step_limit.subs(subs)
        keeps_order = not any(v.has(S.n) for v in subs.values())
        return replace(
            self,
            expr=self.expr.subs(subs),
            unexpanded=None if self.unexpanded is None else self.unexpanded.subs(subs),
            step_limit=limit,
            same_order_as=self if keeps_order and self.has_rate and self.order is None else None,
            order=self.order.subs(subs) if keeps_order and self.order is not None else None,
        )

    def latex(self) -> str:
        r"""The bound in LaTeX.

        Returns:
            ``lhs \le expr``.
        """
        return rf"{self.lhs.latex} \le {to_latex(self.expr)}"

    def explain(self) -> str:
        """The theorem as text, for a reader.

        Returns:
            The statement, assumptions, definitions, every derivation step with its one-line
            justification, the final form, the rate, notes and the reference.
        """
        lines = [f"{self.name}  ({'tight' if self.tight else 'loose'} constants)", ""]
        lines.append("Assumptions:")
        lines += [f"  - [{a.id}] {a.name}: {a.statement}" for a in self.assumptions]
        if self.definitions:
            lines.append("Definitions:")
            lines += [f"  - {sp.sstr(sym)} = {sp.sstr(val)}" for sym, val in self.definitions]
        if self.steps:
            lines.append("Derivation:")
            for i, step in enumerate(self.steps, 1):
                lines.append(f"  {i}. {step.title} -- {step.justification}")
                lines.append(f"       {sp.sstr(step.statement)}")
        lines.append("Bound:")
        lines.append(f"  {self.lhs.text} <= {sp.sstr(self.expr)}")
        if self.step_limit is not None:
            lines.append(f"  for C_gamma <= {sp.sstr(self.step_limit)}")
        rate = sp.sstr(self.rate()) if self.has_rate else "the schedule's, through S1 and S2"
        lines.append(f"Rate: {rate}")
        if self.notes:
            lines.append("Notes:")
            lines += [f"  - {note}" for note in self.notes]
        lines.append(f"Reference: {self.reference}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return f"{self.name}: {sp.sstr(self.expr)}"

    def __repr__(self) -> str:
        """One line, ``<Bound 'generic/sgd' in C_gamma, ...>``; ``str()`` adds the expression.

        The dataclass repr printed every field: 37,000 characters, 90 ms for iwae/adam/biased.
        """
        return f"<Bound {self.name!r} in {', '.join(self.constants)}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """:meth:`__repr__` for IPython's and Hypothesis's printers (the latter prints fields)."""
        printer.text(repr(self))
