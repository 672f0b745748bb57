"""Property tests of the SGD theorem on noisy quadratics with exactly known constants."""

import numpy as np
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import theory
from empirical.oracles import NoisyQuadratic
from theory import rates

BOUND = theory.bound("generic", "sgd")


@given(
    dim=st.integers(1, 6),
    L=st.floats(0.1, 10.0),
    sigma2=st.floats(0.0, 5.0),
    n=st.integers(1, 300),
    step_fraction=st.floats(0.05, 1.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_bound_dominates_simulated_sgd(dim, L, sigma2, n, step_fraction, seed):
    rng = np.random.default_rng(seed)
    problem = NoisyQuadratic.random(dim, L, sigma2, rng)
    C = step_fraction / problem.L
    sim = problem.simulate(n, C, rng, replicates=200)
    bound = BOUND.evaluate(n=n, C_gamma=C, **problem.constants())
    # one-sided: the simulation's 99% upper confidence limit is below the bound
    assert sim.upper(0.99) <= bound


@given(
    L=st.floats(0.01, 100.0),
    sigma2=st.floats(0.0, 100.0),
    Delta=st.floats(0.0, 100.0),
    n=st.integers(1, 10**6),
    step_fraction=st.floats(1e-3, 1.0),
)
def test_evaluate_and_numpy_agree(L, sigma2, Delta, n, step_fraction):
    values = {"L": L, "sigma2": sigma2, "Delta": Delta, "n": n, "C_gamma": step_fraction / L}
    scalar = BOUND.evaluate(**values)
    vector = BOUND.numpy()(**{k: np.array([v, v]) for k, v in values.items()})
    np.testing.assert_allclose(vector, scalar, rtol=1e-12)


@given(
    L=st.floats(0.01, 100.0),
    sigma2=st.floats(1e-3, 100.0),
    Delta=st.floats(1e-3, 100.0),
    n=st.integers(2, 10**6),
    rel=st.floats(1e-3, 0.5),
)
def test_optimal_step_constant_beats_neighbours(L, sigma2, Delta, n, rel):
    values = {"L": L, "sigma2": sigma2, "Delta": Delta, "n": n}
    c_star = float(rates.optimal_step_constant(BOUND, values))
    best = BOUND.evaluate(C_gamma=c_star, **values)
    for c in (c_star * (1 - rel), min(c_star * (1 + rel), 1 / L)):
        assert best <= BOUND.evaluate(C_gamma=c, **values) * (1 + 1e-12)


@given(alpha=st.fractions(min_value="1/100", max_value="99/100", max_denominator=200))
def test_rate_exponent_is_minus_min_alpha(alpha):
    a = sp.Rational(alpha.numerator, alpha.denominator)
    p, q = rates.rate_exponent(theory.bound(alpha=a).expr)
    assert p == -min(a, 1 - a)
    assert q == (1 if a == sp.Rational(1, 2) else 0)
