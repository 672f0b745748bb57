"""Assumptions of the theorems: an id, a statement, the constants it introduces and their constraints.

Each is checkable on concrete values. The ids are explained in docs/theory.md
("Assumptions"); the empirical checks refer to ids, never to the display names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import sympy as sp

from theory import checks
from theory import symbols as S

#: Every assumption id a theorem may carry, with its meaning (docs/theory.md, "Assumptions").
IDS: dict[str, str] = {
    "smooth": "F is L-smooth",
    "lower-bounded": "F* = inf F > -inf, Delta = F(theta_0) - F*",
    "unbiased": "E[g_k given the past] = grad F(theta_{k-1})",
    "biased-gradient": "||E[g_k given the past] - grad F(theta_{k-1})|| <= C_alpha k^(-alpha_bias)",
    "bounded-variance": "E||g_k - grad F(theta_{k-1})||^2 <= sigma2",
    "growth-variance": "E||g_k - grad F(theta_{k-1})||^2 <= A_growth + G_growth ||grad F(theta_{k-1})||^2",
    "step-size": "the theorem's condition on the step sizes (e.g. gamma_k <= 1/L)",
    "bounded-sup": "||g_k||_inf <= R almost surely",
    "smooth-activations": "A1: activations with bounded f', f'' and bounded network outputs",
    "box": "A2: the parameters stay in the box ||theta||_inf <= a",
    "architecture": "the model has the structure its constants were derived for",
    "algorithm": "the algorithm run is the one the theorem analyses",
    "preconditioner": "the preconditioner is built from past gradients only",
    "momentum": "beta1 = 0 where only that case is proved",
    "hyperparameters": "the optimizer's parameters satisfy the theorem's conditions",
    "variance-split": "B examples, K draws each, independent",
}


@dataclass(frozen=True)
class Constraint:
    """A relation between constants, ``lhs <= rhs`` (``lhs < rhs`` when ``strict``), with a readable name.

    At concrete values a non-strict relation allows rounding and a strict one keeps a
    margin beyond it (:func:`theory.checks.holds`; docs/theory.md, "Evaluating a bound").

    Attributes:
        lhs: The left side, an expression in the constants.
        rhs: The right side, an expression in the constants.
        description: What the relation is, for messages.
        strict: The theorem needs ``lhs < rhs``: at concrete values it holds when
            lhs < rhs - TOLERANCE |rhs|.
        defines: The bound's expression itself needs the relation (outside it the
            expression is negative, complex or undefined, e.g. N~ = N - beta1/(1 - beta1) > 0),
            not only its proof: :func:`theory.attribution`, which examines a bound
            outside the theorem's conditions, still checks these.
    """

    lhs: sp.Expr
    rhs: sp.Expr
    description: str
    strict: bool = False
    defines: bool = False

    @property
    def symbol(self) -> str:
        """``<`` or ``<=``."""
        return "<" if self.strict else "<="

    def relation(self) -> sp.Rel:
        """The constraint as a SymPy relation.

        Returns:
            ``lhs < rhs`` when strict, else ``lhs <= rhs``, unevaluated.
        """
        return (sp.Lt if self.strict else sp.Le)(self.lhs, self.rhs, evaluate=False)

    def violation(self, values: Mapping[str, float]) -> str | None:
        """Why the relation fails at some values, if it does.

        Args:
            values: Constant name -> value.

        Returns:
            A message when the relation fails at ``values``; None when it holds or when
            not every constant it needs is given.
        """
        sides = checks.constraint_sides(self.lhs, self.rhs, values)
        if sides is None:
            return None
        left, right = float(sides[0]), float(sides[1])
        if checks.holds(left, right, self.strict):
            return None
        return self.message(left, right)

    def message(self, left: float, right: float) -> str:
        """Why the relation fails with the given sides.

        Args:
            left: The left side's value.
            right: The right side's value.

        Returns:
            The description, the relation and both values (every digit when they agree to 6).
        """
        negation = ">=" if self.strict else ">"
        shown = f"{left:.6g}", f"{right:.6g}"
        if shown[0] == shown[1]:  # equal to 6 digits: show every digit
            shown = repr(float(left)), repr(float(right))
        return f"{self.description}: {self.printed} fails ({shown[0]} {negation} {shown[1]})"

    @cached_property
    def printed(self) -> str:
        """The relation as :meth:`message` shows it, ``lhs <= rhs`` (SymPy's printing: once)."""
        return f"{sp.sstr(self.lhs)} {self.symbol} {sp.sstr(self.rhs)}"


@dataclass(frozen=True)
class Violation:
    """One failed check: which assumption, and why.

    Attributes:
        id: The assumption's id (one of :data:`IDS`, or ``"domain"``).
        assumption: The assumption's display name.
        message: Why the check failed, with the values.
    """

    id: str
    assumption: str
    message: str


@dataclass(frozen=True)
class Assumption:
    """A hypothesis of a theorem.

    Attributes:
        id: One of :data:`IDS`.
        name: A display name.
        statement: The hypothesis in LaTeX.
        constants: The symbols it introduces (their domains, from :mod:`theory.symbols`,
            are checked too).
        constraints: Relations between constants that concrete values must satisfy.

    Raises:
        ValueError: ``id`` is not one of :data:`IDS`.
    """

    id: str
    name: str
    statement: str  # LaTeX
    constants: tuple[sp.Symbol, ...] = ()
    constraints: tuple[Constraint, ...] = ()

    def __post_init__(self) -> None:
        if self.id not in IDS:
            raise ValueError(f"unknown assumption id {self.id!r}; known ids: {', '.join(IDS)}")

    def check(self, values: Mapping[str, float]) -> list[Violation]:
        """Violations of this assumption at some values.

        Constants without a value are not checked here (the bound reports them as missing).
        The domains of its constants are checked first; the constraints only when they pass.

        Args:
            values: Symbol name -> value.

        Returns:
            The violations, empty when the assumption holds at ``values``.
        """
        out = []
        for sym in self.constants:
            if sym.name in values:
                message = checks.domain_message(sym.name, checks.real_value(sym.name, values[sym.name]))
                if message:
                    out.append(Violation(self.id, self.name, message))
        if out:
            return out
        for con in self.constraints:
            msg = con.violation(values)
            if msg:
                out.append(Violation(self.id, self.name, msg))
        return out


# The assumptions shared by the stochastic-gradient theorems (docs/theory.md, "Assumptions").
SMOOTH = Assumption(
    "smooth",
    "L-smooth",
    r"\|\nabla F(x) - \nabla F(y)\| \le L \|x - y\|",
    (S.L,),
)
LOWER_BOUNDED = Assumption(
    "lower-bounded",
    "bounded below",
    r"F^* = \inf F > -\infty,\ \Delta = F(\theta_0) - F^*",
    (S.Delta,),
)
UNBIASED = Assumption(
    "unbiased",
    "unbiased gradient",
    r"\mathbb{E}[g_k \mid \theta_{k-1}] = \nabla F(\theta_{k-1})",
)
BOUNDED_VARIANCE = Assumption(
    "bounded-variance",
    "bounded variance",
    r"\mathbb{E}\|g_k - \nabla F(\theta_{k-1})\|^2 \le \sigma^2",
    (S.sigma2,),
)
BOUNDED_SUP = Assumption(
    "bounded-sup",
    "bounded gradients (sup norm)",
    r"\|g_k\|_\infty \le R \text{ almost surely}",
    (S.R,),
)
PRECONDITIONER = Assumption(
    "preconditioner",
    "preconditioner from past gradients",
    r"A_{k-1} = \mathrm{diag}(1/(\sqrt{v_{k-1}} + \epsilon)) \text{ known before } g_k,\ "
    r"\mathrm{spec}(A_{k-1}) \subset [1/(R+\epsilon), 1/\epsilon]",
    (S.R, S.eps),
)
