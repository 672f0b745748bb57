"""Biased adaptive stochastic approximation (theory-reference §3.3).

Surendran, Godichon-Baggioni, Le Corff, Moulines, "Non-asymptotic Analysis of
Biased Adaptive Stochastic Approximation" (NeurIPS 2024, arXiv 2402.02857):
theta_k = theta_{k-1} - gamma_k A_{k-1} g_k with E[g_k | past] = grad F + b_k,
||b_k|| <= C_alpha k^(-alpha). The order they prove, log(n)/sqrt(n) + b_n with

    b_n = n^(-2 alpha) (alpha < 1/4),  n^(-1/2) log n (alpha = 1/4),  n^(-1/2) (alpha > 1/4),

is derived here with explicit constants by the preconditioned SGD proof of
:func:`theory.theorems.adam.derive_preconditioned` (Young's inequality for the
bias, step gamma_k <= lambda_min/(4 L lambda_max^2)); the bias sum
sum_k gamma_k ||b_k||^2 = C_gamma C_alpha^2 sum_k k^(-1/2 - 2 alpha) produces the
three regimes. The result is a SymPy Piecewise in alpha with an explicit
alpha = 1/4 (log) piece.

IWAE: its gradient is a biased estimate of grad log p(x) with bias <= C_bias/K
(theory.models.iwae). With a sample schedule K_k = K k^alpha the bias is
(C_bias/K) k^(-alpha) and the Monte-Carlo variance sigma2_mc/(B K_k) <=
sigma2_mc/(B K); with a constant K (alpha = 0) the bias term does not vanish.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from theory.assumptions import BOUNDED_VARIANCE, LOWER_BOUNDED, SMOOTH, Assumption
from theory.bound import Bound, Step
from theory.errors import AssumptionViolation
from theory.models import iwae
from theory.models.common import specialise
from theory.schedules import DEFAULT
from theory.symbols import C_alpha, C_bias, K, alpha, k, lambda_max, lambda_min
from theory.theorems.adam import (
    ADAM_EIGENVALUES,
    BOUNDED_SUP,
    PRECONDITIONER,
    derive_preconditioned,
    step_assumption,
)

REFERENCE = (
    "Surendran, Godichon-Baggioni, Le Corff, Moulines, 'Non-asymptotic Analysis of Biased Adaptive "
    "Stochastic Approximation', NeurIPS 2024 (arXiv 2402.02857); constants derived here"
)
QUARTER = sp.Rational(1, 4)
TINY = sp.Rational(1, 10**300)

BIASED_GRADIENT = Assumption(
    "biased gradient",
    r"\|\mathbb{E}[g_k \mid \theta_{k-1}] - \nabla F(\theta_{k-1})\| \le C_\alpha k^{-\alpha}",
    (C_alpha,),
)


def rate_pieces(expr: sp.Expr) -> sp.Expr:
    """Rewrite a bound that is a Piecewise in alpha (from the power sum with
    p = 1/2 + 2 alpha) as three explicit pieces alpha < 1/4, alpha = 1/4, alpha > 1/4."""
    general = sp.piecewise_fold(expr)
    at_quarter = general.subs(alpha, QUARTER)
    if isinstance(general, sp.Piecewise):
        general = general.args[-1][0]  # the p != 1 branch
    # numpy evaluates every branch of a Piecewise: keep 1/(1/2 - 2 alpha) finite at alpha = 1/4
    # (the guard only acts when |1/2 - 2 alpha| < 10^-300, i.e. at alpha = 1/4 exactly in floats).
    gap = QUARTER * 2 - 2 * alpha

    def guard(bound: sp.Expr) -> sp.Expr:
        return general.replace(
            lambda e: e.is_Pow and e.exp.is_negative and e.base == gap,
            lambda e: sp.Pow(bound, e.exp),
        )

    below, above = guard(sp.Max(gap, TINY)), guard(sp.Min(gap, -TINY))
    return sp.Piecewise(
        (below, alpha < QUARTER), (at_quarter, sp.Eq(alpha, QUARTER)), (above, alpha > QUARTER)
    )


@lru_cache(maxsize=8)
def _derived(alpha_value: sp.Expr | None) -> tuple[sp.Expr, tuple[Step, ...], sp.Expr]:
    exponent = alpha if alpha_value is None else alpha_value
    return derive_preconditioned(DEFAULT, C_alpha * k ** (-exponent))


def _exponent(alpha_value) -> sp.Expr | None:
    if alpha_value is None or alpha_value == "symbolic":
        return None
    try:
        value = sp.nsimplify(alpha_value)
    except (TypeError, ValueError, sp.SympifyError):
        value = None
    if value is None or not value.is_number or not (0 <= value < 1):
        raise AssumptionViolation(f"bias exponent alpha must be a number in [0, 1), got {alpha_value!r}")
    return value


@lru_cache(maxsize=16)
def biased_bound(alpha_value: float | str | None = None, preconditioner: str = "adam") -> Bound:
    """The biased bound with bias C_alpha k^(-alpha), gamma_k = C_gamma k^(-1/2).

    ``alpha_value`` None (or "symbolic"): a Piecewise in alpha; a number in
    [0, 1) fixes it (0: constant bias, the bound does not vanish).
    ``preconditioner``: "adam" (lambda_max = 1/eps, lambda_min = 1/(R + eps)) or
    "sgd" (A = I).
    """
    exponent = _exponent(alpha_value)
    final, steps, limit = _derived(exponent)
    if preconditioner == "adam":
        eig, extra = ADAM_EIGENVALUES, (BOUNDED_SUP, PRECONDITIONER)
        optimizer, what = "adam", "Adam preconditioner: lambda_max = 1/eps, lambda_min = 1/(R + eps)"
    elif preconditioner == "sgd":
        eig, extra = {lambda_max: 1, lambda_min: 1}, ()
        optimizer, what = "sgd", "SGD: A = I, lambda_min = lambda_max = 1"
    else:
        from theory.errors import UnknownNameError

        raise UnknownNameError(f"unknown preconditioner {preconditioner!r}; valid: adam, sgd")
    expr = final.subs(eig)
    if exponent is None:
        expr = rate_pieces(expr)
    step_limit = sp.simplify(limit.subs(eig))
    steps = steps + (
        Step(
            "three regimes of the bias sum" if exponent is None else "bias exponent fixed",
            what
            + (
                "; sum k^(-1/2-2 alpha) <= 1 + int: n^(1/2-2alpha) (alpha<1/4), log n (alpha=1/4), "
                "bounded (alpha>1/4)"
                if exponent is None
                else f"; alpha = {exponent}"
            ),
            sp.Le(sp.Symbol("A_n", nonnegative=True), expr),
        ),
    )
    # With a constant bias (alpha = 0) the bias term
    # 2 C_alpha^2 lambda_max^2 (2 sqrt(n) - 1)/(lambda_min^2 sqrt(n)) tends to a positive
    # constant: the bound does not vanish (leading_order drops n-free terms).
    cache = {"rate": sp.Integer(1)} if exponent == 0 else {}
    return Bound(
        name=f"generic/{optimizer}/biased" + ("" if exponent is None else f" (alpha={exponent})"),
        expr=expr,
        assumptions=(SMOOTH, LOWER_BOUNDED, BIASED_GRADIENT, BOUNDED_VARIANCE)
        + extra
        + (step_assumption(step_limit),),
        reference=REFERENCE,
        tight=True,
        steps=steps,
        step_limit=step_limit,
        notes=(
            "Derived here for beta1 = 0 and a preconditioner built from past gradients; the order "
            "log(n)/sqrt(n) + b_n is that of Surendran et al. (NeurIPS 2024), who analyse AMSGrad.",
            "Here alpha is the bias-decay exponent (the step exponent is fixed at 1/2).",
        ),
        model="generic",
        optimizer=optimizer,
        variant="biased",
        _cache=cache,
    )


@lru_cache(maxsize=16)
def iwae_biased(
    growth: float | str | None = None, preconditioner: str = "adam", expand: bool = True
) -> Bound:
    """IWAE gradients as biased estimates of grad log p(x): bias <= C_bias/K_k with
    the sample schedule K_k = K k^alpha (``growth`` = alpha; None: symbolic;
    0: constant K, the bias term then does not vanish)."""
    base = biased_bound(growth, preconditioner)
    exponent = _exponent(growth)
    schedule = (
        "K_k = K" if exponent == 0 else "K_k = K k^alpha" if exponent is None else f"K_k = K k^{exponent}"
    )
    # F = -log p_theta(x) here, not the IWAE objective: L (its smoothness), R and Delta stay
    # symbols whatever ``expand`` says; the bias and the variance split are substituted.
    del expand
    out = specialise(base, "iwae", None, extra={C_alpha: C_bias / K}, variant="biased")
    from dataclasses import replace

    return replace(
        out,
        steps=out.steps[:-1]
        + (
            Step(
                "IWAE bias schedule",
                f"{schedule}: ||bias_k|| <= C_bias/K_k = (C_bias/K) k^(-alpha); "
                "sigma2_mc/(B K_k) <= sigma2_mc/(B K)",
                sp.Eq(C_alpha, C_bias / K),
            ),
        )
        + out.steps[-1:],
        notes=out.notes
        + (
            f"Sample schedule {schedule}; total samples after n steps ~ B K n^(1 + alpha).",
            "The bound is on the gradient of F = -log p(x) (not of the IWAE objective), so L is "
            "the smoothness of -log p and stays a symbol: larger K reduces both the bias C_bias/K "
            "and the variance term.",
        ),
        reference=out.reference + "; IWAE bias O(1/K): " + iwae.REFERENCE,
    )
