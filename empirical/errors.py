"""Errors a user of :mod:`empirical` can cause.

All subclass :class:`ValueError`, so the CLI turns every one into a single line on
stderr and exit code 2 (docs/inputs.md, "Exit codes"). :class:`ConvergenceWarning` is a
warning, not an error: a result is returned, with a weaker claim its ``method`` states.
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


class ConvergenceWarning(RuntimeWarning):
    """An iterative estimator stopped at its iteration limit before its tolerance was met.

    E.g. Lanczos at ``max_iter`` products with residual > tol |theta|: the value is still a
    lower estimate, but the interval's upper end is no upper value (docs/estimators.md,
    "Lanczos interval"); the Estimate's ``method`` says so too.
    """
