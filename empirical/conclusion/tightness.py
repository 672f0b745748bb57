"""How tight the theorem a run used is.

Bound / observed split into three factors (docs/theory.md, "Performance estimation", "In a
report").

With W the worst case of the theorem's own left-hand side over its function class after
the run's n steps of the deterministic method (sigma2 = 0; :func:`theory.proof_slack`
at the run's actual step sizes and the bound's constants), B(sigma2) the bound at the
run's constants and B(0) the same bound with every noise constant set to 0:

    bound / observed = [B(0) / W] x [W / observed] x [B(sigma2) / B(0)]
                     =   proof    x   landscape   x    noise term

- **proof**: the proof's own slack, >= 1; 1 when the bound is attained by some L-smooth F.
- **landscape**: how far the run's observed average sits below that worst case: the
  function trained is easier than the worst L-smooth one with the same L and Delta (and
  the run's noise has whatever effect it has on the observed side).
- **noise term**: what the bound's variance terms (sigma2, or sigma2_data and sigma2_mc)
  add to the noise-free bound.

The three multiply to the ratio exactly (B(0) and W cancel). Computed once, by
:func:`empirical.conclusion.conclude`, into ``Result.extras["tightness"]``; never raises
for a theorem performance estimation cannot express, a missing optional solver or a
solver failure: the entry then says "not computed" and why.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from theory.performance.dispatch import FROM_STEPS

#: Horizons up to this are solved (the default verify run's n); beyond, the ratio is fitted.
N_MAX = 2000

DEFINITIONS = {
    "proof": "B(0) / W: the bound at sigma2 = 0 over the worst case W of the theorem's left-hand side "
    "over every L-smooth F with F(theta_0) - F(theta_n) <= Delta after these n steps of the deterministic "
    "method (the proof's own slack; 1 = attained)",
    "landscape": "W / observed: how far the runs' average sits below that worst case (the function trained "
    "is easier than the worst one with the same L and Delta)",
    "noise_term": "B(sigma2) / B(0): what the bound's variance terms add to the noise-free bound",
}
ADAPTIVE_REASON = (
    "performance estimation here (theory.proof_slack) expresses gradient descent only (SGD's default, "
    "schedule, projected and biased theorems); {name}'s step is divided coordinate-wise by a "
    "preconditioner built from past gradients, which these programs do not model"
)


def _not_computed(theorem, reason: str, seconds: float = 0.0) -> dict[str, Any]:
    return {"computed": False, "theorem": theorem.name, "reason": reason, "seconds": seconds}


def tightness_of(theorem, runs, values: dict[str, float], bound: float, observed) -> dict[str, Any]:
    """The tightness entry of a result (module docstring), JSON-ready.

    Args:
        theorem: the :class:`theory.Bound` the run was compared with.
        runs: the runs (their ``step_sizes`` gamma_1..gamma_n).
        values: the constants the bound was evaluated at (the binding's values).
        bound: B(sigma2), the bound's value at them.
        observed: the observed side (``value``, ``lo``, ``hi``).

    Returns:
        ``computed`` True: ``proof``, ``landscape`` (with ``landscape_lo``, ``landscape_hi``
        from the observed interval's ends), ``noise_term``, ``ratio`` (= their product),
        ``worst_case`` W, ``bound_noise_free`` B(0), ``bound``, ``observed``, ``n``,
        ``how`` (solved or fitted, in words), ``formulation``, ``exact``, ``fit``,
        ``solver``, ``definitions``, ``notes``, ``seconds``. ``computed`` False:
        ``reason`` (the theorem is not expressible, the pep extra is missing with the
        command that installs it, the solver failed, or a factor is not finite).
    """
    started = time.perf_counter()
    if theorem.optimizer in ("adam", "adagrad"):
        name = {"adam": "Adam", "adagrad": "Adagrad"}[theorem.optimizer]
        return _not_computed(theorem, "not computed: " + ADAPTIVE_REASON.format(name=name))
    import theory
    from theory.errors import TheoryError
    from theory.performance import INSTALL, MissingSolverError

    constants = {k: v for k, v in values.items() if k not in FROM_STEPS}
    try:
        t = theory.proof_slack(theorem, np.asarray(runs.step_sizes, dtype=float), n_max=N_MAX, **constants)
    except MissingSolverError:
        return _not_computed(
            theorem, f"not computed: needs the optional pep extra: {INSTALL}", time.perf_counter() - started
        )
    except TheoryError as err:  # not expressible, a condition of the theorem broken, the solver failed
        return _not_computed(theorem, f"not computed: {err}", time.perf_counter() - started)
    seconds = time.perf_counter() - started
    W, noise_free = t.worst_case, t.bound_value
    obs = float(observed.value)
    numbers = (W, noise_free, bound, obs)
    if not all(math.isfinite(x) for x in numbers) or min(W, noise_free, obs) <= 0:
        return _not_computed(
            theorem,
            "not computed: the split needs W, B(0) and the observed average finite and > 0; got "
            f"W = {W!r}, B(0) = {noise_free!r}, observed = {obs!r}",
            seconds,
        )
    fit = t.method.fit
    if fit is not None:
        how = f"fitted: the ratio extrapolated to n = {t.n} from {fit}"
    elif t.method.exact:
        how = f"solved at n = {t.n}, PEPit's exact program"
    else:
        how = f"solved at n = {t.n}, consecutive conditions: at least the exact W, so proof <= the exact one"
    return {
        "computed": True,
        "theorem": theorem.name,
        "algorithm": t.algorithm,
        "n": t.n,
        "bound": float(bound),
        "bound_noise_free": noise_free,
        "worst_case": W,
        "observed": obs,
        "proof": noise_free / W,
        "landscape": W / obs,
        "landscape_lo": W / float(observed.hi) if observed.hi > 0 else None,
        "landscape_hi": W / float(observed.lo) if observed.lo > 0 else None,
        "noise_term": float(bound) / noise_free,
        "ratio": float(bound) / obs,
        "how": how,
        "formulation": t.method.formulation,
        "exact": t.method.exact,
        "fit": None if fit is None else str(fit),
        "solver": t.method.solver,
        "lhs": t.lhs,
        "function_class": t.function_class,
        "definitions": dict(DEFINITIONS),
        "notes": list(t.notes),
        "seconds": seconds,
    }


__all__ = ["DEFINITIONS", "N_MAX", "tightness_of"]
