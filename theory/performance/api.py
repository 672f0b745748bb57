"""The public functions of performance estimation.

A bound's worst case and the proof's slack (:func:`tightness`, :func:`proof_slack`),
and heavy-ball momentum's worst case (:func:`momentum_worst_case`).
"""

from __future__ import annotations

import math

import numpy as np

from theory import checks
from theory.bound import Bound
from theory.errors import AssumptionViolation, TheoryError
from theory.performance import chain, full
from theory.performance.dispatch import ALGORITHM_NAMES, Problem, check_steps, problem
from theory.performance.results import Fit, Method, Tightness, WorstCase
from theory.performance.solvers import require

#: "auto" solves PEPit's exact program (every pair of points) up to this horizon ...
N_PEPIT = 10
#: ... and for heavy-ball momentum, whose consecutive program can exceed the exact one, up to this one.
N_PEPIT_MOMENTUM = 20
#: The largest horizon "pepit" accepts (its dense program takes about 35 s at n = 40).
N_PEPIT_LIMIT = 40
#: The default cap: horizons up to this are solved; beyond, the ratio is fitted.
N_MAX = 2000
#: Horizons of the fit: N_MAX / 2^k, k = FIT_POINTS - 1 .. 0.
FIT_POINTS = 5
#: |ratio - 1| below which a solved bound is called tight.
TIGHT = 1e-6
METHODS = ("auto", "pepit", "consecutive")

SIGMA_NOTE = (
    "At sigma2 = 0: the bound's noise terms are dropped and the worst case is that of the deterministic "
    "method, so the ratio is the proof's own slack, not the landscape's or the noise's."
)
CONSECUTIVE_NOTE = (
    "Worst case over the interpolation conditions between consecutive iterates only (those the proof "
    "uses): at least the exact worst case, so the ratio is at most the exact one. For gradient descent "
    "and projected gradient descent it equals PEPit's program with every pair of points wherever compared "
    "(n <= 48, relative differences below 1e-6; tests/theory/performance/test_tightness_exact.py)."
)
BIAS_NOTE = (
    "With a bias the consecutive conditions can exceed the exact worst case: equal for radii up to 0.3 "
    "sqrt(L Delta) k^(-1/2), 0.27 % above at 2 sqrt(L Delta) k^(-1/2) (n = 6)."
)
MOMENTUM_NOTE = (
    "No theorem here covers heavy-ball momentum: this is the worst case of the deterministic method "
    "(sigma2 = 0), a number, not a bound for the stochastic case."
)
CLASS = "L-smooth F (not necessarily convex), any dimension, F(theta_0) - F(theta_n) <= Delta"
CLASS_EXTRA = {
    "projected": "; X any closed convex set containing theta_0 (a box is one), theta_k = P_X(...)",
    "biased": "; bias vectors ||b_k|| <= C_alpha k^(-alpha_bias) chosen by the adversary",
}


def _method(method: object) -> str:
    if method not in METHODS:
        raise TheoryError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    return str(method)


def _solve(
    algorithm: str, h, w, bias=None, momentum: float = 0.0, method: str = "auto", n_pepit: int = N_PEPIT
):
    """Solve the normalised problem; returns (Solution, formulation)."""
    n = len(h)
    if method == "pepit" and n > N_PEPIT_LIMIT:
        raise TheoryError(
            f"method='pepit' is limited to n <= {N_PEPIT_LIMIT} (its dense program grows as n^2 conditions); "
            f"got n = {n}: use method='consecutive' or 'auto'"
        )
    if method == "pepit" or (method == "auto" and n <= n_pepit):
        return full.solve(algorithm, h, w, bias=bias, momentum=momentum), "pepit"
    if algorithm == "projected":
        program = chain.projected(h, w)
    elif algorithm == "heavy-ball":
        program = chain.heavy_ball(h, w, momentum)
    else:
        program = chain.gradient_descent(h, w, bias=bias)
    return program.solve(), "consecutive"


def _solver_name(versions: dict[str, str], formulation: str) -> str:
    if formulation == "pepit":
        return f"PEPit {versions['PEPit']} + CLARABEL {versions['clarabel']} via cvxpy {versions['cvxpy']}"
    return f"CLARABEL {versions['clarabel']} (banded program, one thread)"


def _worst(p: Problem, method: str):
    bias = None if p.bias is None else p.bias / math.sqrt(p.L * p.Delta)
    solution, formulation = _solve(p.algorithm, p.L * p.steps, p.weights, bias=bias, method=method)
    return p.L * p.Delta * solution.value, solution, formulation


def _fit(horizons: list[int], ratios: list[float]) -> Fit:
    """Least squares of ratio = a + b n^(-1/2) (b = 0 with one horizon)."""
    x, y = np.asarray(horizons, dtype=float) ** -0.5, np.asarray(ratios)
    if len(horizons) > 1:
        b, a = np.polyfit(x, y, 1)
    else:
        a, b = y[0], 0.0
    residual = float(np.max(np.abs(y - (a + b * x))))
    return Fit(float(a), float(b), tuple(horizons), tuple(float(r) for r in ratios), residual)


