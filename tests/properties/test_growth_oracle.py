"""SGD under a growth condition (docs/theory.md, "SGD under a growth condition") on noisy
quadratics whose gradient noise grows with the gradient, with exactly known constants:
F(theta) = theta^T A theta / 2 (L the largest eigenvalue, inf F = 0), g = grad F + xi with
xi = sqrt(A_growth/d) z + sqrt(G_growth) ||grad F|| u (z ~ N(0, I_d), u uniform on the unit
sphere, independent), so E[g] = grad F and E||g - grad F||^2 = A_growth + G_growth ||grad F||^2
exactly. (A Gaussian factor w grad F instead of ||grad F|| u has the same moments but makes the
runs' averages heavy-tailed at large G: the Monte-Carlo error then hides a near-tight bound.)
One-sided: the 99% upper confidence limit of the simulated gamma-weighted average of
||grad F(theta_j)||^2 over many runs is at most the bound."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
from cases import cosine_schedule
from hypothesis import given, settings
from hypothesis import strategies as st

import theory

GROWTH = theory.bound("generic", "sgd", "growth")
RTOL = 1e-9


def simulate(eigenvalues, theta0, A, G, steps, replicates, rng) -> tuple[float, float]:
    """(mean, standard error) over ``replicates`` runs of sum_j gamma_(j+1) ||grad F(theta_j)||^2 / S1."""
    d = eigenvalues.size
    theta = np.tile(theta0, (replicates, 1))
    total = np.zeros(replicates)
    for gamma in steps:
        grad = theta * eigenvalues
        z, u = rng.normal(size=(replicates, d)), rng.normal(size=(replicates, d))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        g = grad + np.sqrt(A / d) * z + np.sqrt(G) * np.linalg.norm(grad, axis=1, keepdims=True) * u
        total += gamma * np.einsum("ij,ij->i", grad, grad)
        theta = theta - gamma * g
    total /= steps.sum()
    return float(total.mean()), float(total.std(ddof=1) / np.sqrt(replicates))


def exact(eigenvalues, theta0, A, G, steps) -> float:
    """The same average in expectation, exactly: with S = E[theta theta^T], Lambda = diag(eigenvalues)
    and E[u u^T] = I/d,
    S' = (I - gamma Lambda) S (I - gamma Lambda) + gamma^2 (A + G tr(Lambda S Lambda)) I/d."""
    d = eigenvalues.size
    second = np.outer(theta0, theta0)
    total = 0.0
    for gamma in steps:
        grad_sq = float(np.sum(eigenvalues**2 * np.diag(second)))
        total += gamma * grad_sq
        keep = 1 - gamma * eigenvalues
        second = keep[:, None] * second * keep[None, :] + gamma**2 * (A + G * grad_sq) * np.eye(d) / d
    return total / steps.sum()


def problem(dim: int, L: float, rng: np.random.Generator, scale: float) -> tuple[np.ndarray, np.ndarray]:
    eigenvalues = rng.uniform(0, L, size=dim)
    eigenvalues[rng.integers(dim)] = L
    return eigenvalues, rng.normal(size=dim) * scale


def schedule(kind: str, n: int, top: float) -> np.ndarray:
    if kind == "constant":
        return np.full(n, top)
    if kind == "decay":
        return top / np.sqrt(np.arange(1, n + 1))
    return cosine_schedule(n, top, min(5, n - 1))


ORACLES = dict(
    dim=st.integers(1, 5),
    L=st.floats(0.1, 10.0),
    A=st.floats(0.0, 5.0),
    G=st.floats(0.0, 3.0),
    n=st.integers(1, 200),
    kind=st.sampled_from(("constant", "decay", "cosine")),
    scale=st.floats(0.1, 3.0),
    seed=st.integers(0, 2**31 - 1),
)


