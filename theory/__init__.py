"""The theory half of vaebounds (SymPy only, never torch): assumptions, theorems and closed-form rates.

``import theory`` imports neither SymPy nor any theorem: every public name is
loaded on first use and each bound is built on its first request, then cached
(docs/theory.md, "Importing theory"); the mathematics is in docs/theory.md.

>>> import theory
>>> theory.bound("generic", "sgd").rate()
log(n)/sqrt(n)
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

from theory.errors import AssumptionViolation, MissingConstantError, TheoryError, UnknownNameError

#: Public name -> the module that defines it (imported on first use).
_LAZY = {
    "MODELS": "theory.catalog",
    "OPTIMIZERS": "theory.catalog",
    "bound": "theory.catalog",
    "registered": "theory.catalog",
    "Algorithm": "theory.algorithms",
    "Assumption": "theory.assumptions",
    "Constraint": "theory.assumptions",
    "Violation": "theory.assumptions",
    "Attribution": "theory.attribution",
    "attribution": "theory.attribution",
    "Bound": "theory.bound",
    "Step": "theory.bound",
    "NumpyBound": "theory.vectorised",
    "LeftHandSide": "theory.lhs",
    "StepSchedule": "theory.schedules",
    "MissingSolverError": "theory.performance",
    "NotCoveredError": "theory.performance",
    "Tightness": "theory.performance",
    "WorstCase": "theory.performance",
    "momentum_worst_case": "theory.performance",
    "proof_slack": "theory.performance",
    "tightness": "theory.performance",
}
#: Sub-modules offered as attributes (``theory.rates.iterations_to_reach``).
_SUBMODULES = ("algorithms", "rates", "symbols")

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


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"theory.{name}")
    if name not in _LAZY:
        if not name.startswith("_") and importlib.util.find_spec(f"theory.{name}") is not None:
            return importlib.import_module(f"theory.{name}")  # any other sub-module, e.g. theory.lhs
        raise AttributeError(f"module 'theory' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    setattr(sys.modules[__name__], name, value)
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


#: Public functions named like a sub-module of theirs: ``theory.bound`` is the catalogue's function
#: (not theory/bound.py), ``theory.attribution`` the function (not theory/attribution.py).
_SHADOWED = ("attribution", "bound")


class _Package(types.ModuleType):
    """The package's module type: keeps the functions of :data:`_SHADOWED` on the package.

    Importing a sub-module of the same name would otherwise set that sub-module on it.
    """

    def __setattr__(self, name: str, value) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            value = getattr(importlib.import_module(_LAZY[name]), name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
