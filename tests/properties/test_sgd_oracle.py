"""Property tests of the SGD theorems on oracles with exactly known constants:
noisy quadratics (convex) and a noisy cosine (nonconvex). One-sided: the 99%
upper confidence limit of the simulated weighted average is at most the bound.
The weights are the theorem's own (``Bound.lhs.weights``). RTOL absorbs rounding only:
noise-free projected GD on a one-dimensional quadratic with gamma = 1/(2L) attains the
projected bound up to a factor 1 - 4^(-n)."""

import numpy as np
import sympy as sp
from cases import cosine_schedule, sgd_oracle
from hypothesis import given
from hypothesis import strategies as st

import theory
from empirical.oracles import NoisyQuadratic, run_sgd
from theory import rates

BOUND = theory.bound("generic", "sgd")
SCHEDULE = theory.bound("generic", "sgd", "schedule")
PROJECTED = theory.bound("generic", "sgd", "projected")
RTOL = 1e-9
#: An oracle (kind, dim, L, sigma2), a horizon n and the largest step as a fraction of 1/L.
ORACLE_RUNS = dict(
    kind=st.sampled_from(["quadratic", "cosine"]),
    dim=st.integers(1, 6),
    L=st.floats(0.1, 10.0),
    sigma2=st.floats(0.0, 5.0),
    n=st.integers(1, 300),
    step_fraction=st.floats(0.05, 1.0),
)


@given(
    **ORACLE_RUNS,
    seed=st.integers(0, 2**31 - 1),
)
def test_bound_dominates_simulated_sgd(kind, dim, L, sigma2, n, step_fraction, seed):
    rng = np.random.default_rng(seed)
    problem = sgd_oracle(kind, dim, L, sigma2, rng)
    C = step_fraction / problem.L
    sim = problem.simulate(n, C, rng, replicates=200)
    bound = BOUND.evaluate(n=n, C_gamma=C, **problem.constants())
    # one-sided: the simulation's 99% upper confidence limit is below the bound
    assert sim.upper(0.99) <= bound * (1 + RTOL)


@given(
    **ORACLE_RUNS,
    warmup=st.integers(0, 20),
    seed=st.integers(0, 2**31 - 1),
)
def test_schedule_bound_dominates_cosine_schedules(kind, dim, L, sigma2, n, step_fraction, warmup, seed):
    rng = np.random.default_rng(seed)
    problem = sgd_oracle(kind, dim, L, sigma2, rng)
    steps = cosine_schedule(n, step_fraction / problem.L, min(warmup, n - 1))
    weights = SCHEDULE.lhs.weights(n, step_sizes=steps)
    sim = run_sgd(problem, steps, weights, rng, replicates=200)
    sums = dict(S1=steps.sum(), S2=np.sum(steps**2), gamma_max=steps.max())
    assert sim.upper(0.99) <= SCHEDULE.evaluate(**sums, **problem.constants()) * (1 + RTOL)


@given(
    **ORACLE_RUNS,
    box=st.floats(0.05, 2.0),
    decay=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_projected_bound_dominates_projected_sgd(kind, dim, L, sigma2, n, step_fraction, box, decay, seed):
    """The projected bound is attained (test_projected_bound_is_attained), so an upper
    confidence limit cannot lie below it: the test is that the simulation shows no
    violation, its 99% LOWER confidence limit at most the bound."""
    rng = np.random.default_rng(seed)
    problem = sgd_oracle(kind, dim, L, sigma2, rng)
    gamma_max = step_fraction / problem.L
    steps = gamma_max * np.arange(1, n + 1) ** -0.5 if decay else np.full(n, gamma_max)
    weights = PROJECTED.lhs.weights(n, step_sizes=steps)
    sim = run_sgd(problem, steps, weights, rng, replicates=1000, box=box, observable=PROJECTED.lhs.observable)
    # Delta = F(theta_0) - inf F with theta_0 projected into the box (inf F = 0 for both oracles)
    start = np.clip(problem.theta0, -box, box)[None, :]
    constants = {**problem.constants(), "Delta": float(problem.value(start)[0])}
    bound = PROJECTED.evaluate(S1=steps.sum(), gamma_max=steps.max(), **constants)
    assert sim.lower(0.99) <= bound * (1 + RTOL)


@given(L=st.floats(0.1, 10.0), theta0=st.floats(-3, 3), n=st.integers(1, 40), sigma2=st.floats(0.01, 5.0))
def test_projected_bound_is_attained(L, theta0, n, sigma2):
    """On F = L theta^2/2 in one dimension with gamma = 1/(2L) and no active box:
    noise-free, theta_k = theta_{k-1}/2 and sum_j gamma ||G~_j||^2 / S1 = (4/3)(1 - 4^-n)
    L^2 theta0^2 / n, the bound is (4/3) L^2 theta0^2 / n; with noise, the stationary
    E||g||^2 = sigma2 / (1 - L gamma/2) is the bound's limit as S1 -> oo."""
    gamma = 1 / (2 * L)
    problem = NoisyQuadratic(np.array([L]), np.eye(1), np.array([0.0]), np.array([theta0]))
    steps = np.full(n, gamma)
    weights = PROJECTED.lhs.weights(n, step_sizes=steps)
    run = run_sgd(
        problem, steps, weights, np.random.default_rng(0), 2, box=10.0, observable="gradient_mapping_sq"
    )
    deterministic = (4 / 3) * (1 - 4.0**-n) * L**2 * theta0**2 / n
    np.testing.assert_allclose(run.mean, deterministic, rtol=1e-12, atol=1e-300)
    bound = PROJECTED.evaluate(L=L, sigma2=0.0, Delta=problem.Delta, S1=n * gamma, gamma_max=gamma)
    np.testing.assert_allclose(deterministic, bound * (1 - 4.0**-n), rtol=1e-12, atol=1e-300)
    # stationary variance of theta_k = (1 - L gamma) theta_{k-1} - gamma xi: gamma sigma2 / (L (2 - L gamma))
    stationary = L**2 * gamma * sigma2 / (L * (2 - L * gamma)) + sigma2
    far = PROJECTED.evaluate(L=L, sigma2=sigma2, Delta=0.0, S1=1e9, gamma_max=gamma)
    np.testing.assert_allclose(stationary, far, rtol=1e-9)


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
