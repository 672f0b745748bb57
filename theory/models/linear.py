"""Linear VAE: explicit smoothness L and gradient bound M of its closed-form ELBO on the box.

p(x|z) = N(W z + mu, c^2 I), q(z|x) = N(V (x - mu), diag(exp(ell))), every parameter in
[-a, a], ||x|| <= C_x (exactly the model of the property test). The derivation:
docs/theory.md, "How the model constants are derived".
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from theory.assumptions import Assumption
from theory.bound import Named, Step
from theory.models.common import PARAMETER_BOX, ModelConstants, unfold
from theory.symbols import C_x, D, L, M, R, a, c, d_z

REFERENCE = "closed-form linear-VAE ELBO; Hessian bound on the box derived here (docs/theory.md, Models)"

#: Names of the derivation's sub-expressions (theory.readable writes the bounds with them).
_W, _RHO, _E, _DE, _D2E = sp.symbols("w rho N_E N_dE N_d2E")
_L_REC, _L_TRACE, _L_KL, _M_REC, _M_TRACE, _M_KL = sp.symbols("L_rec L_trace L_kl M_rec M_trace M_kl")

#: The derivation as named sub-expressions, each in terms of earlier names.
NAMED = (
    Named(_W, a * sp.sqrt(D * d_z), "operator-norm bound of W and V, a sqrt(D d_z)"),
    Named(_RHO, C_x + a * sp.sqrt(D), "bound on ||x - mu||, C_x + a sqrt(D)"),
    Named(_E, (1 + _W**2) * _RHO, "norm bound of the reconstruction residual"),
    Named(
        _DE, sp.sqrt(2 * _W**2 * _RHO**2 + (1 + _W**2) ** 2), "norm bound of its first directional derivative"
    ),
    Named(_D2E, _RHO + 2 * _W, "norm bound of its second directional derivative"),
    Named(_L_REC, (_DE**2 + _E * _D2E) / c**2, "Hessian bound of the reconstruction term"),
    Named(
        _L_TRACE,
        sp.exp(a) * (2 + 2 * a * sp.sqrt(D) + a**2 * D) / (2 * c**2),
        "Hessian bound of the trace term",
    ),
    Named(_L_KL, sp.exp(a) / 2 + _RHO**2 + _W**2 + _W * _RHO, "Hessian bound of the KL term"),
    Named(_M_REC, _E * _DE / c**2, "gradient bound of the reconstruction term"),
    Named(
        _M_TRACE,
        sp.exp(a) * (2 * _W + a**2 * D * sp.sqrt(d_z)) / (2 * c**2),
        "gradient bound of the trace term",
    ),
    Named(
        _M_KL,
        (sp.exp(a) - 1) * sp.sqrt(d_z) / 2 + _W * _RHO * sp.sqrt(_RHO**2 + _W**2),
        "gradient bound of the KL term",
    ),
)
_FULL = unfold(NAMED)

w, rho = _FULL[_W], _FULL[_RHO]
E_NORM, DE_NORM, D2E_NORM = _FULL[_E], _FULL[_DE], _FULL[_D2E]

#: Hessian bounds of the three parts of the loss.
L_RECONSTRUCTION, L_TRACE, L_KL = _FULL[_L_REC], _FULL[_L_TRACE], _FULL[_L_KL]

#: Gradient bounds of the three parts.
M_RECONSTRUCTION, M_TRACE, M_KL = _FULL[_M_REC], _FULL[_M_TRACE], _FULL[_M_KL]

ARCHITECTURE = Assumption(
    "architecture",
    "linear VAE",
    r"p(x|z) = N(Wz + \mu, c^2 I),\ q(z|x) = N(V(x-\mu), \mathrm{diag}(e^{\ell})),\ "
    r"\|x\| \le C_x",
    (c, C_x, D, d_z),
)


def parameter_count() -> sp.Expr:
    """The number of parameters of the linear VAE.

    Returns:
        d = 2 D d_z + D + d_z (W, V, mu, ell).
    """
    return 2 * D * d_z + D + d_z


@lru_cache(maxsize=1)
def constants() -> ModelConstants:
    """L, M and R = M of the linear VAE (||g||_inf <= ||g||_2).

    Returns:
        The constants: the Hessian and gradient bounds of the reconstruction, trace and
        KL terms, summed.
    """
    L_expr = L_RECONSTRUCTION + L_TRACE + L_KL
    M_expr = M_RECONSTRUCTION + M_TRACE + M_KL
    return ModelConstants(
        model="linear",
        L=L_expr,
        M=M_expr,
        R=M_expr,
        assumptions=(ARCHITECTURE, PARAMETER_BOX),
        reference=REFERENCE,
        tight=False,
        steps=(
            Step(
                "linear VAE: Hessian of the closed-form loss",
                "second directional derivatives of the three terms, ||W||_op <= a sqrt(D d_z), "
                "||x - mu|| <= C_x + a sqrt(D), e^ell <= e^a",
                sp.Le(sp.Symbol("L_linear"), _L_REC + _L_TRACE + _L_KL),
            ),
            Step(
                "linear VAE: gradient of the closed-form loss",
                "first directional derivatives with the same norm bounds; R = M as ||g||_inf <= ||g||_2",
                sp.Le(sp.Symbol("M_linear"), _M_REC + _M_TRACE + _M_KL),
            ),
        ),
        notes=(
            "Linear VAE constants: exact second derivatives of the closed-form ELBO bounded with "
            "operator <= Frobenius norms and 2xy <= x^2 + y^2 (explicit here, loose).",
            "For the plain ELBO (beta = 1): a beta-weighted linear VAE would scale the KL parts by beta.",
        ),
        named=NAMED
        + (
            Named(L, _L_REC + _L_TRACE + _L_KL, "smoothness bound"),
            Named(M, _M_REC + _M_TRACE + _M_KL, "gradient bound"),
            Named(R, _M_REC + _M_TRACE + _M_KL, "sup-norm bound: R = M (||g||_inf <= ||g||_2)"),
        ),
    )
