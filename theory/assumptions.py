"""Assumptions of the theorems: a statement, the constants it introduces and
the constraints between them, checkable on concrete values."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import sympy as sp

from theory import symbols as S


@dataclass(frozen=True)
class Constraint:
    """A relation between constants, ``lhs <= rhs``, with a readable name."""

    lhs: sp.Expr
    rhs: sp.Expr
    description: str

    def relation(self) -> sp.Rel:
        return sp.Le(self.lhs, self.rhs, evaluate=False)

    def violation(self, values: Mapping[str, float]) -> str | None:
        """A message when ``lhs > rhs`` at ``values`` (None when it holds or
        when not every constant it needs is given)."""
        needed = self.lhs.free_symbols | self.rhs.free_symbols
        if any(sym.name not in values for sym in needed):
            return None
        subs = {sym: values[sym.name] for sym in needed}
        left, right = float(self.lhs.subs(subs)), float(self.rhs.subs(subs))
        if left <= right * (1 + 1e-12):
            return None
        return (
            f"{self.description}: {sp.sstr(self.lhs)} <= {sp.sstr(self.rhs)} fails ({left:.6g} > {right:.6g})"
        )


@dataclass(frozen=True)
class Violation:
    """One failed check: which assumption, and why."""

    assumption: str
    message: str


@dataclass(frozen=True)
class Assumption:
    """A hypothesis of a theorem.

    ``constants`` are the symbols it introduces (their domains, from
    :mod:`theory.symbols`, are checked too); ``constraints`` are relations
    between constants that concrete values must satisfy.
    """

    name: str
    statement: str  # LaTeX
    constants: tuple[sp.Symbol, ...] = ()
    constraints: tuple[Constraint, ...] = ()

    def check(self, values: Mapping[str, float]) -> list[Violation]:
        """Violations of this assumption at ``values`` (keys: symbol names).

        Constants without a value are not checked here (the bound reports
        them as missing).
        """
        out = []
        for sym in self.constants:
            if sym.name in values:
                info = S.info(sym)
                v = values[sym.name]
                if not info.admits(v):
                    got = "NaN" if isinstance(v, float) and math.isnan(v) else repr(v)
                    out.append(
                        Violation(self.name, f"{sym.name} must be {info.describe_domain()}, got {got}")
                    )
        if out:
            return out
        for con in self.constraints:
            msg = con.violation(values)
            if msg:
                out.append(Violation(self.name, msg))
        return out


# The assumptions shared by the stochastic-gradient theorems (theory-reference §3.1).
SMOOTH = Assumption(
    "L-smooth",
    r"\|\nabla F(x) - \nabla F(y)\| \le L \|x - y\|",
    (S.L,),
)
LOWER_BOUNDED = Assumption(
    "bounded below",
    r"F^* = \inf F > -\infty,\ \Delta = F(\theta_0) - F^*",
    (S.Delta,),
)
UNBIASED = Assumption(
    "unbiased gradient",
    r"\mathbb{E}[g_k \mid \theta_{k-1}] = \nabla F(\theta_{k-1})",
)
BOUNDED_VARIANCE = Assumption(
    "bounded variance",
    r"\mathbb{E}\|g_k - \nabla F(\theta_{k-1})\|^2 \le \sigma^2",
    (S.sigma2,),
)
