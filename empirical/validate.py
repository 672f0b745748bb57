"""Option checks shared by the models, the training loop and the settings:
each raises :class:`empirical.errors.ConfigError` naming the option and what
is allowed, through the rules of the inventory (:mod:`empirical.inputs.rules`).
Imports no torch at module level (the settings use it before any model is built)."""

from __future__ import annotations

import math
from typing import Any

from empirical.errors import ConfigError
from empirical.inputs.rules import SEED_MAX, Choice, Number, Whole


def integer(name: str, value: Any, lo: int = 1, hi: int | None = None) -> int:
    """``value`` as an integer in [lo, hi] (no upper end when ``hi`` is None; bools rejected)."""
    return Whole(lo, hi).check(f"option {name}", value)


def number(name: str, value: Any, *, allow_zero: bool = False, hi: float = math.inf) -> float:
    """``value`` as a finite float > 0 (>= 0 with ``allow_zero``), at most ``hi`` (bools rejected)."""
    return Number(0.0, hi, closed=allow_zero).check(f"option {name}", value)


def real(name: str, value: Any) -> float:
    """``value`` as a finite float (bools rejected)."""
    return Number(-math.inf, math.inf).check(f"option {name}", value)


def positive_int(name: str, value: Any) -> int:
    """``value`` as an integer > 0 (bools rejected)."""
    return integer(name, value, 1)


def positive(name: str, value: Any) -> float:
    """``value`` as a finite float > 0 (bools rejected)."""
    return number(name, value)


def choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``."""
    return Choice(lambda: tuple(allowed)).check(f"option {name}", value)


DTYPES = ("float32", "float64")


def dtype(value: Any):
    """``value`` ("float32" | "float64" or the torch dtype) as a torch dtype."""
    import torch

    known = {name: getattr(torch, name) for name in DTYPES}
    if isinstance(value, str) and value in known:
        return known[value]
    if value in known.values():
        return value
    raise ConfigError(f"option dtype must be float32 or float64, got {value!r}")


def seed_value(name: str, value: Any) -> int:
    """``value`` as a seed: an integer in [0, 2**63 - 1] (bools rejected)."""
    return integer(name, value, 0, SEED_MAX)


__all__ = [
    "SEED_MAX",
    "choice",
    "dtype",
    "integer",
    "number",
    "positive",
    "positive_int",
    "real",
    "seed_value",
]
