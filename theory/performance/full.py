"""The same worst cases as :mod:`theory.performance.chain`, written with PEPit: the exact ones.

Every interpolation condition between every pair of points, solved by CLARABEL
through cvxpy. The Gram matrix is dense, so the cost grows quickly with n (measured
in benchmarks/tightness.py); this is the reference for small horizons. Same
normalisation (L = 1, F(theta_0) - F(theta_n) <= 1) and arguments as
:mod:`theory.performance.chain`.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence

import numpy as np

from theory.performance.solvers import Solution, SolverError

ALGORITHMS = ("gradient", "projected", "heavy-ball")


def solve(
    algorithm: str,
    h: Sequence[float],
    w: Sequence[float],
    bias: Sequence[float] | None = None,
    momentum: float = 0.0,
) -> Solution:
    """The exact worst case of ``algorithm`` by PEPit.

    Args:
        algorithm: "gradient" (with ``bias`` radii, or none), "projected"
            (onto any closed convex set containing theta_0: PEPit's
            ConvexIndicatorFunction) or "heavy-ball" (with ``momentum``).
        h: the normalised steps h_1..h_n.
        w: the weights w_0..w_{n-1} of the average of the observable
            (||grad f(theta_j)||^2, or the gradient mapping for "projected").
        bias: the normalised bias radii c_1..c_n ("gradient" only).
        momentum: the momentum factor ("heavy-ball" only).

    Returns:
        The :class:`Solution` (PEPit's dual value, an upper bound of the worst
        case up to the solver's tolerance; no function values).

    Raises:
        SolverError: the solver did not reach a solution.
    """
    from PEPit import PEP, Point
    from PEPit.functions import ConvexIndicatorFunction, SmoothFunction
    from PEPit.primitive_steps import proximal_step

    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    problem = PEP()
    f = problem.declare_function(SmoothFunction, L=1.0)
    x = problem.set_initial_point()
    f0 = f.value(x)
    observables = []
    n = len(h)
    if algorithm == "projected":
        indicator = problem.declare_function(ConvexIndicatorFunction)
        indicator.value(x)  # theta_0 is in X
        for k in range(n):
            step = float(h[k])
            following, _, _ = proximal_step(x - step * f.gradient(x), indicator, step)
            observables.append((x - following) / step)
            x = following
    elif algorithm == "heavy-ball":
        buffer = None
        for k in range(n):
            g = f.gradient(x)
            observables.append(g)
            buffer = g if buffer is None else momentum * buffer + g
            x = x - float(h[k]) * buffer
    else:
        for k in range(n):
            g = f.gradient(x)
            observables.append(g)
            direction = g
            if bias is not None:
                b = Point()
                problem.add_constraint(b**2 <= float(bias[k]) ** 2)
                direction = g + b
            x = x - float(h[k]) * direction
    problem.set_initial_condition(f0 - f.value(x) <= 1)
    problem.set_performance_metric(sum(float(wj) * o**2 for wj, o in zip(w, observables, strict=True)))
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = problem.solve(wrapper="cvxpy", solver="CLARABEL", verbose=0)
        except Exception as err:  # cvxpy's SolverError and friends
            raise SolverError(f"PEPit/CLARABEL failed on the {algorithm} problem at n = {n}: {err}") from None
    seconds = time.perf_counter() - start
    status = "inaccurate" if any("inaccurate" in str(w.message) for w in caught) else "Solved"
    if value is None:
        raise SolverError(f"PEPit/CLARABEL returned no value on the {algorithm} problem at n = {n}")
    gram = problem.wrapper.G.shape[0]
    conditions = len(getattr(problem, "_list_of_prepared_constraints", ()))
    size = f"PEPit: Gram {gram}x{gram}, {conditions} scalar conditions (every pair of points interpolated)"
    return Solution(float(value), status, seconds, size, values=np.zeros(0))
