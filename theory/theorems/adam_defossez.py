"""Adam and Adagrad as analysed by Défossez, Bottou, Bach, Usunier (TMLR 2022), constants as published.

Their algorithms, not torch's (:data:`theory.algorithms.DEFOSSEZ_ADAM`); the bounds,
their left-hand sides and the ``defossez-horizon`` specialisation: docs/theory.md,
"Adam and Adagrad (Défossez et al.)".

Example::

    >>> import theory
    >>> theory.bound("generic", "adam", "defossez-horizon").rate()
    log(n)/sqrt(n)
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from theory.algorithms import DEFOSSEZ_ADAGRAD, DEFOSSEZ_ADAM
from theory.assumptions import BOUNDED_SUP, LOWER_BOUNDED, SMOOTH, Assumption, Constraint
from theory.bound import Bound, Step
from theory.lhs import MOMENTUM_WEIGHTED, UNIFORM_TAU
from theory.symbols import C_gamma, Delta, L, R, alpha_step, beta1, beta2, d, eps, n

REFERENCE = (
    "Défossez, Bottou, Bach, Usunier, 'A Simple Convergence Proof of Adam and Adagrad', "
    "TMLR 2022 (exact constants)"
)

ALGORITHM_ADAM = DEFOSSEZ_ADAM.assumption()
ALGORITHM_ADAGRAD = DEFOSSEZ_ADAGRAD.assumption()
DEFOSSEZ_PARAMETERS = Assumption(
    "hyperparameters",
    "Adam parameters (Défossez)",
    r"0 \le \beta_1 < \beta_2 < 1,\ \epsilon > 0,\ \alpha > 0,\ N > \beta_1/(1-\beta_1)",
    (beta1, beta2, eps, alpha_step, n),
    (
        Constraint(
            beta1,
            beta2,
            "momentum below the second-moment parameter, beta1 < beta2 (so 1 - beta1/beta2 > 0)",
            strict=True,
            defines=True,
        ),
        Constraint(
            beta1 / (1 - beta1), n, "horizon N > beta1/(1 - beta1), so N~ > 0", strict=True, defines=True
        ),
    ),
)
ADAGRAD_PARAMETERS = Assumption(
    "hyperparameters", "Adagrad parameters (Défossez)", r"\epsilon > 0,\ \alpha > 0", (eps, alpha_step)
)


def defossez_adam_expr(step: sp.Expr = alpha_step, b2: sp.Expr = beta2, N: sp.Expr = n) -> sp.Expr:
    """Défossez et al. 2022's bound for Adam with momentum, as published.

    2 R Delta/(alpha N~) + (E/N~)(ln(1 + R^2/((1 - beta2) eps)) - N ln beta2), with
    N~ = N - beta1/(1 - beta1) and
    E = alpha d R L (1-beta1)/((1-beta1/beta2)(1-beta2))
    + 12 d R^2 sqrt(1-beta1)/((1-beta1/beta2)^(3/2) sqrt(1-beta2))
    + 2 alpha^2 d L^2 beta1/((1-beta1/beta2)(1-beta2)^(3/2)).

    Args:
        step: The step alpha (default the symbol ``alpha_step``).
        b2: The second-moment parameter beta2 (default the symbol).
        N: The number of iterations (default n).

    Returns:
        The bound on E||grad F(x_tau)||^2, P(tau = j) proportional to 1 - beta1^(N - j).
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
    """Défossez et al. 2022's bound for Adagrad, as published.

    2 R Delta/(alpha sqrt(N)) + (4 d R^2 + alpha d R L)/sqrt(N) ln(1 + N R^2/eps).

    Args:
        step: The step alpha (default the symbol ``alpha_step``).
        N: The number of iterations (default n).

    Returns:
        The bound on E||grad F(x_tau)||^2, tau uniform on {0..N-1}.
    """
    return 2 * R * Delta / (step * sp.sqrt(N)) + (4 * d * R**2 + step * d * R * L) / sp.sqrt(N) * sp.log(
        1 + N * R**2 / eps
    )


#: Leading order of the published Adam bound at constant alpha and beta2: it tends to a
#: positive constant (checked with theory.orders.leading_order in the tests).
CONSTANT_BETA2_RATE = sp.Integer(1)


