"""Errors a user of :mod:`empirical` can cause.

All subclass :class:`ValueError`, so the CLI turns every one into a single line on
stderr and exit code 2 (docs/inputs.md, "Exit codes").
"""

from __future__ import annotations


class EmpiricalError(ValueError):
    """Base class of every error the empirical package raises on bad input."""


class DataError(EmpiricalError):
    """A data set that cannot be used: missing file, not numeric, not 2-D, NaN/inf, empty."""


class ConfigError(EmpiricalError):
    """A bad option (K <= 0, B <= 0, beta < 0, unknown kind, ...)."""


class DivergenceError(EmpiricalError):
    """A training run produced NaN or inf; the message names the step."""


class LossError(EmpiricalError):
    """A user loss that does not return a finite scalar, or params that are not a dict of tensors."""


class TrackingError(EmpiricalError):
    """The tracker used out of order.

    E.g. tracker.step() without an optimizer step, parameters changed since the last
    tracker.step(), verify() before any step.
    """
