"""IWAE with K samples on the Deep Gaussian architecture: explicit L and M, and the biased form.

The constants come from the self-normalised weights and the expected largest of K
noise norms (they grow like a power of log K); the variance is
sigma2_data/B + sigma2_mc_K/B. Derivations and literature orders: docs/theory.md,
"How the model constants are derived".
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import sympy as sp

from theory.bound import Bound, Named, Step
from theory.models import gaussian
from theory.models.common import IWAE_VARIANCE, ModelConstants, iwae_variance, specialise, unfold
from theory.symbols import (
    C_G,
    B,
    C_alpha,
    C_bias,
    C_eps,
    C_Sigma,
    C_x,
    K,
    K_growth,
    L,
    M,
    c,
    c_Sigma,
    d_z,
)
from theory.theorems.biased import biased_bound, exponent_value

REFERENCE_SNR = (
    "Rainforth, Kosiorek, Le, Maddison, Igl, Wood, Teh, 'Tighter Variational Bounds are Not "
    "Necessarily Better', ICML 2018"
)
REFERENCE = (
    "Burda, Grosse, Salakhutdinov, 'Importance Weighted Autoencoders', ICLR 2016; seed paper IWAE "
    "rate (order only); explicit constants derived here (theory.models.iwae)"
)

#: The variance of an IWAE (B, K) gradient (theory.models.common).
VARIANCE = iwae_variance
#: Bias of the IWAE objective (and gradient) as an estimate of log p(x): O(1/K).
BIAS = C_bias / K
#: SNR orders (Rainforth et al. 2018): decoder (theta) and encoder (phi).
SNR_DECODER = sp.sqrt(B * K)
SNR_ENCODER = sp.sqrt(B / K)

#: t0 = 4 log K + 2 d_z log 2 and the fourth-moment bound of max_k ||eps_k||.
T0 = 4 * sp.log(K) + 2 * d_z * sp.log(2)
FOURTH_MOMENT = (T0 + 4) ** 2 + 16
NOISE_LEVEL = FOURTH_MOMENT ** sp.Rational(1, 4)


#: Names of the IWAE sub-expressions (besides those of theory.models.gaussian).
L_LW, M_LW, T_0, E_K = sp.symbols("L_lw M_lw t_0 e_K")


@lru_cache(maxsize=1)
def named_pieces() -> tuple[Named, ...]:
    """The derivation as named sub-expressions, each in terms of earlier names.

    Returns:
        The Deep Gaussian pieces, then -log w_k's Hessian and gradient bounds L_lw, M_lw
        and the noise level e_K.
    """
    P = gaussian.P
    half = sp.sqrt(d_z) / 2  # -sum_j log sigma_j = -(1/2) sum_j v_j is linear in v
    return gaussian.named_pieces() + (
        Named(
            L_LW,
            (P["J_G"] ** 2 + (C_G + C_x) * P["H_G"]) / c**2
            + P["J_z"] ** 2
            + P["rho_z"] * P["H_z"]
            + half * P["H_e"],
            "Hessian bound of -log w_k at ||eps_k|| <= C_eps",
        ),
        Named(
            M_LW,
            (C_G + C_x) * P["J_G"] / c**2 + P["rho_z"] * P["J_z"] + half * P["J_e"],
            "gradient bound of -log w_k at ||eps_k|| <= C_eps",
        ),
        Named(T_0, T0, "4 log K + 2 d_z log 2, from the tail of the largest of K noise norms"),
        Named(E_K, ((T_0 + 4) ** 2 + 16) ** sp.Rational(1, 4), "noise level, >= (E max_k ||eps_k||^4)^(1/4)"),
    )


@lru_cache(maxsize=1)
def log_weight_bounds() -> tuple[sp.Expr, sp.Expr]:
    """The Hessian and gradient bounds of -log w_k when ||eps_k|| <= C_eps.

    Returns:
        (L_lw, M_lw).
    """
    full = unfold(named_pieces())
    return full[L_LW], full[M_LW]


def smoothness_given_noise() -> sp.Expr:
    """The Hessian bound of the K-sample IWAE loss when every ||eps_k|| <= C_eps.

    Returns:
        L_lw + M_lw^2 (the covariance of the self-normalised weights adds M_lw^2).
    """
    L_lw, M_lw = log_weight_bounds()
    return L_lw + M_lw**2


@lru_cache(maxsize=1)
def constants() -> ModelConstants:
    """L and M of IWAE: the log-weight bounds at the noise level e_K.

    Returns:
        L = (L_lw + M_lw^2)(e_K), M = M_lw(e_K), e_K = ((t0 + 4)^2 + 16)^(1/4),
        t0 = 4 log K + 2 d_z log 2; the IWAE variance split.
    """
    short = {piece.symbol: piece.expr for piece in named_pieces()}
    L_expr = smoothness_given_noise().subs(C_eps, NOISE_LEVEL)
    M_expr = log_weight_bounds()[1].subs(C_eps, NOISE_LEVEL)
    return ModelConstants(
        model="iwae",
        L=L_expr,
        M=M_expr,
        R=None,  # M bounds sqrt(E||g||^2) only: Gaussian noise makes ||g|| unbounded
        assumptions=gaussian.ASSUMPTIONS,
        reference=REFERENCE,
        tight=False,
        steps=gaussian.constants().steps[:3]
        + (
            Step(
                "IWAE: log-weight bounds",
                "-log w = ||x-G||^2/(2c^2) + ||z||^2/2 - (1/2) sum v_j; ||z|| <= C_mu + sqrt(C_Sigma) e",
                sp.Tuple(sp.Eq(L_LW, short[L_LW]), sp.Eq(M_LW, short[M_LW])),
            ),
            Step(
                "IWAE: self-normalised weights",
                "Hess = sum w~ Hess log w + Cov_w~(grad log w), ||Cov|| <= max ||grad log w||^2",
                sp.Le(sp.Symbol("L_eps"), L_LW + M_LW**2),
            ),
            Step(
                "IWAE: expectation over K noise draws",
                "E max_k ||eps_k||^4 <= (t0+4)^2 + 16, t0 = 4 log K + 2 d_z log 2 (chi-square "
                "Chernoff tail with lambda = 1/4, union bound); Lyapunov for lower moments",
                sp.Tuple(sp.Eq(C_eps, E_K), sp.Eq(E_K, short[E_K]), sp.Eq(T_0, short[T_0])),
            ),
        ),
        notes=(
            "IWAE constants explicit but loose (tight=False); they grow with K only through "
            "log K (the expected largest of K noise norms).",
            "The variance is sigma2_data/B + sigma2_mc_K/B with sigma2_mc_K measured at the K used; "
            "the C_bias/K bias and the SNR orders sqrt(B K) (decoder), sqrt(B/K) (encoder) are "
            "literature orders (theory.models.iwae).",
            f"C_Sigma, c_Sigma bound the encoder variances (see {C_Sigma}, {c_Sigma}).",
        ),
        variance=iwae_variance,
        variance_assumption=IWAE_VARIANCE,
        named=named_pieces()
        + (
            Named(L, sp.Subs(L_LW + M_LW**2, C_eps, E_K), "smoothness bound at the noise level e_K"),
            Named(M, sp.Subs(M_LW, C_eps, E_K), "gradient bound at the noise level e_K"),
        ),
    )


@lru_cache(maxsize=16)
def biased(growth: float | str | None = None, preconditioner: str = "adam") -> Bound:
    """IWAE gradients as biased estimates of grad log p(x), bias <= C_bias/K_k.

    F = -log p(x) here, not the IWAE objective: L (its smoothness), R and Delta stay
    symbols; the bias C_alpha = C_bias/K and the variance are substituted.

    Args:
        growth: The exponent of the sample schedule K_k = K k^K_growth: None or
            "symbolic" (a Piecewise in K_growth), or a number in [0, 1) (0: constant K,
            the bias term then does not vanish).
        preconditioner: "adam" or "sgd" (:func:`theory.theorems.biased.biased_bound`).

    Returns:
        The bound, variant ``biased`` of model ``iwae``.

    Raises:
        AssumptionViolation: ``growth`` is not a number in [0, 1).
    """
    exponent = exponent_value(growth, "K_growth")
    base = biased_bound(None if exponent is None else exponent, preconditioner)
    if exponent is None:
        base = base.substitute(alpha_bias=K_growth)
    schedule = (
        "K_k = K" if exponent == 0 else "K_k = K k^K_growth" if exponent is None else f"K_k = K k^{exponent}"
    )
    out = specialise(
        base,
        "iwae",
        None,
        extra={C_alpha: C_bias / K},
        variant="biased",
        variance=(iwae_variance, IWAE_VARIANCE),
    )
    return replace(
        out,
        steps=out.steps[:-1]
        + (
            Step(
                "IWAE bias schedule",
                f"{schedule}: ||bias_k|| <= C_bias/K_k = (C_bias/K) k^(-K_growth); the Monte-Carlo "
                "variance sigma2_mc_K is the largest over the K_k used",
                sp.Eq(C_alpha, C_bias / K),
            ),
        )
        + out.steps[-1:],
        notes=out.notes
        + (
            f"Sample schedule {schedule}; total samples after n steps ~ B K n^(1 + K_growth).",
            "The bound is on the gradient of F = -log p(x) (not of the IWAE objective), so L is "
            "the smoothness of -log p and stays a symbol.",
        ),
        reference=out.reference + "; IWAE bias O(1/K): " + REFERENCE,
    )
