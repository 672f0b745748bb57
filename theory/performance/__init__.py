"""Performance estimation: how much of a bound's slack is the proof's own
(docs/theory.md, "Performance estimation").

For the SGD theorems at sigma2 = 0 the worst case of the bound's left-hand
side over its function class (L-smooth F with F(theta_0) - F(theta_n) <=
Delta) is a semidefinite program (Drori, Teboulle 2014; Taylor, Hendrickx,
Glineur 2017), written with PEPit and solved by CLARABEL, both optional
(``pip install -e ".[pep]"``; imported only when a worst case is computed).

* :func:`tightness` (``theory.tightness``): the bound, the worst case and
  their ratio at a horizon n (sgd default, "schedule", "projected", "biased").
* :func:`proof_slack` (``theory.proof_slack``): the same at a run's steps,
  fitted beyond the solvable horizons (for reports).
* :func:`momentum_worst_case` (``theory.momentum_worst_case``): heavy-ball
  momentum's worst case, a number with no theorem behind it.

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
