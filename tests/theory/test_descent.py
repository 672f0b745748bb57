"""The descent-lemma derivation and the two theorems it yields beyond the default
SGD one: SGD under any step sequence and projected SGD."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

import theory
from theory import descent
from theory.symbols import S1, S2, C_gamma, Delta, L, gamma_max, n, sigma2

SCHEDULE = theory.bound("generic", "sgd", "schedule")
PROJECTED = theory.bound("generic", "sgd", "projected")


def test_schedule_bound_is_the_textbook_formula():
    assert sp.simplify(SCHEDULE.expr - (2 * Delta + L * sigma2 * S2) / S1) == 0
    assert SCHEDULE.lhs.observable == "grad_norm_sq" and SCHEDULE.lhs.uses_steps
    assert SCHEDULE.step_limit is None and "gamma_max" in SCHEDULE.constants


def test_projected_bound_and_its_plain_floor():
    want = (Delta + sigma2 * S1) / ((1 - L * gamma_max / 2) * S1)
    assert sp.simplify(PROJECTED.expr - want) == 0
    # with gamma_max = t / L, t in (0, 1]: bound <= 2 Delta/S1 + 2 sigma2 (the plain argument's form)
    t = sp.Symbol("t", positive=True)
    gap = sp.factor((2 * Delta / S1 + 2 * sigma2 - PROJECTED.expr).subs(gamma_max, t / L))
    w = sp.Symbol("w", nonnegative=True)
    assert sp.factor(gap.subs(t, 1 / (1 + w))).is_nonnegative
    assert PROJECTED.lhs.observable == "gradient_mapping_sq" and PROJECTED.lhs.uses_steps


@pytest.mark.parametrize("b", [SCHEDULE, PROJECTED], ids=["schedule", "projected"])
def test_step_conditions_are_checked(b):
    values = dict(L=2.0, sigma2=1.0, Delta=3.0, S1=10.0, S2=1.0, gamma_max=0.4)
    values = {k: v for k, v in values.items() if k in b.constants}
    assert b.evaluate(**values) > 0
    limit = 1.0 if b is PROJECTED else 0.5  # 2/L for projected SGD, 1/L otherwise
    assert b.evaluate(**{**values, "gamma_max": 0.95 * limit, "S2": 0.95 * limit}) > 0
    with pytest.raises(theory.AssumptionViolation, match="gamma_max"):
        b.evaluate(**{**values, "gamma_max": 1.2 * limit})
    with pytest.raises(theory.MissingConstantError, match="gamma_max"):
        b.evaluate(**{k: v for k, v in values.items() if k != "gamma_max"})
    if "S2" in values:
        with pytest.raises(theory.AssumptionViolation, match="S2"):
            b.evaluate(**{**values, "S2": 5.0})  # S2 > gamma_max S1 is impossible


def test_schedule_and_projected_have_no_rate_without_a_schedule():
    for b in (SCHEDULE, PROJECTED, theory.bound("gaussian", "sgd", "schedule")):
        assert not b.has_rate
        with pytest.raises(theory.TheoryError, match="S1"):
            b.rate()
    assert "schedule's" in SCHEDULE.explain()


def test_power_schedule_recovers_the_default_sgd_bound():
    """For gamma_k = C k^(-1/2): S1 >= n gamma_n = C sqrt(n) (every step is at least the
    last) and S2 = C^2 H_n <= C^2 (1 + log n). Substituting these two bounds into the
    schedule bound gives exactly the default SGD bound, whose left-hand side (the uniform
    average) is at most sum_k gamma_k G(k-1) / (n gamma_n): the default theorem is the
    schedule theorem weighted by the smallest step."""
    default = theory.bound("generic", "sgd").expr
    recovered = SCHEDULE.expr.subs({S1: C_gamma * sp.sqrt(n), S2: C_gamma**2 * (1 + sp.log(n))})
    assert sp.simplify(recovered - default) == 0
    # with the exact sums the schedule bound is at most the default bound, at random points
    rng = np.random.default_rng(0)
    for _ in range(50):
        steps = int(rng.integers(1, 5000))
        Lv, sv, dv = rng.uniform(0.1, 10), rng.uniform(0, 10), rng.uniform(0, 10)
        C = rng.uniform(0.01, 1) / Lv
        k = np.arange(1, steps + 1)
        exact = dict(S1=C * np.sum(k**-0.5), S2=C**2 * np.sum(1.0 / k), gamma_max=C)
        value = SCHEDULE.evaluate(L=Lv, sigma2=sv, Delta=dv, **exact)
        assert value <= theory.bound().evaluate(n=steps, L=Lv, sigma2=sv, Delta=dv, C_gamma=C) * (1 + 1e-12)


def test_every_sgd_form_goes_through_the_one_derivation():
    titles = [s.title for s in SCHEDULE.steps]
    assert titles[:2] == ["descent lemma", "expectation"] and "sum and telescope" in titles
    titles = [s.title for s in PROJECTED.steps]
    assert titles[:4] == ["descent lemma", "projection property", "nonexpansiveness", "expectation"]
    default = [s.title for s in theory.bound().steps]
    assert default[:2] == titles[:1] + ["expectation"]
    assert all(s.justification for b in (SCHEDULE, PROJECTED) for s in b.steps)


def test_identity_preconditioner_gives_plain_sgd():
    plain = descent.per_step(descent.SGD)
    pre = descent.per_step(descent.PRECONDITIONED)
    eye = {theory.symbols.lambda_min: 1, theory.symbols.lambda_max: 1}
    assert sp.simplify(pre.rest.subs(eye) - plain.rest) == 0
    assert sp.simplify(pre.factor.subs(eye) - plain.factor) == 0
    assert sp.simplify(pre.limit.subs(eye) - plain.limit) == 0 and plain.limit == 1 / L


def test_largest_step_floor_only_for_plain_updates():
    with pytest.raises(AssertionError):
        descent.per_step(descent.PRECONDITIONED, floor="largest-step")
    step = descent.per_step(descent.PROJECTED, floor="largest-step")
    assert step.limit is None and sp.simplify(step.factor - (1 - L * gamma_max / 2)) == 0


def test_projected_bound_does_not_vanish():
    """The sigma2 floor: as S1 grows (more steps) the bound tends to sigma2/(1 - L gamma_max/2)."""
    big = PROJECTED.evaluate(L=1.0, sigma2=2.0, Delta=1.0, S1=1e12, gamma_max=0.5)
    assert math.isclose(big, 2.0 / 0.75, rel_tol=1e-9)
