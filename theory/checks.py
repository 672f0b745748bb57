"""The one checker of values against the symbols' domains and the theorems' constraints.

Scalar and vectorised. Every input a user gives a bound (``Bound.evaluate``,
``Bound.numpy``, ``Bound.check``, ``Assumption.check``, the weights of a left-hand
side, the functions of :mod:`theory.rates`) goes through these functions, so one
message names the input, the value and what is allowed. The tolerance of a
constraint, strict or not: docs/theory.md, "Evaluating a bound".
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from decimal import Decimal
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
    """What values a symbol admits, in words.

    Args:
        info: The symbol's registry entry.

    Returns:
        Its domain's description, with "an integer" for an integer symbol.
    """
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
    """A value as a float, for an input of the given name.

    Args:
        name: The input's name, for the message.
        value: The value given.

    Returns:
        ``value`` as a float.

    Raises:
        AssumptionViolation: ``value`` is a bool, str, complex or other non-real value,
            or an integer too large for a float.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:  # a 0-d array is its one number
        value = value[()]
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real | sp.Number | Decimal):
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
    """A value as an int within bounds (integral floats accepted).

    Args:
        name: The input's name, for the message.
        value: The value given.
        minimum: The smallest allowed value (None: no lower end).
        maximum: The largest allowed value (None: no upper end).

    Returns:
        ``value`` as an int.

    Raises:
        AssumptionViolation: ``value`` is not a whole number in [minimum, maximum].
    """
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
    """Why a value is not admissible for a registered symbol.

    Args:
        name: The symbol's name (registered in :mod:`theory.symbols`).
        value: The value, a float.

    Returns:
        The message, or None when ``value`` is in the symbol's domain.
    """
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
    """A value as a float inside the domain of a registered symbol.

    Args:
        name: The symbol's name (registered in :mod:`theory.symbols`).
        value: The value given.

    Returns:
        ``value`` as a float.

    Raises:
        AssumptionViolation: ``value`` is not a real number in the symbol's domain.
    """
    number = real_value(name, value)
    message = domain_message(name, number)
    if message:
        raise AssumptionViolation(message)
    return number


def admits_array(name: str, values: np.ndarray) -> np.ndarray:
    """Vectorised :func:`domain_message`.

    Args:
        name: The symbol's name (registered in :mod:`theory.symbols`).
        values: An array of values.

    Returns:
        A boolean array, True where the value is admissible.
    """
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
    """Whether left <= right up to the relative :data:`TOLERANCE`.

    Args:
        left: The left side.
        right: The right side.
        strict: Demand left < right by more than the tolerance.

    Returns:
        left <= right + TOLERANCE |right|, or with ``strict`` left < right - TOLERANCE |right|;
        False where either side is NaN.
    """
    if math.isnan(left) or math.isnan(right):
        return False
    if strict:
        return left < right - TOLERANCE * abs(right)
    return left <= right + TOLERANCE * abs(right)


def holds_array(left: np.ndarray, right: np.ndarray, strict: bool = False) -> np.ndarray:
    """Vectorised :func:`holds`.

    Args:
        left: The left sides, an array.
        right: The right sides, broadcasting with ``left``.
        strict: Demand left < right by more than the tolerance.

    Returns:
        A boolean array, False where either side is NaN.
    """
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
    """An expression at given values.

    Args:
        expr: The expression.
        values: Symbol name -> float or array (broadcasting).

    Returns:
        Its values as an array, NaN where it is undefined; None when a constant it
        needs has no value.
    """
    names, func = _function(sp.sympify(expr))
    if any(name not in values for name in names):
        return None
    with np.errstate(all="ignore"):
        try:  # numpy floats, scalars too: an overflow is inf, as in the vectorised checks, not an error
            return np.asarray(func(*(np.asarray(values[name], dtype=float) for name in names)), dtype=float)
        except (ZeroDivisionError, OverflowError, ValueError, TypeError):
            return np.asarray(math.nan)


def constraint_sides(lhs: sp.Expr, rhs: sp.Expr, values: Mapping[str, object]):
    """Both sides of a constraint at given values.

    Args:
        lhs: The left side.
        rhs: The right side.
        values: Symbol name -> float or array (broadcasting).

    Returns:
        (lhs, rhs) as arrays, NaN where undefined; None when a constant they need has
        no value.
    """
    left, right = expression_values(lhs, values), expression_values(rhs, values)
    if left is None or right is None:
        return None
    return left, right
