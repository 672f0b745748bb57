"""The back half every source of runs shares (docs/architecture.md, "Two front ends, one conclusion").

The CLI's batched runs (:mod:`empirical.pipeline`) and tracked runs (:mod:`empirical.tracking`)
both end in :func:`conclude`. Imports neither front end.

- :mod:`empirical.conclusion.flow`: :func:`conclude`, runs -> :class:`Result`.
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

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from empirical.conclusion.flow import conclude
    from empirical.conclusion.result import Result, Row, Verdict, combined_exit_code

__all__ = ["Result", "Row", "Verdict", "combined_exit_code", "conclude"]

#: Where each public name lives: imported on first use, so that a front end reading one
#: submodule (the pilot's ``values``) does not import the whole back half (theory, scipy).
_HOMES = {
    "conclude": "empirical.conclusion.flow",
    "Result": "empirical.conclusion.result",
    "Row": "empirical.conclusion.result",
    "Verdict": "empirical.conclusion.result",
    "combined_exit_code": "empirical.conclusion.result",
}


def __getattr__(name: str) -> Any:
    """The public names, imported from their modules on first use (PEP 562)."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_HOMES[name]), name)
    globals()[name] = value
    return value
