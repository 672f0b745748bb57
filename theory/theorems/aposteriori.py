"""A-posteriori preconditioned SGD: the preconditioner's extremes measured along the run.

The descent-lemma derivation of :mod:`theory.descent` for theta_k = theta_{k-1} -
gamma_k A_{k-1} g_k with lambda_min, lambda_max left as constants; a finished run is
checked against them after the fact, which is evidence on the runs made, not a
proof for every run. The Adam and Adagrad bounds: docs/theory.md, "A-posteriori
preconditioned SGD".

Example::

    >>> import theory
    >>> theory.bound("generic", "adam", "aposteriori").step_limit
    lambda_min/(L*lambda_max**2)
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from theory import descent
from theory.algorithms import DELAYED_ADAGRAD
from theory.assumptions import BOUNDED_VARIANCE, LOWER_BOUNDED, SMOOTH, Assumption, Constraint
from theory.bound import Bound, Step
from theory.schedules import StepSchedule
from theory.symbols import alpha_step, lambda_max, lambda_min
from theory.theorems.adam_seed import delayed_adam

REFERENCE = (
    "derived here (docs/theory.md, A-posteriori preconditioned SGD): the seed paper's preconditioned-SGD "
    "argument (Surendran, Godichon-Baggioni, Le Corff, AISTATS 2025) with measured preconditioner extremes"
)

MEASURED_SPECTRUM = Assumption(
    "preconditioner",
    "preconditioner from past gradients, spectrum measured (a-posteriori)",
    r"A_{k-1} \text{ diagonal, known before } g_k \text{ is drawn, its entries on the coordinates where } "
    r"g \text{ can be nonzero in } [\lambda_{\min}, \lambda_{\max}] \text{ for every } k "
    r"\text{ (checked after the run)}",
    (lambda_min, lambda_max),
    (Constraint(lambda_min, lambda_max, "measured extremes lambda_min <= lambda_max"),),
)

NOTES = (
    "A-POSTERIORI: lambda_min and lambda_max are the extremes of the preconditioner's spectrum measured "
    "along the run, not bounds known in advance. The inequality is a theorem for every run whose "
    "spectrum stays in [lambda_min, lambda_max] with the step condition; checking a finished run "
    "against them is evidence on that run, not a proof for the next one.",
    "No bound on ||g||_inf is needed (the seed form needs R to bound the spectrum). Coordinates whose "
    "gradient is always 0 do not count: a diagonal preconditioner multiplies zeros there, and grad F "
    "vanishes there too.",
)


@lru_cache(maxsize=1)
def aposteriori_adam() -> Bound:
    """The seed-Adam derivation with lambda_min, lambda_max kept as measured constants.

    (1/n) sum_{j<n} E||grad F(theta_j)||^2 <= (2 Delta + L lambda_max^2 sigma2 C_gamma^2
    (1 + log n)) / (lambda_min C_gamma sqrt(n) (1 - beta1)), for C_gamma <=
    lambda_min/(L lambda_max^2); proved for beta1 = 0, the factor 1/(1 - beta1) is an order.

    Returns:
        The bound, ``tight=False``.
    """
    why = Step(
        "measured extremes (a-posteriori)",
        "lambda_min, lambda_max are the smallest and largest preconditioner entries measured along "
        "the run, 1/(max sqrt(v_(k-1)) + eps) and 1/(min sqrt(v_(k-1)) + eps) for Adam",
        sp.true,
    )
    return delayed_adam({}, (why, (MEASURED_SPECTRUM,)), "aposteriori", REFERENCE, NOTES)


@lru_cache(maxsize=1)
def aposteriori_adagrad() -> Bound:
    """Adagrad with a delayed preconditioner and a constant step alpha, a-posteriori.

    (1/n) sum_{j<n} E||grad F(theta_j)||^2 <= (2 Delta + L lambda_max^2 sigma2 alpha^2 n) /
    (lambda_min alpha n), for alpha <= lambda_min/(L lambda_max^2).

    Returns:
        The bound; it tends to L lambda_max^2 sigma2 alpha/lambda_min (rate 1).
    """
    step = descent.per_step(descent.PRECONDITIONED)
    final, tail = descent.uniform_average(step, StepSchedule(alpha_step, sp.Integer(0)))
    limit = step.limit
    steps = step.steps + tail
    steps += (
        Step(
            "measured extremes (a-posteriori)",
            "lambda_min, lambda_max measured along the run: 1/(max sqrt(v_(k-1)) + eps) and "
            "1/(min sqrt(v_(k-1)) + eps)",
            sp.Le(descent.average, final),
        ),
    )
    condition = Assumption(
        "step-size",
        "step size",
        rf"\gamma_k = \alpha \le {sp.latex(limit)}",
        (alpha_step,),
        (Constraint(alpha_step, limit, "constant step alpha at most lambda_min/(L lambda_max^2)"),),
    )
    return Bound(
        name="generic/adagrad/aposteriori",
        expr=final,
        assumptions=(
            SMOOTH,
            LOWER_BOUNDED,
            BOUNDED_VARIANCE,
            MEASURED_SPECTRUM,
            DELAYED_ADAGRAD.assumption(),
            condition,
        ),
        reference=REFERENCE,
        tight=True,
        steps=steps,
        notes=NOTES
        + (
            "With a constant step the bound tends to L lambda_max^2 sigma2 alpha/lambda_min as n grows "
            "(rate 1 at fixed measured extremes).",
        ),
        optimizer="adagrad",
        variant="aposteriori",
        algorithm=DELAYED_ADAGRAD,
    )
