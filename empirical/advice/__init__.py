"""``vaebounds advise``: what SGD's bound recommends for a budget of gradient evaluations, and if it helps.

The request, checked before any work (:mod:`~empirical.advice.request`, no torch); the
recommendations (:mod:`~empirical.advice.recommend`) at the pilot's constants
(:mod:`~empirical.advice.measure`); ``--check``, both sides through verify and the
two-sample decisions (:mod:`~empirical.advice.sides`, :mod:`~empirical.advice.twosample`);
the outputs (:mod:`~empirical.advice.output`). docs/advise.md.
"""

from __future__ import annotations

from empirical.advice.request import Request, request_of

__all__ = ["Request", "advise", "request_of", "run_check"]


def __getattr__(name: str):
    # Lazy: the request is checked before torch is imported.
    if name == "advise":
        from empirical.advice.measure import advise

        return advise
    if name == "run_check":
        from empirical.advice.sides import run_check

        return run_check
    raise AttributeError(name)
