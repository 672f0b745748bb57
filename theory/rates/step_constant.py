"""The step constant minimising a bound and the iterations a bound needs to reach a target.

docs/theory.md, "Closed-form consequences".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import sympy as sp

from theory import checks
from theory import symbols as S
from theory.bound import Bound, NumpyBound
from theory.errors import AssumptionViolation, MissingConstantError, TheoryError, UnknownNameError
from theory.symbols import C_gamma, n


def require_bound(bound: object, function: str) -> Bound:
    """A bound given to a function of :mod:`theory.rates`, checked.

    Args:
        bound: What was given.
        function: The function's name, for the message.

    Returns:
        ``bound``.

    Raises:
        TheoryError: ``bound`` is not a :class:`~theory.bound.Bound`.
    """
    if not isinstance(bound, Bound):
        raise TheoryError(
            f"{function} needs a theory.Bound as its first argument (e.g. theory.bound('generic', 'sgd')), "
            f"got {type(bound).__name__} {bound!r:.60}"
        )
    return bound


def clean_values(values: Mapping[str, object]) -> dict[str, float]:
    """Values keyed by registered symbol names, checked.

    Args:
        values: Symbol name -> value.

    Returns:
        Symbol name -> float, each in its symbol's domain.

    Raises:
        TheoryError: Not a mapping, an unknown name, or a value outside its domain.
    """
    if not isinstance(values, Mapping):
        raise TheoryError(f"values must be a mapping of symbol names to numbers, got {values!r:.60}")
    out = {}
    for name, value in values.items():
        if not isinstance(name, str) or name not in S.REGISTRY:
            raise UnknownNameError(f"unknown constant {name!r}; constants are registered symbol names")
        out[name] = checks.check_scalar(name, value)
    return out


def optimal_step_constant(bound: Bound, values: Mapping[str, float] | None = None) -> sp.Expr:
    """The C_gamma minimising the bound, clipped to the theorem's step limit.

    For the SGD bound (2 Delta + L sigma2 C^2 (1 + log n)) / (C sqrt(n)):
    C* = sqrt(2 Delta / (L sigma2 (1 + log n))), then min(C*, 1/L). Solved in closed form
    by SymPy (d bound / dC = 0, positive root).

    Args:
        bound: The bound.
        values: Constants to substitute (symbol name -> value), or None.

    Returns:
        The optimal C_gamma as an expression; with ``values`` substituted (a number when
        every constant is given).

    Raises:
        AssumptionViolation: At ``values``, the optimum is undefined, not positive, or
            the bound falls without limit in C_gamma.
    """
    bound = require_bound(bound, "optimal_step_constant")
    return _at_values(bound.optimal_step, bound.name, values)


def optimal_step_constant_of(
    model: str, optimizer: str, variant: str | None = None, values: Mapping[str, float] | None = None
) -> sp.Expr:
    """:func:`optimal_step_constant` of ``theory.bound(model, optimizer, variant)``, cached.

    Read from :mod:`theory.rates.step_cache` when cached (the same expression, not derived again).

    Args:
        model: The model, as in :func:`theory.bound`.
        optimizer: The optimizer.
        variant: The variant (None for the default).
        values: Constants to substitute (symbol name -> value), or None.

    Returns:
        The optimal C_gamma = min(C*, step limit), C* the root of d bound / d C_gamma = 0, with
        ``values`` substituted.

    Raises:
        AssumptionViolation: As :func:`optimal_step_constant`.
    """
    from theory.rates.step_cache import cached_optimal_step

    cached = cached_optimal_step(model, optimizer, variant or "")
    if cached is None:
        from theory.catalog import bound

        return optimal_step_constant(bound(model, optimizer, variant), values)
    name, best = cached
    return _at_values(best, name, values)


def _at_values(best: sp.Expr, name: str, values: Mapping[str, float] | None) -> sp.Expr:
    """The optimal step ``best`` of the bound ``name`` at ``values`` (:func:`optimal_step_constant`)."""
    if not values:
        return best
    subs = {S.get(k): v for k, v in clean_values(values).items()}
    finite = []
    for part in best.args if isinstance(best, sp.Min) else (best,):
        value = part.subs(subs)
        if value.has(sp.nan):
            raise AssumptionViolation(f"{name}: the optimal C_gamma is undefined at {values}")
        if value.has(sp.zoo, sp.oo):  # an infinite stationary point: the step limit decides
            continue
        if not value.free_symbols:  # a number: real and > 0 (a root in radicals may carry 0*I)
            z = complex(sp.N(value, 30))
            if abs(z.imag) > 1e-9 * max(1.0, abs(z.real)) or not z.real > 0:
                raise AssumptionViolation(
                    f"{name}: no positive optimal C_gamma at {values} (the stationary point is {z:.6g})"
                )
            value = sp.Float(z.real)
        finite.append(value)
    if not finite:
        raise AssumptionViolation(f"{name}: the bound falls without limit in C_gamma at {values}")
    return finite[0] if len(finite) == 1 else sp.Min(*finite)


def at_optimal_step(bound: Bound) -> sp.Expr:
    """The bound's expression with C_gamma replaced by its optimal value.

    Args:
        bound: The bound.

    Returns:
        The bound at C_gamma = min(C*, step limit).
    """
    return bound.expr.subs(C_gamma, bound.optimal_step)


@lru_cache(maxsize=64)
def _numpy_value(expr: sp.Expr) -> NumpyBound:
    """``expr`` as an unchecked vectorised callable (n always among its arguments)."""
    syms = sorted(expr.free_symbols | {n}, key=lambda x: x.name)
    return NumpyBound(tuple(x.name for x in syms), sp.lambdify(syms, expr, "numpy"))


@lru_cache(maxsize=64)
def _optimal_step_function(bound: Bound) -> NumpyBound:
    """The bound's clipped optimal C_gamma as an unchecked vectorised callable."""
    best = bound.optimal_step
    syms = sorted(best.free_symbols, key=lambda x: x.name)
    return NumpyBound(tuple(x.name for x in syms), sp.lambdify(syms, best, "numpy"))


