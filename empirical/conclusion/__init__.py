"""The back half every source of runs shares (docs/architecture.md, "Two front ends, one conclusion").

The CLI's batched runs (:mod:`empirical.pipeline`) and tracked runs (:mod:`empirical.tracking`)
both end in :func:`conclude`. Imports neither front end.

- :mod:`empirical.conclusion.conclude`: :func:`conclude`, runs -> :class:`Result`.
- :mod:`empirical.conclusion.coverage`: which theorem covers an optimizer run.
- :mod:`empirical.conclusion.values`: the fixed values and the step variance.
- :mod:`empirical.conclusion.observed`: the observed side of runs against a theorem.
- :mod:`empirical.conclusion.rows`: the assumption rows, by assumption id; the checks in
  :mod:`~empirical.conclusion.problem_rows` (F and its gradient) and
  :mod:`~empirical.conclusion.algorithm_rows` (algorithm, box, activations), reading
  :mod:`~empirical.conclusion.evidence`.
- :mod:`empirical.conclusion.variants`: every adaptive variant on a run, the attribution.
- :mod:`empirical.conclusion.result`: :class:`Result`, :class:`Verdict`, :class:`Row`.
"""

from __future__ import annotations

from empirical.conclusion.conclude import conclude
from empirical.conclusion.result import Result, Row, Verdict, combined_exit_code

__all__ = ["Result", "Row", "Verdict", "combined_exit_code", "conclude"]
