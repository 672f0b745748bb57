"""Projected SGD onto a box (docs/theory.md, "Projected SGD"), derived by
:mod:`theory.descent`.

Algorithm: theta_k = P_X(theta_{k-1} - gamma_k g_k), X = {||theta||_inf <= a}
(any closed convex set would do), gamma_k > 0, every gamma_k <= gamma_max < 2/L.

At a constrained stationary point grad F need not vanish; the stationarity
measure is the stochastic gradient mapping G~_k = (theta_{k-1} - theta_k) /
gamma_k, exactly observable along a run. With delta_k = g_k - grad F(theta_{k-1}):
the projection property gives <g_k, G~_k> >= ||G~_k||^2, the descent lemma

    F(theta_k) <= F(theta_{k-1}) - gamma_k (1 - L gamma_k/2) ||G~_k||^2 + gamma_k <delta_k, G~_k>,

nonexpansiveness of P_X gives <delta_k, G~_k> <= <delta_k, G_k> + ||delta_k||^2 with
the deterministic mapping G_k (E<delta_k, G_k> = 0), and with gamma_k <= gamma_max:

    sum_k gamma_k E||G~_k||^2 / S1 <= (Delta + sigma2 S1) / ((1 - L gamma_max/2) S1)

for every gamma_max < 2/L (the chain proves 1 - L gamma_max/2 > 0 exactly there);
at gamma_max <= 1/L it is at most 2 Delta / S1 + 2 sigma2.

The argument (projection property, nonexpansiveness, the cross term with the
deterministic mapping vanishing in expectation) is that of Ghadimi, Lan,
Zhang, "Mini-batch stochastic approximation methods for nonconvex stochastic
composite optimization", Math. Programming 155 (2016), Theorem 2; the
constants are derived here. Keeping the factor 1 - L gamma_max/2 instead of
its floor 1/2 gives a bound at most the 2 Delta/S1 + 2 sigma2 of the plain
argument. The sigma2 term does not vanish with n unless the variance shrinks
(a growing batch), as GLZ note.

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
    """Projected SGD under any positive steps gamma_k <= gamma_max < 2/L."""
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