def tightness(
    bound: Bound, n: int, *, steps=None, method: str = "auto", n_max: int = N_MAX, **constants: object
) -> Tightness:
    """The worst case of a bound's left-hand side after n steps at sigma2 = 0, next to the bound.

    For gradient descent theta_k = theta_{k-1} - gamma_k grad F(theta_{k-1})
    (projected: theta_k = P_X(...); biased: grad F + b_k), the worst case is

        W = sup { sum_j w_j X_j : F L-smooth, F(theta_0) - F(theta_n) <= Delta },

    X_j and w_j the bound's own left-hand side (``bound.lhs``: observable and
    weights), over all dimensions (and, projected, all closed convex X; biased,
    all biases within the radii). The ratio bound / W is the proof's own slack.

    Args:
        bound: a covered bound (generic or ``expand=False``): sgd default,
            "schedule", "projected" or "biased"; anything else is refused with
            the list of what is covered.
        n: the horizon, an integer >= 1.
        steps: gamma_1..gamma_n; required for "schedule" and "projected"
            (S1, S2 and gamma_max follow from them); for the default and
            "biased" variants they are C_gamma k^(-alpha) (checked if given).
        method: "auto" (PEPit's exact program for n <= 10, the consecutive
            program up to ``n_max``, a fit beyond), "pepit" (the exact program,
            n <= 40) or "consecutive".
        n_max: the largest horizon solved; beyond it the ratio is fitted
            as a + b n^(-1/2) over n_max/16 .. n_max and extrapolated (marked as a fit).
        **constants: L, Delta and the bound's other constants (C_gamma,
            alpha for a symbolic exponent, C_alpha and alpha_bias for "biased");
            noise constants may only be 0.

    Returns:
        A :class:`Tightness` with ``worst_case``, ``bound_value``, ``ratio``,
        ``tight``, ``method`` and the reference.

    Raises:
        NotCoveredError: the bound's algorithm is not covered.
        MissingSolverError: the pep extra is not installed (pip install -e ".[pep]").
        TheoryError: a bad value (missing, unknown, outside its domain, or
            breaking the theorem's conditions such as C_gamma <= 1/L).
    """
    versions = require()
    how = _method(method)
    cap = checks.require_integer("n_max", n_max, minimum=1)
    p = problem(bound, n, steps=steps, **constants)
    return _result(bound, p, how, cap, versions, lambda m: problem(bound, m, steps=p.steps[:m], **constants))


def proof_slack(
    bound: Bound, steps, *, method: str = "auto", n_max: int = N_MAX, **constants: object
) -> Tightness:
    """The proof's own slack of a bound at a run's steps (for a report).

    Args:
        bound: the Bound the run was compared with (covered kinds as in :func:`tightness`).
        steps: the run's step sizes gamma_1..gamma_n (a numpy array of length n).
        method: as in :func:`tightness`.
        n_max: as in :func:`tightness`; for n > n_max the ratio is fitted over the first
            n_max/16 .. n_max steps and extrapolated.
        **constants: the bound's constants as the report binds them (L,
            Delta, C_gamma, ...); the noise constants (sigma2, sigma2_data,
            sigma2_mc, sigma2_mc_K), B, K and others the noise-free bound does
            not need are ignored.

    Returns:
        A :class:`Tightness`: ``ratio`` = bound / worst case at sigma2 = 0
        (``method.fit`` set when extrapolated).

    Raises:
        NotCoveredError: the bound's algorithm is not covered.
        MissingSolverError: the pep extra is not installed.
        TheoryError: a bad value or step.
    """
    versions = require()
    how = _method(method)
    cap = checks.require_integer("n_max", n_max, minimum=1)
    gammas = np.asarray(steps, dtype=float).ravel()
    constants = {k: v for k, v in constants.items() if k != "n"}
    p = problem(bound, len(gammas), steps=gammas, strict=False, **constants)
    return _result(
        bound, p, how, cap, versions, lambda m: problem(bound, m, steps=gammas[:m], strict=False, **constants)
    )


