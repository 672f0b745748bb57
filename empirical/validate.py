"""Option checks shared by the models, the training loop and the settings:
each raises :class:`empirical.errors.ConfigError` naming the option and what
is allowed. Imports no torch at module level (the settings use it before any
model is built)."""

from __future__ import annotations

import math
from typing import Any

from empirical.errors import ConfigError


def integer(name: str, value: Any, lo: int = 1, hi: int | None = None) -> int:
    """``value`` as an integer in [lo, hi] (no upper end when ``hi`` is None; bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        allowed = (
            f"an integer in [{lo}, {hi}]"
            if hi is not None
            else "an integer > 0"
            if lo == 1
            else f"an integer >= {lo}"
        )
        raise ConfigError(f"option {name} must be {allowed}, got {value!r}")
    return value


def number(name: str, value: Any, *, allow_zero: bool = False, hi: float = math.inf) -> float:
    """``value`` as a finite float > 0 (>= 0 with ``allow_zero``), at most ``hi`` (bools rejected)."""
    ok = (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and (value >= 0 if allow_zero else value > 0)
        and value <= hi
    )
    if not ok:
        upper = "" if hi == math.inf else f" and <= {hi:g}"
        raise ConfigError(
            f"option {name} must be a finite number {'>=' if allow_zero else '>'} 0{upper}, got {value!r}"
        )
    return float(value)


def positive_int(name: str, value: Any) -> int:
    """``value`` as an integer > 0 (bools rejected)."""
    return integer(name, value, 1)


def positive(name: str, value: Any) -> float:
    """``value`` as a finite float > 0 (bools rejected)."""
    return number(name, value)


def choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``."""
    if value not in allowed:
        raise ConfigError(f"option {name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


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


#: Seeds are integers in [0, SEED_MAX] (torch.Generator.manual_seed takes 64-bit signed values).
SEED_MAX = 2**63 - 1


def seed_value(name: str, value: Any) -> int:
    """``value`` as a seed: an integer in [0, 2**63 - 1] (bools rejected)."""
    return integer(name, value, 0, SEED_MAX)
