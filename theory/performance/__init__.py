"""Performance estimation: how much of a bound's slack is the proof's own.

For the SGD theorems at sigma2 = 0 the worst case of the bound's left-hand side over
its function class is a semidefinite program, written with PEPit and solved by
CLARABEL, both optional (``pip install -e ".[pep]"``; imported only when a worst case
is computed). :func:`tightness` and :func:`proof_slack` put it next to the bound,
:func:`momentum_worst_case` computes heavy-ball momentum's (docs/theory.md,
"Performance estimation").

Example (needs the pep extra)::

    import theory
    t = theory.tightness(theory.bound("generic", "sgd", "schedule"), 1, L=1.0, Delta=1.0, steps=[1.0])
    t.ratio   # 1.0000000..., the bound 2 Delta / S1 is attained
"""

from __future__ import annotations

from theory.performance.api import N_MAX, N_PEPIT, momentum_worst_case, proof_slack, tightness
from theory.performance.dispatch import COVERED, NotCoveredError
from theory.performance.results import Fit, Method, Tightness, WorstCase
from theory.performance.solvers import INSTALL, MissingSolverError, SolverError

__all__ = [
    "COVERED",
    "INSTALL",
    "N_MAX",
    "N_PEPIT",
    "Fit",
    "Method",
    "MissingSolverError",
    "NotCoveredError",
    "SolverError",
    "Tightness",
    "WorstCase",
    "momentum_worst_case",
    "proof_slack",
    "tightness",
]
