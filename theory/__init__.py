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
    "NumpyBound",
    "Step",
    "StepSchedule",
    "TheoryError",
    "UnknownNameError",
    "Violation",
    "algorithms",
    "attribution",
    "bound",
    "rates",
    "registered",
    "symbols",
]
