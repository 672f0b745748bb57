"""Deep Gaussian VAE: explicit smoothness L and gradient bound M (seed paper A1-A2).

The paper gives the order only; the constants here are derived through a chain lemma
for affine soft-clip layers and are loose (``tight=False``). The architecture, the
seven steps of the derivation and the order: docs/theory.md, "How the model constants
are derived".
"""

from __future__ import annotations

import math
from functools import lru_cache

import sympy as sp

from theory.assumptions import Assumption, Constraint
from theory.bound import Named, Step
from theory.models.common import PARAMETER_BOX, ModelConstants, unfold
from theory.models.softclip import ABS_BOUND, DEFAULT_S, HIDDEN_BOUNDS, LOGVAR_BOUNDS, MEAN_BOUNDS
from theory.symbols import (
    C_G,
    C_eps,
    C_mu,
    C_Sigma,
    C_x,
    L,
    M,
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
#: Effective input norm of an encoder layer with bias: sqrt(rho^2 + 1).
R_ENCODER = sp.sqrt(RHO_ENCODER**2 + 1)
#: Bound on |d sigma/d v| = sigma/2 for sigma = e^{v/2} <= sqrt(C_Sigma) (|d^2 sigma/d v^2| <= k/2).
SIGMA_SLOPE = sp.sqrt(C_Sigma) / 2
#: Bound on |e^v - 1| for e^v in (c_Sigma, C_Sigma).
KL_SLOPE = sp.Max(C_Sigma - 1, 1 - c_Sigma)


def chain_jacobian(layers: sp.Expr, r: sp.Expr, J0: sp.Expr, A: sp.Expr = LAYER_NORM) -> sp.Expr:
    """The chain lemma's Jacobian bound after l affine soft-clip layers.

    Args:
        layers: The number of layers l.
        r: A bound of sqrt(||q_{j-1}||^2 + 1) for the layers' inputs.
        J0: The input's Jacobian bound J_0.
        A: The operator-norm bound of every weight matrix (default max(1, a width)).

    Returns:
        J_l = A^(l-1) (sqrt(l) r + A J_0), a bound on ||dp_l[u]|| and ||dq_l[u]||.
    """
    return A ** (layers - 1) * (sp.sqrt(layers) * r + A * J0)


def chain_hessian(layers: sp.Expr, r: sp.Expr, J0: sp.Expr, H0: sp.Expr, A: sp.Expr = LAYER_NORM) -> sp.Expr:
    """The chain lemma's Hessian bound after l affine soft-clip layers.

    Args:
        layers: The number of layers l.
        r: A bound of sqrt(||q_{j-1}||^2 + 1) for the layers' inputs.
        J0: The input's Jacobian bound J_0.
        H0: The input's Hessian bound H_0.
        A: The operator-norm bound of every weight matrix (default max(1, a width)).

    Returns:
        H_l = l (s/4 J_l^2 + 2 J_l) + A^l H_0, a bound on ||d^2 q_l[u, u]|| (and ||d^2 p_l[u, u]||).
    """
    return hessian_given_jacobian(layers, chain_jacobian(layers, r, J0, A), H0, A)


def hessian_given_jacobian(layers: sp.Expr, J: sp.Expr, H0: sp.Expr, A: sp.Expr = LAYER_NORM) -> sp.Expr:
    """The chain lemma's Hessian bound given the Jacobian bound J = J_l (:func:`chain_hessian`).

    Args:
        layers: The number of layers l.
        J: The Jacobian bound J_l.
        H0: The input's Hessian bound H_0.
        A: The operator-norm bound of every weight matrix (default max(1, a width)).

    Returns:
        H_l = l (s/4 J^2 + 2 J) + A^l H_0.
    """
    return layers * (s / 4 * J**2 + 2 * J) + A**layers * H0


#: The derivation's sub-expressions by name and meaning, in derivation order
#: (theory.readable writes the bounds with these names).
MEANINGS = {
    "A": "operator-norm bound of every weight matrix, max(1, a width)",
    "s_max": "largest soft-clip output magnitude max(|s1|, |s2|)",
    "rho_e": "norm bound of the encoder layers' inputs",
    "r_e": "effective input norm of an encoder layer with its bias, sqrt(rho_e^2 + 1)",
    "Q": "bound on |e^v - 1| for e^v in (c_Sigma, C_Sigma)",
    "q_kl": "weight of the encoder heads in the KL term, C_mu + sqrt(d_z) Q/2",
    "J_e": "Jacobian bound of the encoder heads (mean and log-variance)",
    "H_e": "Hessian bound of the encoder heads",
    "rho_z": "norm bound of z = mu + sigma eps when ||eps|| <= C_eps",
    "J_z": "Jacobian bound of z",
    "H_z": "Hessian bound of z",
    "r_g": "effective input norm of a decoder layer with its bias",
    "J_G": "Jacobian bound of the decoder mean G",
    "H_G": "Hessian bound of the decoder mean G",
    "L_rec": "Hessian bound of the reconstruction term",
    "L_kl": "Hessian bound of the KL term",
    "M_rec": "gradient bound of the reconstruction term",
    "M_kl": "gradient bound of the KL term",
}
#: One symbol per name of :data:`MEANINGS` (display only, not registered constants).
P = {name: sp.Symbol(name) for name in MEANINGS}


@lru_cache(maxsize=1)
def named_pieces() -> tuple[Named, ...]:
    """The derivation as named sub-expressions, each in terms of earlier names.

    Returns:
        The pieces (functions of the noise norm e = C_eps) in derivation order: the chain
        lemma for the encoder, the reparameterisation, the chain lemma for the decoder
        through z, the loss (:data:`MEANINGS`).
    """
    e, k = C_eps, SIGMA_SLOPE
    short = {
        "A": LAYER_NORM,
        "s_max": ABS_BOUND,
        "rho_e": sp.Max(C_x, sp.sqrt(width) * P["s_max"]),
        "r_e": sp.sqrt(P["rho_e"] ** 2 + 1),
        "Q": KL_SLOPE,
        "q_kl": C_mu + sp.sqrt(d_z) * P["Q"] / 2,
        "J_e": chain_jacobian(N_layers, P["r_e"], 0, P["A"]),
        "H_e": hessian_given_jacobian(N_layers, P["J_e"], 0, P["A"]),
        "rho_z": C_mu + sp.sqrt(C_Sigma) * e,
        "J_z": (1 + k * e) * P["J_e"],
        "H_z": (1 + k * e) * P["H_e"] + k / 2 * e * P["J_e"] ** 2,
        "r_g": P["rho_z"] + sp.sqrt(width) * P["s_max"] + 1,
        "J_G": chain_jacobian(N_layers, P["r_g"], P["J_z"], P["A"]),
        "H_G": hessian_given_jacobian(N_layers, P["J_G"], P["H_z"], P["A"]),
        "L_rec": (P["J_G"] ** 2 + (C_G + C_x) * P["H_G"]) / c**2,
        "L_kl": (1 + C_Sigma / 2) * P["J_e"] ** 2 + P["q_kl"] * P["H_e"],
        "M_rec": (C_G + C_x) * P["J_G"] / c**2,
        "M_kl": P["q_kl"] * P["J_e"],
    }
    return tuple(Named(P[name], short[name], meaning) for name, meaning in MEANINGS.items())


@lru_cache(maxsize=1)
def pieces() -> dict[str, sp.Expr]:
    """The intermediate bounds of the derivation in the model's constants.

    Returns:
        Name -> expression, a function of e = C_eps (:func:`named_pieces` with every
        name substituted).
    """
    return {sym.name: expr for sym, expr in unfold(named_pieces()).items()}


def smoothness_given_noise() -> sp.Expr:
    """The Hessian bound of the per-example loss when every ||eps_k|| <= C_eps.

    Returns:
        L_rec + L_kl.
    """
    p = pieces()
    return p["L_rec"] + p["L_kl"]


def gradient_bound_given_noise() -> sp.Expr:
    """The gradient bound of the per-example loss when every ||eps_k|| <= C_eps.

    Returns:
        M_rec + M_kl.
    """
    p = pieces()
    return p["M_rec"] + p["M_kl"]


def model_values(
    data_dim: int,
    latent_dim: int,
    hidden: tuple[int, ...],
    s_value: float = DEFAULT_S,
    c_value: float = 1.0,
    hidden_bounds: tuple[float, float] = HIDDEN_BOUNDS,
    mean_bounds: tuple[float, float] = MEAN_BOUNDS,
    logvar_bounds: tuple[float, float] = LOGVAR_BOUNDS,
) -> dict[str, float]:
    """The symbol values of a built Deep Gaussian VAE.

    Of ``empirical.models.make("gaussian", data_dim, ...)`` with these options; a and
    C_x >= ||x|| are the caller's.

    Args:
        data_dim: D.
        latent_dim: d_z.
        hidden: The hidden widths (N - 1 of them).
        s_value: The soft-clip sharpness s.
        c_value: The decoder's standard deviation c.
        hidden_bounds: (s1, s2) of the hidden layers.
        mean_bounds: (m1, m2) of the means.
        logvar_bounds: (l1, l2) of the log-variances.

    Returns:
        Symbol name -> value: N = len(hidden) + 1, width, C_G = sqrt(D) max|m|,
        C_mu = sqrt(d_z) max|m|, (c_Sigma, C_Sigma) = e^(l1, l2), and s, s1, s2, c, d_z.
    """
    m_abs = max(abs(float(b)) for b in mean_bounds)
    return {
        "N_layers": len(hidden) + 1,
        "width": max(data_dim, latent_dim, *hidden),
        "d_z": latent_dim,
        "s": float(s_value),
        "s1": float(hidden_bounds[0]),
        "s2": float(hidden_bounds[1]),
        "c": float(c_value),
        "C_G": math.sqrt(data_dim) * m_abs,
        "C_mu": math.sqrt(latent_dim) * m_abs,
        "c_Sigma": math.exp(logvar_bounds[0]),
        "C_Sigma": math.exp(logvar_bounds[1]),
    }


ACTIVATIONS = Assumption(
    "smooth-activations",
    "soft-clip activations and bounded outputs (A1)",
    r"f = \text{soft-clip}(s; s_1, s_2): |f'| \le 1,\ |f''| \le s/4;\ "
    r"\|G_\theta\| \le C_G,\ \|\mu_\phi\| \le C_\mu,\ \log \sigma_j^2 \in [\log c_\Sigma, \log C_\Sigma]",
    (s, C_G, C_mu, c_Sigma, C_Sigma),
    (
        Constraint(c_Sigma, C_Sigma, "encoder variance range c_Sigma <= C_Sigma"),
        Constraint(s1, s2, "soft-clip bounds s1 < s2", strict=True),
    ),
)
ARCHITECTURE = Assumption(
    "architecture",
    "Deep Gaussian VAE",
    r"\text{affine MLPs of depth } N,\ \dim \le \mathrm{width},\ p(x|z) = N(G_\theta(z), c^2 I),\ "
    r"\|x\| \le C_x",
    (N_layers, width, c, C_x, d_z),
)
ASSUMPTIONS = (ARCHITECTURE, ACTIVATIONS, PARAMETER_BOX)


def _steps(kind: str) -> tuple[Step, ...]:
    short = {piece.symbol: piece.expr for piece in named_pieces()}

    def defined(*names: str) -> sp.Tuple:
        return sp.Tuple(*(sp.Eq(P[name], short[P[name]], evaluate=False) for name in names))

    return (
        Step(
            f"{kind}: encoder chain (affine layers)",
            "||W||_op <= a width; |(dW q + db)| <= ||(dW, db)|| sqrt(||q||^2 + 1) (the bias '+1'); "
            "soft-clip 1-Lipschitz with |f''| <= s/4 on every layer including the mean and "
            "log-variance heads; inputs bounded by max(C_x, sqrt(width) max(|s1|,|s2|)); chain lemma "
            "with J_0 = H_0 = 0",
            defined("J_e", "H_e"),
        ),
        Step(
            f"{kind}: reparameterisation z = mu + exp(v/2) * eps",
            "d sigma = (sigma/2) dv, d^2 sigma = (sigma/4) dv^2 + (sigma/2) d^2 v, sigma <= sqrt(C_Sigma)",
            defined("rho_z", "J_z", "H_z"),
        ),
        Step(
            f"{kind}: decoder chain through z (soft-clipped output)",
            "chain lemma with input z, ||z|| <= C_mu + sqrt(C_Sigma) ||eps||, effective input norm "
            "||z|| + sqrt(width) max(|s1|,|s2|) + 1, J_0 = J_z, H_0 = H_z",
            defined("r_g", "J_G", "H_G"),
        ),
        Step(
            f"{kind}: loss at one noise draw",
            "d^2 ||x-G||^2/(2c^2) <= (J_G^2 + (C_G + C_x) H_G)/c^2 (the K-draw average is at most its "
            "largest term); KL = (1/2) sum(e^v + mu^2 - 1 - v) with e^v in (c_Sigma, C_Sigma): "
            "(1 + C_Sigma/2) J_e^2 + (C_mu + sqrt(d_z) max(C_Sigma - 1, 1 - c_Sigma)/2) H_e",
            sp.Tuple(sp.Le(sp.Symbol("L_eps"), P["L_rec"] + P["L_kl"]), *defined("L_rec", "L_kl")),
        ),
        Step(
            f"{kind}: expectation over eps",
            "polynomial of degree 2 in ||eps|| with nonnegative coefficients, "
            "E||eps|| <= sqrt(d_z), E||eps||^2 = d_z",
            sp.Eq(C_eps, sp.sqrt(d_z)),
        ),
    )


@lru_cache(maxsize=1)
def constants() -> ModelConstants:
    """L and M of the Deep Gaussian VAE at ||eps|| = sqrt(d_z).

    Returns:
        The constants (R None: M bounds sqrt(E||g||^2) only, Gaussian noise makes
        ||g|| unbounded).
    """
    L_expr = smoothness_given_noise().subs(C_eps, sp.sqrt(d_z))
    M_expr = gradient_bound_given_noise().subs(C_eps, sp.sqrt(d_z))
    return ModelConstants(
        model="gaussian",
        L=L_expr,
        M=M_expr,
        R=None,  # M bounds sqrt(E||g||^2) only: Gaussian noise makes ||g|| unbounded
        assumptions=ASSUMPTIONS,
        reference=REFERENCE,
        tight=False,
        steps=_steps("Deep Gaussian VAE"),
        notes=(
            "Deep Gaussian VAE constants are explicit but loose (tight=False): made explicit here are "
            "the operator norms ||W|| <= a width, the chain lemma (Cauchy-Schwarz over layers, "
            "biases through sqrt(||q||^2 + 1)), max(|s1|,|s2|) for hidden norms, sigma = e^{v/2} <= "
            "sqrt(C_Sigma) for the log-variance head, and E||eps|| <= sqrt(d_z).",
            "Valid for empirical.models GaussianVAE (softclip, Gaussian decoder, analytic KL) with "
            "C_G, C_mu, c_Sigma, C_Sigma from its soft-clip bounds (theory.models.gaussian.model_values).",
            "Order: decoder block N^2 a^(2(N-1)) (Gauss-Newton part N a^(2(N-1)), the seed paper's "
            "order); the joint encoder-decoder Hessian is of order N^3 a^(4N-2) and cannot be of "
            "lower degree in a in general (see theory.models.gaussian).",
            "M and R bound the root-mean-square gradient norm (almost surely for noise truncated "
            "at ||eps|| <= sqrt(d_z)).",
        ),
        named=named_pieces()
        + (
            Named(
                L,
                sp.Subs(P["L_rec"] + P["L_kl"], C_eps, sp.sqrt(d_z)),
                "smoothness bound at ||eps|| = sqrt(d_z)",
            ),
            Named(
                M,
                sp.Subs(P["M_rec"] + P["M_kl"], C_eps, sp.sqrt(d_z)),
                "gradient bound at ||eps|| = sqrt(d_z)",
            ),
        ),
    )
