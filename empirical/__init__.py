"""The empirical half of vaebounds (torch): real VAEs, training runs and estimators of the constants.

Training runs record what the bounds talk about; the estimates are compared with the
theory. ``empirical.track(model, loss, data, optimizer)`` follows a user's own
training loop (:mod:`empirical.tracking`); ``empirical.decide(bound, per_run)`` is the
one decision rule (:mod:`empirical.decision`). The layout: docs/architecture.md.
"""

from __future__ import annotations

from empirical.errors import (
    ConfigError,
    ConvergenceWarning,
    DataError,
    DivergenceError,
    EmpiricalError,
    LossError,
    TrackingError,
)

__all__ = [
    "ConfigError",
    "ConvergenceWarning",
    "DataError",
    "Decision",
    "DivergenceError",
    "EmpiricalError",
    "LossError",
    "Tracker",
    "TrackingError",
    "Verdict",
    "assess",
    "decide",
    "estimate",
    "track",
]


def __getattr__(name: str):
    # Lazy: importing `empirical` for its errors must not build the estimators.
    if name == "estimate":
        from empirical.estimators import estimate

        return estimate
    if name in ("decide", "assess", "Decision", "Verdict"):
        from empirical import decision

        return getattr(decision, name)
    if name in ("track", "Tracker"):
        from empirical import tracking

        return getattr(tracking, name)
    raise AttributeError(name)
