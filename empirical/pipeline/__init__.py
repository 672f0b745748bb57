"""The pipeline: validated settings in, a result with its verdict out.

- :mod:`empirical.pipeline.settings`: :class:`Settings` and the vocabulary table
  (imports no torch, so bad settings are refused before any model is built).
- :mod:`empirical.pipeline.pipeline`: :func:`verify` (theorem -> train ->
  estimate -> bind -> compare -> result) and :func:`estimate_constants`.
- :mod:`empirical.pipeline.checks`: the assumption rows, by assumption id.
- :mod:`empirical.pipeline.result`: :class:`Result` and its :class:`Verdict`.
"""

from __future__ import annotations

from empirical.pipeline.settings import GRID_AXES, VOCABULARY, Settings, Term, term

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
    "silent": "empirical.pipeline.pipeline",
    "Result": "empirical.pipeline.result",
    "Row": "empirical.pipeline.result",
    "Verdict": "empirical.pipeline.result",
    "combined_exit_code": "empirical.pipeline.result",
}


def __getattr__(name: str):
    # Lazy: the settings must be importable without torch.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
