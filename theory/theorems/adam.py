"""Adaptive methods: Adam and Adagrad (theory-reference §3.2).

Two forms, related as in "How the two relate":

* ``defossez_adam`` / ``defossez_adagrad``: the exact bounds of Défossez,
  Bottou, Bach, Usunier, "A Simple Convergence Proof of Adam and Adagrad"
  (TMLR 2022), constants as published (``variant="defossez"``), and
  :func:`defossez_horizon`, the derivation that beta2 = 1 - 1/n with
  alpha = C_gamma/sqrt(n) gives log(n)/sqrt(n) while a constant beta2 does not
  vanish.
* :func:`seed_adam`: the seed paper's constant-beta2 form, derived here as a
  preconditioned version of the SGD proof of :mod:`theory.theorems.sgd`:
  theta_k = theta_{k-1} - gamma_k A_{k-1} g_k, A_{k-1} built from past
  gradients (known before g_k), eigenvalues in [lambda_min, lambda_max];
  for A = diag(1/(sqrt(v) + eps)) and ||g||_inf <= R, lambda_max = 1/eps,
  lambda_min = 1/(R + eps). The same derivation with a biased gradient is
  :mod:`theory.theorems.biased`.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from theory.assumptions import BOUNDED_VARIANCE, LOWER_BOUNDED, SMOOTH, Assumption, Constraint
from theory.bound import Bound, Step
from theory.schedules import DEFAULT, StepSchedule, power_sum_upper
from theory.symbols import (
    C_gamma,
    Delta,
    L,
    R,
    alpha_step,
    beta1,
    beta2,
    d,
    eps,
    k,
    lambda_max,
    lambda_min,
    n,
    sigma2,
)
from theory.theorems.sgd import EF, F_k, F_prev, G, _check, average, g_sq, gamma, inner

REFERENCE_DEFOSSEZ = (
    "Défossez, Bottou, Bach, Usunier, 'A Simple Convergence Proof of Adam and Adagrad', "
    "TMLR 2022 (exact constants)"
)
REFERENCE_SEED = (
    "Surendran, Godichon-Baggioni, Le Corff, AISTATS 2025 (arXiv 2410.16750), Adam theorem "
    "(order only); preconditioned SGD proof derived here (theory-reference §3.2)"
)

# ------------------------------------------------------------------ assumptions
BOUNDED_SUP = Assumption(
    "bounded gradients (sup norm)",
    r"\|g_k\|_\infty \le R \text{ almost surely}",
    (R,),
)
DEFOSSEZ_PARAMETERS = Assumption(
    "Adam parameters (Défossez)",
    r"0 \le \beta_1 < \beta_2 < 1,\ \epsilon > 0,\ \alpha > 0,\ N > \beta_1/(1-\beta_1)",
    (beta1, beta2, eps, alpha_step, n),
    (
        Constraint(beta1, beta2, "momentum below the second-moment parameter, beta1 < beta2"),
        Constraint(beta1 / (1 - beta1), n, "horizon N > beta1/(1 - beta1), so N~ > 0"),
    ),
)
ADAGRAD_PARAMETERS = Assumption(
    "Adagrad parameters (Défossez)", r"\epsilon > 0,\ \alpha > 0", (eps, alpha_step)
)
SEED_PARAMETERS = Assumption(
    "Adam parameters (seed paper)",
    r"0 \le \beta_1 < \sqrt{\beta_2} < 1,\ \epsilon > 0",
    (beta1, beta2, eps),
    (Constraint(beta1, sp.sqrt(beta2), "momentum beta1 < sqrt(beta2)"),),
)
PRECONDITIONER = Assumption(
    "preconditioner from past gradients",
    r"A_{k-1} = \mathrm{diag}(1/(\sqrt{v_{k-1}} + \epsilon)) \text{ known before } g_k,\ "
    r"\mathrm{spec}(A_{k-1}) \subset [1/(R+\epsilon), 1/\epsilon]",
    (R, eps),
)


# ------------------------------------------------------------- Défossez et al.
def defossez_adam_expr(step: sp.Expr = alpha_step, b2: sp.Expr = beta2, N: sp.Expr = n) -> sp.Expr:
    """Défossez et al. 2022, Adam with momentum, as published:

    2 R Delta/(alpha N~) + (E/N~)(ln(1 + R^2/((1 - beta2) eps)) - N ln beta2),
    E = alpha d R L (1-beta1)/((1-beta1/beta2)(1-beta2))
        + 12 d R^2 sqrt(1-beta1)/((1-beta1/beta2)^(3/2) sqrt(1-beta2))
        + 2 alpha^2 d L^2 beta1/((1-beta1/beta2)(1-beta2)^(3/2)),
    N~ = N - beta1/(1 - beta1).
    """
    N_tilde = N - beta1 / (1 - beta1)
    ratio = 1 - beta1 / b2
    E = (
        step * d * R * L * (1 - beta1) / (ratio * (1 - b2))
        + 12 * d * R**2 * sp.sqrt(1 - beta1) / (ratio ** sp.Rational(3, 2) * sp.sqrt(1 - b2))
        + 2 * step**2 * d * L**2 * beta1 / (ratio * (1 - b2) ** sp.Rational(3, 2))
    )
    return 2 * R * Delta / (step * N_tilde) + E / N_tilde * (
        sp.log(1 + R**2 / ((1 - b2) * eps)) - N * sp.log(b2)
    )


def defossez_adagrad_expr(step: sp.Expr = alpha_step, N: sp.Expr = n) -> sp.Expr:
    """Défossez et al. 2022, Adagrad, as published:
    2 R Delta/(alpha sqrt(N)) + (4 d R^2 + alpha d R L)/sqrt(N) ln(1 + N R^2/eps)."""
    return 2 * R * Delta / (step * sp.sqrt(N)) + (4 * d * R**2 + step * d * R * L) / sp.sqrt(N) * sp.log(
        1 + N * R**2 / eps
    )


#: Leading order of the published Adam bound at constant alpha and beta2: it tends to a
#: positive constant (checked with theory.rates.leading_order in tests/theory/test_adam.py).
CONSTANT_BETA2_RATE = sp.Integer(1)

_TAU = r"\mathbb{E}\|\nabla F(\theta_\tau)\|^2,\ P(\tau = j) \propto 1 - \beta_1^{N-j}"


@lru_cache(maxsize=1)
def defossez_adam() -> Bound:
    """The exact Adam-with-momentum bound (constant step alpha, constant beta2)."""
    expr = defossez_adam_expr()
    return Bound(
        name="generic/adam/defossez",
        expr=expr,
        assumptions=(SMOOTH, LOWER_BOUNDED, BOUNDED_SUP, DEFOSSEZ_PARAMETERS),
        reference=REFERENCE_DEFOSSEZ,
        tight=True,
        steps=(
            Step(
                "published bound", "Défossez et al. 2022, Adam with momentum", sp.Le(sp.Symbol("A_tau"), expr)
            ),
        ),
        lhs=_TAU,
        notes=(
            "Constants exactly as published (tight=True means 'as published', not attained).",
            "The theorem is about Défossez et al.'s Adam (their step-size and bias-correction convention "
            "and their placement of eps); torch.optim.Adam differs in these details.",
            "With a constant beta2 the term -N ln(beta2) E/N~ tends to a positive constant: the bound "
            "does not vanish (rate 1). See variant 'defossez-horizon' for beta2 = 1 - 1/n.",
        ),
        model="generic",
        optimizer="adam",
        variant="defossez",
        _cache={"rate": CONSTANT_BETA2_RATE},
    )


@lru_cache(maxsize=1)
def defossez_adagrad() -> Bound:
    """The exact Adagrad bound (constant step alpha); rate log(n)/sqrt(n)."""
    expr = defossez_adagrad_expr()
    return Bound(
        name="generic/adagrad",
        expr=expr,
        assumptions=(SMOOTH, LOWER_BOUNDED, BOUNDED_SUP, ADAGRAD_PARAMETERS),
        reference=REFERENCE_DEFOSSEZ,
        tight=True,
        steps=(Step("published bound", "Défossez et al. 2022, Adagrad", sp.Le(sp.Symbol("A_tau"), expr)),),
        lhs=r"\mathbb{E}\|\nabla F(\theta_\tau)\|^2,\ \tau \text{ uniform on } \{0..N-1\}",
        notes=("Constants exactly as published (tight=True means 'as published').",),
        model="generic",
        optimizer="adagrad",
        variant="",
    )


def constant_beta2_limit() -> sp.Expr:
    """lim_{n -> oo} of the Défossez Adam bound with alpha = C_gamma/sqrt(n) and a
    constant beta2: the alpha- and alpha^2-terms of E vanish, ln(1 + R^2/...)/N~ -> 0
    and N/N~ -> 1, leaving

        12 d R^2 sqrt(1 - beta1) (-ln beta2) / ((1 - beta1/beta2)^(3/2) sqrt(1 - beta2)) > 0.

    (Checked against ``sympy.limit`` in tests/theory/test_adam.py.)
    """
    return (
        -sp.log(beta2)
        * 12
        * d
        * R**2
        * sp.sqrt(1 - beta1)
        / ((1 - beta1 / beta2) ** sp.Rational(3, 2) * sp.sqrt(1 - beta2))
    )


def horizon_rate_constant() -> sp.Expr:
    """lim_{n -> oo} bound / (log(n)/sqrt(n)) for beta2 = 1 - 1/n, alpha = C_gamma/sqrt(n):
    with 1 - beta2 = 1/n, 1 - beta1/beta2 -> 1 - beta1, E = sqrt(n) (E_oo + o(1)) and
    ln(1 + n R^2/eps) - n ln(1 - 1/n) = log(n) + O(1):

        E_oo = C_gamma d R L + 12 d R^2/(1 - beta1) + 2 C_gamma^2 d L^2 beta1/(1 - beta1) > 0.

    (Checked against ``sympy.limit`` in tests/theory/test_adam.py.)
    """
    return C_gamma * d * R * L + 12 * d * R**2 / (1 - beta1) + 2 * C_gamma**2 * d * L**2 * beta1 / (1 - beta1)


#: The leading order both specialisations reach, recorded from the limits above.
HORIZON_RATE = sp.log(n) / sp.sqrt(n)


@lru_cache(maxsize=1)
def defossez_horizon() -> Bound:
    """Défossez's Adam bound with beta2 = 1 - 1/n and alpha = C_gamma/sqrt(n):
    O(d log(n)/sqrt(n)) (limit of bound/(log(n)/sqrt(n)) is E_oo > 0); with a
    constant beta2 the same bound tends to :func:`constant_beta2_limit` > 0."""
    published = defossez_adam_expr()
    specialised = defossez_adam_expr(step=C_gamma / sp.sqrt(n), b2=1 - 1 / n)
    steps = (
        Step(
            "published bound",
            "Défossez et al. 2022, Adam with momentum",
            sp.Le(sp.Symbol("A_tau"), published),
        ),
        Step(
            "horizon-dependent parameters",
            "alpha = C_gamma/sqrt(n), beta2 = 1 - 1/n (so 1 - beta2 = 1/n and -n ln beta2 -> 1)",
            sp.Le(sp.Symbol("A_tau"), specialised),
        ),
        Step(
            "rate",
            "E = sqrt(n)(E_oo + o(1)), bracket = log(n) + O(1), N~ ~ n: the limit of "
            "bound / (log(n)/sqrt(n)) is E_oo, finite and positive",
            sp.Eq(sp.Limit(sp.Symbol("bound") / HORIZON_RATE, n, sp.oo), horizon_rate_constant()),
        ),
        Step(
            "constant beta2 does not vanish",
            "with alpha = C_gamma/sqrt(n) and beta2 fixed, -N ln(beta2) E/N~ -> -ln(beta2) E_0 > 0",
            sp.Eq(sp.Limit(sp.Symbol("bound_const_beta2"), n, sp.oo), constant_beta2_limit()),
        ),
    )
    return Bound(
        name="generic/adam/defossez-horizon",
        expr=specialised,
        assumptions=(
            SMOOTH,
            LOWER_BOUNDED,
            BOUNDED_SUP,
            Assumption(
                "Adam parameters (horizon)",
                r"\beta_2 = 1 - 1/n,\ \alpha = C_\gamma/\sqrt{n},\ 0 \le \beta_1 < 1 - 1/n",
                (beta1, eps, C_gamma, n),
                (
                    Constraint(beta1, 1 - 1 / n, "beta1 < beta2 = 1 - 1/n"),
                    Constraint(beta1 / (1 - beta1), n, "horizon N > beta1/(1 - beta1)"),
                ),
            ),
        ),
        reference=REFERENCE_DEFOSSEZ + "; horizon specialisation derived here",
        tight=True,
        steps=steps,
        lhs=_TAU,
        notes=("Exact published constants, evaluated at beta2 = 1 - 1/n, alpha = C_gamma/sqrt(n).",),
        model="generic",
        optimizer="adam",
        variant="defossez-horizon",
        _cache={"rate": HORIZON_RATE},
    )


# ------------------------------------------- preconditioned SGD proof (seed form)
def _sum_upper(expr: sp.Expr) -> sp.Expr:
    """Upper bound of sum_{k=1}^n expr(k) for expr a sum of c k^(-p), p > 0,
    by the integral comparison of :mod:`theory.schedules`."""
    total = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(expr)):
        coeff, power = sp.powsimp(term, force=True).as_coeff_exponent(k)
        _check(not coeff.has(k), f"term {term} is c k^(-p)")
        total += coeff * power_sum_upper(-power)
    return total


def derive_preconditioned(
    schedule: StepSchedule = DEFAULT, bias: sp.Expr | None = None
) -> tuple[sp.Expr, tuple[Step, ...], sp.Expr]:
    """The §3.1 proof for theta_k = theta_{k-1} - gamma_k A_{k-1} g_k with
    spec(A_{k-1}) in [lambda_min, lambda_max]; ``bias`` b_k (an expression in k)
    bounds ||E[g_k | past] - grad F||, None for unbiased gradients.

    Returns (final bound on A_n, steps, the largest admissible gamma_k as a
    multiple-free expression: lambda_min/(L lambda_max^2), or a quarter of it
    with a bias).
    """
    steps: list[Step] = []
    lmin, lmax = lambda_min, lambda_max
    # 1. Descent lemma; inner = <grad F, A g>, g_sq = ||A g||^2.
    descent = sp.Le(F_k, F_prev - gamma(k) * inner + L / 2 * gamma(k) ** 2 * g_sq)
    steps.append(
        Step(
            "descent lemma",
            "F L-smooth, theta_k - theta_{k-1} = -gamma_k A_{k-1} g_k "
            "(inner = <grad F, A g_k>, g_sq = ||A g_k||^2)",
            descent,
        )
    )
    # 2. Conditional expectation: A_{k-1} is known before g_k is drawn.
    b_sq = sp.Symbol("b_k_sq", nonnegative=True)  # ||bias_k||^2
    if bias is None:
        inner_low = lmin * G(k - 1)
        gsq_up = lmax**2 * (G(k - 1) + sigma2)
        why = (
            "E<grad F, A g_k> = <grad F, A grad F> >= lambda_min ||grad F||^2; "
            "E||A g_k||^2 <= lambda_max^2 (||grad F||^2 + sigma2)"
        )
        fraction, u_max = sp.Rational(1, 2), sp.Integer(1)
    else:
        inner_low = lmin / 2 * G(k - 1) - lmax**2 / (2 * lmin) * b_sq
        gsq_up = lmax**2 * (2 * G(k - 1) + 2 * b_sq + sigma2)
        why = (
            "E<grad F, A g_k> = <grad F, A (grad F + b_k)> >= lambda_min G - lambda_max ||grad F|| ||b_k|| "
            ">= (lambda_min/2) G - lambda_max^2 ||b_k||^2/(2 lambda_min) (Young); "
            "E||A g_k||^2 <= lambda_max^2 (2 G + 2 ||b_k||^2 + sigma2)"
        )
        fraction, u_max = sp.Rational(1, 4), sp.Rational(1, 4)
    expected = sp.Le(EF(k), descent.rhs.subs({F_prev: EF(k - 1), inner: inner_low, g_sq: gsq_up}))
    steps.append(Step("expectation", why, expected))
    # 3. Step condition u = L gamma lambda_max^2 / lambda_min <= u_max.
    coeff = -sp.expand(expected.rhs - EF(k - 1)).coeff(G(k - 1))
    u = sp.Symbol("u", positive=True)
    slack = sp.factor(
        sp.expand((coeff - fraction * lmin * gamma(k)).subs(gamma(k), u * lmin / (L * lmax**2)))
    )
    linear = sp.Poly(sp.cancel(slack / u), u)  # slack = u (q0 + q1 u): nonnegative on [0, u_max]
    _check(
        linear.degree() <= 1
        and all(sp.simplify(linear.as_expr().subs(u, end)).is_nonnegative for end in (0, u_max)),
        "coefficient of G at least fraction * lambda_min * gamma",
    )
    rest = sp.expand(expected.rhs - EF(k - 1) + coeff * G(k - 1))
    per_step = sp.Le(fraction * lmin * gamma(k) * G(k - 1), EF(k - 1) - EF(k) + rest)
    steps.append(
        Step(
            f"step size at most {u_max} lambda_min/(L lambda_max^2)",
            f"coefficient - {fraction} lambda_min gamma = {sp.sstr(slack)} >= 0 for "
            f"u = L gamma lambda_max^2/lambda_min in (0, {u_max}]",
            per_step,
        )
    )
    # 4. Sum and telescope.
    summed = sp.Le(sp.Sum(per_step.lhs, (k, 1, n)), Delta + sp.Sum(rest, (k, 1, n)))
    steps.append(
        Step(
            "sum and telescope",
            "sum_{k=1}^n (E F(theta_{k-1}) - E F(theta_k)) <= F(theta_0) - F* = Delta",
            summed,
        )
    )
    # 5. gamma_k >= gamma_n.
    rest_sum = sp.Symbol("S_rest", nonnegative=True)  # sum_{k<=n} rest(k)
    lower = sp.Eq(fraction * lmin * schedule.gamma(n) * n * average, Delta + rest_sum)
    averaged = sp.Le(average, sp.together(lower.rhs / sp.cancel(lower.lhs / average)))
    steps.append(
        Step(
            "lower-bound the step by gamma_n",
            f"gamma_k = {sp.sstr(schedule.gamma(k))} decreases, so sum gamma_k G(k-1) >= gamma_n n A_n",
            averaged.subs(rest_sum, sp.Sum(rest, (k, 1, n))),
        )
    )
    # 6. Bound the sums of gamma_k^p ||b_k||^2 by integral comparison.
    plugged = rest.subs(gamma(k), schedule.gamma(k))
    if bias is not None:
        plugged = plugged.subs(b_sq, bias**2)
    bounded_rest = _sum_upper(plugged)
    final = averaged.rhs.subs(rest_sum, bounded_rest)
    _check(not final.has(gamma) and not final.has(sp.Sum), "every sum bounded")
    steps.append(
        Step(
            "bound the sums",
            "integral comparison sum_{k<=n} k^(-p) <= 1 + int_1^n x^(-p) dx (1 + log n at p = 1)",
            sp.Le(average, final),
        )
    )
    return final, tuple(steps), u_max * lmin / (L * lmax**2)


def step_assumption(limit: sp.Expr) -> Assumption:
    return Assumption(
        "step size",
        rf"\gamma_k = C_\gamma k^{{-1/2}},\ C_\gamma \le {sp.latex(limit)}",
        (C_gamma,),
        (Constraint(C_gamma, limit, "step constant C_gamma at most its limit"),),
    )


#: Eigenvalue bounds of A = diag(1/(sqrt(v) + eps)) when ||g||_inf <= R.
ADAM_EIGENVALUES = {lambda_max: 1 / eps, lambda_min: 1 / (R + eps)}


@lru_cache(maxsize=1)
def preconditioned_sgd() -> tuple[sp.Expr, tuple[Step, ...], sp.Expr]:
    """The unbiased preconditioned derivation (cached: shared by every model)."""
    return derive_preconditioned(DEFAULT, None)


@lru_cache(maxsize=1)
def seed_adam() -> Bound:
    """The seed paper's constant-beta2 Adam bound, derived as preconditioned SGD:

    (2 Delta + L lambda_max^2 sigma2 C_gamma^2 (1 + log n)) / ((1 - beta1) lambda_min C_gamma sqrt(n)),
    lambda_max = 1/eps, lambda_min = 1/(R + eps), C_gamma <= eps^2/(L (R + eps)).
    Proved for beta1 = 0; the 1/(1 - beta1) momentum factor is order only.
    """
    final, steps, limit = preconditioned_sgd()
    adam_final = final.subs(ADAM_EIGENVALUES)
    adam_limit = sp.simplify(limit.subs(ADAM_EIGENVALUES))
    expr = adam_final / (1 - beta1)
    steps = steps + (
        Step(
            "Adam preconditioner",
            "A = diag(1/(sqrt(v) + eps)), 0 <= sqrt(v) <= R: lambda_max = 1/eps, lambda_min = 1/(R + eps)",
            sp.Le(average, adam_final),
        ),
        Step(
            "momentum (order only)",
            "NOT PROVED for beta1 > 0: the seed paper gives a factor of order 1/(1 - beta1); this "
            "constant is that order, not a theorem (at beta1 = 0 the factor is 1 and the bound is proved)",
            sp.Le(average, expr),
        ),
    )
    return Bound(
        name="generic/adam",
        expr=expr,
        assumptions=(
            SMOOTH,
            LOWER_BOUNDED,
            BOUNDED_VARIANCE,
            BOUNDED_SUP,
            PRECONDITIONER,
            SEED_PARAMETERS,
            step_assumption(adam_limit),
        ),
        reference=REFERENCE_SEED,
        tight=False,
        steps=steps,
        step_limit=adam_limit,
        notes=(
            "Proved (derived here) for a preconditioner built from past gradients and beta1 = 0 only. "
            "For beta1 > 0 the momentum factor 1/(1 - beta1) is the seed paper's ORDER, not a proved "
            "constant: the expression is then a conjectural bound (tight=False).",
            "With eps = 1e-8 the step limit eps^2/(L (R + eps)) is about 1e-16/L: at the usual eps the "
            "theorem only covers vanishingly small steps.",
            "torch.optim.Adam puts the current gradient into v; this theorem is about the "
            "delayed-preconditioner step.",
            "beta2 enters only through the assumption beta1 < sqrt(beta2) < 1 (checked when given).",
        ),
        model="generic",
        optimizer="adam",
        variant="",
    )
