"""SGD under a growth condition on the gradient noise (docs/theory.md, "SGD under
a growth condition"), derived by :mod:`theory.descent`.

Algorithm: theta_k = theta_{k-1} - gamma_k g_k, k = 1..n, any steps gamma_k > 0,
with E[g_k | past] = grad F(theta_{k-1}) and, instead of bounded variance,

    E||g_k - grad F(theta_{k-1})||^2 <= A + G ||grad F(theta_{k-1})||^2,

so E||g_k||^2 <= A + (1 + G) ||grad F||^2. For every gamma_k <= gamma_max <=
1/(L (1 + G)) the descent lemma gives gamma_k (1 - L gamma_k (1 + G)/2) >= gamma_k/2 and

    sum_k gamma_k E||grad F(theta_{k-1})||^2 / S1 <= (2 Delta + L A S2) / S1,

S1 = sum gamma_k, S2 = sum gamma_k^2: the schedule theorem with sigma2 -> A and the
step limit 1/L -> 1/(L (1 + G)); G = 0 gives it back exactly.

Bottou, Curtis, Nocedal, "Optimization Methods for Large-Scale Machine Learning",
SIAM Review 60(2), 2018, Section 4.3: their Assumption 4.3 with unbiased
gradients (mu = mu_G = 1), V[g] <= M + M_V ||grad F||^2, M_G = M_V + mu_G^2;
here A = M, G = M_V, 1 + G = M_G, and their step condition alpha_k <= mu/(L M_G)
is gamma_k <= 1/(L (1 + G)). Theorem 4.8 (fixed step alpha) is the case
S1 = n alpha, S2 = n alpha^2: alpha L M + 2 Delta/(n alpha); Theorem 4.10
(diminishing steps) bounds sum_k alpha_k E||grad F||^2 by 2 Delta + L M sum alpha_k^2,
the inequality above before it is divided by S1.

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
    """SGD under the growth condition, any positive steps gamma_k <= 1/(L (1 + G)):
    the gamma-weighted average (module docstring)."""
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
