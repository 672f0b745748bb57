"""SGD with unbiased gradients: the proof of theory-reference §3.1, performed
as a chain of SymPy transformations.

Each step transforms the statement of the previous one; the final expression
is what the chain produces, not a typed-in formula. For the schedule
gamma_k = C_gamma k^(-alpha), 0 < alpha < 1:

    (1/n) sum_{k=0}^{n-1} E||grad F(theta_k)||^2
        <= (2 Delta + L sigma2 C_gamma^2 S_{2 alpha}(n)) / (C_gamma n^(1 - alpha)),

S_p(n) the integral-comparison upper bound of sum_{k<=n} k^(-p) (1 + log n at
p = 1). At alpha = 1/2 this is (2 Delta + L sigma2 C_gamma^2 (1 + log n)) /
(C_gamma sqrt(n)), rate log(n)/sqrt(n).
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

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
from theory.schedules import GENERAL, StepSchedule
from theory.symbols import C_gamma, Delta, L, alpha, k, latex_name, n, sigma2

REFERENCE = (
    "Surendran, Godichon-Baggioni, Le Corff, 'Theoretical Convergence Guarantees for "
    "Variational Autoencoders', AISTATS 2025 (arXiv 2410.16750), SGD theorem; "
    "proof as in theory-reference §3.1 (derived here)"
)

# Placeholders of the proof (not constants of the bound).
EF = sp.Function("EF")  # EF(k) = E F(theta_k)
G = sp.Function("G")  # G(k) = E||grad F(theta_k)||^2
gamma = sp.Function("gamma")  # gamma(k) = step size at iteration k
F_k, F_prev = sp.symbols("F_k F_km1", real=True)  # F(theta_k), F(theta_{k-1})
inner = sp.Symbol("inner", real=True)  # <grad F(theta_{k-1}), g_k>
g_sq = sp.Symbol("g_sq", nonnegative=True)  # ||g_k||^2
average = sp.Symbol("A_n", nonnegative=True)  # (1/n) sum_{k=0}^{n-1} G(k)
F_star = sp.Symbol("F_star", real=True)
for _sym, _tex in (
    (F_k, r"F(\theta_k)"),
    (F_prev, r"F(\theta_{k-1})"),
    (inner, r"\langle \nabla F(\theta_{k-1}), g_k \rangle"),
    (g_sq, r"\|g_k\|^2"),
    (average, r"\frac{1}{n}\sum_{k=0}^{n-1}\mathbb{E}\|\nabla F(\theta_k)\|^2"),
    (F_star, "F^*"),
):
    latex_name(_sym, _tex)


def step_assumption(limit: sp.Expr) -> Assumption:
    return Assumption(
        "step size",
        rf"\gamma_k = C_\gamma k^{{-\alpha}},\ C_\gamma \le {sp.latex(limit)}",
        (C_gamma,),
        (Constraint(C_gamma, limit, "step constant C_gamma at most its limit"),),
    )


def _check(condition: bool, what: str) -> None:
    if not condition:  # pragma: no cover - a failed proof step is a bug
        raise AssertionError(f"derivation step failed: {what}")


def derive(schedule: StepSchedule) -> tuple[sp.Expr, tuple[Step, ...]]:
    """Run the proof for ``schedule``; return the final expression and the steps."""
    steps: list[Step] = []

    # 1. Descent lemma for theta_k = theta_{k-1} - gamma_k g_k.
    descent = sp.Le(F_k, F_prev - gamma(k) * inner + L / 2 * gamma(k) ** 2 * g_sq)
    steps.append(
        Step(
            "descent lemma",
            "F is L-smooth, so F(y) <= F(x) + <grad F(x), y-x> + (L/2)||y-x||^2 with y-x = -gamma_k g_k",
            descent,
        )
    )

    # 2. Conditional expectation given theta_{k-1}, then total expectation.
    expected = sp.Le(
        EF(k),
        descent.rhs.subs({F_prev: EF(k - 1), inner: G(k - 1), g_sq: G(k - 1) + sigma2}),
    )
    steps.append(
        Step(
            "expectation",
            "E<grad F, g_k> = E||grad F(theta_{k-1})||^2 (unbiased) and "
            "E||g_k||^2 <= E||grad F(theta_{k-1})||^2 + sigma2 (bounded variance)",
            expected,
        )
    )

    # 3. gamma_k <= 1/L makes the coefficient of G(k-1) at least gamma_k / 2.
    coeff = -sp.expand(expected.rhs - EF(k - 1)).coeff(G(k - 1))  # gamma - L gamma^2/2
    u = sp.Symbol("u", positive=True)  # u = L gamma_k in (0, 1]
    slack = sp.factor(sp.expand((coeff - gamma(k) / 2).subs(gamma(k), u / L)))
    w = sp.Symbol("w", nonnegative=True)  # u = 1/(1 + w) covers u in (0, 1]
    _check(
        sp.factor(slack.subs(u, 1 / (1 + w))).is_nonnegative is True,
        "gamma - L gamma^2/2 >= gamma/2 for L gamma <= 1",
    )
    rest = sp.expand(expected.rhs - EF(k - 1) + coeff * G(k - 1))  # = (L/2) gamma^2 sigma2
    per_step = sp.Le(gamma(k) / 2 * G(k - 1), EF(k - 1) - EF(k) + rest)
    steps.append(
        Step(
            "step size at most 1/L",
            f"gamma_k - (L/2) gamma_k^2 - gamma_k/2 = {sp.sstr(slack)} >= 0 for u = L gamma_k in (0, 1]",
            per_step,
        )
    )

    # 4. Sum over k = 1..n and telescope; E F(theta_n) >= F*.
    tel = sp.Sum(EF(k - 1) - EF(k), (k, 1, n))
    for m in range(1, 6):  # the telescoping identity, checked on concrete lengths
        _check(sp.expand(tel.subs(n, m).doit() - (EF(0) - EF(m))) == 0, "telescoping identity")
    rest_coeff = sp.cancel(rest / gamma(k) ** 2)  # (L/2) sigma2, constant in k
    _check(not rest_coeff.has(k), "noise term proportional to gamma_k^2")
    sq_sum = sp.Sum(gamma(k) ** 2, (k, 1, n))
    rest_sum = rest_coeff * sq_sum
    summed = sp.Le(sp.Sum(per_step.lhs, (k, 1, n)), (EF(0) - F_star) + rest_sum)
    summed = summed.subs(EF(0) - F_star, Delta)
    steps.append(
        Step(
            "sum and telescope",
            "sum_{k=1}^n (E F(theta_{k-1}) - E F(theta_k)) = E F(theta_0) - E F(theta_n) "
            "<= F(theta_0) - F* = Delta",
            summed,
        )
    )

    # 5. gamma_k >= gamma_n (the schedule decreases): the left side is at least
    #    (gamma_n / 2) sum_{k=0}^{n-1} G(k) = (gamma_n / 2) n A_n.
    step_n = schedule.gamma(n)
    gk = schedule.gamma(k)
    slope = sp.powsimp(sp.expand(sp.diff(gk, k) * k ** (schedule.exponent + 1)))
    _check(slope.is_nonpositive is True, "gamma decreasing")
    lower = sp.Le(step_n / 2 * n * average, summed.rhs)
    averaged = sp.Le(average, sp.together(lower.rhs / sp.cancel(lower.lhs / average)))
    steps.append(
        Step(
            "lower-bound the step by gamma_n",
            f"gamma_k = {sp.sstr(gk)} is decreasing in k, so sum gamma_k G(k-1) >= gamma_n n A_n",
            averaged,
        )
    )

    # 6. Bound the step-size sum: sum gamma_k^2 = C^2 sum k^(-2 alpha) <= C^2 S_{2 alpha}(n).
    upper = schedule.sum_upper(2)
    final = averaged.rhs.subs(sq_sum, upper)
    _check(not final.has(gamma) and not final.has(sp.Sum), "every sum bounded")
    final = sp.piecewise_fold(final)
    if isinstance(final, sp.Piecewise):
        final = sp.Piecewise(*[(sp.factor_terms(sp.together(e)), c) for e, c in final.args])
    steps.append(
        Step(
            "bound the step-size sum",
            "integral comparison: sum_{k=1}^n k^(-p) <= 1 + int_1^n x^(-p) dx (= 1 + log n at p = 1)",
            sp.Le(average, final),
        )
    )
    return final, tuple(steps)


@lru_cache(maxsize=1)
def general_derivation() -> tuple[sp.Expr, tuple[Step, ...]]:
    """The proof for the general schedule gamma_k = C_gamma k^(-alpha), alpha symbolic
    (run once; specific schedules substitute alpha)."""
    return derive(GENERAL)


def sgd_bound(alpha_value: sp.Expr | float | None = sp.Rational(1, 2)) -> Bound:
    """The SGD theorem for gamma_k = C_gamma k^(-alpha); ``alpha_value=None``
    keeps alpha symbolic (a Piecewise in alpha), the default is alpha = 1/2."""
    final, steps = general_derivation()
    if alpha_value is None:
        exponent: sp.Expr = alpha
    else:
        try:
            exponent = sp.nsimplify(alpha_value, rational=True)
        except (TypeError, ValueError, sp.SympifyError):
            exponent = sp.nan
        if not (exponent.is_number and exponent.is_finite and 0 < exponent < 1):
            raise AssumptionViolation(f"alpha must be a number in (0, 1), got {alpha_value!r}")
        final = sp.piecewise_fold(final.subs(alpha, exponent))
        steps = tuple(Step(st.title, st.justification, st.statement.subs(alpha, exponent)) for st in steps)
    limit = 1 / L
    default = exponent == sp.Rational(1, 2)
    return Bound(
        name="generic/sgd" if default else f"generic/sgd (alpha={exponent})",
        expr=final,
        assumptions=(SMOOTH, LOWER_BOUNDED, UNBIASED, BOUNDED_VARIANCE, step_assumption(limit)),
        reference=REFERENCE,
        tight=True,
        steps=steps,
        step_limit=limit,
        notes=(
            "tight=True means the constants are exactly those of the proof in theory-reference "
            "§3.1 (no loosened step), not that the bound is attained.",
        ),
        model="generic",
        optimizer="sgd",
        variant="" if default else f"alpha={exponent}",
    )
