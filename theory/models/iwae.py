"""IWAE with K samples on the Deep Gaussian architecture (docs/theory.md,
"IWAE").

Objective per example: log (1/K) sum_k w_k, log w_k = log p(x|z_k) + log p(z_k)
- log q(z_k|x), z_k = mu + sigma * eps_k. With self-normalised weights
w~_k, grad = sum_k w~_k grad log w_k and
Hessian = sum_k w~_k Hess log w_k + Cov_w~(grad log w_k), so
||grad|| <= max_k M_lw(e_k) and ||Hess|| <= max_k (L_lw(e_k) + M_lw(e_k)^2), with
L_lw, M_lw the bounds of :mod:`theory.models.gaussian`'s chain (affine soft-clip
layers, sigma = e^{v/2} with the log-variance v soft-clipped, as in empirical.models.IWAE
with beta = 1) for -log w = ||x - G||^2/(2c^2) + ||z||^2/2 - (1/2) sum_j v_j + const:
d^2 ||z||^2/2 = ||dz||^2 + <z, d^2 z> and the v term is linear, so it adds (sqrt(d_z)/2) H_e.
These are polynomials of degree <= 4 in e = max_k ||eps_k|| with nonnegative
coefficients; E e^j <= (E e^4)^(j/4) and, from the chi-square tail
P(||eps||^2 > t) <= 2^(d_z/2) e^(-t/4) and a union bound over K,
E max_k ||eps_k||^4 <= (t0 + 4)^2 + 16 with t0 = 4 log K + 2 d_z log 2.
So L = (L_lw + M_lw^2)(e_K), M = M_lw(e_K), e_K = ((t0 + 4)^2 + 16)^(1/4):
explicit and loose (tight=False); they grow like a power of log K.

Variance of the (B, K) gradient: sigma2_data/B + sigma2_mc_K/B, with sigma2_mc_K
the Monte-Carlo variance of one example's K-sample gradient measured at the K
used (the K draws sit inside a log-mean-exp, so K times that variance is not
constant in K and no sign of d bound/dK is claimed).

Literature orders (exact order, not constants):
- bias: log p(x) - IWAE_K <= C_bias/K, and of the gradient (:func:`biased`);
- SNR (Rainforth et al. 2018): decoder ~ sqrt(B K), encoder ~ sqrt(B/K).

:func:`biased` treats IWAE gradients as biased estimates of grad log p(x)
(biased stochastic approximation, :mod:`theory.theorems.biased`) with the
sample schedule K_k = K k^K_growth.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import sympy as sp

from theory.bound import Bound, Step
from theory.models import gaussian
from theory.models.common import IWAE_VARIANCE, ModelConstants, iwae_variance, specialise
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


@lru_cache(maxsize=1)
def log_weight_bounds() -> tuple[sp.Expr, sp.Expr]:
    """(L_lw, M_lw): Hessian and gradient bounds of -log w_k at ||eps_k|| <= C_eps."""
    p = gaussian.pieces()
    half = sp.sqrt(d_z) / 2  # -sum_j log sigma_j = -(1/2) sum_j v_j is linear in v
    L_lw = (
        (p["J_G"] ** 2 + (C_G + C_x) * p["H_G"]) / c**2
        + p["J_z"] ** 2
        + p["rho_z"] * p["H_z"]
        + half * p["H_e"]
    )
    M_lw = (C_G + C_x) * p["J_G"] / c**2 + p["rho_z"] * p["J_z"] + half * p["J_e"]
    return L_lw, M_lw


def smoothness_given_noise() -> sp.Expr:
    """Hessian bound of the K-sample IWAE loss when every ||eps_k|| <= C_eps."""
    L_lw, M_lw = log_weight_bounds()
    return L_lw + M_lw**2


@lru_cache(maxsize=1)
def constants() -> ModelConstants:
    L_lw, M_lw = log_weight_bounds()
    L_expr = smoothness_given_noise().subs(C_eps, NOISE_LEVEL)
    M_expr = M_lw.subs(C_eps, NOISE_LEVEL)
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
                sp.Tuple(sp.Le(sp.Symbol("L_lw"), L_lw), sp.Le(sp.Symbol("M_lw"), M_lw)),
            ),
            Step(
                "IWAE: self-normalised weights",
                "Hess = sum w~ Hess log w + Cov_w~(grad log w), ||Cov|| <= max ||grad log w||^2",
                sp.Le(sp.Symbol("L_eps"), L_lw + M_lw**2),
            ),
            Step(
                "IWAE: expectation over K noise draws",
                "E max_k ||eps_k||^4 <= (t0+4)^2 + 16, t0 = 4 log K + 2 d_z log 2 (chi-square "
                "Chernoff tail with lambda = 1/4, union bound); Lyapunov for lower moments",
                sp.Eq(C_eps, NOISE_LEVEL),
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
    )


@lru_cache(maxsize=16)
def biased(growth: float | str | None = None, preconditioner: str = "adam") -> Bound:
    """IWAE gradients as biased estimates of grad log p(x): bias <= C_bias/K_k with
    the sample schedule K_k = K k^K_growth (``growth`` None or "symbolic": a
    Piecewise in K_growth; 0: constant K, the bias term then does not vanish).

    F = -log p(x) here, not the IWAE objective: L (its smoothness), R and Delta
    stay symbols; the bias C_alpha = C_bias/K and the variance are substituted.
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
