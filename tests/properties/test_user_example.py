"""The documented example of a user's own property test (empirical.strategies)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theory
from empirical.oracles import run_sgd
from empirical.strategies import (
    bound_constants,
    cosine_oracles,
    quadratic_oracles,
    step_sequences,
    vae_configs,
)

BOUND = theory.bound("generic", "sgd")


@given(problem=quadratic_oracles(), n=st.integers(1, 200), seed=st.integers(0, 2**32 - 1))
def test_sgd_bound_holds(problem, n, seed):
    C = 0.5 / problem.L
    sim = problem.simulate(n, C, np.random.default_rng(seed))
    assert sim.upper(0.99) <= BOUND.evaluate(n=n, C_gamma=C, **problem.constants())


@pytest.mark.parametrize(
    "key",
    [
        ("generic", "sgd"),
        ("generic", "sgd", "schedule"),
        ("generic", "sgd", "projected"),
        ("bbvi", "adam"),
        ("linear", "sgd", "schedule"),
    ],
    ids=lambda key: "/".join(key),
)
@given(data=st.data())
def test_bound_constants_are_admissible(key, data):
    bound = theory.bound(*key)
    values = data.draw(bound_constants(bound))
    assert not bound.check(values)
    assert np.isfinite(bound.evaluate(**values))


@settings(max_examples=150, deadline=None)  # about 2 draws per bound (derandomized: the same each run)
@given(data=st.data(), key=st.sampled_from(theory.catalog.registered()))
def test_bound_constants_evaluate_for_every_bound(data, key):
    """Drawn up to 1000 times their typical values, the constants overflowed many bounds (95 in 100
    draws of gaussian/adam/defossez, e.g. a = 340 in exp(a)) while passing their assumptions."""
    bound = theory.bound(*key)
    assert np.isfinite(bound.evaluate(**data.draw(bound_constants(bound))))


@given(problem=cosine_oracles(), data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_schedule_bound_holds_for_any_steps(problem, data, seed):
    schedule = theory.bound("generic", "sgd", "schedule")
    steps = data.draw(step_sequences(gamma_max=1 / problem.L))
    weights = schedule.lhs.weights(len(steps), step_sizes=steps)
    sim = run_sgd(problem, steps, weights, np.random.default_rng(seed))
    sums = {"S1": steps.sum(), "S2": np.sum(steps**2), "gamma_max": steps.max()}
    assert sim.upper(0.99) <= schedule.evaluate(**sums, **problem.constants()) * (1 + 1e-9)


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


def test_the_module_docstring_example_runs_as_written():
    """The docstring's example used st without importing it (NameError when copied)."""
    import textwrap

    import empirical.strategies

    doc = empirical.strategies.__doc__
    code = textwrap.dedent(doc.split("::\n", 1)[1])
    scope: dict = {}
    exec(compile(code, "empirical.strategies docstring", "exec"), scope)
    scope["test_sgd_bound_holds"]()


@pytest.mark.parametrize("gamma_max", [0, -1.0, float("inf"), float("nan"), True, "0.5"])
def test_step_sequences_refuses_a_bad_largest_step_when_made(gamma_max):
    """It drew [0.], [-1.], [inf], [nan] for such a gamma_max, against its 'positive steps'."""
    with pytest.raises(ValueError, match="step_sequences: gamma_max must be a finite number > 0"):
        step_sequences(gamma_max=gamma_max)