def iterations_to_reach(bound: Bound, target: float, **values: float) -> int:
    """The smallest n with bound(n') <= target for every n' >= n.

    When the bound depends on C_gamma and ``values`` do not give it, the bound is taken
    at its optimal step constant for each n (:func:`optimal_step_constant`), i.e. the
    step is tuned to the horizon. Uses that the bound is eventually decreasing in n: an
    exponential search for a point past the peak where the bound is below ``target``,
    then a bisection on the monotone predicate ``bound(m) <= target and bound(m + 1) <=
    bound(m)``. Where the assumptions themselves depend on n (e.g.
    N~ = n - beta1/(1 - beta1) > 0 for Défossez's Adam), the search starts at the
    smallest n at which they hold: no n below it is returned, whatever the target.

    Args:
        bound: The bound.
        target: The accuracy to reach, a finite number > 0.
        **values: Every other constant of the bound (not n).

    Returns:
        The number of iterations.

    Raises:
        TheoryError: A bad target or value, a missing constant, n given, a bound without
            n, or a target the bound never reaches (below the limit of a bound that tends
            to a positive constant).
    """
    require_bound(bound, "iterations_to_reach")
    goal = checks.real_value("target", target)
    if not (math.isfinite(goal) and goal > 0):
        raise AssumptionViolation(f"target accuracy must be a finite number > 0, got {target!r}")
    if "n" in values:
        raise TheoryError("iterations_to_reach solves for n: do not pass n")
    clean = clean_values(values)
    tuned = "C_gamma" in bound.constants and "C_gamma" not in clean
    expr = at_optimal_step(bound) if tuned else bound.expr
    needed = (set(bound.constants) - {"C_gamma"} if tuned else set(bound.constants)) - {"n"}
    missing = sorted(c for c in needed if c not in clean)
    if missing:
        raise MissingConstantError(f"{bound.name}: missing value for {', '.join(missing)}")
    if not bound.has_rate:
        raise TheoryError(f"{bound.name} has no n: substitute the schedule's S1, S2 first")
    far = 2**60

    best = _optimal_step_function(bound) if tuned else None

    def admissible(m: int) -> bool:
        point = {**clean, "n": m}
        if best is not None:
            with np.errstate(all="ignore"):
                z = complex(best.func(*(np.float64(point[a]) for a in best.args)))
            step = z.real if abs(z.imag) <= 1e-9 * max(1.0, abs(z.real)) else math.nan  # a root in radicals
            if not (math.isfinite(step) and step > 0):
                raise AssumptionViolation(
                    f"{bound.name}: no positive optimal C_gamma at n = {m}, {clean} ({step}): give C_gamma"
                )
            point["C_gamma"] = step
        return not bound.check(point)

    if not admissible(far):
        bound.evaluate(n=far, **clean)  # raises, naming the broken assumption
        raise AssumptionViolation(f"{bound.name}: the assumptions fail at n = {far} for {clean}")
    start = 1
    while not admissible(start):
        start *= 2
    start = _bisect(admissible, max(1, start // 2), start)
    f = _numpy_value(bound.float_form(expr))
    fixed = {a: np.float64(clean[a]) for a in f.args if a != "n"}

    def value(m: float) -> float:
        with np.errstate(all="ignore"):  # numpy scalars: a pole gives inf/nan, not an exception
            return float(f.func(*(np.float64(m) if a == "n" else fixed[a] for a in f.args)))

    def ok(m: int) -> bool:
        if m < start:
            return False
        v, after = value(m), value(m + 1)  # below the target, and not rising from m to m + 1
        return math.isfinite(v) and math.isfinite(after) and v <= goal and after <= v + 1e-12 * abs(v)

    hi = start
    while not ok(hi):
        hi *= 2
        if hi > 2**200:
            last = value(2.0**200)
            raise TheoryError(
                f"{bound.name} does not reach {target} within 2^200 iterations (it is {last:.6g} there)"
            )
    return _bisect(ok, max(start, hi // 2), hi)


def _bisect(ok, lo: int, hi: int) -> int:
    """Smallest m in (lo, hi] with ok(m), given ok(hi) and a monotone ok."""
    if ok(lo):
        return lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi
