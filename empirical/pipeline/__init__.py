"""The pipeline: validated settings in, a result with its verdict out.

- :mod:`empirical.pipeline.pipeline`: :func:`verify` (theorem -> train ->
  estimate -> bind -> compare -> result) and :func:`estimate_constants`.
- :mod:`empirical.pipeline.pilot`: the step constant from a pilot estimate.
"""

from __future__ import annotations

from empirical.settings import GRID_AXES, VOCABULARY, Settings, Term, term

__all__ = [
    "GRID_AXES",
    "VOCABULARY",
    "Result",
    "Row",
    "Settings",
    "Term",
    "Verdict",
    "combined_exit_code",
    "estimate_constants",
    "silent",
    "term",
    "verify",
]

_LAZY = {
    "verify": "empirical.pipeline.pipeline",
    "estimate_constants": "empirical.pipeline.pipeline",
    "silent": "empirical.progress",
    "Result": "empirical.conclusion.result",
    "Row": "empirical.conclusion.result",
    "Verdict": "empirical.conclusion.result",
    "combined_exit_code": "empirical.conclusion.result",
}


def __getattr__(name: str):
    # Lazy: the settings must be importable without torch.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
