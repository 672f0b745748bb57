# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 — Writing your own convergence property tests
#
# **What this shows.** `empirical.strategies` exports hypothesis strategies
# for problems whose constants are known exactly or drawn inside a theorem's
# assumptions: `quadratic_oracles()` and `cosine_oracles()` (noisy quadratics,
# and a nonconvex noisy cosine, with exact L, sigma2 and Delta),
# `step_sequences()` (any steps up to a limit), `bound_constants(bound)`
# (admissible values for every constant of a `theory.Bound`) and
# `vae_configs()` (VAE options inside the assumptions). Below, five property
# tests are written and run inside the notebook, one of them against a
# deliberately wrong bound, which hypothesis catches and shrinks to a small
# counterexample. It ends with a table of what was checked.
#
# Each property runs 25 examples by default (CI) and 200 with
# `VAEBOUNDS_FULL=1`; `derandomize=True` makes every run draw the same examples.

# %%
import os

import numpy as np
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import theory
from empirical.models import make
from empirical.oracles import run_sgd
from empirical.strategies import (
    bound_constants,
    cosine_oracles,
    quadratic_oracles,
    step_sequences,
    vae_configs,
)

FULL = os.environ.get("VAEBOUNDS_FULL") == "1"
EXAMPLES = 200 if FULL else 25
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, print_blob=False)
checked = []  # (property, strategies, calls, outcome)


def run(name: str, strategies: str, prop, calls: list) -> None:
    """Run the property ``prop`` (a hypothesis test) and record its outcome."""
    try:
        prop()
        outcome = "holds on every example"
    except AssertionError as err:
        outcome = f"falsified: {' '.join(str(err).split())[:90]}"
        print("\n".join(getattr(err, "__notes__", [])))  # hypothesis's shrunk counterexample
    checked.append((name, strategies, len(calls), outcome))
    print(f"{name}: {outcome} ({len(calls)} calls, shrinking included)")


# %% [markdown]
# ## 1. The SGD theorem on noisy quadratics
#
# A bound test is one-sided: the simulated average of ||grad F(theta_j)||^2
# (200 replicated runs) must stay below the bound, with a 99 % upper
# confidence limit so that sampling noise cannot fail it by chance.

# %%
SGD = theory.bound("generic", "sgd")
calls_sgd: list = []


@SETTINGS
@given(problem=quadratic_oracles(), n=st.integers(1, 200), seed=st.integers(0, 2**32 - 1))
def test_sgd_bound_holds(problem, n, seed):
    calls_sgd.append(1)
    C = 0.5 / problem.L  # inside the step condition C_gamma <= 1/L
    sim = problem.simulate(n, C, np.random.default_rng(seed))
    assert sim.upper(0.99) <= SGD.evaluate(n=n, C_gamma=C, **problem.constants())


run("SGD bound >= simulated average", "quadratic_oracles", test_sgd_bound_holds, calls_sgd)

# %% [markdown]
# ## 2. A deliberately wrong bound is caught
#
# Forget the variance term: `SGD.substitute(sigma2=0)` is 2 Delta/(C_gamma sqrt(n)),
# the noise-free bound. On a noisy problem it cannot hold; hypothesis finds a
# counterexample and shrinks it.

# %%
WRONG = SGD.substitute(sigma2=0)
print("wrong bound:", WRONG.expr)
calls_wrong: list = []


@SETTINGS
@given(problem=quadratic_oracles(), n=st.integers(1, 200), seed=st.integers(0, 2**32 - 1))
def test_noise_free_bound_holds(problem, n, seed):
    calls_wrong.append(1)
    C = 0.5 / problem.L
    sim = problem.simulate(n, C, np.random.default_rng(seed))
    bound = WRONG.evaluate(n=n, C_gamma=C, L=problem.L, Delta=problem.Delta)
    assert sim.lower(0.99) <= bound, (
        f"observed >= {sim.lower(0.99):.4g} > wrong bound {bound:.4g} (sigma2 = {problem.sigma2:.3g})"
    )


run(
    "noise-free bound (wrong) >= simulated average",
    "quadratic_oracles",
    test_noise_free_bound_holds,
    calls_wrong,
)

# %% [markdown]
# The wrong bound is tested with the *lower* confidence limit, so that its
# failure is not sampling noise either: the observed average is above it
# with 99 % confidence.
#
# ## 3. Any step sequence, on a nonconvex problem
#
# SGD under any steps gamma_k <= 1/L (variant `schedule`) bounds the
# gamma-weighted average; its weights come from the bound itself
# (`Bound.lhs.weights`), never re-typed in the test.

