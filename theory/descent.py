"""The descent-lemma derivation, written once as a chain of SymPy transformations.

Every stochastic-gradient theorem here instantiates it: plain, preconditioned,
biased and projected updates (docs/theory.md, "The descent-lemma derivation", lists
the five steps). Every step is checked by SymPy where it is an algebraic fact
(``_check``); the final expression is what the chain produces, not a typed-in formula.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from theory.bound import Step
from theory.schedules import StepSchedule, power_sum_upper
from theory.symbols import S1, S2, Delta, L, gamma_max, k, lambda_max, lambda_min, n, sigma2

# Placeholders of the proofs (not constants of any bound).
EF = sp.Function("EF")  # EF(k) = E F(theta_k)
G = sp.Function("G")  # G(k) = E||grad F(theta_k)||^2
GM = sp.Function("GM")  # GM(k) = E||(theta_k - theta_{k+1}) / gamma_{k+1}||^2
gamma = sp.Function("gamma")  # gamma(k) = step size at iteration k
F_k, F_prev = sp.symbols("F_k F_km1", real=True)  # F(theta_k), F(theta_{k-1})
#: The step direction d_k of each update (theta_k = theta_{k-1} - gamma_k d_k), in LaTeX.
DIRECTIONS = {"sgd": "g_k", "preconditioned": "A_{k-1} g_k", "projected": r"\tilde G_k"}
#: <grad F(theta_{k-1}), d_k> and ||d_k||^2 for each direction.
INNER = {key: sp.Symbol(f"inner_{key}", real=True) for key in DIRECTIONS}
SQUARE = {key: sp.Symbol(f"square_{key}", nonnegative=True) for key in DIRECTIONS}
inner_g = sp.Symbol("inner_g", real=True)  # <g_k, G~_k>
inner_delta = sp.Symbol("inner_delta", real=True)  # <delta_k, G~_k>
inner_delta_G = sp.Symbol("inner_delta_G", real=True)  # <delta_k, G_k>
delta_sq = sp.Symbol("delta_sq", nonnegative=True)  # ||delta_k||^2
b_sq = sp.Symbol("b_k_sq", nonnegative=True)  # ||b_k||^2
average = sp.Symbol("A_n", nonnegative=True)  # the average the bound is on

#: How the placeholders are written in the derivations (docs and derivations/*.md).
PLACEHOLDER_LATEX: dict[sp.Basic, str] = {
    F_k: r"F(\theta_k)",
    F_prev: r"F(\theta_{k-1})",
    **{INNER[key]: rf"\langle \nabla F(\theta_{{k-1}}), {d} \rangle" for key, d in DIRECTIONS.items()},
    **{SQUARE[key]: rf"\|{d}\|^2" for key, d in DIRECTIONS.items()},
    inner_g: r"\langle g_k, \tilde G_k \rangle",
    inner_delta: r"\langle \delta_k, \tilde G_k \rangle",
    inner_delta_G: r"\langle \delta_k, G_k \rangle",
    delta_sq: r"\|\delta_k\|^2",
    b_sq: r"\|b_k\|^2",
    average: r"A_n",
}


def _check(condition: bool, what: str) -> None:
    if not condition:  # pragma: no cover - a failed proof step is a bug
        raise AssertionError(f"derivation step failed: {what}")


@dataclass(frozen=True)
class Update:
    """The update the descent lemma is applied to.

    theta_k = theta_{k-1} - gamma_k A_{k-1} g_k with spec(A_{k-1}) in [lambda_min,
    lambda_max] and an optional bias ||E[g_k | past] - grad F|| <= b_k, or the projected
    step theta_k = P_X(theta_{k-1} - gamma_k g_k).

    Attributes:
        lambda_min: The smallest eigenvalue of the preconditioner (1 for SGD).
        lambda_max: The largest eigenvalue of the preconditioner (1 for SGD).
        bias: The bias bound b_k, an expression in k (None: unbiased).
        projected: The projected step (then lambda_min = lambda_max = 1 and no bias).
        variance: The noise's additive part: E||g_k - grad F||^2 <= variance + growth
            ||grad F||^2 (sigma2 under bounded variance, A_growth under the growth condition).
        growth: The noise's relative part (0 under bounded variance, G_growth under the
            growth condition).
    """

    lambda_min: sp.Expr = sp.Integer(1)
    lambda_max: sp.Expr = sp.Integer(1)
    bias: sp.Expr | None = None
    projected: bool = False
    variance: sp.Expr = sigma2
    growth: sp.Expr = sp.Integer(0)


SGD = Update()
PRECONDITIONED = Update(lambda_min, lambda_max)
PROJECTED = Update(projected=True)


@dataclass(frozen=True)
class PerStep:
    """The per-step inequality ``factor * gamma(k) * measure(k-1) <= EF(k-1) - EF(k) + rest`` after step 3.

    Attributes:
        steps: The derivation steps so far.
        factor: The coefficient of gamma_k measure(k-1).
        measure: The stationarity measure, a placeholder function of the iterate (G or GM).
        rest: The remainder, an expression in gamma(k).
        limit: The largest admissible gamma_k (None when the condition is on gamma_max).
        bias: The bias bound b_k, or None.
    """

    steps: tuple[Step, ...]
    factor: sp.Expr
    measure: sp.Function
    rest: sp.Expr
    limit: sp.Expr | None
    bias: sp.Expr | None = None


def _descent_and_expectation(update: Update) -> tuple[list[Step], sp.Le, sp.Function]:
    """Steps 1-2: E F(theta_k) <= E F(theta_{k-1}) - c(gamma) measure(k-1) + rest."""
    steps: list[Step] = []
    if update.projected:
        inner, g_sq = INNER["projected"], SQUARE["projected"]
        descent = sp.Le(F_k, F_prev - gamma(k) * inner + L / 2 * gamma(k) ** 2 * g_sq)
        steps.append(
            Step(
                "descent lemma",
                "F is L-smooth and theta_k - theta_{k-1} = -gamma_k G~_k with the stochastic gradient "
                "mapping G~_k = (theta_{k-1} - theta_k)/gamma_k",
                descent,
            )
        )
        # grad F = g_k - delta_k, and <g_k, G~_k> >= ||G~_k||^2 (projection property)
        split = descent.rhs.subs(inner, inner_g - inner_delta)
        projected = split.subs(inner_g, g_sq)
        _check(
            sp.expand((split - projected) / gamma(k) + (inner_g - g_sq)) == 0,
            "the bound grows by gamma_k (<g, G~> - ||G~||^2) >= 0 when <g, G~> is replaced by ||G~||^2",
        )
        steps.append(
            Step(
                "projection property",
                "with y = theta_{k-1} - gamma_k g_k and theta_{k-1} in X, <y - P_X(y), theta_{k-1} - "
                "P_X(y)> <= 0 gives <g_k, G~_k> >= ||G~_k||^2; grad F = g_k - delta_k",
                sp.Le(F_k, projected),
            )
        )
        _check(
            sp.expand(projected).coeff(inner_delta) == gamma(k), "<delta, G~> enters with weight gamma_k > 0"
        )
        nonexpansive = projected.subs(inner_delta, inner_delta_G + delta_sq)
        steps.append(
            Step(
                "nonexpansiveness",
                "with G_k = (theta_{k-1} - P_X(theta_{k-1} - gamma_k grad F))/gamma_k, "
                "||G~_k - G_k|| <= ||delta_k|| (P_X is 1-Lipschitz), so <delta_k, G~_k> <= "
                "<delta_k, G_k> + ||delta_k||^2",
                sp.Le(F_k, nonexpansive),
            )
        )
        expected = sp.Le(
            EF(k),
            nonexpansive.subs({F_prev: EF(k - 1), g_sq: GM(k - 1), inner_delta_G: 0, delta_sq: sigma2}),
        )
        steps.append(
            Step(
                "expectation",
                "G_k is a function of theta_{k-1}, so E[<delta_k, G_k> | theta_{k-1}] = 0; "
                "E||delta_k||^2 <= sigma2 (bounded variance)",
                expected,
            )
        )
        return steps, expected, GM
    lmin, lmax = update.lambda_min, update.lambda_max
    plain = lmin == 1 and lmax == 1
    key = "sgd" if plain else "preconditioned"
    inner, g_sq = INNER[key], SQUARE[key]
    descent = sp.Le(F_k, F_prev - gamma(k) * inner + L / 2 * gamma(k) ** 2 * g_sq)
    steps.append(
        Step(
            "descent lemma",
            "F is L-smooth, so F(y) <= F(x) + <grad F(x), y-x> + (L/2)||y-x||^2 with y - x = "
            + ("-gamma_k g_k" if plain else "-gamma_k A_{k-1} g_k"),
            descent,
        )
    )
    if update.growth != 0:
        _check(update.bias is None and plain, "the growth condition for plain unbiased SGD")
        inner_low = G(k - 1)
        gsq_up = (1 + update.growth) * G(k - 1) + update.variance
        why = (
            "E<grad F, g_k> = E||grad F(theta_{k-1})||^2 (unbiased) and E||g_k||^2 = "
            "E||grad F(theta_{k-1})||^2 + E||g_k - grad F(theta_{k-1})||^2 <= "
            f"{sp.sstr(update.variance)} + (1 + {sp.sstr(update.growth)}) E||grad F(theta_{{k-1}})||^2 "
            "(growth condition)"
        )
    elif update.bias is None:
        inner_low = lmin * G(k - 1)
        gsq_up = lmax**2 * (G(k - 1) + update.variance)
        why = (
            "E<grad F, g_k> = E||grad F(theta_{k-1})||^2 (unbiased) and "
            "E||g_k||^2 <= E||grad F(theta_{k-1})||^2 + sigma2 (bounded variance)"
            if plain
            else "E<grad F, A g_k> = <grad F, A grad F> >= lambda_min ||grad F||^2 (A_{k-1} known before "
            "g_k); E||A g_k||^2 <= lambda_max^2 (||grad F||^2 + sigma2)"
        )
    else:
        inner_low = lmin / 2 * G(k - 1) - lmax**2 / (2 * lmin) * b_sq
        gsq_up = lmax**2 * (2 * G(k - 1) + 2 * b_sq + sigma2)
        why = (
            "E<grad F, A g_k> = <grad F, A (grad F + b_k)> >= lambda_min G - lambda_max ||grad F|| ||b_k|| "
            ">= (lambda_min/2) G - lambda_max^2 ||b_k||^2/(2 lambda_min) (Young); "
            "E||A g_k||^2 <= lambda_max^2 (2 G + 2 ||b_k||^2 + sigma2)"
        )
    expected = sp.Le(EF(k), descent.rhs.subs({F_prev: EF(k - 1), inner: inner_low, g_sq: gsq_up}))
    steps.append(Step("expectation", why, expected))
    return steps, expected, G


def per_step(update: Update, floor: str = "half") -> PerStep:
    """Steps 1-3 of the chain: the descent lemma, the expectation and the step condition.

    Args:
        update: The update.
        floor: The step condition: ``"half"`` (gamma_k at most u_max
            lambda_min/(L lambda_max^2), coefficient >= (fraction) lambda_min gamma_k) or
            ``"largest-step"`` (plain or projected SGD, every gamma_k <= gamma_max:
            coefficient gamma_k (1 - L gamma_k/2) >= gamma_k (1 - L gamma_max/2)).

    Returns:
        The per-step inequality with its steps and step limit.
    """
    steps, expected, measure = _descent_and_expectation(update)
    lmin, lmax = update.lambda_min, update.lambda_max
    coeff = -sp.expand(expected.rhs - EF(k - 1)).coeff(measure(k - 1))
    rest = sp.expand(expected.rhs - EF(k - 1) + coeff * measure(k - 1))
    if floor == "largest-step":
        _check(lmin == 1 and lmax == 1 and update.bias is None, "largest-step floor for plain updates")
        factor = 1 - L * gamma_max / 2
        slack = sp.factor(coeff - factor * gamma(k))  # = (L/2) gamma (gamma_max - gamma)
        t = sp.Symbol("t", nonnegative=True)  # gamma_k = gamma_max / (1 + t) covers (0, gamma_max]
        _check(
            sp.factor(slack.subs(gamma(k), gamma_max / (1 + t))).is_nonnegative is True,
            "gamma - L gamma^2/2 >= gamma (1 - L gamma_max/2) for gamma <= gamma_max",
        )
        # the factor is divided by in step 5: positive exactly when gamma_max < 2/L
        below = sp.Symbol("w", positive=True)  # gamma_max = (2/L)/(1 + w) covers (0, 2/L)
        _check(
            sp.factor(factor.subs(gamma_max, 2 / (L * (1 + below)))).is_positive is True
            and sp.Poly(factor, gamma_max).degree() == 1
            and factor.subs(gamma_max, 2 / L) == 0,
            "1 - L gamma_max/2 > 0 for every gamma_max < 2/L, and = 0 at 2/L",
        )
        limit = None
        title = "every step at most gamma_max < 2/L"
        why = (
            f"gamma_k - (L/2) gamma_k^2 - gamma_k (1 - L gamma_max/2) = {sp.sstr(slack)} >= 0; "
            "the factor 1 - L gamma_max/2 is > 0 exactly when gamma_max < 2/L"
        )
    else:
        fraction, u_max = (
            (sp.Rational(1, 4), sp.Rational(1, 4))
            if update.bias is not None
            else (
                sp.Rational(1, 2),
                sp.Integer(1),
            )
        )
        factor = fraction * lmin
        u = sp.Symbol("u", positive=True)  # u = L gamma lambda_max^2 (1 + growth) / lambda_min in (0, u_max]
        u_text = "L gamma_k" if lmin == 1 and lmax == 1 else "L gamma_k lambda_max^2/lambda_min"
        scale = lmin / (L * lmax**2 * (1 + update.growth))
        if update.growth != 0:
            u_text = f"L (1 + {sp.sstr(update.growth)}) gamma_k"
        slack = sp.factor(sp.expand((coeff - factor * gamma(k)).subs(gamma(k), u * scale)))
        linear = sp.Poly(sp.cancel(slack / u), u)  # slack = u (q0 + q1 u): nonnegative on [0, u_max]
        _check(
            linear.degree() <= 1
            # factor, not simplify: simplify's first call imports sympy.physics.units (0.25 s)
            and all(sp.factor(linear.as_expr().subs(u, end)).is_nonnegative for end in (0, u_max)),
            "coefficient at least fraction * lambda_min * gamma",
        )
        limit = u_max * scale
        title = f"step size at most {sp.sstr(limit)}"
        why = (
            f"coefficient - {sp.sstr(factor)} gamma_k = {sp.sstr(slack)} >= 0 for "
            f"u = {u_text} in (0, {u_max}]"
        )
    inequality = sp.Le(factor * gamma(k) * measure(k - 1), EF(k - 1) - EF(k) + rest)
    steps.append(Step(title, why, inequality))
    return PerStep(tuple(steps), factor, measure, rest, limit, update.bias)


def _telescoped(step: PerStep) -> Step:
    """Step 4: sum over k = 1..n; E F(theta_0) - E F(theta_n) <= Delta."""
    tel = sp.Sum(EF(k - 1) - EF(k), (k, 1, n))
    for m in range(1, 6):  # the telescoping identity, checked on concrete lengths
        _check(sp.expand(tel.subs(n, m).doit() - (EF(0) - EF(m))) == 0, "telescoping identity")
    summed = sp.Le(
        sp.Sum(step.factor * gamma(k) * step.measure(k - 1), (k, 1, n)),
        Delta + sp.Sum(step.rest, (k, 1, n)),
    )
    return Step(
        "sum and telescope",
        "sum_{k=1}^n (E F(theta_{k-1}) - E F(theta_k)) = E F(theta_0) - E F(theta_n) "
        "<= F(theta_0) - F* = Delta",
        summed,
    )


def _sum_upper(expr: sp.Expr) -> sp.Expr:
    """Upper bound of sum_{k=1}^n expr(k) for expr a sum of c k^(-p), p > 0.

    By the integral comparison of :mod:`theory.schedules`.
    """
    total = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(expr)):
        coeff, power = sp.powsimp(term, force=True).as_coeff_exponent(k)
        _check(not coeff.has(k), f"term {term} is c k^(-p)")
        total += coeff * power_sum_upper(-power)
    return total


def _never(condition: sp.Basic) -> bool:
    """Whether an And of equalities gives one symbol two values (alpha_bias = 0 and 1/4)."""
    values: dict[sp.Basic, sp.Basic] = {}
    for part in sp.And.make_args(condition):
        if isinstance(part, sp.Eq) and part.lhs.is_Symbol and part.rhs.is_number:
            if values.setdefault(part.lhs, part.rhs) != part.rhs:
                return True
    return False


def uniform_average(step: PerStep, schedule: StepSchedule) -> tuple[sp.Expr, tuple[Step, ...]]:
    """Steps 4-6 for a decreasing schedule: the bound on the uniform average.

    Args:
        step: The per-step inequality (:func:`per_step`).
        schedule: The decreasing step schedule gamma_k.

    Returns:
        (the bound on (1/n) sum_{k<n} measure(k), the steps from the telescoping sum on).
    """
    steps = [_telescoped(step)]
    gk = schedule.gamma(k)
    slope = sp.powsimp(sp.expand(sp.diff(gk, k) * k ** (schedule.exponent + 1)))
    _check(slope.is_nonpositive is True, "gamma decreasing")
    rest_sum = sp.Symbol("S_rest", nonnegative=True)  # sum_{k<=n} rest(k)
    lower = sp.Eq(step.factor * schedule.gamma(n) * n * average, Delta + rest_sum)
    bound = sp.together(lower.rhs / sp.cancel(lower.lhs / average))
    steps.append(
        Step(
            "lower-bound the step by gamma_n",
            f"gamma_k = {sp.sstr(gk)} is decreasing in k, so sum_k gamma_k {step.measure}(k-1) >= "
            "gamma_n n A_n with A_n the uniform average",
            sp.Le(average, bound.subs(rest_sum, sp.Sum(step.rest, (k, 1, n)))),
        )
    )
    plugged = step.rest.subs(gamma(k), gk)
    if step.bias is not None:
        plugged = plugged.subs(b_sq, step.bias**2)
    final = bound.subs(rest_sum, _sum_upper(plugged))
    _check(not final.has(gamma) and not final.has(sp.Sum), "every sum bounded")
    final = sp.piecewise_fold(final)
    if isinstance(final, sp.Piecewise):  # branches whose condition can never hold are dropped
        final = sp.Piecewise(*[(sp.factor_terms(sp.together(e)), c) for e, c in final.args if not _never(c)])
    else:
        final = sp.factor_terms(sp.together(final))
    steps.append(
        Step(
            "bound the step-size sums",
            "integral comparison: sum_{k=1}^n k^(-p) <= 1 + int_1^n x^(-p) dx (= 1 + log n at p = 1)",
            sp.Le(average, final),
        )
    )
    return final, tuple(steps)


def weighted_average(step: PerStep) -> tuple[sp.Expr, tuple[Step, ...]]:
    """Steps 4-5 for any positive steps: the bound on the gamma-weighted average.

    Args:
        step: The per-step inequality (:func:`per_step`), without bias.

    Returns:
        (the bound on sum_k gamma_k measure(k-1) / S1 with S1 = sum gamma_k and
        S2 = sum gamma_k^2, the steps from the telescoping sum on).
    """
    steps = [_telescoped(step)]
    _check(step.bias is None, "no bias term in the gamma-weighted form")
    poly = sp.Poly(step.rest, gamma(k))
    _check(
        all(m[0] in (1, 2) for m in poly.monoms()) and not any(c.has(k) for c in poly.coeffs()),
        "the remainder is c1 gamma_k + c2 gamma_k^2",
    )
    rest_sum = poly.coeff_monomial(gamma(k)) * S1 + poly.coeff_monomial(gamma(k) ** 2) * S2
    final = sp.factor_terms(sp.together((Delta + rest_sum) / (step.factor * S1)))
    steps.append(
        Step(
            "divide by the sum of the steps",
            f"sum_k gamma_k {step.measure}(k-1) = S1 A_n with A_n the gamma-weighted average; "
            "sum_k gamma_k = S1, sum_k gamma_k^2 = S2",
            sp.Le(average, final),
        )
    )
    return final, tuple(steps)
