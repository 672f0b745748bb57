"""The checks of a Python function's arguments: :func:`whole`, :func:`number` and :func:`choice`.

(And :func:`dtype`, which reads a dtype.) The defaults stay in the functions'
signatures; each check raises :class:`empirical.errors.ConfigError` naming the option,
the value and what is allowed, through the rules of :mod:`empirical.inputs.rules`.
Imports no torch at module level (the settings use it before any model is built).
"""

from __future__ import annotations

import math
from typing import Any

from empirical.errors import ConfigError
from empirical.inputs.rules import SEED_MAX, Choice, Number, Whole


def whole(name: str, value: Any, lo: int = 1, hi: int | None = None) -> int:
    """An argument that must be a whole number in [lo, hi].

    A seed is ``whole(name, value, 0, SEED_MAX)``.

    Args:
        name: The option's name, for the message.
        value: The value given.
        lo: The smallest allowed value.
        hi: The largest allowed value (None: no upper end).

    Returns:
        ``value`` as an int.

    Raises:
        ConfigError: Not a whole number in [lo, hi] (bools refused).
    """
    return Whole(lo, hi).check(f"option {name}", value)


def number(name: str, value: Any, lo: float = 0.0, hi: float = math.inf, *, closed: bool = False) -> float:
    """An argument that must be a finite number in (lo, hi] (``closed``: [lo, hi]).

    The default is a positive number; ``lo = -math.inf`` allows any finite number.

    Args:
        name: The option's name, for the message.
        value: The value given.
        lo: The lower end.
        hi: The upper end (included).
        closed: Include ``lo`` too.

    Returns:
        ``value`` as a float.

    Raises:
        ConfigError: Not a finite number in the interval (bools, NaN and inf refused).
    """
    return Number(lo, hi, closed=closed).check(f"option {name}", value)


def flag(name: str, value: Any) -> bool:
    """An argument that must be True or False (not 1, "yes" or None).

    Args:
        name: The option's name, for the message.
        value: The value given.

    Returns:
        ``value``.

    Raises:
        ConfigError: ``value`` is not a bool.
    """
    if not isinstance(value, bool):
        raise ConfigError(f"option {name} must be True or False, got {value!r}")
    return value


def choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """An argument that must be one of some names.

    Args:
        name: The option's name, for the message.
        value: The value given.
        allowed: The allowed names.

    Returns:
        ``value``.

    Raises:
        ConfigError: ``value`` is not one of ``allowed``.
    """
    return Choice(lambda: tuple(allowed)).check(f"option {name}", value)


DTYPES = ("float32", "float64")


def dtype(value: Any):
    """A dtype argument as a torch dtype.

    Args:
        value: "float32", "float64", or one of those torch dtypes.

    Returns:
        The torch dtype.

    Raises:
        ConfigError: Any other value.
    """
    import torch

    known = {name: getattr(torch, name) for name in DTYPES}
    if isinstance(value, str) and value in known:
        return known[value]
    if value in known.values():
        return value
    raise ConfigError(f"option dtype must be float32 or float64, got {value!r}")


__all__ = ["SEED_MAX", "choice", "dtype", "number", "whole"]
