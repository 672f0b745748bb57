"""``vaebounds advise``: what SGD's bound recommends for a budget of gradient evaluations,
and whether it helps (docs/advise.md).

- :mod:`empirical.advice.request`: the request (default run's settings, budget), checked
  before any work; no torch.
- :mod:`empirical.advice.recommend`: C_gamma, the split of the budget between n, B and K
  and, for IWAE, K, each with the bound's predicted gain and its reasoning.
- :mod:`empirical.advice.measure`: the pilot's constants (the one pilot of the verify runs)
  and :func:`advise`.
- :mod:`empirical.advice.sides`: ``--check``, both sides run through the pipeline's verify.
- :mod:`empirical.advice.twosample`: the two-sample decision (Welch t).
- :mod:`empirical.advice.output`: the summary, advice.json, advice.png.
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
