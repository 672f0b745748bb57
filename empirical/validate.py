"""The checks of a Python function's arguments, three of them: :func:`whole`, :func:`number`
and :func:`choice` (and :func:`dtype`, which reads a dtype). The defaults stay in the
functions' signatures; each check raises :class:`empirical.errors.ConfigError` naming the
option, the value and what is allowed, through the rules of :mod:`empirical.inputs.rules`.
Imports no torch at module level (the settings use it before any model is built)."""

from __future__ import annotations

import math
from typing import Any

from empirical.errors import ConfigError
from empirical.inputs.rules import SEED_MAX, Choice, Number, Whole


def whole(name: str, value: Any, lo: int = 1, hi: int | None = None) -> int:
    """``value`` as an integer in [lo, hi] (no upper end when ``hi`` is None; bools refused).
    A seed is ``whole(name, value, 0, SEED_MAX)``."""
    return Whole(lo, hi).check(f"option {name}", value)


def number(name: str, value: Any, lo: float = 0.0, hi: float = math.inf, *, closed: bool = False) -> float:
    """``value`` as a finite float in (lo, hi] (``closed``: [lo, hi]); bools, NaN and inf refused.
    The default is a positive number; ``lo = -math.inf`` allows any finite number."""
    return Number(lo, hi, closed=closed).check(f"option {name}", value)


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


__all__ = ["SEED_MAX", "choice", "dtype", "number", "whole"]
