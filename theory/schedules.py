"""Step sizes gamma_k = C_gamma k^(-alpha) and bounds on their power sums.

The bounds are the integral comparison of a decreasing x^(-p) (docs/theory.md,
"The descent-lemma derivation", step 5).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from theory.symbols import C_gamma, alpha, k, n


def _integral(p: sp.Expr, lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    """int_lo^hi x^(-p) dx as a Piecewise in p (log at p = 1)."""
    return sp.Piecewise(
        (sp.log(hi) - sp.log(lo), sp.Eq(p, 1)),
        ((hi ** (1 - p) - lo ** (1 - p)) / (1 - p), True),
    )


def power_sum_upper(p: sp.Expr, upto: sp.Expr = n) -> sp.Expr:
    """Upper bound of sum_{k=1}^{upto} k^(-p): 1 + int_1^upto x^(-p) dx.

    p = 1 gives the harmonic bound H_n <= 1 + log n.

    Args:
        p: The exponent, p > 0 (a number or an expression).
        upto: The last index of the sum (default the horizon n).

    Returns:
        The bound, a Piecewise in p (its log branch at p = 1).
    """
    return sp.piecewise_fold(1 + _integral(sp.sympify(p), sp.Integer(1), upto))


def power_sum_lower(p: sp.Expr, upto: sp.Expr = n) -> sp.Expr:
    """Lower bound of sum_{k=1}^{upto} k^(-p): int_1^{upto+1} x^(-p) dx.

    Args:
        p: The exponent, p > 0 (a number or an expression).
        upto: The last index of the sum (default the horizon n).

    Returns:
        The bound, a Piecewise in p (its log branch at p = 1).
    """
    return _integral(sp.sympify(p), sp.Integer(1), upto + 1)


@dataclass(frozen=True)
class StepSchedule:
    """The step sizes gamma_k = C_gamma k^(-alpha), k = 1..n.

    Attributes:
        constant: The step constant C_gamma.
        exponent: The decay exponent alpha (the default schedule has alpha = 1/2).
    """

    constant: sp.Expr = C_gamma
    exponent: sp.Expr = sp.Rational(1, 2)

    def gamma(self, index: sp.Expr = k) -> sp.Expr:
        """The step gamma_k = C_gamma k^(-alpha).

        Args:
            index: The step's index k (a number or an expression; default the symbol k).

        Returns:
            The step size at ``index``.
        """
        return self.constant * index ** (-self.exponent)

    def sum_upper(self, power: int = 1, upto: sp.Expr = n) -> sp.Expr:
        """Upper bound of sum_{k=1}^{upto} gamma_k^power (:func:`power_sum_upper`).

        Args:
            power: The power of the steps summed (1 for S1, 2 for S2).
            upto: The last index of the sum (default the horizon n).

        Returns:
            C_gamma^power (1 + int_1^upto x^(-power alpha) dx).
        """
        return self.constant**power * power_sum_upper(power * self.exponent, upto)

    def sum_lower(self, power: int = 1, upto: sp.Expr = n) -> sp.Expr:
        """Lower bound of sum_{k=1}^{upto} gamma_k^power (:func:`power_sum_lower`).

        Args:
            power: The power of the steps summed (1 for S1, 2 for S2).
            upto: The last index of the sum (default the horizon n).

        Returns:
            C_gamma^power int_1^{upto+1} x^(-power alpha) dx.
        """
        return self.constant**power * power_sum_lower(power * self.exponent, upto)

    def describe(self) -> str:
        """The schedule as text.

        Returns:
            ``"gamma_k = ..."`` with the step in SymPy's string form.
        """
        return f"gamma_k = {sp.sstr(self.gamma())}"


DEFAULT = StepSchedule(C_gamma, sp.Rational(1, 2))
GENERAL = StepSchedule(C_gamma, alpha)
