"""The front end of the built-in models.

Validated settings in, R batched runs trained, their constants estimated, and
:func:`empirical.conclusion.conclude` for the result.

- :mod:`empirical.pipeline.pipeline`: :func:`verify` (step -> train -> estimate ->
  conclude) and :func:`estimate_constants`.
- :mod:`empirical.pipeline.pilot`: the step constant from a pilot estimate (the one pilot).

Imports nothing of :mod:`empirical.tracking`; :mod:`empirical.runner` picks this front end
or the user-module one.

The flow: docs/architecture.md, "How a question flows".
"""

from __future__ import annotations

from empirical.settings import Settings

__all__ = ["Settings", "estimate_constants", "verify"]


def __getattr__(name: str):
    # Lazy: the settings must be importable without torch.
    if name in ("verify", "estimate_constants"):
        from empirical.pipeline import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
