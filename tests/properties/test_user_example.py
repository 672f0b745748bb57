"""The documented example of a user's own property test (empirical.strategies)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import theory
from empirical.strategies import bound_constants, quadratic_oracles, vae_configs

BOUND = theory.bound("generic", "sgd")


@given(problem=quadratic_oracles(), n=st.integers(1, 200), seed=st.integers(0, 2**32 - 1))
def test_sgd_bound_holds(problem, n, seed):
    C = 0.5 / problem.L
    sim = problem.simulate(n, C, np.random.default_rng(seed))
    assert sim.upper(0.99) <= BOUND.evaluate(n=n, C_gamma=C, **problem.constants())


@given(values=bound_constants(BOUND))
def test_bound_constants_are_admissible(values):
    assert not BOUND.check(values)
    assert np.isfinite(BOUND.evaluate(**values))


@given(config=vae_configs())
def test_vae_configs_build_models_inside_the_assumptions(config):
    import torch

    from empirical.models import make

    config = dict(config)
    kind, dim = config.pop("kind"), config.pop("data_dim")
    model = make(kind, dim, **config)
    params = model.init_params(torch.Generator().manual_seed(0))
    x = torch.rand(dim, dtype=torch.float64)
    eps = model.sample_noise(torch.Generator().manual_seed(1))
    assert torch.isfinite(model.loss(params, x, eps))