def _bound(eigenvalues, theta0, L, A, G, steps) -> float:
    delta = 0.5 * float(np.sum(eigenvalues * theta0**2))
    sums = dict(S1=steps.sum(), S2=np.sum(steps**2), gamma_max=steps.max())
    return GROWTH.evaluate(Delta=delta, L=L, A_growth=A, G_growth=G, **sums)


@settings(max_examples=40, deadline=None)
@given(**ORACLES, fraction=st.one_of(st.just(1.0), st.floats(0.05, 1.0)))
def test_growth_bound_dominates_the_exact_expectation(dim, L, A, G, n, kind, scale, seed, fraction):
    """Up to the step limit itself, where the bound can be attained (one dimension, F(theta_n) ~ 0):
    the exact expectation is at most the bound; the simulation agrees with it."""
    rng = np.random.default_rng(seed)
    eigenvalues, theta0 = problem(dim, L, rng, scale)
    steps = schedule(kind, n, fraction / (L * (1 + G)))
    weights = GROWTH.lhs.weights(n, step_sizes=steps)
    np.testing.assert_allclose(weights, steps / steps.sum(), rtol=1e-12)  # the gamma-weighted average
    truth = exact(eigenvalues, theta0, A, G, steps)
    assert truth <= _bound(eigenvalues, theta0, L, A, G, steps) * (1 + RTOL)
    mean, error = simulate(eigenvalues, theta0, A, G, steps[:20], 400, rng)  # the simulator is the model
    assert abs(mean - exact(eigenvalues, theta0, A, G, steps[:20])) <= 6 * error + 1e-12 * mean


@settings(max_examples=25, deadline=None)
@given(**ORACLES, fraction=st.floats(0.05, 0.8))
def test_growth_bound_dominates_simulated_sgd(dim, L, A, G, n, kind, scale, seed, fraction):
    """Monte Carlo, one-sided. At steps up to 0.8/(L (1 + G)) the descent lemma keeps
    (1 - 0.4) gamma_k instead of gamma_k/2: the truth is at most 1/(2 - 0.8) = 0.83 of the bound,
    a gap the 99% upper confidence limit over 1000 runs stays inside."""
    rng = np.random.default_rng(seed)
    eigenvalues, theta0 = problem(dim, L, rng, scale)
    steps = schedule(kind, n, fraction / (L * (1 + G)))
    mean, error = simulate(eigenvalues, theta0, A, G, steps, 1000, rng)
    assert mean + NormalDist().inv_cdf(0.99) * error <= _bound(eigenvalues, theta0, L, A, G, steps) * (
        1 + RTOL
    )


def test_growth_bound_at_its_step_limit_with_a_large_G():
    """The largest step 1/(L (1 + G)) with G = 4: the relative noise is twice the gradient."""
    rng = np.random.default_rng(22)
    L, A, G, n = 2.0, 0.5, 4.0, 300
    eigenvalues, theta0 = np.array([L, 1.0, 0.3]), np.array([1.5, -1.0, 2.0])
    steps = np.full(n, 1 / (L * (1 + G)))
    mean, error = simulate(eigenvalues, theta0, A, G, steps, 4000, rng)
    delta = 0.5 * float(np.sum(eigenvalues * theta0**2))
    values = dict(Delta=delta, L=L, A_growth=A, G_growth=G, S1=steps.sum(), S2=np.sum(steps**2))
    bound = GROWTH.evaluate(**values, gamma_max=steps.max())
    assert mean + NormalDist().inv_cdf(0.99) * error <= bound * (1 + RTOL)
    # the bounded-variance theorem would need sigma2 >= the largest variance seen, A + G ||grad F(theta_0)||^2
    largest = A + G * float(np.sum((eigenvalues * theta0) ** 2))
    schedule_bound = theory.bound("generic", "sgd", "schedule")
    assert bound < schedule_bound.evaluate(Delta=delta, L=L, sigma2=largest, S1=values["S1"], S2=values["S2"],
                                           gamma_max=steps.max())  # fmt: skip
