"""The frozen results of performance estimation: the worst case and the bound
side by side (PEPit-style), how the worst case was computed, and the fit used
beyond the solvable horizons."""

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
    """ratio(n) = a + b n^(-1/2), fitted by least squares at ``horizons``
    (their ``ratios``); ``max_residual`` is the largest |ratio - fit| there.
    The form has a plateau (a) as the ratios of these theorems do (2 Delta /
    S1 against C sqrt(n) differs at order n^(-1/2)); on the default theorem,
    fitted over n = 125..2000 it gives 2.0111 at n = 5000 against 2.0106
    solved. An extrapolation, not a bound."""

    a: float
    b: float
    horizons: tuple[int, ...]
    ratios: tuple[float, ...]
    max_residual: float

    def ratio(self, n: int) -> float:
        """The fitted ratio at horizon ``n``."""
        return self.a + self.b / n**0.5

    def __str__(self) -> str:
        return (
            f"ratio(n) = {self.a:.6g} {'+' if self.b >= 0 else '-'} {abs(self.b):.4g} n^(-1/2) fitted on "
            f"n = {', '.join(map(str, self.horizons))} (max |residual| {self.max_residual:.1e})"
        )


@dataclass(frozen=True)
class Method:
    """How a worst case was computed.

    ``formulation``: "pepit" (PEPit's program with the interpolation
    conditions between every pair of points: the exact worst case),
    "consecutive" (the banded program with the conditions between consecutive
    iterates only: at least the exact worst case) or "fit" (beyond the solved
    horizons: the bound divided by the fitted ratio). ``exact`` is True for
    "pepit" only. ``solver`` names the solver and versions, ``size`` the
    program, ``status`` the solver's status, ``seconds`` the solver time
    (summed over the fit's horizons), ``fit`` the :class:`Fit` or None.
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

    ``theorem`` is the bound's name, ``algorithm`` what performance estimation
    ran ("gradient descent", "projected gradient descent", "gradient descent
    with bias"), ``lhs`` what both sides measure (the bound's own left-hand
    side), ``function_class`` the worst case's class. ``worst_case`` is the
    largest value of the left-hand side over that class after n steps,
    ``bound_value`` the bound at the same constants (sigma2 = 0) and ``ratio``
    = bound_value / worst_case: the proof's own slack (>= 1 for a valid
    bound; 1 when the bound is attained). ``tight`` is True when the ratio is
    1 within 1e-6 and the worst case was solved (not fitted). ``constants``
    are the values used, including those the steps give (S1, S2,
    gamma_max); ``steps`` the steps gamma_1..gamma_n. ``reference`` is the
    theorem's; ``method`` says how the worst case was computed.
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
    """The exact worst case of a method no theorem here covers (heavy-ball
    momentum), at sigma2 = 0: a number, **not a bound** for the stochastic
    method. Fields as in :class:`Tightness`, without a bound; ``reference``
    is the performance-estimation reference."""

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
