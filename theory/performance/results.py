"""The frozen results of performance estimation.

The worst case and the bound side by side (PEPit-style), how the worst case was
computed, and the fit used beyond the solvable horizons (docs/theory.md,
"Performance estimation").
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: PEPit, the performance-estimation toolbox the exact problems are written with.
PEPIT_REFERENCE = (
    "Goujaud, Moucer, Glineur, Hendrickx, Taylor, Dieuleveut, 'PEPit: computer-assisted worst-case "
    "analyses of first-order optimization methods in Python', Math. Prog. Comp. 16 (2024); "
    "interpolation conditions: Taylor, Hendrickx, Glineur, SIAM J. Optim. 27 (2017)"
)


@dataclass(frozen=True)
class Fit:
    """The fit ratio(n) = a + b n^(-1/2) of the proof's slack, by least squares.

    The form has a plateau (a) as the ratios of these theorems do (2 Delta / S1 against
    C sqrt(n) differs at order n^(-1/2)); on the default theorem, fitted over
    n = 125..2000 it gives 2.0111 at n = 5000 against 2.0106 solved. An extrapolation,
    not a bound.

    Attributes:
        a: The plateau.
        b: The coefficient of n^(-1/2).
        horizons: The horizons fitted.
        ratios: The solved ratios at those horizons.
        max_residual: The largest |ratio - fit| there.
    """

    a: float
    b: float
    horizons: tuple[int, ...]
    ratios: tuple[float, ...]
    max_residual: float

    def ratio(self, n: int) -> float:
        """The fitted ratio at a horizon.

        Args:
            n: The horizon.

        Returns:
            a + b n^(-1/2).
        """
        return self.a + self.b / n**0.5

    def __str__(self) -> str:
        return (
            f"ratio(n) = {self.a:.6g} {'+' if self.b >= 0 else '-'} {abs(self.b):.4g} n^(-1/2) fitted on "
            f"n = {', '.join(map(str, self.horizons))} (max |residual| {self.max_residual:.1e})"
        )


@dataclass(frozen=True)
class Method:
    """How a worst case was computed.

    Attributes:
        formulation: "pepit" (PEPit's program with the interpolation conditions between
            every pair of points: the exact worst case), "consecutive" (the banded
            program with the conditions between consecutive iterates only: at least the
            exact worst case) or "fit" (beyond the solved horizons: the bound divided by
            the fitted ratio).
        exact: True for "pepit" only.
        solver: The solver and versions.
        size: A description of the program.
        status: The solver's status.
        seconds: The solver time (summed over the fit's horizons).
        fit: The :class:`Fit`, or None.
    """

    formulation: str
    exact: bool
    solver: str
    size: str
    status: str
    seconds: float
    fit: Fit | None = None


@dataclass(frozen=True)
class Tightness:
    """A bound next to the worst case of its algorithm at sigma2 = 0.

    Attributes:
        theorem: The bound's name.
        algorithm: What performance estimation ran ("gradient descent", "projected
            gradient descent", "gradient descent with a bounded bias").
        n: The horizon.
        worst_case: The largest value of the left-hand side over the function class
            after n steps.
        bound_value: The bound at the same constants (sigma2 = 0).
        ratio: bound_value / worst_case: the proof's own slack (>= 1 for a valid bound;
            1 when the bound is attained).
        tight: The ratio is 1 within 1e-6 and the worst case was solved (not fitted).
        lhs: What both sides measure (the bound's own left-hand side).
        function_class: The worst case's class of functions.
        constants: The values used, including those the steps give (S1, S2, gamma_max).
        reference: The theorem's reference.
        method: How the worst case was computed.
        notes: Remarks (the noise, the formulation, a fit).
        steps: The steps gamma_1..gamma_n.
        pep_reference: The performance-estimation reference.
    """

    theorem: str
    algorithm: str
    n: int
    worst_case: float
    bound_value: float
    ratio: float
    tight: bool
    lhs: str
    function_class: str
    constants: tuple[tuple[str, float], ...]
    reference: str
    method: Method
    notes: tuple[str, ...] = ()
    steps: tuple[float, ...] = field(default=(), repr=False)
    pep_reference: str = PEPIT_REFERENCE

    def __str__(self) -> str:
        how = "fitted" if self.method.fit is not None else self.method.formulation
        return (
            f"{self.theorem} at n = {self.n}: bound {self.bound_value:.6g}, worst case {self.worst_case:.6g} "
            f"({how}), ratio {self.ratio:.6g}{' (tight)' if self.tight else ''}"
        )


@dataclass(frozen=True)
class WorstCase:
    """The exact worst case of a method no theorem here covers (heavy-ball momentum), at sigma2 = 0.

    A number, **not a bound** for the stochastic method.

    Attributes:
        algorithm: The method run.
        n: The horizon.
        worst_case: The largest value of the left-hand side after n steps.
        lhs: The left-hand side.
        function_class: The worst case's class of functions.
        constants: The values used.
        method: How the worst case was computed.
        notes: Remarks.
        steps: The steps gamma_1..gamma_n.
        reference: The performance-estimation reference.
        is_bound: Always False.
    """

    algorithm: str
    n: int
    worst_case: float
    lhs: str
    function_class: str
    constants: tuple[tuple[str, float], ...]
    method: Method
    notes: tuple[str, ...] = ()
    steps: tuple[float, ...] = field(default=(), repr=False)
    reference: str = PEPIT_REFERENCE
    is_bound: bool = False

    def __str__(self) -> str:
        return (
            f"{self.algorithm} at n = {self.n}: worst case {self.worst_case:.6g} ({self.method.formulation}; "
            "deterministic, no bound for the stochastic case)"
        )