@lru_cache(maxsize=1)
def defossez_adam() -> Bound:
    """The exact Adam-with-momentum bound (constant step alpha, constant beta2).

    Returns:
        The bound; it tends to a positive constant as n grows (rate 1).
    """
    expr = defossez_adam_expr()
    return Bound(
        name="generic/adam/defossez",
        expr=expr,
        assumptions=(SMOOTH, LOWER_BOUNDED, BOUNDED_SUP, ALGORITHM_ADAM, DEFOSSEZ_PARAMETERS),
        reference=REFERENCE,
        tight=True,
        steps=(
            Step(
                "published bound", "Défossez et al. 2022, Adam with momentum", sp.Le(sp.Symbol("A_tau"), expr)
            ),
        ),
        lhs=MOMENTUM_WEIGHTED,
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
        order=CONSTANT_BETA2_RATE,
        algorithm=DEFOSSEZ_ADAM,
    )


@lru_cache(maxsize=1)
def defossez_adagrad() -> Bound:
    """The exact Adagrad bound (constant step alpha).

    Returns:
        The bound, of rate log(n)/sqrt(n).
    """
    expr = defossez_adagrad_expr()
    return Bound(
        name="generic/adagrad",
        expr=expr,
        assumptions=(SMOOTH, LOWER_BOUNDED, BOUNDED_SUP, ALGORITHM_ADAGRAD, ADAGRAD_PARAMETERS),
        reference=REFERENCE,
        tight=True,
        steps=(Step("published bound", "Défossez et al. 2022, Adagrad", sp.Le(sp.Symbol("A_tau"), expr)),),
        lhs=UNIFORM_TAU,
        notes=("Constants exactly as published (tight=True means 'as published').",),
        model="generic",
        optimizer="adagrad",
        variant="",
        algorithm=DEFOSSEZ_ADAGRAD,
    )


def constant_beta2_limit() -> sp.Expr:
    """The limit as n -> oo of the Défossez Adam bound with alpha = C_gamma/sqrt(n) and a constant beta2.

    The alpha- and alpha^2-terms of E vanish, ln(1 + R^2/...)/N~ -> 0 and N/N~ -> 1
    (checked against ``sympy.limit`` in the tests).

    Returns:
        12 d R^2 sqrt(1 - beta1) (-ln beta2) / ((1 - beta1/beta2)^(3/2) sqrt(1 - beta2)) > 0.
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
    """The limit as n -> oo of bound / (log(n)/sqrt(n)) for beta2 = 1 - 1/n, alpha = C_gamma/sqrt(n).

    With 1 - beta2 = 1/n, 1 - beta1/beta2 -> 1 - beta1, E = sqrt(n) (E_oo + o(1)) and
    ln(1 + n R^2/eps) - n ln(1 - 1/n) = log(n) + O(1) (checked against ``sympy.limit``
    in the tests).

    Returns:
        E_oo = C_gamma d R L + 12 d R^2/(1 - beta1) + 2 C_gamma^2 d L^2 beta1/(1 - beta1) > 0.
    """
    return C_gamma * d * R * L + 12 * d * R**2 / (1 - beta1) + 2 * C_gamma**2 * d * L**2 * beta1 / (1 - beta1)


#: The leading order both specialisations reach, recorded from the limits above.
HORIZON_RATE = sp.log(n) / sp.sqrt(n)


@lru_cache(maxsize=1)
def defossez_horizon() -> Bound:
    """Défossez's Adam bound with beta2 = 1 - 1/n and alpha = C_gamma/sqrt(n).

    It is O(d log(n)/sqrt(n)): the limit of bound/(log(n)/sqrt(n)) is
    :func:`horizon_rate_constant` > 0; with a constant beta2 the same bound tends to
    :func:`constant_beta2_limit` > 0.

    Returns:
        The specialised bound, with its derivation of the rate.
    """
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
            ALGORITHM_ADAM,
            Assumption(
                "hyperparameters",
                "Adam parameters (horizon)",
                r"\beta_2 = 1 - 1/n,\ \alpha = C_\gamma/\sqrt{n},\ 0 \le \beta_1 < 1 - 1/n",
                (beta1, eps, C_gamma, n),
                (
                    Constraint(beta1, 1 - 1 / n, "beta1 < beta2 = 1 - 1/n", strict=True, defines=True),
                    Constraint(
                        beta1 / (1 - beta1),
                        n,
                        "horizon N > beta1/(1 - beta1), so N~ > 0",
                        strict=True,
                        defines=True,
                    ),
                ),
            ),
        ),
        reference=REFERENCE + "; horizon specialisation derived here",
        tight=True,
        steps=steps,
        lhs=MOMENTUM_WEIGHTED,
        notes=("Exact published constants, evaluated at beta2 = 1 - 1/n, alpha = C_gamma/sqrt(n).",),
        model="generic",
        optimizer="adam",
        variant="defossez-horizon",
        order=HORIZON_RATE,
        algorithm=DEFOSSEZ_ADAM,
    )
