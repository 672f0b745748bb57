"""Biased adaptive SA (docs/theory.md, Biased gradients): the piecewise rate in alpha_bias
and the IWAE bias schedule."""

from __future__ import annotations

import pytest
import sympy as sp

import theory
from theory import symbols as S
from theory.theorems import biased

n, alpha = S.n, S.alpha_bias
EXPECTED = {
    sp.Rational(1, 8): n ** sp.Rational(-1, 4),
    sp.Rational(1, 4): sp.log(n) / sp.sqrt(n),
    sp.Rational(1, 2): sp.log(n) / sp.sqrt(n),
}


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_piecewise_rate(optimizer):
    b = theory.bound("generic", optimizer, "biased")
    assert isinstance(b.expr, sp.Piecewise)
    rate = b.rate()
    for value, want in EXPECTED.items():
        assert rate.subs(alpha, value) == want
    assert sp.simplify(rate.subs(alpha, sp.Rational(1, 10)) - n ** sp.Rational(-1, 5)) == 0


def test_quarter_piece_has_the_log_and_is_continuous_numerically():
    b = theory.bound("generic", "sgd", "biased")
    base = dict(C_gamma=0.01, L=10, Delta=1, sigma2=1, C_alpha=1, n=10**4)
    values = [b.evaluate(alpha_bias=a, **base) for a in (0.25 - 1e-9, 0.25, 0.25 + 1e-9)]
    assert values[0] == pytest.approx(values[1], rel=1e-6)
    assert values[2] == pytest.approx(values[1], rel=1e-6)
    quarter = b.expr.args[1][0]
    assert quarter.has(sp.log(n)) and not quarter.has(alpha)


def test_fixed_exponent_and_constant_bias():
    b = theory.bound("generic", "sgd", "biased", alpha_bias=0.5)
    assert b.rate() == sp.log(n) / sp.sqrt(n)
    floor = theory.bound("iwae", "adam", "biased", K_growth=0)
    assert floor.rate() == 1  # constant K: the bias term does not vanish
    values = dict(C_gamma=1e-3, L=1, Delta=1, R=1, eps=0.1, sigma2_data=1, sigma2_mc_K=1, B=4, C_bias=1)
    big_n = [floor.evaluate(K=5, n=m, **values) for m in (10**6, 10**8)]
    assert big_n[1] > 0.5 * big_n[0]
    with pytest.raises(theory.AssumptionViolation, match="alpha"):
        theory.bound("generic", "sgd", "biased", alpha_bias=1.5)


def test_iwae_bias_schedule_decreases_in_B_no_sign_claimed_in_K():
    b = theory.bound("iwae", "adam", "biased", K_growth=0.5)
    assert b.rate() == sp.log(n) / sp.sqrt(n)
    assert not b.expr.has(S.C_alpha) and b.expr.has(S.C_bias) and b.expr.has(S.sigma2_mc_K)
    signs = theory.rates.batch_sample_signs(b)
    assert signs.B.sign == -1 and signs.B.proved
    # sigma2_mc_K is measured at the K used: the direction in K is not claimed
    assert signs.K.sign is None and not signs.K.proved and "sigma2_mc_K" in signs.K.method
    values = dict(C_gamma=1e-3, L=1, Delta=1, R=1, eps=0.1, sigma2_data=1, sigma2_mc_K=1, C_bias=1, n=1000)
    # at a fixed Monte-Carlo variance the bias C_bias/K makes the bound smaller in K
    assert b.evaluate(B=8, K=5, **values) < b.evaluate(B=4, K=5, **values) < b.evaluate(B=4, K=2, **values)


def test_rate_pieces_rejects_nothing_silently():
    b = biased.biased_bound(None, "sgd")
    with pytest.raises(theory.AssumptionViolation):
        b.evaluate(alpha_bias=float("nan"), C_gamma=0.01, L=10, Delta=1, sigma2=1, C_alpha=1, n=100)
