"""Exploration helpers of theory.rates: iterations over (B, K), the B K trade-off,
signs of d(bound)/dB, d(bound)/dK."""

from __future__ import annotations

import pytest

import theory
from theory import rates

VALUES = dict(L=10, Delta=5, sigma2_data=1, sigma2_mc=4, C_gamma=0.05)


def test_iterations_grid_monotone():
    b = theory.bound("gaussian", "sgd", expand=False)
    grid = rates.iterations_grid(b, 1.0, [1, 4, 16], [1, 8], **VALUES)
    for K in (1, 8):
        assert grid[(1, K)] >= grid[(4, K)] >= grid[(16, K)]
    for B in (1, 4, 16):
        assert grid[(B, 1)] >= grid[(B, 8)]
    at = grid[(4, 8)]
    assert b.evaluate(n=at, B=4, K=8, **VALUES) <= 1.0 < b.evaluate(n=at - 1, B=4, K=8, **VALUES)


def test_compute_tradeoff_prefers_large_batches_for_sgd():
    b = theory.bound("gaussian", "sgd", expand=False)
    splits = rates.compute_tradeoff(b, 12, 1.0, **VALUES)
    assert {(s.B, s.K) for s in splits} == {(1, 12), (2, 6), (3, 4), (4, 3), (6, 2), (12, 1)}
    assert (splits[0].B, splits[0].K) == (12, 1)
    assert all(s.total == s.iterations * 12 for s in splits)
    with pytest.raises(theory.AssumptionViolation):
        rates.compute_tradeoff(b, 0, 1.0, **VALUES)
    with pytest.raises(theory.TheoryError):
        rates.iterations_grid(b, 1.0, [1], [1], B=2, **VALUES)


def test_signs_proved_for_measured_constants():
    signs = rates.batch_sample_signs(theory.bound("generic", "sgd"))
    assert signs.B.sign == 0 and signs.K.sign == 0
    signs = rates.batch_sample_signs(theory.bound("linear", "sgd"))
    assert signs.B.proved and signs.B.sign == -1 and signs.K.sign == -1


def test_expanded_iwae_sign_in_B_proved_none_claimed_in_K():
    """The explicit IWAE smoothness grows like log K and sigma2_mc_K is measured at the K
    used: no sign in K is claimed; in B the bound decreases (proved)."""
    signs = rates.batch_sample_signs(theory.bound("iwae", "sgd"), samples=80)
    assert signs.B.sign == -1 and signs.B.proved
    assert signs.K.sign is None and not signs.K.proved


def test_budget_tradeoff_tunes_the_step_at_other_values_when_asked():
    """tune_at: C_gamma = min(C*, 1/L) at L = 2 x 10 (a margin on L), the bound at L = 10."""
    import math

    b = theory.bound("gaussian", "sgd", expand=False)
    values = dict(L=10, Delta=5, sigma2_data=1, sigma2_mc=4)
    out = rates.budget_tradeoff(b, 4096, [1, 8, 64], [1, 2], tune_at={"L": 20}, **values)
    assert out.tuned and len(out.points) == 6
    for p in out.points:
        sigma2 = 1 / p.B + 4 / (p.B * p.K)
        rule = min(math.sqrt(2 * 5 / (20 * sigma2 * (1 + math.log(p.n)))), 1 / 20)
        assert p.C_gamma == pytest.approx(rule, rel=1e-12)
        assert p.value == pytest.approx(b.evaluate(B=p.B, K=p.K, n=p.n, C_gamma=rule, **values), rel=1e-12)
    plain = rates.budget_tradeoff(b, 4096, [1, 8, 64], [1, 2], **values)
    assert all(p.C_gamma == pytest.approx(min(p.C_gamma, 1 / 10)) for p in plain.points)
    assert plain.best.value <= out.best.value  # the margin costs the bound something, never gains
    with pytest.raises(theory.TheoryError, match="tune_at"):
        rates.budget_tradeoff(b, 4096, [1], [1], tune_at={"L": 20}, C_gamma=0.01, **values)
