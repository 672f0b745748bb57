"""SGD with unbiased gradients, derived by :mod:`theory.descent`: the default and ``schedule`` theorems.

theta_k = theta_{k-1} - gamma_k g_k with E[g_k | past] = grad F(theta_{k-1}) and
E||g_k - grad F||^2 <= sigma2; steps C_gamma k^(-alpha) <= 1/L, or any steps at most
1/L (the gamma-weighted form). The statements and references: docs/theory.md, "SGD"
and "SGD under any step sequence".

Example::

    >>> import theory
    >>> theory.bound("generic", "sgd", "schedule").expr
    (2*Delta + L*S2*sigma2)/S1
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from theory import descent
from theory.assumptions import (
    BOUNDED_VARIANCE,
    LOWER_BOUNDED,
    SMOOTH,
    UNBIASED,
    Assumption,
    Constraint,
)
from theory.bound import Bound, Step
from theory.errors import AssumptionViolation
from theory.lhs import STEP_WEIGHTED
from theory.schedules import GENERAL
from theory.symbols import S1, S2, C_gamma, L, alpha, gamma_max

REFERENCE = (
    "Surendran, Godichon-Baggioni, Le Corff, 'Theoretical Convergence Guarantees for "
    "Variational Autoencoders', AISTATS 2025 (arXiv 2410.16750), SGD theorem; "
    "derived here (docs/theory.md, SGD)"
)
REFERENCE_SCHEDULE = (
    "Ghadimi, Lan, 'Stochastic First- and Zeroth-Order Methods for Nonconvex Stochastic "
    "Programming', SIAM J. Optim. 23 (2013), the descent-lemma argument for any steps; "
    "derived here (docs/theory.md, SGD under any step sequence)"
)

ALGORITHM = Assumption(
    "algorithm",
    "plain SGD",
    r"\theta_k = \theta_{k-1} - \gamma_k g_k \text{ (no momentum, no weight decay, no projection)}",
)


def step_assumption(limit: sp.Expr, exponent: sp.Expr = alpha) -> Assumption:
    """The step-size assumption gamma_k = C_gamma k^(-exponent) with C_gamma at most a limit.

    Args:
        limit: The largest admissible C_gamma (e.g. 1/L).
        exponent: The decay exponent (default the symbol alpha).

    Returns:
        The ``step-size`` assumption with the constraint C_gamma <= limit.
    """
    return Assumption(
        "step-size",
        "step size",
        rf"\gamma_k = C_\gamma k^{{-{sp.latex(exponent)}}},\ C_\gamma \le {sp.latex(limit)}",
        (C_gamma,),
        (Constraint(C_gamma, limit, "step constant C_gamma at most its limit"),),
    )


#: Any steps, each at most 1/L; the sums S1, S2 come from steps at most gamma_max.
ANY_STEPS = Assumption(
    "step-size",
    "steps at most 1/L",
    r"0 < \gamma_k \le \gamma_{\max} \le 1/L,\ S_1 = \sum_k \gamma_k,\ S_2 = \sum_k \gamma_k^2",
    (S1, S2, gamma_max),
    (
        Constraint(gamma_max, 1 / L, "largest step gamma_max at most 1/L"),
        Constraint(S2, gamma_max * S1, "S2 <= gamma_max S1 (every gamma_k <= gamma_max)"),
    ),
)


@lru_cache(maxsize=1)
def general_derivation() -> tuple[sp.Expr, tuple[Step, ...]]:
    """The proof for gamma_k = C_gamma k^(-alpha) with alpha symbolic, run once.

    Specific schedules substitute alpha.

    Returns:
        (the bound on the uniform average, the derivation steps).
    """
    step = descent.per_step(descent.SGD)
    final, tail = descent.uniform_average(step, GENERAL)
    return final, step.steps + tail


def _exponent(value) -> sp.Expr:
    try:
        exponent = sp.nsimplify(value, rational=True)
    except (TypeError, ValueError, sp.SympifyError):
        exponent = sp.nan
    if isinstance(value, bool) or not (exponent.is_number and exponent.is_finite and 0 < exponent < 1):
        raise AssumptionViolation(
            f"alpha (the step-decay exponent) must be a number in (0, 1), got {value!r}"
        )
    return exponent


@lru_cache(maxsize=16)
def sgd_bound(alpha_value: sp.Expr | float | str | None = sp.Rational(1, 2)) -> Bound:
    """The SGD theorem for gamma_k = C_gamma k^(-alpha), C_gamma <= 1/L.

    (1/n) sum_{j<n} E||grad F(theta_j)||^2 <= (2 Delta + L sigma2 C_gamma^2 S_{2 alpha}(n)) /
    (C_gamma n^(1 - alpha)), S_p(n) = 1 + int_1^n x^(-p) dx (docs/theory.md, "SGD").

    Args:
        alpha_value: The decay exponent, a number in (0, 1) (default 1/2); None or
            "symbolic" keeps alpha symbolic (a Piecewise in alpha).

    Returns:
        The bound, with rate log(n)/sqrt(n) at alpha = 1/2.

    Raises:
        AssumptionViolation: ``alpha_value`` is not a number in (0, 1).
    """
    final, steps = general_derivation()
    if alpha_value is None or alpha_value == "symbolic":
        exponent: sp.Expr = alpha
    else:
        exponent = _exponent(alpha_value)
        final = sp.piecewise_fold(final.subs(alpha, exponent))
        steps = tuple(Step(st.title, st.justification, st.statement.subs(alpha, exponent)) for st in steps)
    limit = 1 / L
    default = exponent == sp.Rational(1, 2)
    return Bound(
        name="generic/sgd" if default else f"generic/sgd (alpha={exponent})",
        expr=final,
        assumptions=(
            SMOOTH,
            LOWER_BOUNDED,
            UNBIASED,
            BOUNDED_VARIANCE,
            ALGORITHM,
            step_assumption(limit, exponent),
        ),
        reference=REFERENCE,
        tight=True,
        steps=steps,
        step_limit=limit,
        notes=(
            "tight=True means the constants are exactly those of the derivation (no loosened step), "
            "not that the bound is attained.",
        ),
        variant="" if default else f"alpha={exponent}",
    )


@lru_cache(maxsize=1)
def schedule_bound() -> Bound:
    """SGD under any positive steps gamma_k <= 1/L: the gamma-weighted average.

    sum_k gamma_k E||grad F(theta_{k-1})||^2 / S1 <= (2 Delta + L sigma2 S2) / S1
    (docs/theory.md, "SGD under any step sequence").

    Returns:
        The bound, in S1 = sum gamma_k, S2 = sum gamma_k^2 and gamma_max.
    """
    step = descent.per_step(descent.SGD)
    final, tail = descent.weighted_average(step)
    return Bound(
        name="generic/sgd/schedule",
        expr=final,
        assumptions=(SMOOTH, LOWER_BOUNDED, UNBIASED, BOUNDED_VARIANCE, ALGORITHM, ANY_STEPS),
        reference=REFERENCE_SCHEDULE,
        tight=True,
        steps=step.steps + tail,
        condition_constants=(gamma_max,),
        lhs=STEP_WEIGHTED,
        notes=(
            "Covers constant steps, step decay, cosine and warm-up schedules: any positive steps, each "
            "at most 1/L. The left-hand side weights iterate theta_j by the step gamma_{j+1} taken from it.",
            "With gamma_k = C_gamma k^(-1/2), S1 >= n gamma_n = C_gamma sqrt(n) and "
            "S2 <= C_gamma^2 (1 + log n) turn this bound into the default SGD bound.",
        ),
        variant="schedule",
    )
