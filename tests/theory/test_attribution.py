"""theory.attribution: the terms of a bound and the elasticity of every
constant, by hand on the SGD bound and against finite differences elsewhere."""

from __future__ import annotations

import math

import numpy as np
import pytest

import theory
from theory import symbols as S
from theory.attribution import attribution, split_terms

SGD = {"n": 10_000, "L": 2.0, "sigma2": 0.5, "Delta": 3.0, "C_gamma": 0.25}


def test_sgd_terms_and_elasticities_by_hand():
    """(2 Delta + L sigma2 C^2 (1 + log n)) / (C sqrt(n)) = A + B with A = 2 Delta/(C sqrt n),
    B = L sigma2 C (1 + log n)/sqrt(n); shares a = A/(A+B), b = B/(A+B)."""
    n, L, s2, D, C = (SGD[k] for k in ("n", "L", "sigma2", "Delta", "C_gamma"))
    A = 2 * D / (C * math.sqrt(n))
    B = L * s2 * C * (1 + math.log(n)) / math.sqrt(n)
    a, b = A / (A + B), B / (A + B)
    got = attribution(theory.bound("generic", "sgd"), **SGD)
    assert got.value == pytest.approx(A + B, rel=1e-13)
    assert got.value == pytest.approx(theory.bound("generic", "sgd").evaluate(**SGD), rel=1e-13)
    assert [t.name for t in got.terms] == ["Delta term", "L sigma2 term (log n)"]
    assert [t.value for t in got.terms] == pytest.approx([A, B], rel=1e-13)
    assert [t.share for t in got.terms] == pytest.approx([a, b], rel=1e-13)
    assert got.dominant.name == "Delta term"
    want = {
        "Delta": a,
        "L": b,
        "sigma2": b,
        "C_gamma": -a + b,
        "n": -0.5 + b / (1 + math.log(n)),
        "log(n)": b * math.log(n) / (1 + math.log(n)),
    }
    assert {e.quantity for e in got.elasticities} == set(want)
    for quantity, value in want.items():
        assert got.elasticity(quantity) == pytest.approx(value, rel=1e-12), quantity
    assert "| Delta term |" in got.table() and got.as_dict()["elasticities"]["L"] == pytest.approx(b)


POINT = {
    "n": 2000,
    "L": 81.0,
    "sigma2": 17.6,
    "sigma2_data": 197.5,
    "sigma2_mc": 366.8,
    "B": 32,
    "K": 3,
    "Delta": 14.8,
    "C_gamma": 1e-3,
    "R": 4.6,
    "d": 9936,
    "alpha_step": 1e-3,
    "beta1": 0.9,
    "beta2": 0.999,
    "eps": 1e-8,
    "lambda_min": 0.2,
    "lambda_max": 30.0,
    "C_alpha": 0.5,
    "alpha_bias": 0.3,
}
CASES = [
    ("generic", "sgd", ""),
    ("generic", "adam", ""),
    ("generic", "adam", "defossez"),
    ("generic", "adam", "defossez-horizon"),
    ("generic", "adam", "aposteriori"),
    ("generic", "adam", "biased"),
    ("generic", "adagrad", ""),
    ("generic", "adagrad", "aposteriori"),
    ("gaussian", "sgd", ""),
    ("linear", "adam", "defossez"),
]


