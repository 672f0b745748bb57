"""vaebounds, empirical half: real VAEs in torch, training runs that record
what the bounds talk about, estimators of the constants, and the comparison
of estimate and theory."""

from __future__ import annotations

from empirical.errors import ConfigError, DataError, DivergenceError, EmpiricalError, LossError

__all__ = [
    "ConfigError",
    "DataError",
    "DivergenceError",
    "EmpiricalError",
    "LossError",
    "estimate",
]


def __getattr__(name: str):
    # Lazy: importing `empirical` for its errors must not build the estimators.
    if name == "estimate":
        from empirical.estimators import estimate

        return estimate
    raise AttributeError(name)
