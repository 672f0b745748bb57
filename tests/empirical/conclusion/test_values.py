"""The values bound besides the estimated constants (empirical/conclusion/values.py): the fixed
values of the steps taken, and the variance of a step from its two parts, against the closed
forms sigma2_data/B + sigma2_mc/(B K) and sigma2_data/B + sigma2_mc_K/B."""

from __future__ import annotations

import numpy as np
import pytest

from empirical.conclusion.values import fixed_values, step_variance
from empirical.estimators.results import Estimate


def test_fixed_values_are_those_of_the_steps_taken():
    gammas = 0.05 / np.sqrt(np.arange(1, 11))
    out = fixed_values(gammas, batch_size=32, n_params=100, C_gamma=0.05, K=2, box=0.5)
    assert out == {
        "n": 10.0, "B": 32.0, "K": 2.0, "C_gamma": 0.05, "S1": pytest.approx(gammas.sum(), rel=1e-15),
        "S2": pytest.approx((gammas**2).sum(), rel=1e-15), "gamma_max": 0.05, "a": 0.5, "d": 100.0,
    }  # fmt: skip
    assert set(fixed_values(gammas, batch_size=4, n_params=3, C_gamma=0.05)) == {
        "n", "B", "C_gamma", "S1", "S2", "gamma_max", "d"
    }  # fmt: skip


@pytest.mark.parametrize("K", [None, 1, 3])
def test_step_variance_is_the_closed_form_at_every_end(K):
    data = Estimate(2.0, 1.5, 2.5, 0.95, "data", 10)
    mc = Estimate(6.0, 4.0, 9.0, 0.9, "mc", 5)
    B = 8
    got = step_variance(data, mc, B, K)
    per = B if K is None else B * K
    for end in ("value", "lo", "hi"):
        assert getattr(got, end) == pytest.approx(getattr(data, end) / B + getattr(mc, end) / per, rel=1e-12)
    assert got.confidence == 0.9 and got.n_evals == 15 and f"B = {B}" in got.method
