"""Errors a user of :mod:`theory` can cause. All subclass :class:`ValueError`."""

from __future__ import annotations


class TheoryError(ValueError):
    """Base class of every error the theory package raises on bad input."""


class MissingConstantError(TheoryError):
    """A bound was evaluated without a value for one of its constants."""


class AssumptionViolation(TheoryError):
    """A value breaks an assumption of the theorem (e.g. ``C_gamma > 1/L``, ``L < 0``, NaN)."""


class UnknownNameError(TheoryError):
    """An unknown model, optimizer, variant or symbol name."""
