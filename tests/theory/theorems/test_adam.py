"""Adam and Adagrad bounds: Défossez et al. 2022 against an independent numpy
implementation; the horizon specialisation; the seed constant-beta2 form."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

import theory
from theory import symbols as S
from theory.rates import leading_order
from theory.theorems import adam_defossez, adam_seed


def numpy_defossez_adam(R, L, Delta, d, alpha, beta1, beta2, eps, N):
    """Défossez, Bottou, Bach, Usunier (TMLR 2022), Adam with momentum, typed from the paper."""
    n_tilde = N - beta1 / (1 - beta1)
    r = 1 - beta1 / beta2
    E = (
        alpha * d * R * L * (1 - beta1) / (r * (1 - beta2))
        + 12 * d * R**2 * np.sqrt(1 - beta1) / (r**1.5 * np.sqrt(1 - beta2))
        + 2 * alpha**2 * d * L**2 * beta1 / (r * (1 - beta2) ** 1.5)
    )
    return 2 * R * Delta / (alpha * n_tilde) + E / n_tilde * (
        np.log(1 + R**2 / ((1 - beta2) * eps)) - N * np.log(beta2)
    )


def numpy_defossez_adagrad(R, L, Delta, d, alpha, eps, N):
    return 2 * R * Delta / (alpha * np.sqrt(N)) + (4 * d * R**2 + alpha * d * R * L) / np.sqrt(N) * np.log(
        1 + N * R**2 / eps
    )


CASES = [
    dict(R=1.0, L=10.0, Delta=5.0, d=100, alpha=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, N=1000),
    dict(R=0.3, L=2.5, Delta=0.7, d=7, alpha=0.05, beta1=0.0, beta2=0.9, eps=1e-3, N=50),
    dict(R=4.0, L=100.0, Delta=30.0, d=12345, alpha=3e-4, beta1=0.5, beta2=0.99, eps=1e-6, N=10**6),
    dict(R=2.0, L=0.1, Delta=1e-3, d=1, alpha=1.0, beta1=0.95, beta2=0.9999, eps=1.0, N=10**4),
]


def _names(case):
    out = {k: v for k, v in case.items() if k not in ("alpha", "N")}
    return {**out, "alpha_step": case["alpha"], "n": case["N"]}


@pytest.mark.parametrize("case", CASES)
def test_defossez_adam_matches_numpy(case):
    got = theory.bound("generic", "adam", "defossez").evaluate(**_names(case))
    want = numpy_defossez_adam(**case)
    assert abs(got - want) <= 1e-9 * abs(want)


@pytest.mark.parametrize("case", CASES)
def test_defossez_adagrad_matches_numpy(case):
    values = {k: v for k, v in _names(case).items() if k not in ("beta1", "beta2")}
    got = theory.bound("generic", "adagrad").evaluate(**values)
    want = numpy_defossez_adagrad(**{k: v for k, v in case.items() if k not in ("beta1", "beta2")})
    assert abs(got - want) <= 1e-9 * abs(want)


def test_defossez_parameters_are_checked():
    b = theory.bound("generic", "adam", "defossez")
    good = _names(CASES[0])
    with pytest.raises(theory.AssumptionViolation, match="beta1"):
        b.evaluate(**{**good, "beta1": 0.9995})  # beta1 > beta2
    with pytest.raises(theory.AssumptionViolation, match="horizon"):
        b.evaluate(**{**good, "n": 5})  # N~ < 0
    with pytest.raises(theory.AssumptionViolation, match="beta2"):
        b.evaluate(**{**good, "beta2": float("nan")})
    with pytest.raises(theory.MissingConstantError, match="eps"):
        b.evaluate(**{k: v for k, v in good.items() if k != "eps"})


def test_constant_beta2_does_not_vanish_but_horizon_beta2_does():
    assert theory.bound("generic", "adam", "defossez").rate() == 1
    h = theory.bound("generic", "adam", "defossez-horizon")
    assert h.rate() == sp.log(S.n) / sp.sqrt(S.n)
    base = {"R": 1.0, "L": 10.0, "Delta": 5.0, "d": 10, "beta1": 0.9, "eps": 1e-8, "C_gamma": 0.01}
    values = [h.evaluate(n=m, **base) for m in (10**3, 10**5, 10**7)]
    assert values[0] > values[1] > values[2]
    fixed = adam_defossez.defossez_adam_expr(step=S.C_gamma / sp.sqrt(S.n))
    f = sp.lambdify(sorted(fixed.free_symbols, key=str), fixed)
    far = f(*[{**base, "beta2": 0.999, "n": 1e12}[x.name] for x in sorted(fixed.free_symbols, key=str)])
    limit = float(
        adam_defossez.constant_beta2_limit().subs({S.get(k): v for k, v in {**base, "beta2": 0.999}.items()})
    )
    assert limit > 0 and far == pytest.approx(limit, rel=1e-3)


@pytest.mark.slow
def test_limits_of_the_horizon_derivation_agree_with_sympy():
    specialised = adam_defossez.defossez_adam_expr(step=S.C_gamma / sp.sqrt(S.n), b2=1 - 1 / S.n)
    got = sp.limit(specialised / (sp.log(S.n) / sp.sqrt(S.n)), S.n, sp.oo)
    assert sp.simplify(got - adam_defossez.horizon_rate_constant()) == 0
    const = sp.limit(adam_defossez.defossez_adam_expr(step=S.C_gamma / sp.sqrt(S.n)), S.n, sp.oo)
    assert sp.simplify(const - adam_defossez.constant_beta2_limit()) == 0
    assert leading_order(specialised) == sp.log(S.n) / sp.sqrt(S.n)
    assert leading_order(adam_defossez.defossez_adam_expr()) == 1


def test_seed_adam_is_the_preconditioned_sgd_bound():
    b = theory.bound("generic", "adam")
    lam_max, lam_min = 1 / S.eps, 1 / (S.R + S.eps)
    H = 1 + sp.log(S.n)
    expected = (2 * S.Delta + S.L * lam_max**2 * S.sigma2 * S.C_gamma**2 * H) / (
        lam_min * S.C_gamma * sp.sqrt(S.n) * (1 - S.beta1)
    )
    assert sp.simplify(b.expr - expected) == 0
    assert sp.simplify(b.step_limit - S.eps**2 / (S.L * (S.R + S.eps))) == 0
    assert b.rate() == sp.log(S.n) / sp.sqrt(S.n)
    assert not b.tight and "order" in b.explain()
    values = dict(Delta=1, L=2, sigma2=1, R=1, eps=0.1, n=100, beta1=0.5, beta2=0.9)
    ok = b.evaluate(C_gamma=0.004, **values)
    assert math.isfinite(ok) and ok > 0
    with pytest.raises(theory.AssumptionViolation, match="C_gamma"):
        b.evaluate(C_gamma=0.01, **values)  # limit 0.01/2.2
    with pytest.raises(theory.AssumptionViolation, match="sqrt"):
        b.evaluate(C_gamma=0.004, **{**values, "beta2": 0.2})  # beta1 > sqrt(beta2)


def test_seed_adam_reduces_to_sgd_for_identity_preconditioner():
    final, _, limit = adam_seed.preconditioned_sgd()
    sgd = theory.bound("generic", "sgd")
    reduced = final.subs({S.lambda_min: 1, S.lambda_max: 1})
    assert sp.simplify(reduced - sgd.expr) == 0
    assert limit.subs({S.lambda_min: 1, S.lambda_max: 1}) == sgd.step_limit


@pytest.mark.parametrize("model", ["generic", "gaussian", "iwae"])
def test_defossez_bounds_evaluate_at_any_hyperparameters(model):
    """No step condition hides in Défossez et al.'s bounds: any step alpha > 0, any
    0 <= beta1 < beta2 < 1 and eps > 0 (with N > beta1/(1 - beta1)) give a finite value."""
    adam = theory.bound(model, "adam", "defossez", expand=False)
    adagrad = theory.bound(model, "adagrad", expand=False)
    assert adam.step_limit is None and adagrad.step_limit is None
    assert {a.id for a in adam.assumptions} & {"step-size"} == set()
    base = {"R": 4.6, "L": 81.0, "Delta": 14.8, "d": 9936, "n": 2000}
    grid = [(1e-3, 0.9, 0.999, 1e-8), (10.0, 0.99, 0.999, 1e-12), (1e-6, 0.0, 0.5, 1.0)]
    for alpha, beta1, beta2, eps in grid:
        hyper = {"alpha_step": alpha, "beta1": beta1, "beta2": beta2, "eps": eps}
        for b in (adam, adagrad):
            values = {k: v for k, v in {**base, **hyper}.items() if k in b.constants}
            assert math.isfinite(b.evaluate(**values)) and b.evaluate(**values) > 0
    assert adam.has_rate and adam.rate() == 1  # constant beta2: the bound does not vanish
    assert adagrad.rate() == sp.log(S.n) / sp.sqrt(S.n)
