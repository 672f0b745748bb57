"""Black-box variational inference: L and M, order only in the seed work, derived here.

F(lambda) = E_eps[-log p(x, T_lambda(eps))] - H(q_lambda) with a location-scale or a
non-linear parameterisation T_lambda; the derivations: docs/theory.md, "How the model
constants are derived".
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from theory.assumptions import Assumption
from theory.bound import Step
from theory.models.common import ModelConstants
from theory.symbols import H_T, J_T, L_H, M_H, L_p, M_p, c_Sigma, d_z

REFERENCE = (
    "Domke, 'Provable Smoothness Guarantees for Black-Box Variational Inference', ICML 2020 "
    "(energy smoothness, location-scale); constants derived here (theory.models.bbvi)"
)

LOCATION_SCALE = Assumption(
    "architecture",
    "location-scale BBVI",
    r"z = m + C\epsilon,\ \epsilon \sim N(0, I),\ C \text{ lower triangular},\ C_{jj} \ge \sqrt{c_\Sigma},\ "
    r"-\log p(x,\cdot)\ L_p\text{-smooth},\ \|\nabla_z \log p\| \le M_p",
    (L_p, M_p, c_Sigma, d_z),
)
NONLINEAR = Assumption(
    "architecture",
    "non-linear BBVI",
    r"z = T_\lambda(\epsilon),\ \sup_\epsilon \|D_\lambda T\| \le J_T,\ "
    r"\sup_\epsilon \|D^2_\lambda T\| \le H_T,\ "
    r"-H(q_\lambda)\ L_H\text{-smooth},\ \|\nabla_\lambda H\| \le M_H,\ -\log p\ L_p\text{-smooth},\ "
    r"\|\nabla_z \log p\| \le M_p",
    (L_p, M_p, J_T, H_T, L_H, M_H),
)


@lru_cache(maxsize=2)
def constants(parameterisation: str = "location-scale") -> ModelConstants:
    """The BBVI constants under the stated assumptions.

    Location-scale: L = L_p + 1/c_Sigma, M = M_p sqrt(1 + d_z) + sqrt(d_z / c_Sigma);
    non-linear: L = L_p J_T^2 + M_p H_T + L_H, M = M_p J_T + M_H.

    Args:
        parameterisation: "location-scale" or "nonlinear".

    Returns:
        The constants (R None: Gaussian noise makes the gradient unbounded).

    Raises:
        UnknownNameError: An unknown parameterisation.
    """
    if parameterisation == "location-scale":
        L_expr = L_p + 1 / c_Sigma
        M_expr = M_p * sp.sqrt(1 + d_z) + sp.sqrt(d_z / c_Sigma)
        assumption = LOCATION_SCALE
        why = (
            "E (dm + dC eps)^T Hess f (dm + dC eps) <= L_p (||dm||^2 + ||dC||^2); "
            "entropy Hessian <= 1/c_Sigma"
        )
    elif parameterisation == "nonlinear":
        L_expr = L_p * J_T**2 + M_p * H_T + L_H
        M_expr = M_p * J_T + M_H
        assumption = NONLINEAR
        why = "Hess E f(T) = E[dT^T Hess f dT + sum_i d_i f d^2 T_i]; entropy L_H-smooth"
    else:
        from theory.errors import UnknownNameError

        raise UnknownNameError(
            f"unknown BBVI parameterisation {parameterisation!r}; valid: location-scale, nonlinear"
        )
    return ModelConstants(
        model="bbvi",
        L=L_expr,
        M=M_expr,
        R=None,  # M bounds sqrt(E||g||^2) only: Gaussian noise makes ||g|| unbounded
        assumptions=(assumption,),
        reference=REFERENCE,
        tight=False,
        steps=(
            Step(f"BBVI ({parameterisation}): smoothness", why, sp.Le(sp.Symbol("L_bbvi"), L_expr)),
            Step(
                f"BBVI ({parameterisation}): gradient bound",
                "chain rule; root mean square over eps; R = M",
                sp.Le(sp.Symbol("M_bbvi"), M_expr),
            ),
        ),
        notes=(f"BBVI {parameterisation} constants derived under the stated assumptions (loose).",),
    )