def _result(bound: Bound, p: Problem, how: str, cap: int, versions, prefix) -> Tightness:
    notes = [SIGMA_NOTE]
    if p.n <= cap or how == "pepit":
        worst, solution, formulation = _worst(p, how)
        fit = None
        seconds, size, status = solution.seconds, solution.size, solution.status
    else:
        horizons = sorted({max(1, cap >> k) for k in range(FIT_POINTS)})
        ratios, seconds, size, status = [], 0.0, "", "Solved"
        for m in horizons:
            q = prefix(m)
            value, solution, _ = _worst(q, how)
            ratios.append(q.bound_value / value)
            seconds += solution.seconds
            size, status = solution.size, solution.status
        fit = _fit(horizons, ratios)
        worst, formulation = p.bound_value / fit.ratio(p.n), "fit"
        size = f"{len(horizons)} horizons, the largest: {size}"
        notes.append(
            f"n = {p.n} > n_max = {cap}: the ratio is extrapolated ({fit}); the worst case is bound / ratio."
        )
    if formulation != "pepit":
        notes.append(CONSECUTIVE_NOTE)
        if p.kind == "biased":
            notes.append(BIAS_NOTE)
    if worst <= 0:
        raise TheoryError(f"{bound.name}: the worst case at n = {p.n} is {worst!r} (not positive)")
    ratio = p.bound_value / worst
    method = Method(
        formulation, formulation == "pepit", _solver_name(versions, formulation), size, status, seconds, fit
    )
    return Tightness(
        theorem=bound.name,
        algorithm=ALGORITHM_NAMES[p.kind],
        n=p.n,
        worst_case=float(worst),
        bound_value=float(p.bound_value),
        ratio=float(ratio),
        tight=fit is None and abs(ratio - 1) <= TIGHT,
        lhs=bound.lhs.text,
        function_class=CLASS + CLASS_EXTRA.get(p.kind, ""),
        constants=p.constants,
        reference=bound.reference,
        method=method,
        notes=tuple(notes),
        steps=tuple(float(s) for s in p.steps),
    )


def momentum_worst_case(
    n: int, L: float, Delta: float, step, momentum: float, *, average: str = "uniform", method: str = "auto"
) -> WorstCase:
    """The worst case of heavy-ball momentum at sigma2 = 0 (no bound: no theorem here covers it).

    The method is torch.optim.SGD's (dampening 0): m_0 = g_0,
    m_k = momentum m_{k-1} + g_k, theta_{k+1} = theta_k - gamma_{k+1} m_k
    (Polyak's heavy ball for a constant step), g_k = grad F(theta_k); the
    worst case is sup sum_j w_j ||grad F(theta_j)||^2 over L-smooth F with
    F(theta_0) - F(theta_n) <= Delta.

    Args:
        n: the horizon, an integer >= 1.
        L: the smoothness, a number > 0.
        Delta: the decrease F(theta_0) - F(theta_n), a number >= 0.
        step: gamma (one number) or gamma_1..gamma_n, each > 0.
        momentum: the momentum factor, in [0, 1).
        average: "uniform" (w_j = 1/n, as the default SGD theorem) or "step"
            (w_j proportional to gamma_{j+1}, as the schedule theorem).
        method: "auto" (PEPit's exact program for n <= 20, the consecutive
            program beyond, an upper bound of it), "pepit" (n <= 40) or
            "consecutive". No fit: n is solved as given.

    Returns:
        A :class:`WorstCase` (``is_bound`` False).

    Raises:
        MissingSolverError: the pep extra is not installed.
        TheoryError: a bad value (n, L, Delta, step, momentum, average or method).
    """
    versions = require()
    how = _method(method)
    count = checks.require_integer("n", n, minimum=1)
    smooth, decrease = checks.check_scalar("L", L), checks.check_scalar("Delta", Delta)
    beta = checks.real_value("momentum", momentum)
    if not 0 <= beta < 1:
        raise AssumptionViolation(f"momentum must be in [0, 1), got {momentum!r}")
    if average not in ("uniform", "step"):
        raise TheoryError(f"average must be 'uniform' or 'step', got {average!r}")
    gammas = check_steps(
        np.full(count, checks.real_value("step", step)) if np.ndim(step) == 0 else step, count
    )
    weights = np.full(count, 1 / count) if average == "uniform" else gammas / gammas.sum()
    solution, formulation = _solve(
        "heavy-ball", smooth * gammas, weights, momentum=beta, method=how, n_pepit=N_PEPIT_MOMENTUM
    )
    notes = [MOMENTUM_NOTE]
    if formulation != "pepit":
        notes.append(
            "Worst case over the conditions between consecutive iterates only: at least the exact worst case "
            "(for heavy ball it can exceed it: by 0.6 % at n = 5 in "
            "tests/theory/performance/test_tightness_exact.py)."
        )
    lhs = (
        "(1/n) sum_j ||grad F(theta_j)||^2"
        if average == "uniform"
        else ("sum_j gamma_(j+1) ||grad F(theta_j)||^2 / sum_j gamma_(j+1)")
    )
    return WorstCase(
        algorithm=f"heavy-ball momentum {beta:g} (torch.optim.SGD, dampening 0)",
        n=count,
        worst_case=smooth * decrease * solution.value,
        lhs=lhs,
        function_class=CLASS,
        constants=(("Delta", decrease), ("L", smooth), ("momentum", beta)),
        method=Method(
            formulation,
            formulation == "pepit",
            _solver_name(versions, formulation),
            solution.size,
            solution.status,
            solution.seconds,
        ),
        notes=tuple(notes),
        steps=tuple(float(s) for s in gammas),
    )
