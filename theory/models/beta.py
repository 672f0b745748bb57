"""beta-VAE on the Deep Gaussian architecture: the loss is reconstruction + beta KL.

Weighting the KL by beta gives L_rec + beta L_kl <= max(1, beta) (L_rec + L_kl): the
KL weight enters L and M through max(1, beta); loose (docs/theory.md, "How the model
constants are derived").
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from theory.bound import Named, Step
from theory.models import gaussian
from theory.models.common import ModelConstants
from theory.symbols import C_eps, L, M, beta, d_z

WEIGHT = sp.Max(1, beta)
P = gaussian.P


@lru_cache(maxsize=1)
def constants() -> ModelConstants:
    """L and M of the beta-VAE: the Deep Gaussian VAE's scaled by max(1, beta).

    Returns:
        The constants (R None: Gaussian noise makes the gradient unbounded).
    """
    base = gaussian.constants()
    L_expr, M_expr = WEIGHT * base.L, WEIGHT * base.M
    return ModelConstants(
        model="beta",
        L=L_expr,
        M=M_expr,
        R=None,  # M bounds sqrt(E||g||^2) only: Gaussian noise makes ||g|| unbounded
        assumptions=base.assumptions,
        reference=gaussian.REFERENCE + "; beta-VAE weight through max(1, beta) (seed work, order only)",
        tight=False,
        steps=base.steps
        + (
            Step(
                "beta-VAE: weight the KL part",
                "L_rec + beta L_kl <= max(1, beta) (L_rec + L_kl); the same for M",
                sp.Le(sp.Symbol("L_beta_exact"), sp.Subs(P["L_rec"] + beta * P["L_kl"], C_eps, sp.sqrt(d_z))),
            ),
        ),
        notes=base.notes + ("beta enters L and M through the factor max(1, beta).",),
        named=gaussian.named_pieces()
        + (
            Named(L, WEIGHT * sp.Subs(P["L_rec"] + P["L_kl"], C_eps, sp.sqrt(d_z)), "smoothness bound"),
            Named(M, WEIGHT * sp.Subs(P["M_rec"] + P["M_kl"], C_eps, sp.sqrt(d_z)), "gradient bound"),
        ),
    )
