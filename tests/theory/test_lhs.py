"""The left-hand side as data (Bound.lhs) and the assumption ids."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import theory
from theory import lhs as LHS
from theory import symbols as S
from theory.assumptions import IDS


def test_every_bound_says_what_it_bounds():
    for key in theory.registered():
        b = theory.bound(*key)
        assert isinstance(b.lhs, theory.LeftHandSide)
        assert b.lhs.observable in LHS.OBSERVABLES
        assert b.lhs.latex and b.lhs.text and str(b.lhs) == b.lhs.latex
        free = sp.sympify(b.lhs.weight).free_symbols
        assert free <= {S.j, S.n, S.gamma_next, S.beta1}, (key, free)


@pytest.mark.parametrize(
    "key, kind",
    [
        (("generic", "sgd"), "uniform"),
        (("generic", "adam"), "uniform"),
        (("generic", "adagrad"), "uniform"),
        (("generic", "sgd", "biased"), "uniform"),
        (("gaussian", "sgd"), "uniform"),
        (("generic", "sgd", "schedule"), "steps"),
        (("iwae", "sgd", "schedule"), "steps"),
        (("generic", "sgd", "projected"), "steps-mapping"),
        (("linear", "sgd", "projected"), "steps-mapping"),
        (("generic", "adam", "defossez"), "momentum"),
        (("generic", "adam", "defossez-horizon"), "momentum"),
        (("beta", "adam", "defossez"), "momentum"),
    ],
)
def test_weights_of_each_theorem(key, kind):
    b = theory.bound(*key)
    n = 7
    steps = np.array([0.5, 0.4, 0.3, 0.3, 0.2, 0.1, 0.05])
    if kind == "uniform":
        np.testing.assert_allclose(b.lhs.weights(n), np.full(n, 1 / n), rtol=1e-15)
        assert b.lhs.uniform and not b.lhs.uses_steps
    elif kind.startswith("steps"):
        np.testing.assert_allclose(b.lhs.weights(n, step_sizes=steps), steps / steps.sum(), rtol=1e-15)
        assert b.lhs.uses_steps
        want = "gradient_mapping_sq" if kind.endswith("mapping") else "grad_norm_sq"
        assert b.lhs.observable == want
    else:  # P(tau = j) proportional to 1 - beta1^(n - j), j = 0..n-1
        beta1 = 0.9
        raw = np.array([1 - beta1 ** (n - j) for j in range(n)])
        np.testing.assert_allclose(b.lhs.weights(n, beta1=beta1), raw / raw.sum(), rtol=1e-14)
        np.testing.assert_allclose(b.lhs.weights(n, beta1=0.0), np.full(n, 1 / n), rtol=1e-15)
        assert b.lhs.constants == ("beta1",)


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (lambda w: w(0), theory.AssumptionViolation, "n must be an integer >= 1"),
        (lambda w: w(2.5), theory.AssumptionViolation, "n must be an integer"),
        (lambda w: w(True), theory.AssumptionViolation, "n must be a real number"),
        (lambda w: w(3), theory.MissingConstantError, "step_sizes"),
        (lambda w: w(3, step_sizes=[0.1, 0.2]), theory.AssumptionViolation, "length n = 3"),
        (lambda w: w(3, step_sizes=[0.1, -0.2, 0.1]), theory.AssumptionViolation, "gamma_2"),
        (lambda w: w(3, step_sizes=[0.1, float("nan"), 0.1]), theory.AssumptionViolation, "gamma_2"),
        (lambda w: w(3, step_sizes=[0.1] * 3, beta1=0.5), theory.UnknownNameError, "beta1"),
    ],
)
def test_bad_weight_inputs_are_typed_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call(theory.bound("generic", "sgd", "schedule").lhs.weights)


def test_momentum_weights_need_beta1_in_its_domain():
    w = theory.bound("generic", "adam", "defossez").lhs.weights
    with pytest.raises(theory.MissingConstantError, match="beta1"):
        w(5)
    with pytest.raises(theory.AssumptionViolation, match="beta1 must be a number in"):
        w(5, beta1=1.0)


def test_assumption_ids_are_known_and_unique_per_bound():
    for key in theory.registered():
        b = theory.bound(*key)
        ids = [a.id for a in b.assumptions]
        assert set(ids) <= set(IDS), key
        assert len(ids) == len(set(ids)), (key, ids)
        assert {"smooth", "lower-bounded", "algorithm"} <= set(ids), key


def test_ids_name_what_each_theorem_needs():
    ids = {key: {a.id for a in theory.bound(*key).assumptions} for key in theory.registered()}
    assert "box" in ids[("generic", "sgd", "projected")]
    assert "box" not in ids[("generic", "sgd", "")]
    assert {"box", "smooth-activations", "architecture"} <= ids[("gaussian", "sgd", "")]
    assert {"momentum", "preconditioner", "bounded-sup"} <= ids[("generic", "adam", "")]
    assert "variance-split" in ids[("iwae", "sgd", "schedule")]
    assert "biased-gradient" in ids[("iwae", "adam", "biased")]


def test_violations_carry_the_assumption_id():
    b = theory.bound()
    (violation,) = b.check({"L": 2.0, "C_gamma": 1.0})
    assert violation.id == "step-size" and "C_gamma" in violation.message
    (domain,) = b.check({"L": -2.0})
    assert domain.id == "domain"
    with pytest.raises(theory.AssumptionViolation, match=r"\[step-size\]"):
        b.evaluate(n=10, L=2.0, sigma2=1.0, Delta=1.0, C_gamma=1.0)


def test_unknown_assumption_id_is_rejected():
    with pytest.raises(ValueError, match="unknown assumption id"):
        theory.Assumption("smoothness", "L-smooth", "")


@pytest.mark.parametrize("N, beta1", [(1, 0.5), (2, 0.9), (7, 0.9), (30, 0.99), (12, 0.0)])
def test_defossez_tau_weights_against_the_proofs_double_sum(N, beta1):
    """Défossez et al. bound sum_{n=1}^N sum_{k=0}^{n-1} beta1^k E||grad F(x_{n-k-1})||^2 (the
    gradient of step n is taken at x_{n-1}); the coefficient of iterate x_j, j = 0..N-1, is
    (1 - beta1^(N-j))/(1 - beta1): P(tau = j) proportional to 1 - beta1^(N - j), x_0 included."""
    coeff = np.zeros(N)
    for step in range(1, N + 1):
        for lag in range(step):
            coeff[step - lag - 1] += beta1**lag
    got = theory.bound("generic", "adam", "defossez").lhs.weights(N, beta1=beta1)
    np.testing.assert_allclose(got, coeff / coeff.sum(), rtol=1e-13)
    # the normaliser sum_j (1 - beta1^(N-j)) = N - beta1 (1 - beta1^N)/(1 - beta1) >= N~
    total = coeff.sum() * (1 - beta1)
    assert total == pytest.approx(N - beta1 * (1 - beta1**N) / (1 - beta1), rel=1e-12)
    assert total >= N - beta1 / (1 - beta1) - 1e-12
