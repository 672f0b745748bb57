"""Adam as preconditioned SGD, the seed paper's constant-beta2 form, derived by :mod:`theory.descent`.

The delayed preconditioner A_{k-1} = diag(1/(sqrt(v_{k-1}) + eps)) and beta1 = 0 are
proved; the factor 1/(1 - beta1) for beta1 > 0 is the seed paper's order only
(docs/theory.md, "Adam as preconditioned SGD").

Example::

    >>> import theory
    >>> theory.bound("generic", "adam").step_limit
    eps**2/(L*(R + eps))
"""

from __future__ import annotations

from dataclasses import replace
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
    Constraint,
)
from theory.bound import Bound, Step
from theory.schedules import DEFAULT
from theory.symbols import R, beta1, beta2, eps, lambda_max, lambda_min
from theory.theorems.sgd import step_assumption

REFERENCE = (
    "Surendran, Godichon-Baggioni, Le Corff, AISTATS 2025 (arXiv 2410.16750), Adam theorem "
    "(order only); preconditioned SGD derived here (docs/theory.md, Adam as preconditioned SGD)"
)

SEED_PARAMETERS = Assumption(
    "hyperparameters",
    "Adam parameters (seed paper)",
    r"0 \le \beta_1 < \sqrt{\beta_2} < 1,\ \epsilon > 0",
    (beta1, beta2, eps),
    (Constraint(beta1, sp.sqrt(beta2), "momentum beta1 < sqrt(beta2)", strict=True),),
)
MOMENTUM = Assumption(
    "momentum",
    "no momentum (proved case)",
    r"\beta_1 = 0 \text{ proved; for } \beta_1 > 0 \text{ the factor } 1/(1-\beta_1) \text{ is an order}",
    (beta1,),
)
ALGORITHM = DELAYED_ADAM.assumption()

#: Eigenvalue bounds of A = diag(1/(sqrt(v) + eps)) when ||g||_inf <= R.
ADAM_EIGENVALUES = {lambda_max: 1 / eps, lambda_min: 1 / (R + eps)}


@lru_cache(maxsize=1)
def preconditioned_sgd() -> tuple[sp.Expr, tuple[Step, ...], sp.Expr]:
    """The unbiased preconditioned derivation, spec(A_{k-1}) in [lambda_min, lambda_max].

    Returns:
        (the bound on the uniform average, the steps, the largest gamma_k), with
        gamma_k = C_gamma k^(-1/2).
    """
    step = descent.per_step(descent.PRECONDITIONED)
    final, tail = descent.uniform_average(step, DEFAULT)
    return final, step.steps + tail, step.limit


def delayed_adam(
    eigenvalues: dict[sp.Symbol, sp.Expr],
    spectrum: tuple[Step, tuple[Assumption, ...]],
    variant: str,
    reference: str,
    notes: tuple[str, ...],
) -> Bound:
    """Adam with a delayed preconditioner, from :func:`preconditioned_sgd`.

    The bound is multiplied by the momentum factor 1/(1 - beta1) (the seed paper's
    order; proved at beta1 = 0).

    Args:
        eigenvalues: Values substituted for lambda_min, lambda_max (empty: they stay,
            to be measured).
        spectrum: The step and the assumptions saying where the eigenvalues come from.
        variant: The variant's name ("" for the default).
        reference: The theorem's reference.
        notes: Notes added to the common ones.

    Returns:
        The bound, ``tight=False``.
    """
    final, steps, limit = preconditioned_sgd()
    adam_final = final.subs(eigenvalues)
    adam_limit = sp.factor(limit.subs(eigenvalues))  # simplify's first call imports sympy.physics
    expr = adam_final / (1 - beta1)
    why, assumptions = spectrum
    steps = steps + (
        replace(why, statement=sp.Le(descent.average, adam_final)),
        Step(
            "momentum (order only)",
            "NOT PROVED for beta1 > 0: the seed paper gives a factor of order 1/(1 - beta1); this "
            "constant is that order, not a theorem (at beta1 = 0 the factor is 1 and the bound is proved)",
            sp.Le(descent.average, expr),
        ),
    )
    return Bound(
        name="generic/adam" + (f"/{variant}" if variant else ""),
        expr=expr,
        assumptions=(SMOOTH, LOWER_BOUNDED, BOUNDED_VARIANCE)
        + assumptions
        + (ALGORITHM, MOMENTUM, SEED_PARAMETERS, step_assumption(adam_limit, sp.Rational(1, 2))),
        reference=reference,
        tight=False,
        steps=steps,
        step_limit=adam_limit,
        notes=(
            "Proved (derived here) for a preconditioner built from past gradients and beta1 = 0 only. "
            "For beta1 > 0 the momentum factor 1/(1 - beta1) is the seed paper's ORDER, not a proved "
            "constant: the expression is then a conjectural bound (tight=False).",
        )
        + notes,
        optimizer="adam",
        variant=variant,
        algorithm=DELAYED_ADAM,
    )


@lru_cache(maxsize=1)
def seed_adam() -> Bound:
    """The seed paper's constant-beta2 Adam bound, derived as preconditioned SGD.

    With ||g||_inf <= R: lambda_min = 1/(R + eps), lambda_max = 1/eps and
    C_gamma <= eps^2/(L (R + eps)); (1/n) sum_j E||grad F(theta_j)||^2 <=
    (2 Delta + L lambda_max^2 sigma2 C_gamma^2 (1 + log n)) / (lambda_min C_gamma sqrt(n) (1 - beta1)).

    Returns:
        The bound; proved for beta1 = 0, the 1/(1 - beta1) factor is an order.
    """
    why = Step(
        "Adam preconditioner",
        "A = diag(1/(sqrt(v) + eps)), 0 <= sqrt(v) <= R: lambda_max = 1/eps, lambda_min = 1/(R + eps)",
        sp.true,
    )
    return delayed_adam(
        ADAM_EIGENVALUES,
        (why, (BOUNDED_SUP, PRECONDITIONER)),
        "",
        REFERENCE,
        (
            "With eps = 1e-8 the step limit eps^2/(L (R + eps)) is about 1e-16/L: at the usual eps the "
            "theorem only covers vanishingly small steps.",
            "torch.optim.Adam puts the current gradient into v; this theorem is about the "
            "delayed-preconditioner step.",
            "beta2 enters only through the assumption beta1 < sqrt(beta2) < 1 (checked when given).",
        ),
    )
