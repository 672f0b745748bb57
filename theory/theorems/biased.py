"""Biased (adaptive) stochastic approximation, derived by :mod:`theory.descent`.

E[g_k | past] = grad F + b_k with ||b_k|| <= C_alpha k^(-alpha_bias), gamma_k =
C_gamma k^(-1/2), A = I (SGD) or Adam's delayed preconditioner. The order
log(n)/sqrt(n) + b_n and its three regimes in alpha_bias: docs/theory.md, "Biased
gradients"; the float bands near alpha_bias = 0 and 1/4: "Evaluating a bound".

Example::

    >>> import theory
    >>> theory.bound("generic", "sgd", "biased", alpha_bias=0.5).rate()
    log(n)/sqrt(n)
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from theory import descent
from theory.algorithms import DELAYED_ADAM
from theory.assumptions import (
    BOUNDED_SUP,
    BOUNDED_VARIANCE,
    LOWER_BOUNDED,
    PRECONDITIONER,
    SMOOTH,
    Assumption,
)
from theory.bound import Bound, Step
from theory.errors import AssumptionViolation, UnknownNameError
from theory.schedules import DEFAULT
from theory.symbols import C_alpha, alpha_bias, k, lambda_max, lambda_min
from theory.theorems.adam_seed import ADAM_EIGENVALUES
from theory.theorems.sgd import step_assumption

REFERENCE = (
    "Surendran, Godichon-Baggioni, Le Corff, Moulines, 'Non-asymptotic Analysis of Biased Adaptive "
    "Stochastic Approximation', NeurIPS 2024 (arXiv 2402.02857); constants derived here"
)
QUARTER = sp.Rational(1, 4)

BIASED_GRADIENT = Assumption(
    "biased-gradient",
    "biased gradient",
    r"\|\mathbb{E}[g_k \mid \theta_{k-1}] - \nabla F(\theta_{k-1})\| "
    r"\le C_\alpha k^{-\alpha_{\mathrm{bias}}}",
    (C_alpha,),
)
ALGORITHM = {
    "sgd": Assumption("algorithm", "SGD", r"\theta_k = \theta_{k-1} - \gamma_k g_k"),
    "adam": Assumption(
        "algorithm", DELAYED_ADAM.title + ", beta1 = 0", DELAYED_ADAM.update_latex + r",\ \beta_1 = 0"
    ),
}


def rate_pieces(expr: sp.Expr, var: sp.Symbol = alpha_bias) -> sp.Expr:
    """A bound that is a Piecewise in an exponent, rewritten as four explicit pieces.

    The power sums with p = 1/2 + 2 var and p = 1 + 2 var give the Piecewise; the pieces
    are var = 0 (the second sum is harmonic: 1 + log n), var < 1/4, var = 1/4 (the first
    is), var > 1/4.

    Args:
        expr: The bound.
        var: The exponent (default alpha_bias).

    Returns:
        The four-piece Piecewise.
    """
    folded = sp.piecewise_fold(expr)
    at_zero, at_quarter = folded.subs(var, 0), folded.subs(var, QUARTER)
    general = folded.args[-1][0] if isinstance(folded, sp.Piecewise) else folded  # p != 1 in both sums
    # numpy evaluates every branch of a Piecewise; float_safe keeps the one it selects finite
    return sp.Piecewise(
        (at_zero, sp.Eq(var, 0)),
        (general, var < QUARTER),
        (at_quarter, sp.Eq(var, QUARTER)),
        (general, var > QUARTER),
    )


#: Half-width of the bands around var = 0 and var = 1/4 where :func:`float_safe` evaluates the
#: bound at the band's edge.
BAND = sp.Rational(1, 10**6)


def float_safe(expr: sp.Expr) -> sp.Expr:
    """A bound as floats should evaluate it.

    In a bound from :func:`rate_pieces`, the power-sum bounds (n^g - 1)/g lose every
    digit to cancellation as g = 1/2 - 2 var or g = -2 var tends to 0 (at var = 10^-300
    the log n term is lost: a bound below the exact one). The bound decreases in var
    (each bias sum sum_k k^(-p - 2 var) and its integral bound do), so the bound at a
    smaller var is a valid, looser one.

    Args:
        expr: The bound.

    Returns:
        Within :data:`BAND` above 0 the var = 0 piece, within BAND below 1/4 the piece at
        1/4 - BAND, within BAND above 1/4 the var = 1/4 piece (each at most a relative
        2 BAND log n looser); any other expression as it is.
    """
    if not isinstance(expr, sp.Piecewise) or len(expr.args) != 4:
        return expr
    (zero, c0), (below, c1), (quarter, c2), (above, c3) = expr.args
    var = next(iter(c0.free_symbols), None) if isinstance(c0, sp.Eq) else None
    if var is None or (c0, c1, c2, c3) != (sp.Eq(var, 0), var < QUARTER, sp.Eq(var, QUARTER), var > QUARTER):
        return expr
    return sp.Piecewise(
        (zero, var < BAND),
        (below.xreplace({var: sp.Min(var, QUARTER - BAND)}), var < QUARTER),
        (quarter, var < QUARTER + BAND),
        (above, True),
    )


def exponent_value(value, name: str = "alpha_bias") -> sp.Expr | None:
    """An exponent given by a user, checked.

    Args:
        value: A number in [0, 1), or None or "symbolic".
        name: The exponent's name, for the message.

    Returns:
        None for a symbolic exponent, else the number as a SymPy number.

    Raises:
        AssumptionViolation: ``value`` is not a number in [0, 1).
    """
    if value is None or value == "symbolic":
        return None
    try:
        number = None if isinstance(value, bool) else sp.nsimplify(value)
    except (TypeError, ValueError, sp.SympifyError):
        number = None
    if number is None or not number.is_number or not number.is_real or not (0 <= number < 1):
        raise AssumptionViolation(f"{name} must be a number in [0, 1), got {value!r}")
    return number


@lru_cache(maxsize=8)
def _derived(exponent: sp.Expr | None) -> tuple[sp.Expr, tuple[Step, ...], sp.Expr]:
    bias = C_alpha * k ** (-(alpha_bias if exponent is None else exponent))
    step = descent.per_step(descent.Update(lambda_min, lambda_max, bias))
    final, tail = descent.uniform_average(step, DEFAULT)
    return final, step.steps + tail, step.limit


@lru_cache(maxsize=16)
def biased_bound(alpha_bias_value: float | str | None = None, preconditioner: str = "adam") -> Bound:
    """The biased bound with bias C_alpha k^(-alpha_bias) and gamma_k = C_gamma k^(-1/2).

    The step limit is lambda_min/(4 L lambda_max^2) (Young's inequality for the bias).

    Args:
        alpha_bias_value: None (or "symbolic"): a Piecewise in alpha_bias; a number in
            [0, 1) fixes it (0: constant bias, the bound does not vanish).
        preconditioner: "adam" (lambda_max = 1/eps, lambda_min = 1/(R + eps)) or "sgd" (A = I).

    Returns:
        The bound, of order log(n)/sqrt(n) + b_n.

    Raises:
        AssumptionViolation: ``alpha_bias_value`` is not a number in [0, 1).
        UnknownNameError: An unknown preconditioner.
    """
    exponent = exponent_value(alpha_bias_value)
    final, steps, limit = _derived(exponent)
    if preconditioner == "adam":
        eig, extra = ADAM_EIGENVALUES, (BOUNDED_SUP, PRECONDITIONER)
        what = "Adam preconditioner: lambda_max = 1/eps, lambda_min = 1/(R + eps)"
    elif preconditioner == "sgd":
        eig, extra = {lambda_max: 1, lambda_min: 1}, ()
        what = "SGD: A = I, lambda_min = lambda_max = 1"
    else:
        raise UnknownNameError(f"unknown preconditioner {preconditioner!r}; valid: adam, sgd")
    expr = final.subs(eig)
    if exponent is None:
        expr = rate_pieces(expr)
    step_limit = sp.factor(limit.subs(eig))  # simplify's first call imports sympy.physics
    steps = steps + (
        Step(
            "three regimes of the bias sum" if exponent is None else "bias exponent fixed",
            what
            + (
                "; sum k^(-1/2-2 alpha_bias) <= 1 + int: n^(1/2-2 alpha_bias) (alpha_bias<1/4), "
                "log n (alpha_bias=1/4), bounded (alpha_bias>1/4); sum k^(-1-2 alpha_bias) <= 1 + log n "
                "at alpha_bias = 0"
                if exponent is None
                else f"; alpha_bias = {exponent}"
            ),
            sp.Le(descent.average, expr),
        ),
    )
    return Bound(
        name=f"generic/{preconditioner}/biased" + ("" if exponent is None else f" (alpha_bias={exponent})"),
        expr=expr,
        assumptions=(SMOOTH, LOWER_BOUNDED, BIASED_GRADIENT, BOUNDED_VARIANCE)
        + extra
        + (ALGORITHM[preconditioner], step_assumption(step_limit, sp.Rational(1, 2))),
        reference=REFERENCE,
        tight=True,
        steps=steps,
        step_limit=step_limit,
        notes=(
            "Derived here for beta1 = 0 and a preconditioner built from past gradients; the order "
            "log(n)/sqrt(n) + b_n is that of Surendran et al. (NeurIPS 2024), who analyse AMSGrad.",
            "alpha_bias is the bias-decay exponent (the step exponent is fixed at 1/2).",
        )
        + (
            (
                "Floats take the bound at alpha_bias = 0 within 1e-6 above 0, at 1/4 - 1e-6 within 1e-6 "
                "below 1/4 and at 1/4 within 1e-6 above it (theory.theorems.biased.float_safe): upper "
                "bounds of the exact value, which cancellation would lose there.",
            )
            if exponent is None
            else ()
        ),
        optimizer=preconditioner,
        variant="biased",
        algorithm=DELAYED_ADAM if preconditioner == "adam" else None,
        # With a constant bias (alpha_bias = 0) the bias term 2 C_alpha^2 lambda_max^2 (2 sqrt(n) - 1)
        # / (lambda_min^2 sqrt(n)) tends to a positive constant: the bound does not vanish.
        order=sp.Integer(1) if exponent == 0 else None,
        numeric=float_safe if exponent is None else None,
    )
