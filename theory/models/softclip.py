"""The soft-clip activation and its constants.

f(x) = (1/s) log((1 + e^{s(x - s1)}) / (1 + e^{s(x - s2)})) + s1, s1 < s2: 1-Lipschitz,
|f''| <= s/4, values in (s1, s2) (docs/theory.md, "How the model constants are
derived"). ``empirical.models`` imports the default bounds from here so that theory
and code use the same constants.
"""

from __future__ import annotations

import sympy as sp

from theory.symbols import s, s1, s2

#: Default soft-clip sharpness.
DEFAULT_S = 1.0
#: (s1, s2) for hidden layers, the encoder mean and the encoder log-variance.
HIDDEN_BOUNDS = (0.0, 50.0)
MEAN_BOUNDS = (-50.0, 50.0)
LOGVAR_BOUNDS = (-20.0, 20.0)

x = sp.Symbol("x", real=True)

#: The activation as a SymPy expression in ``x``, ``s``, ``s1``, ``s2``.
SOFTCLIP = sp.log((1 + sp.exp(s * (x - s1))) / (1 + sp.exp(s * (x - s2)))) / s + s1

#: Sup of |f'|: f' = sigmoid(s(x-s1)) - sigmoid(s(x-s2)) lies in (0, 1).
LIPSCHITZ = sp.Integer(1)
#: Sup of |f''|: a difference of two values of sigmoid' in (0, 1/4].
SECOND_DERIVATIVE_BOUND = s / 4
#: Range of f.
RANGE = (s1, s2)


def derivative(order: int = 1) -> sp.Expr:
    """A derivative of the soft-clip in x.

    Args:
        order: The order of the derivative.

    Returns:
        The ``order``-th derivative of :data:`SOFTCLIP` in ``x``.
    """
    return sp.diff(SOFTCLIP, x, order)


def check_parameters(sharpness: float, lower: float, upper: float) -> None:
    """Check the soft-clip's parameters.

    Args:
        sharpness: s.
        lower: s1.
        upper: s2.

    Raises:
        AssumptionViolation: Unless s > 0 and s1 < s2, all finite.
    """
    import math

    from theory.errors import AssumptionViolation

    if not (math.isfinite(sharpness) and sharpness > 0):
        raise AssumptionViolation(f"soft-clip sharpness s must be a finite number > 0, got {sharpness}")
    if not (math.isfinite(lower) and math.isfinite(upper) and lower < upper):
        raise AssumptionViolation(f"soft-clip bounds must be finite with s1 < s2, got s1={lower}, s2={upper}")


#: Sup of |f| over R: f takes values in (s1, s2), so |f| < max(|s1|, |s2|).
ABS_BOUND = sp.Max(sp.Abs(s1), sp.Abs(s2))
