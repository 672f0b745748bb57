"""The :class:`Bound` object: a proved upper bound with its assumptions,
reference, tightness flag and derivation steps."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import sympy as sp

from theory import symbols as S
from theory.assumptions import Assumption, Violation
from theory.errors import AssumptionViolation, MissingConstantError, TheoryError, UnknownNameError
from theory.symbols import to_latex

#: The quantity every stochastic-gradient bound controls (design.md convention).
AVERAGE_GRAD_NORM_SQ = r"\frac{1}{n}\sum_{k=0}^{n-1}\mathbb{E}\|\nabla F(\theta_k)\|^2"


@dataclass(frozen=True)
class Step:
    """One step of a derivation: the statement reached and why it holds."""

    title: str
    justification: str
    statement: sp.Basic


@dataclass(frozen=True)
class NumpyBound:
    """A vectorised bound: call with keyword arrays (broadcast together) or
    positionally in the order of :attr:`args`. No assumption checks are made
    here (use :meth:`Bound.evaluate` for checked scalar values)."""

    args: tuple[str, ...]
    func: Callable[..., np.ndarray]

    def __call__(self, *positional, **values):
        if positional and values:
            raise TheoryError("pass the constants either positionally or by name, not both")
        if values:
            missing = [a for a in self.args if a not in values]
            if missing:
                raise MissingConstantError(f"missing value for {', '.join(missing)}")
            positional = tuple(values[a] for a in self.args)
        if len(positional) != len(self.args):
            raise TheoryError(f"expected {len(self.args)} values ({', '.join(self.args)})")
        return self.func(*positional)


@dataclass(frozen=True)
class Bound:
    """An upper bound ``lhs <= expr`` proved under ``assumptions``.

    ``tight`` is True only when the constants are exactly the published or
    derived ones (no loosened step); ``step_limit`` is the largest admissible
    step constant C_gamma (None when the theorem has no such condition);
    ``definitions`` records substitutions already made (e.g.
    sigma2 = sigma2_data/B + sigma2_mc/(B K)).
    """

    name: str
    expr: sp.Expr
    assumptions: tuple[Assumption, ...]
    reference: str
    tight: bool
    steps: tuple[Step, ...] = ()
    lhs: str = AVERAGE_GRAD_NORM_SQ
    step_limit: sp.Expr | None = None
    definitions: tuple[tuple[sp.Symbol, sp.Expr], ...] = ()
    notes: tuple[str, ...] = ()
    model: str = "generic"
    optimizer: str = "sgd"
    variant: str = ""
    _cache: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    # ------------------------------------------------------------------ constants
    @cached_property
    def constants(self) -> tuple[str, ...]:
        """Names of the free symbols of ``expr`` and of the step limit, sorted."""
        syms = set(self.expr.free_symbols)
        if self.step_limit is not None:
            syms |= self.step_limit.free_symbols
        return tuple(sorted(sym.name for sym in syms))

    def check(self, values: Mapping[str, float]) -> list[Violation]:
        """Every assumption violated at ``values`` (domains first, then constraints)."""
        out: list[Violation] = []
        for name in self.constants:
            if name in values:
                info = S.info(name)
                v = values[name]
                if not info.admits(v):
                    shown = "NaN" if math.isnan(v) else repr(v)
                    out.append(Violation("domain", f"{name} must be {info.describe_domain()}, got {shown}"))
        if out:
            return out
        for assumption in self.assumptions:
            out.extend(assumption.check(values))
        return out

    def _clean(self, values: Mapping[str, object]) -> dict[str, float]:
        clean: dict[str, float] = {}
        for key, value in values.items():
            if key not in S.REGISTRY:
                raise UnknownNameError(
                    f"unknown constant {key!r}; this bound needs {', '.join(self.constants)}"
                )
            try:
                clean[key] = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise AssumptionViolation(f"{key} must be a real number, got {value!r}") from None
        return clean

    def evaluate(self, **values: float) -> float:
        """The bound's value at ``values`` (keys are symbol names).

        Raises :class:`MissingConstantError` naming every constant without a
        value and :class:`AssumptionViolation` for a value outside its domain
        (negative, NaN, ...) or breaking a constraint (e.g. C_gamma > 1/L).
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
                f"{self.name}: " + "; ".join(f"[{v.assumption}] {v.message}" for v in violations)
            )
        f = self.numpy()
        with np.errstate(all="ignore"):
            result = float(f(**{a: clean[a] for a in f.args}))
        if not math.isfinite(result):
            raise AssumptionViolation(f"{self.name}: the bound is not finite at {clean} ({result})")
        return result

    def numpy(self) -> NumpyBound:
        """A vectorised numpy callable of ``expr`` (arguments: symbol names, sorted)."""
        if "numpy" not in self._cache:
            syms = sorted(self.expr.free_symbols, key=lambda x: x.name)
            func = sp.lambdify(syms, self.expr, modules="numpy", cse=True)
            self._cache["numpy"] = NumpyBound(tuple(x.name for x in syms), func)
        return self._cache["numpy"]

    # ---------------------------------------------------------------- structure
    def rate(self) -> sp.Expr:
        """Leading order in n with constants dropped, e.g. ``log(n)/sqrt(n)``."""
        from theory.rates import leading_order

        if "rate" not in self._cache:
            source = self._cache.get("rate_from")  # same leading order (set by specialise)
            self._cache["rate"] = source.rate() if source is not None else leading_order(self.expr)
        return self._cache["rate"]

    def substitute(self, **values: float | sp.Expr) -> Bound:
        """The same bound with some constants replaced (numbers or expressions)."""
        subs = {S.get(key): sp.sympify(v) for key, v in values.items()}
        limit = None if self.step_limit is None else self.step_limit.subs(subs)
        return replace(self, expr=self.expr.subs(subs), step_limit=limit, _cache={})

    def latex(self) -> str:
        """``lhs \\le expr`` in LaTeX."""
        return rf"{self.lhs} \le {to_latex(self.expr)}"

    def explain(self) -> str:
        """The statement, assumptions, every derivation step with its one-line
        justification, the final form, the rate and the reference."""
        lines = [f"{self.name}  ({'tight' if self.tight else 'loose'} constants)", ""]
        lines.append("Assumptions:")
        lines += [f"  - {a.name}: {a.statement}" for a in self.assumptions]
        if self.definitions:
            lines.append("Definitions:")
            lines += [f"  - {sp.sstr(sym)} = {sp.sstr(val)}" for sym, val in self.definitions]
        if self.steps:
            lines.append("Derivation:")
            for i, step in enumerate(self.steps, 1):
                lines.append(f"  {i}. {step.title} -- {step.justification}")
                lines.append(f"       {sp.sstr(step.statement)}")
        lines.append("Bound:")
        lines.append(f"  (1/n) sum_(k=0)^(n-1) E||grad F(theta_k)||^2 <= {sp.sstr(self.expr)}")
        if self.step_limit is not None:
            lines.append(f"  for C_gamma <= {sp.sstr(self.step_limit)}")
        lines.append(f"Rate: {sp.sstr(self.rate())}")
        if self.notes:
            lines.append("Notes:")
            lines += [f"  - {note}" for note in self.notes]
        lines.append(f"Reference: {self.reference}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return f"{self.name}: {sp.sstr(self.expr)}"
