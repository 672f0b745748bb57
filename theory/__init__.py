"""vaebounds, theory half (SymPy only, never torch): assumptions, constants,
theorems and closed-form rates for the convergence of VAE training.

>>> import theory
>>> theory.bound("generic", "sgd").rate()
log(n)/sqrt(n)
"""

from __future__ import annotations

from theory import algorithms, rates, symbols
from theory.algorithms import Algorithm
from theory.assumptions import Assumption, Constraint, Violation
from theory.attribution import Attribution, attribution
from theory.bound import Bound, NumpyBound, Step
from theory.catalog import MODELS, OPTIMIZERS, bound, registered
from theory.errors import AssumptionViolation, MissingConstantError, TheoryError, UnknownNameError
from theory.lhs import LeftHandSide
from theory.performance import (
    MissingSolverError,
    NotCoveredError,
    Tightness,
    WorstCase,
    momentum_worst_case,
    proof_slack,
    tightness,
)
from theory.schedules import StepSchedule

__all__ = [
    "MODELS",
    "OPTIMIZERS",
    "Algorithm",
    "Assumption",
    "Attribution",
    "AssumptionViolation",
    "Bound",
    "Constraint",
    "LeftHandSide",
    "MissingConstantError",
    "MissingSolverError",
    "NotCoveredError",
    "NumpyBound",
    "Step",
    "StepSchedule",
    "TheoryError",
    "Tightness",
    "UnknownNameError",
    "Violation",
    "WorstCase",
    "algorithms",
    "attribution",
    "bound",
    "momentum_worst_case",
    "proof_slack",
    "rates",
    "registered",
    "symbols",
    "tightness",
]
