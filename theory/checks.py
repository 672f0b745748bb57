"""The one checker of values against the symbols' domains and the theorems'
constraints, scalar and vectorised.

Every input a user gives a bound (``Bound.evaluate``, ``Bound.numpy``,
``Bound.check``, ``Assumption.check``, the weights of a left-hand side, the
functions of :mod:`theory.rates`) goes through these functions, so one
message names the input, the value and what is allowed. A constraint
``lhs <= rhs`` holds when ``lhs <= rhs + TOLERANCE |rhs|`` (the one tolerance,
for rounding in the values given); a strict one, ``lhs < rhs``, when
``lhs < rhs - TOLERANCE |rhs|`` (a margin beyond rounding: at N = 9, beta1 = 0.9
the float N - beta1/(1 - beta1) is -1.8e-15, and the strict N > beta1/(1 - beta1)
must refuse it).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import sympy as sp

from theory import symbols as S
from theory.errors import AssumptionViolation

#: Relative slack of every constraint lhs <= rhs.
TOLERANCE = 1e-12

#: domain -> (lowest, lowest excluded, highest, highest excluded, description).
DOMAINS: dict[str, tuple[float, bool, float, bool, str]] = {
    "positive": (0.0, True, math.inf, True, "a finite number > 0"),
    "nonnegative": (0.0, False, math.inf, True, "a finite number >= 0"),
    "unit": (0.0, True, 1.0, True, "a number in (0, 1)"),
    "unit_closed": (0.0, False, 1.0, True, "a number in [0, 1)"),
    "count": (1.0, False, math.inf, True, "a finite number >= 1"),
    "real": (-math.inf, True, math.inf, True, "a finite real number"),
}


def describe(info: S.SymbolInfo) -> str:
    """What values ``info``'s symbol admits, in words."""
    text = DOMAINS[info.domain][4]
    if info.integer:
        text = text.replace("a finite number", "an integer").replace("a number", "an integer")
    return text


def _shown(value: object) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def real_value(name: str, value: object) -> float:
    """``value`` as a float, for an input called ``name``; bool, str, complex and
    other non-real values, and integers too large for a float, raise
    :class:`AssumptionViolation`."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real | sp.Number):
        raise AssumptionViolation(f"{name} must be a real number, got {_shown(value)}")
    try:
        out = float(value)
    except OverflowError:
        raise AssumptionViolation(
            f"{name} = {_shown(value)} is too large: it must be a finite number below 1.8e308"
        ) from None
    except (TypeError, ValueError):
        raise AssumptionViolation(f"{name} must be a real number, got {_shown(value)}") from None
    return out


def require_integer(name: str, value: object, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an int (integral floats accepted) in [minimum, maximum] (None: no end)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_):
        number: float | int = int(value)  # exact, however large
    else:
        number = real_value(name, value)
    low = "" if minimum is None else f" >= {minimum}"
    high = "" if maximum is None else f" <= {maximum}"
    whole = isinstance(number, int) or (math.isfinite(number) and number == int(number))
    if not whole or (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise AssumptionViolation(
            f"{name} must be an integer{low}{' and' if low and high else ''}{high}, got {_shown(value)}"
        )
    return int(number)


def domain_message(name: str, value: float) -> str | None:
    """Why ``value`` is not admissible for the registered symbol ``name`` (None when it is)."""
    info = S.info(name)
    low, low_open, high, high_open, _ = DOMAINS[info.domain]
    inside = (
        math.isfinite(value)
        and (value > low if low_open else value >= low)
        and (value < high if high_open else value <= high)
        and (not info.integer or value == int(value))
    )
    return None if inside else f"{name} must be {describe(info)}, got {_shown(value)}"


def check_scalar(name: str, value: object) -> float:
    """``value`` as a float inside the domain of the registered symbol ``name``
    (raises :class:`AssumptionViolation` otherwise)."""
    number = real_value(name, value)
    message = domain_message(name, number)
    if message:
        raise AssumptionViolation(message)
    return number


def admits_array(name: str, values: np.ndarray) -> np.ndarray:
    """Vectorised :func:`domain_message`: a boolean array, True where admissible."""
    info = S.info(name)
    low, low_open, high, high_open, _ = DOMAINS[info.domain]
    v = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(v)
        ok &= v > low if low_open else v >= low
        ok &= v < high if high_open else v <= high
        if info.integer:
            ok &= v == np.floor(v)
    return ok


def holds(left: float, right: float, strict: bool = False) -> bool:
    """left <= right up to the relative :data:`TOLERANCE`; with ``strict``,
    left < right by more than it. False where either side is NaN."""
    if math.isnan(left) or math.isnan(right):
        return False
    if strict:
        return left < right - TOLERANCE * abs(right)
    return left <= right + TOLERANCE * abs(right)


def holds_array(left: np.ndarray, right: np.ndarray, strict: bool = False) -> np.ndarray:
    """Vectorised :func:`holds` (False where either side is NaN)."""
    with np.errstate(invalid="ignore"):
        finite = ~(np.isnan(left) | np.isnan(right))
        if strict:
            return finite & (left < right - TOLERANCE * np.abs(right))
        return finite & (left <= right + TOLERANCE * np.abs(right))


@lru_cache(maxsize=1024)
def _function(expr: sp.Expr) -> tuple[tuple[str, ...], object]:
    syms = sorted(expr.free_symbols, key=lambda x: x.name)
    return tuple(x.name for x in syms), sp.lambdify(syms, expr, "numpy")


def expression_values(expr: sp.Expr, values: Mapping[str, object]) -> np.ndarray | None:
    """``expr`` at ``values`` (floats or broadcasting arrays); None when a
    constant it needs has no value; NaN where it is undefined."""
    names, func = _function(sp.sympify(expr))
    if any(name not in values for name in names):
        return None
    with np.errstate(all="ignore"):
        try:
            return np.asarray(func(*(values[name] for name in names)), dtype=float)
        except (ZeroDivisionError, OverflowError, ValueError, TypeError):
            return np.asarray(math.nan)


def constraint_sides(lhs: sp.Expr, rhs: sp.Expr, values: Mapping[str, object]):
    """(lhs, rhs) of a constraint at ``values`` (floats or broadcasting arrays);
    None when a constant it needs has no value. NaN where undefined."""
    left, right = expression_values(lhs, values), expression_values(rhs, values)
    if left is None or right is None:
        return None
    return left, right
