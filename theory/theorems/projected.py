"""Projected SGD onto a box, derived by :mod:`theory.descent`.

theta_k = P_X(theta_{k-1} - gamma_k g_k), X = {||theta||_inf <= a}, every step at most
gamma_max < 2/L; the measure is the stochastic gradient mapping (theta_{k-1} -
theta_k)/gamma_k. The argument (Ghadimi, Lan, Zhang, Math. Programming 2016,
Theorem 2) and the bound: docs/theory.md, "Projected SGD".

Example::

    >>> import theory
    >>> theory.bound("generic", "sgd", "projected").expr
    2*(Delta + S1*sigma2)/(S1*(-L*gamma_max + 2))
"""

from __future__ import annotations

from functools import lru_cache

from theory import descent
from theory.assumptions import BOUNDED_VARIANCE, LOWER_BOUNDED, SMOOTH, UNBIASED, Assumption, Constraint
from theory.bound import Bound
from theory.lhs import STEP_WEIGHTED_MAPPING
from theory.symbols import S1, L, a, gamma_max

REFERENCE = (
    "Ghadimi, Lan, Zhang, 'Mini-batch stochastic approximation methods for nonconvex stochastic "
    "composite optimization', Math. Programming 155 (2016), Theorem 2 (argument); "
    "derived here (docs/theory.md, Projected SGD)"
)

BOX = Assumption(
    "box",
    "projection onto a box",
    r"\theta_k = P_X(\theta_{k-1} - \gamma_k g_k),\ X = \{\|\theta\|_\infty \le a\},\ \theta_0 \in X",
    (a,),
)
ALGORITHM = Assumption(
    "algorithm",
    "projected SGD",
    r"\theta_k = P_X(\theta_{k-1} - \gamma_k g_k) \text{ (no momentum, no weight decay)}",
)
STEPS = Assumption(
    "step-size",
    "steps below 2/L",
    r"0 < \gamma_k \le \gamma_{\max} < 2/L,\ S_1 = \sum_k \gamma_k",
    (S1, gamma_max),
    (
        Constraint(
            gamma_max,
            2 / L,
            "largest step gamma_max below 2/L (so 1 - L gamma_max/2 > 0)",
            strict=True,
            defines=True,
        ),
    ),
)


@lru_cache(maxsize=1)
def projected_bound() -> Bound:
    """Projected SGD under any positive steps gamma_k <= gamma_max < 2/L.

    sum_k gamma_k E||G~_k||^2 / S1 <= (Delta + sigma2 S1) / ((1 - L gamma_max/2) S1), at most
    2 Delta/S1 + 2 sigma2 when gamma_max <= 1/L.

    Returns:
        The bound on the gamma-weighted average of the gradient mapping.
    """
    step = descent.per_step(descent.PROJECTED, floor="largest-step")
    final, tail = descent.weighted_average(step)
    return Bound(
        name="generic/sgd/projected",
        expr=final,
        assumptions=(SMOOTH, LOWER_BOUNDED, UNBIASED, BOUNDED_VARIANCE, ALGORITHM, BOX, STEPS),
        reference=REFERENCE,
        tight=True,
        steps=step.steps + tail,
        lhs=STEP_WEIGHTED_MAPPING,
        notes=(
            "The left-hand side is the stochastic gradient mapping (theta_j - theta_{j+1})/gamma_{j+1}, "
            "observable exactly along a run, weighted by the step gamma_{j+1} taken from theta_j.",
            "The sigma2 term does not vanish with n: the stochastic mapping carries the gradient noise "
            "(without a projection it is g_k itself, E||g_k||^2 = ||grad F||^2 + sigma2). A growing "
            "batch (sigma2 ~ 1/B) makes it vanish, as in Ghadimi, Lan and Zhang.",
            "Proved for every gamma_max < 2/L (strictly: the factor 1 - L gamma_max/2 vanishes at "
            "2/L); at gamma_max <= 1/L the factor 1/(1 - L gamma_max/2) is at most 2, and near 2/L the "
            "bound grows like 1/(2 - L gamma_max). The noisy quadratic attains its sigma2 term at "
            "every such step (tested at gamma = 1.9/L).",
        ),
        variant="projected",
    )
