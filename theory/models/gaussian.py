"""Deep Gaussian VAE: explicit smoothness L and gradient bound M (seed paper
A1-A2, theory-reference §2; the paper gives the order only, the constants
below are derived here and are loose: ``tight=False``).

Architecture (exactly the network of the property test
tests/properties/test_model_constants_properties.py):

    encoder  h_0 = x,  h_l = f(A_l h_{l-1})  (l = 1..N-1),
             mu = A_mu h_{N-1},  sigma = f_sigma(A_sigma h_{N-1}),  Sigma = diag(sigma^2)
    decoder  g_0 = z = mu + sigma * eps,  g_l = f(B_l g_{l-1})  (l = 1..N-1),  G = B_N g_{N-1}
    loss     l(theta, phi; x, eps) = ||x - G||^2 / (2 c^2) + KL(N(mu, Sigma) || N(0, I))

no biases; f the soft-clip (s, s1, s2); f_sigma the soft-clip with the same s
into (sqrt(c_Sigma), sqrt(C_Sigma)); every weight entry in [-a, a]; every
layer dimension (D, d_z and hidden) at most ``width``; ||x|| <= C_x,
||G|| <= C_G, ||mu|| <= C_mu (A1).

Derivation (u a unit direction in all parameters; for a quantity q,
J(q) >= |dq[u]| and H(q) >= |d^2 q[u, u]|):

1. Operator norms: ||W||_op <= ||W||_F <= a width, so every layer is
   A-Lipschitz with A = max(1, a width).
2. Chain lemma: for l layers q_j = f(W_j q_{j-1}) with inputs ||q_{j-1}|| <= rho
   and input derivatives J_0, H_0 (w.r.t. parameters outside the chain),
   ||dq_j|| <= A^(j-1)(rho sum_{m<=j} ||dW_m|| + A J_0 y), so by Cauchy-Schwarz
   J_l = A^(l-1)(sqrt(l) rho + A J_0); from d^2 q = f''(pre)(d pre)^2 + f'(pre) d^2 pre,
   |f'| <= 1, |f''| <= s/4, d^2 pre_j = 2 dW_j dq_{j-1} + W_j d^2 q_{j-1} and
   unrolling, H_l = l (s/4 J_l^2 + 2 J_l) + A^l H_0 (the linear last layer is
   over-counted by the f'' term: loose).
3. Encoder: J_e = A^(N-1) sqrt(N) rho_h, H_e = N (s/4 J_e^2 + 2 J_e),
   rho_h = max(C_x, sqrt(width) max(|s1|, |s2|)); both mu and sigma obey it.
4. z = mu + sigma * eps: J_z = (1 + e) J_e, H_z = (1 + e) H_e, ||z|| <= C_mu + sqrt(C_Sigma) e,
   e = ||eps||.
5. Decoder (chain with input z): rho_g = C_mu + sqrt(C_Sigma) e + sqrt(width) max(|s1|, |s2|).
6. Reconstruction: d^2 ||x - G||^2/(2c^2) = (||dG||^2 + <G - x, d^2 G>)/c^2.
   KL = (1/2) sum (sigma^2 + mu^2 - 1 - 2 log sigma): second derivative bounded
   with sigma in [sqrt(c_Sigma), sqrt(C_Sigma)].
7. Expectation over eps: the per-noise bound is a polynomial of degree 2 in
   e with nonnegative coefficients and E e <= sqrt(d_z), E e^2 = d_z, so
   L = L(e = sqrt(d_z)) bounds the Hessian of F = E_eps l. M(e) is of degree 1:
   M(sqrt(d_z)) bounds sqrt(E||g||^2) (almost surely for noise truncated at
   ||eps|| <= sqrt(d_z)).

Order: for the decoder block alone (z fixed, J_0 = 0) the bound is of order
N^2 a^(2(N-1)) (its Gauss-Newton part N a^(2(N-1)), the seed paper's order).
The joint (theta, phi) Hessian composes two depth-N networks through z and
is of order N^3 a^(4N-2) here; this cannot be improved in general: with width 1,
identity-like activations and all weights equal to a, d^2 loss / d(first
encoder weight)^2 grows like a^(4N-2).
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from theory.assumptions import Assumption, Constraint
from theory.bound import Step
from theory.models.common import ModelConstants
from theory.models.softclip import ABS_BOUND
from theory.symbols import (
    C_G,
    C_eps,
    C_mu,
    C_Sigma,
    C_x,
    N_layers,
    a,
    c,
    c_Sigma,
    d_z,
    s,
    s1,
    s2,
    width,
)

REFERENCE = (
    "seed paper (Surendran, Godichon-Baggioni, Le Corff, AISTATS 2025) assumptions A1-A2, "
    "order only; explicit constants derived here (theory.models.gaussian)"
)

#: Operator-norm bound of every weight matrix, floored at 1.
LAYER_NORM = sp.Max(1, a * width)
#: Norm bound of the encoder layer inputs (x or a soft-clipped hidden vector).
RHO_ENCODER = sp.Max(C_x, sp.sqrt(width) * ABS_BOUND)


def chain_jacobian(layers: sp.Expr, rho: sp.Expr, J0: sp.Expr, A: sp.Expr = LAYER_NORM) -> sp.Expr:
    """J_l = A^(l-1) (sqrt(l) rho + A J_0): bound on ||dq_l[u]|| after l layers."""
    return A ** (layers - 1) * (sp.sqrt(layers) * rho + A * J0)


def chain_hessian(
    layers: sp.Expr, rho: sp.Expr, J0: sp.Expr, H0: sp.Expr, A: sp.Expr = LAYER_NORM
) -> sp.Expr:
    """H_l = l (s/4 J_l^2 + 2 J_l) + A^l H_0: bound on ||d^2 q_l[u, u]||."""
    J = chain_jacobian(layers, rho, J0, A)
    return layers * (s / 4 * J**2 + 2 * J) + A**layers * H0


@lru_cache(maxsize=1)
def pieces() -> dict[str, sp.Expr]:
    """The intermediate bounds of the derivation, as functions of e = C_eps."""
    e = C_eps
    J_e = chain_jacobian(N_layers, RHO_ENCODER, 0)
    H_e = chain_hessian(N_layers, RHO_ENCODER, 0, 0)
    rho_z = C_mu + sp.sqrt(C_Sigma) * e
    J_z, H_z = (1 + e) * J_e, (1 + e) * H_e
    rho_g = rho_z + sp.sqrt(width) * ABS_BOUND
    J_G = chain_jacobian(N_layers, rho_g, J_z)
    H_G = chain_hessian(N_layers, rho_g, J_z, H_z)
    sig = sp.sqrt(d_z) * (sp.sqrt(C_Sigma) + 1 / sp.sqrt(c_Sigma))
    L_rec = (J_G**2 + (C_G + C_x) * H_G) / c**2
    L_kl = J_e**2 * (2 + 1 / c_Sigma) + H_e * (C_mu + sig)
    M_rec = (C_G + C_x) * J_G / c**2
    M_kl = J_e * (C_mu + sig)
    return {
        "J_e": J_e, "H_e": H_e, "J_z": J_z, "H_z": H_z, "rho_z": rho_z, "J_G": J_G, "H_G": H_G,
        "L_rec": L_rec, "L_kl": L_kl, "M_rec": M_rec, "M_kl": M_kl,
    }  # fmt: skip


def smoothness_given_noise() -> sp.Expr:
    """Bound on the Hessian norm of the per-example loss at one noise draw with ||eps|| <= C_eps."""
    p = pieces()
    return p["L_rec"] + p["L_kl"]


def gradient_bound_given_noise() -> sp.Expr:
    """Bound on the gradient norm of the per-example loss at one noise draw with ||eps|| <= C_eps."""
    p = pieces()
    return p["M_rec"] + p["M_kl"]


ARCHITECTURE = Assumption(
    "Deep Gaussian VAE (A1-A2)",
    r"\text{soft-clip MLPs of depth } N,\ |w_{ij}| \le a,\ \dim \le \mathrm{width},\ "
    r"\|x\| \le C_x,\ \|G_\theta\| \le C_G,\ \|\mu_\phi\| \le C_\mu,\ "
    r"c_\Sigma \le \sigma_j^2 \le C_\Sigma",
    (a, N_layers, width, c, C_x, C_G, C_mu, c_Sigma, C_Sigma, s, d_z),
    (
        Constraint(c_Sigma, C_Sigma, "encoder variance range c_Sigma <= C_Sigma"),
        Constraint(s1, s2, "soft-clip bounds s1 <= s2"),
    ),
)


def _steps(kind: str) -> tuple[Step, ...]:
    p = pieces()
    e = C_eps
    return (
        Step(
            f"{kind}: encoder chain",
            "||W||_op <= a width, soft-clip 1-Lipschitz with |f''| <= s/4, inputs bounded by "
            "max(C_x, sqrt(width) max(|s1|,|s2|)); chain lemma with J_0 = H_0 = 0",
            sp.Tuple(sp.Eq(sp.Symbol("J_e"), p["J_e"]), sp.Eq(sp.Symbol("H_e"), p["H_e"])),
        ),
        Step(
            f"{kind}: decoder chain through z = mu + sigma*eps",
            "J_z = (1 + ||eps||) J_e, H_z = (1 + ||eps||) H_e; chain lemma with input z",
            sp.Tuple(sp.Eq(sp.Symbol("J_G"), p["J_G"]), sp.Eq(sp.Symbol("H_G"), p["H_G"])),
        ),
        Step(
            f"{kind}: loss at one noise draw",
            "d^2 ||x-G||^2/(2c^2) <= (J_G^2 + (C_G + C_x) H_G)/c^2; KL with sigma^2 in "
            "[c_Sigma, C_Sigma]; (made explicit here, loose)",
            sp.Le(sp.Symbol("L_eps"), smoothness_given_noise()),
        ),
        Step(
            f"{kind}: expectation over eps",
            "polynomial of degree 2 in ||eps|| with nonnegative coefficients, "
            "E||eps|| <= sqrt(d_z), E||eps||^2 = d_z",
            sp.Eq(e, sp.sqrt(d_z)),
        ),
    )


@lru_cache(maxsize=1)
def constants() -> ModelConstants:
    """L, M, R of the Deep Gaussian VAE (R = M: ||g||_inf <= ||g||_2)."""
    L_expr = smoothness_given_noise().subs(C_eps, sp.sqrt(d_z))
    M_expr = gradient_bound_given_noise().subs(C_eps, sp.sqrt(d_z))
    return ModelConstants(
        model="gaussian",
        L=L_expr,
        M=M_expr,
        R=M_expr,
        assumptions=(ARCHITECTURE,),
        reference=REFERENCE,
        tight=False,
        steps=_steps("Deep Gaussian VAE"),
        notes=(
            "Deep Gaussian VAE constants are explicit but loose (tight=False): made explicit here are "
            "the operator norms ||W|| <= a width, the chain lemma (Cauchy-Schwarz over layers), the "
            "f'' term counted on the linear output layer, max(|s1|,|s2|) for hidden norms, and "
            "E||eps|| <= sqrt(d_z).",
            "Order: decoder block N^2 a^(2(N-1)) (Gauss-Newton part N a^(2(N-1)), the seed paper's "
            "order); the joint encoder-decoder Hessian is of order N^3 a^(4N-2) and cannot be of "
            "lower degree in a in general (see theory.models.gaussian).",
            "M and R bound the root-mean-square gradient norm (almost surely for noise truncated "
            "at ||eps|| <= sqrt(d_z)).",
        ),
    )