@pytest.mark.parametrize("key", CASES)
def test_elasticities_match_finite_differences(key):
    model = key[0]
    b = theory.bound(*key) if model in ("generic", "linear") else theory.bound(*key, expand=False)
    values = {c: POINT.get(c, S.REGISTRY[c].typical) for c in b.constants}
    got = attribution(b, **values)
    f = b.numpy().func
    args = b.numpy().args

    def value(**changed):
        return float(f(*({**values, **changed}[a] for a in args)))

    assert got.value == pytest.approx(value(), rel=1e-10)
    assert sum(t.value for t in got.terms) == pytest.approx(got.value, rel=1e-10)
    h = 1e-6
    for name in args:
        x = values[name]
        if name == "beta1":
            quantity, up, down = "1 - beta1", 1 - (1 - x) * math.exp(h), 1 - (1 - x) * math.exp(-h)
        elif name == "beta2":
            quantity, up, down = "1/(1 - beta2)", 1 - (1 - x) * math.exp(-h), 1 - (1 - x) * math.exp(h)
        else:
            quantity, up, down = name, x * math.exp(h), x * math.exp(-h)
        fd = (math.log(value(**{name: up})) - math.log(value(**{name: down}))) / (2 * h)
        assert got.elasticity(quantity) == pytest.approx(fd, rel=1e-5, abs=1e-7), (key, quantity)


def test_log_factor_elasticity_against_finite_differences():
    """Scaling log(1 + R^2/((1 - beta2) eps)) by t: d log bound/d log t at t = 1."""
    b = theory.bound("generic", "adam", "defossez")
    values = {c: POINT[c] for c in b.constants}
    got = attribution(b, **values)
    name = "log(R**2/(eps*(1 - beta2)) + 1)"
    base = math.log(1 + values["R"] ** 2 / ((1 - values["beta2"]) * values["eps"]))

    def scaled(t):
        v = values
        N_tilde = v["n"] - v["beta1"] / (1 - v["beta1"])
        ratio = 1 - v["beta1"] / v["beta2"]
        a, d, R, L, b1, b2 = v["alpha_step"], v["d"], v["R"], v["L"], v["beta1"], v["beta2"]
        E = (
            a * d * R * L * (1 - b1) / (ratio * (1 - b2))
            + 12 * d * R**2 * math.sqrt(1 - b1) / (ratio**1.5 * math.sqrt(1 - b2))
            + 2 * a**2 * d * L**2 * b1 / (ratio * (1 - b2) ** 1.5)
        )
        return 2 * R * v["Delta"] / (a * N_tilde) + E / N_tilde * (t * base - v["n"] * math.log(b2))

    h = 1e-6
    fd = (math.log(scaled(math.exp(h))) - math.log(scaled(math.exp(-h)))) / (2 * h)
    assert got.elasticity(name) == pytest.approx(fd, rel=1e-6)
    assert got.dominant.name == "d R^2 term x " + name


def test_split_terms_keeps_sums_in_n_and_hyperparameters_whole():
    b = theory.bound("generic", "adam", "defossez")
    terms = split_terms(b.expr)
    assert len(terms) == 7
    assert all(not t.is_Add for t in terms)
    at = {S.get(name): value for name, value in POINT.items()}
    assert float(sum(terms).subs(at)) == pytest.approx(float(b.expr.subs(at)), rel=1e-12)
    assert len(split_terms(theory.bound("generic", "sgd").expr)) == 2


def test_piecewise_bound_uses_the_branch_that_holds():
    b = theory.bound("generic", "sgd", "biased")
    values = {c: POINT[c] for c in b.constants}
    for alpha_bias in (0.1, 0.25, 0.4):
        got = attribution(b, **{**values, "alpha_bias": alpha_bias})
        assert got.value == pytest.approx(b.evaluate(**{**values, "alpha_bias": alpha_bias}), rel=1e-10)


def test_constraints_are_not_checked_but_inputs_are():
    b = theory.bound("generic", "sgd")
    over = attribution(b, **{**SGD, "C_gamma": 10.0})  # above the step limit 1/L: examined anyway
    assert over.value > 0
    with pytest.raises(theory.MissingConstantError, match="Delta"):
        attribution(b, n=10, L=1.0, sigma2=1.0, C_gamma=0.1)
    with pytest.raises(theory.UnknownNameError, match="Lipschitz"):
        attribution(b, **SGD, Lipschitz=2.0)
    with pytest.raises(theory.AssumptionViolation, match="L"):
        attribution(b, **{**SGD, "L": float("nan")})
    assert np.isfinite(over.elasticity("C_gamma"))
