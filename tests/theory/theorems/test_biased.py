"""Biased adaptive SA (docs/theory.md, Biased gradients): the piecewise rate in alpha_bias
and the IWAE bias schedule."""

from __future__ import annotations

import math

import mpmath
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
    pieces = {cond: piece for piece, cond in b.expr.args}
    quarter, zero = pieces[sp.Eq(alpha, sp.Rational(1, 4))], pieces[sp.Eq(alpha, 0)]
    assert quarter.has(sp.log(n)) and not quarter.has(alpha)
    assert zero.has(sp.log(n)) and not zero.has(alpha)


def test_a_constant_bias_is_the_harmonic_piece_not_zero_over_zero():
    """alpha_bias = 0 is admissible: sum_k k^(-1 - 2 alpha_bias) is then harmonic (1 + log n).
    The p != 1 form is 0/0 there (it gave NaN, refused as 'not finite'); near 0 and near 1/4
    the floats take the band's edge, an upper bound of the exact value within 2e-6 log n."""
    b = theory.bound("generic", "sgd", "biased")
    base = dict(C_gamma=0.01, L=10, Delta=1, sigma2=1, C_alpha=1, n=10**4)
    exact = {S.get(k): sp.nsimplify(v) for k, v in base.items()}
    at_zero = b.evaluate(alpha_bias=0.0, **base)
    assert at_zero == pytest.approx(float(b.expr.subs({**exact, alpha: 0})), rel=1e-12)
    exact_at = sp.lambdify(alpha, b.expr.subs(exact), "mpmath")
    with mpmath.workdps(400):  # enough digits for (n^(2 alpha) - 1)/alpha at alpha = 1e-300
        for a in (1e-300, 1e-12, 3e-7, 0.25 - 3e-7, 0.25 + 3e-7):
            got = b.evaluate(alpha_bias=a, **base)
            want = float(exact_at(mpmath.mpf(a)))
            assert want <= got <= want * (1 + 2e-6 * math.log(10**4)), a
    # decreasing in alpha_bias, so the band's edge bounds the points inside the band
    ladder = [b.evaluate(alpha_bias=a, **base) for a in (0.0, 1e-7, 2e-6, 0.1, 0.25, 0.3)]
    assert ladder == sorted(ladder, reverse=True)


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
