"""The left-hand side of a bound as data: which quantity is averaged over the iterates, with which weights.

Every theorem bounds sum_j w_j E[X_j] / sum_j w_j over theta_0..theta_{n-1}
(docs/theory.md, "What a bound bounds"). This module is the one definition of
those weights: the empirical side calls :meth:`LeftHandSide.weights` and never
re-types them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import sympy as sp

from theory.checks import check_scalar, require_integer
from theory.errors import AssumptionViolation, MissingConstantError, UnknownNameError
from theory.symbols import beta1, gamma_next, get, j, n

#: X_j = ||grad F(theta_j)||^2.
GRAD_NORM_SQ = "grad_norm_sq"
#: X_j = ||theta_j - theta_{j+1}||^2 / gamma_{j+1}^2, the stochastic gradient mapping of projected SGD.
GRADIENT_MAPPING_SQ = "gradient_mapping_sq"
OBSERVABLES = (GRAD_NORM_SQ, GRADIENT_MAPPING_SQ)


@dataclass(frozen=True)
class LeftHandSide:
    """What a bound bounds: an observable averaged over iterates j = 0..n-1 with weights.

    Attributes:
        observable: X_j, one of :data:`OBSERVABLES`.
        weight: The unnormalised weight w_j >= 0, a SymPy expression in ``j``, ``n``,
            constants such as ``beta1`` and ``gamma_next`` = gamma_{j+1} (the step taken
            from theta_j).
        latex: The left-hand side in LaTeX.
        text: The left-hand side in plain text.

    Raises:
        ValueError: ``observable`` is not one of :data:`OBSERVABLES`.
    """

    observable: str
    weight: sp.Expr
    latex: str
    text: str

    def __post_init__(self) -> None:
        if self.observable not in OBSERVABLES:
            raise ValueError(f"observable must be one of {', '.join(OBSERVABLES)}, got {self.observable!r}")

    @cached_property
    def constants(self) -> tuple[str, ...]:
        """Names of the constants the weights need, besides j, n and gamma_next."""
        free = sp.sympify(self.weight).free_symbols - {j, n, gamma_next}
        return tuple(sorted(sym.name for sym in free))

    @property
    def uses_steps(self) -> bool:
        """True when the weights depend on the step sizes actually taken."""
        return gamma_next in sp.sympify(self.weight).free_symbols

    @property
    def uniform(self) -> bool:
        """True when every iterate has the same weight."""
        return not (sp.sympify(self.weight).free_symbols & {j, gamma_next} or self.constants)

    @cached_property
    def _function(self) -> Callable[..., np.ndarray]:
        return sp.lambdify([j, n, gamma_next, *(get(c) for c in self.constants)], self.weight, "numpy")

    def weights(self, n: int, step_sizes=None, **values: float) -> np.ndarray:
        """The normalised weights w_j / sum_i w_i of iterates j = 0..n-1.

        Args:
            n: The number of iterates averaged (an integer >= 1).
            step_sizes: The n step sizes gamma_1..gamma_n actually used (required when the
                weights use them, :attr:`uses_steps`).
            **values: The other constants of the weights (e.g. ``beta1``).

        Returns:
            An array of length n, nonnegative, summing to 1.

        Raises:
            TheoryError: A bad ``n`` or ``step_sizes``, an unknown or missing constant, or
                weights that are not finite nonnegative numbers with a positive sum.
        """
        count = require_integer("n", n, minimum=1)
        unknown = sorted(set(values) - set(self.constants))
        if unknown:
            raise UnknownNameError(
                f"unknown constant {', '.join(unknown)} for these weights; they need "
                f"{', '.join(self.constants) or 'no constant'}"
            )
        missing = [c for c in self.constants if c not in values]
        if missing:
            raise MissingConstantError(f"the weights need a value for {', '.join(missing)}")
        clean = {name: check_scalar(name, values[name]) for name in self.constants}
        steps = np.ones(count)
        if self.uses_steps:
            steps = _step_sizes(step_sizes, count)
        index = np.arange(count, dtype=float)
        with np.errstate(all="ignore"):
            raw = self._function(index, float(count), steps, *(clean[c] for c in self.constants))
        w = np.broadcast_to(np.asarray(raw, dtype=float), (count,)).astype(float)
        total = float(w.sum())
        if not (np.all(np.isfinite(w)) and np.all(w >= 0) and total > 0 and np.isfinite(total)):
            raise AssumptionViolation(
                f"the weights {sp.sstr(self.weight)} are not finite nonnegative numbers with a positive "
                f"sum at n={count}, {clean}"
            )
        return w / total

    def __str__(self) -> str:
        return self.latex


def _step_sizes(step_sizes, count: int) -> np.ndarray:
    if step_sizes is None:
        raise MissingConstantError("these weights use the step sizes: pass step_sizes (gamma_1..gamma_n)")
    try:
        steps = np.asarray(step_sizes, dtype=float)
    except (TypeError, ValueError):
        raise AssumptionViolation(f"step_sizes must be {count} numbers > 0, got {step_sizes!r}") from None
    if steps.shape != (count,):
        raise AssumptionViolation(f"step_sizes must have length n = {count}, got shape {steps.shape}")
    bad = ~(np.isfinite(steps) & (steps > 0))
    if bad.any():
        first = int(np.argmax(bad))
        raise AssumptionViolation(
            f"step_sizes must be finite numbers > 0; gamma_{first + 1} = {steps[first]!r}"
        )
    return steps


_AVERAGE = r"\frac{1}{n}\sum_{j=0}^{n-1}\mathbb{E}\|\nabla F(\theta_j)\|^2"

#: (1/n) sum_j E||grad F(theta_j)||^2: the SGD theorem with gamma_k = C_gamma k^(-alpha).
UNIFORM = LeftHandSide(GRAD_NORM_SQ, sp.Integer(1), _AVERAGE, "(1/n) sum_(j=0)^(n-1) E||grad F(theta_j)||^2")

#: sum_j gamma_{j+1} E||grad F(theta_j)||^2 / sum_j gamma_{j+1}: SGD under any step sequence.
STEP_WEIGHTED = LeftHandSide(
    GRAD_NORM_SQ,
    gamma_next,
    r"\frac{\sum_{j=0}^{n-1}\gamma_{j+1}\mathbb{E}\|\nabla F(\theta_j)\|^2}{\sum_{j=0}^{n-1}\gamma_{j+1}}",
    "sum_j gamma_(j+1) E||grad F(theta_j)||^2 / sum_j gamma_(j+1)",
)

#: The gamma-weighted average of E||theta_j - theta_{j+1}||^2 / gamma_{j+1}^2: projected SGD.
STEP_WEIGHTED_MAPPING = LeftHandSide(
    GRADIENT_MAPPING_SQ,
    gamma_next,
    r"\frac{\sum_{j=0}^{n-1}\gamma_{j+1}\mathbb{E}\|\tilde G_{j+1}\|^2}{\sum_{j=0}^{n-1}\gamma_{j+1}},\ "
    r"\tilde G_{j+1} = \frac{\theta_j - \theta_{j+1}}{\gamma_{j+1}}",
    "sum_j gamma_(j+1) E||(theta_j - theta_(j+1))/gamma_(j+1)||^2 / sum_j gamma_(j+1)",
)

#: E||grad F(theta_tau)||^2 with P(tau = j) proportional to 1 - beta1^(n - j) (Défossez et al.).
MOMENTUM_WEIGHTED = LeftHandSide(
    GRAD_NORM_SQ,
    1 - beta1 ** (n - j),
    r"\mathbb{E}\|\nabla F(\theta_\tau)\|^2,\ P(\tau = j) \propto 1 - \beta_1^{n-j},\ j = 0..n-1",
    "E||grad F(theta_tau)||^2, P(tau = j) proportional to 1 - beta1^(n-j), j = 0..n-1",
)

#: E||grad F(theta_tau)||^2 with tau uniform on {0..n-1} (Défossez et al.'s Adagrad).
UNIFORM_TAU = LeftHandSide(
    GRAD_NORM_SQ,
    sp.Integer(1),
    r"\mathbb{E}\|\nabla F(\theta_\tau)\|^2,\ \tau \text{ uniform on } \{0..n-1\}",
    "E||grad F(theta_tau)||^2, tau uniform on {0..n-1}",
)
