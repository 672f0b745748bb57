"""SGD under a growth condition on the gradient noise, derived by :mod:`theory.descent`.

E||g_k - grad F(theta_{k-1})||^2 <= A_growth + G_growth ||grad F(theta_{k-1})||^2
replaces bounded variance; any steps at most 1/(L (1 + G_growth)). The statement and
its relation to Bottou, Curtis, Nocedal (SIAM Review 2018, Section 4.3):
docs/theory.md, "SGD under a growth condition".

Example::

    >>> import theory
    >>> theory.bound("generic", "sgd", "growth").expr
    (A_growth*L*S2 + 2*Delta)/S1
"""

from __future__ import annotations

from functools import lru_cache

from theory import descent
from theory.assumptions import LOWER_BOUNDED, SMOOTH, UNBIASED, Assumption, Constraint
from theory.bound import Bound
from theory.lhs import STEP_WEIGHTED
from theory.symbols import S1, S2, A_growth, G_growth, L, gamma_max
from theory.theorems.sgd import ALGORITHM

REFERENCE = (
    "Bottou, Curtis, Nocedal, 'Optimization Methods for Large-Scale Machine Learning', SIAM Review "
    "60(2) (2018), Section 4.3, Theorems 4.8 (fixed step) and 4.10 (diminishing steps), nonconvex; "
    "derived here (docs/theory.md, SGD under a growth condition)"
)

GROWTH_VARIANCE = Assumption(
    "growth-variance",
    "variance growing with the gradient",
    r"\mathbb{E}\|g_k - \nabla F(\theta_{k-1})\|^2 \le A_{\mathrm{growth}} + G_{\mathrm{growth}} "
    r"\|\nabla F(\theta_{k-1})\|^2",
    (A_growth, G_growth),
)

#: Any steps, each at most 1/(L (1 + G)); the sums S1, S2 come from steps at most gamma_max.
GROWTH_STEPS = Assumption(
    "step-size",
    "steps at most 1/(L (1 + G))",
    r"0 < \gamma_k \le \gamma_{\max} \le \frac{1}{L (1 + G_{\mathrm{growth}})},\ "
    r"S_1 = \sum_k \gamma_k,\ S_2 = \sum_k \gamma_k^2",
    (S1, S2, gamma_max),
    (
        Constraint(
            gamma_max, 1 / (L * (1 + G_growth)), "largest step gamma_max at most 1/(L (1 + G_growth))"
        ),
        Constraint(S2, gamma_max * S1, "S2 <= gamma_max S1 (every gamma_k <= gamma_max)"),
    ),
)


@lru_cache(maxsize=1)
def growth_bound() -> Bound:
    """SGD under the growth condition, any positive steps gamma_k <= 1/(L (1 + G_growth)).

    sum_k gamma_k E||grad F(theta_{k-1})||^2 / S1 <= (2 Delta + L A_growth S2) / S1;
    G_growth = 0 gives the schedule theorem exactly.

    Returns:
        The bound on the gamma-weighted average.
    """
    step = descent.per_step(descent.Update(variance=A_growth, growth=G_growth))
    final, tail = descent.weighted_average(step)
    return Bound(
        name="generic/sgd/growth",
        expr=final,
        assumptions=(SMOOTH, LOWER_BOUNDED, UNBIASED, GROWTH_VARIANCE, ALGORITHM, GROWTH_STEPS),
        reference=REFERENCE,
        tight=True,
        steps=step.steps + tail,
        condition_constants=(gamma_max, G_growth),
        lhs=STEP_WEIGHTED,
        notes=(
            "Bottou, Curtis and Nocedal's Assumption 4.3 with unbiased gradients (mu = mu_G = 1): "
            "M = A_growth, M_V = G_growth, M_G = 1 + G_growth; their step condition "
            "alpha_k <= mu/(L M_G) is gamma_max <= 1/(L (1 + G_growth)).",
            "A fixed step alpha (their Theorem 4.8) is S1 = n alpha, S2 = n alpha^2: "
            "alpha L A_growth + 2 Delta/(n alpha); diminishing steps (Theorem 4.10) keep S1, S2.",
            "G_growth = 0 gives the schedule theorem exactly (sigma2 = A_growth, steps at most 1/L). "
            "A run whose variance is largest where the gradient is large has A_growth well below the "
            "largest variance seen, at the price of a smaller step limit.",
            "The left-hand side weights iterate theta_j by the step gamma_{j+1} taken from it, as for "
            "the schedule theorem.",
        ),
        variant="growth",
    )