# %%
SCHEDULE = theory.bound("generic", "sgd", "schedule")
calls_schedule: list = []


@SETTINGS
@given(problem=cosine_oracles(), data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_schedule_bound_holds_for_any_steps(problem, data, seed):
    calls_schedule.append(1)
    steps = data.draw(step_sequences(gamma_max=1 / problem.L))
    weights = SCHEDULE.lhs.weights(len(steps), step_sizes=steps)
    sim = run_sgd(problem, steps, weights, np.random.default_rng(seed))
    sums = {"S1": steps.sum(), "S2": np.sum(steps**2), "gamma_max": steps.max()}
    assert sim.upper(0.99) <= SCHEDULE.evaluate(**sums, **problem.constants()) * (1 + 1e-9)


run(
    "schedule bound >= weighted average",
    "cosine_oracles, step_sequences",
    test_schedule_bound_holds_for_any_steps,
    calls_schedule,
)

# %% [markdown]
# ## 4. Properties of the bound itself, at admissible constants
#
# `bound_constants(bound)` draws every constant in its domain and inside the
# theorem's constraints. Two properties of the Deep Gaussian VAE's SGD bound:
# the optimal step constant C* is at least as good as any admissible C_gamma,
# and doubling the batch size never raises the bound (the sign
# `theory.rates.derivative_sign` proves).

# %%
GAUSSIAN = theory.bound("gaussian", "sgd", expand=False)
BEST = theory.rates.optimal_step_constant(GAUSSIAN)
calls_bound: list = []


@SETTINGS
@given(data=st.data())
def test_optimal_step_and_batch_direction(data):
    calls_bound.append(1)
    values = data.draw(bound_constants(GAUSSIAN))
    # C* = sqrt(2 Delta / (L sigma2 (1 + log n))) is a step only for Delta > 0 and sigma2 > 0:
    # without these two lines hypothesis finds Delta = 0 (C* = 0) and sigma2 = 0 (C* = 0/0).
    assume(values["Delta"] > 0 and values["sigma2_data"] + values["sigma2_mc"] > 0)
    at = {theory.symbols.get(k): v for k, v in values.items()}
    best = {**values, "C_gamma": float(BEST.subs(at))}
    assert GAUSSIAN.evaluate(**best) <= GAUSSIAN.evaluate(**values) * (1 + 1e-12)
    assert GAUSSIAN.evaluate(**{**values, "B": 2 * values["B"]}) <= GAUSSIAN.evaluate(**values) * (1 + 1e-12)


run(
    "C* minimises; larger B never raises the bound",
    "bound_constants",
    test_optimal_step_and_batch_direction,
    calls_bound,
)

# %% [markdown]
# ## 5. Models inside the assumptions
#
# `vae_configs()` draws VAE options (soft-clip activations, widths, depth, K,
# beta, decoder std). With the Gaussian decoder and the analytic KL, every
# example's loss is at least the model's proven `loss_lower_bound`, the
# (D/2) log(2 pi c^2) the gap Delta is measured from.

# %%
calls_vae: list = []


@SETTINGS
@given(config=vae_configs(kinds=("gaussian",)), seed=st.integers(0, 2**31 - 1))
def test_loss_is_above_its_lower_bound(config, seed):
    calls_vae.append(1)
    config = dict(config)
    model = make(config.pop("kind"), config.pop("data_dim"), **config)
    g = torch.Generator().manual_seed(seed)
    params = model.init_params(g)
    X = torch.rand(16, model.data_dim, generator=g, dtype=torch.float64)
    losses = model.batch_losses(params, X, model.sample_noise(g, 16))
    assert bool(torch.isfinite(losses).all()) and float(losses.min()) >= model.loss_lower_bound


run("VAE loss >= its lower bound", "vae_configs", test_loss_is_above_its_lower_bound, calls_vae)

# %% [markdown]
# ## What was checked

# %%
print("| property | strategies | calls (shrinking included) | outcome |")
print("|---|---|---|---|")
for name, strategies, count, outcome in checked:
    print(f"| {name} | {strategies} | {count} | {outcome} |")
caught = [row for row in checked if row[3].startswith("falsified")]
assert [row[0] for row in caught] == ["noise-free bound (wrong) >= simulated average"], caught
