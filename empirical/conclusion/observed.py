"""The observed side of runs against a theorem.

The records of what it bounds, its weighted average per run and over runs
(empirical.compare.observe, with each record's Monte-Carlo variance), the rate fitted on the
running average and the bound at every horizon. Shared by the CLI's pipeline and the tracker
(docs/architecture.md, "Observed side").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from empirical.compare import Observed, RateFit, fit_rate, observe, running_averages
from empirical.errors import ConfigError
from theory.lhs import GRAD_NORM_SQ

#: Confidence of the observed interval.
CONFIDENCE = 0.95


def records_of(theorem, runs) -> tuple[np.ndarray, np.ndarray]:
    """The records of the observable the theorem bounds.

    Args:
        theorem: The :class:`theory.Bound` (its left-hand side names the observable).
        runs: The TrainRun.

    Returns:
        (index j of each record, values (R, T)).
    """
    from theory.lhs import GRAD_NORM_SQ, GRADIENT_MAPPING_SQ

    observable = theorem.lhs.observable
    if observable == GRAD_NORM_SQ:
        return np.asarray(runs.record_steps), np.asarray(runs.full_grad_norm_sq)
    if observable == GRADIENT_MAPPING_SQ and runs.mapping_sq is not None:
        return np.arange(runs.steps), np.asarray(runs.mapping_sq)
    raise ConfigError(f"{theorem.name} bounds {observable}, which these runs did not record")


def compare_runs(
    theorem, runs, values: dict[str, float], fixed: dict[str, float], schedule_rate: bool = True
) -> tuple[Observed, RateFit, dict[str, Any]]:
    """The observed side (empirical.compare.observe) and the rate fit on the mean running average.

    Args:
        theorem: The :class:`theory.Bound`.
        runs: The TrainRun.
        values: The values bound into the theorem.
        fixed: The values not estimated (n, B, step sums, ...).
        schedule_rate: A theorem without a rate of its own takes the CLI's schedule
            C_gamma k^(-1/2) (:func:`theory_rate`); otherwise its rate is the schedule's, not stated.

    Returns:
        (the observed weighted average with its interval, the rate fit, the curves the figures
        draw: horizons, running averages, the bound at every horizon).
    """
    lhs = theorem.lhs
    constants = {c: values.get(c, fixed.get(c)) for c in lhs.constants}
    gammas = np.asarray(runs.step_sizes)

    def weights_at(m: int) -> np.ndarray:
        return lhs.weights(m, gammas[:m] if lhs.uses_steps else None, **constants)

    index, records = records_of(theorem, runs)
    n = runs.steps
    noisy = lhs.observable == GRAD_NORM_SQ and runs.full_grad_norm_sq_var is not None
    observed = observe(
        index, records, weights_at(n), lhs.observable, CONFIDENCE,
        variances=runs.full_grad_norm_sq_var if noisy else None, dof=runs.record_dof if noisy else None,
    )  # fmt: skip
    horizons, averages = running_averages(index, records, weights_at)
    if schedule_rate or theorem.has_rate:
        rate_text, exponent = theory_rate(theorem)
    else:
        rate_text, exponent = "the schedule's (through S1 and S2)", float("nan")
    rate = fit_rate(horizons, averages.mean(0), n, rate_text, exponent)
    curve = bound_curve(theorem, values, gammas, horizons)
    return observed, rate, {"horizons": horizons, "running_averages": averages, "bound_curve": curve}


def theory_rate(theorem) -> tuple[str, float]:
    """The theorem's rate under the runs' schedule gamma_k = C_gamma k^(-1/2).

    A bound that depends on the steps only through their sums gets S1 >= its integral lower
    bound, S2 <= its upper bound and gamma_max = C_gamma (theory.schedules) first.

    Args:
        theorem: The :class:`theory.Bound`.

    Returns:
        (leading order in n in words, its exponent).
    """
    from theory.rates import rate_exponent
    from theory.schedules import DEFAULT

    bound = theorem
    if not theorem.has_rate:
        bound = theorem.substitute(
            S1=DEFAULT.sum_lower(1), S2=DEFAULT.sum_upper(2), gamma_max=DEFAULT.constant
        )
    p, _q = rate_exponent(bound.rate())  # the leading order already: cheap for long expressions
    return str(bound.rate()), float(p)


def bound_curve(theorem, values: dict[str, float], gammas: np.ndarray, horizons: np.ndarray) -> np.ndarray:
    """The bound at every horizon m with the same constants (n = m and the step sums of the first m steps).

    Args:
        theorem: The :class:`theory.Bound`.
        values: The values bound into it.
        gammas: The steps gamma_k taken.
        horizons: The horizons m.

    Returns:
        The bound per horizon, NaN where it is not defined.
    """
    f = theorem.numpy()
    cum1, cum2 = np.cumsum(gammas), np.cumsum(np.square(gammas))
    run_max = np.maximum.accumulate(gammas)
    m = horizons.astype(int)
    at = {**values, "n": horizons, "S1": cum1[m - 1], "S2": cum2[m - 1], "gamma_max": run_max[m - 1]}
    with np.errstate(all="ignore"):
        out = f.raw(**{a: np.asarray(at[a], dtype=float) for a in f.args})
    return np.broadcast_to(np.asarray(out, dtype=float), horizons.shape).copy()
