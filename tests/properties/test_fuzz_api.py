"""Fuzz the public API with the inventory's ranges and their edges (huge
integers, negative zero, NaN, inf, bools, strings, arrays, files of every bad
shape): every call either succeeds or raises the documented typed error
(theory.errors.TheoryError / empirical.errors.EmpiricalError, both
ValueError subclasses); never another exception."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from cases import write_bad_files
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

import theory
from empirical import estimators
from empirical.data import load
from empirical.errors import EmpiricalError
from empirical.models import make
from empirical.strategies import bound_constants
from empirical.train import train
from theory import rates
from theory.errors import TheoryError

# Hypothesis warns when it prints the repr of a drawn 10**400 or a large array: expected here.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")


def fuzz(examples: int) -> settings:
    """The fuzz settings: ``examples`` per run, no deadline, no health checks."""
    return settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))


NASTY = st.sampled_from(
    [
        None, True, False, "2", "", b"x", [1.0], (1, 2), {}, float("nan"), float("inf"), -float("inf"), -0.0,
        0, -1, 10**400, -(10**400), 2**63, 2**64, -(2**63), 1e308, 5e-324, complex(1, 1), np.float64(3.0),
        np.int64(-5), np.array([1.0, 2.0]), np.array([]), object(),
    ]
)  # fmt: skip
NUMBERS = st.one_of(NASTY, st.integers(-(10**30), 10**30), st.floats(), st.floats(0, 10))
BOUNDS = theory.registered()


def mostly(good: st.SearchStrategy, bad: st.SearchStrategy = NUMBERS) -> st.SearchStrategy:
    """``good`` four times in five, else ``bad`` (one_of would weigh their branches equally)."""
    return st.integers(0, 4).flatmap(lambda i: bad if i == 0 else good)


def _outcome(call, errors):
    """Run ``call``; a result, or one of ``errors`` (anything else fails the test)."""
    try:
        out = call()
    except errors as err:
        event(f"raised {type(err).__name__}")
        return None
    event("succeeded")
    return out


# ------------------------------------------------------------------- theory


@pytest.mark.slow  # over 5 s: CI runs it, the fast lane leaves it out
@fuzz(100)
@given(data=st.data(), key=st.sampled_from(BOUNDS))
def test_bound_evaluate_returns_a_finite_number_or_a_theory_error(data, key):
    b = theory.bound(*key)
    values = dict(data.draw(bound_constants(b)))
    for name in data.draw(st.lists(st.sampled_from(b.constants), max_size=2, unique=True)):
        values[name] = data.draw(NUMBERS)
    if data.draw(st.booleans()):
        values[data.draw(st.sampled_from(("foo", "n", "L", "B")))] = data.draw(NUMBERS)
    out = _outcome(lambda: b.evaluate(**values), TheoryError)
    assert out is None or (isinstance(out, float) and math.isfinite(out))


@fuzz(70)
@given(data=st.data(), key=st.sampled_from(BOUNDS))
def test_bound_numpy_returns_an_array_or_a_theory_error(data, key):
    b = theory.bound(*key)
    f = b.numpy()
    values = {a: np.full(3, v) for a, v in data.draw(bound_constants(b)).items() if a in f.args}
    name = data.draw(st.sampled_from((*f.args, "foo")))
    values[name] = data.draw(st.one_of(NUMBERS, st.lists(NUMBERS, max_size=3)))
    out = _outcome(lambda: f(**values), TheoryError)
    assert out is None or isinstance(np.asarray(out), np.ndarray)


@fuzz(80)
@given(
    data=st.data(),
    key=st.sampled_from(BOUNDS),
    which=st.sampled_from(("optimal", "sign", "iterations", "batch_sample", "non_bound")),
)
@pytest.mark.slow  # over 5 s: CI runs it, the fast lane leaves it out
def test_rates_succeed_or_raise_a_theory_error(data, key, which):
    b = theory.bound(*key)
    values = data.draw(bound_constants(b))
    if data.draw(st.booleans()):
        values[data.draw(st.sampled_from(b.constants))] = data.draw(NUMBERS)
    if which == "optimal":
        call = lambda: rates.optimal_step_constant(b, values)  # noqa: E731
    elif which == "sign":
        name = data.draw(st.one_of(st.sampled_from(b.constants), NASTY, st.just("nope")))
        at = values if data.draw(st.booleans()) else None
        samples = data.draw(st.one_of(st.integers(0, 20), NASTY))
        call = lambda: rates.derivative_sign(b, name, values=at, samples=samples)  # noqa: E731
    elif which == "iterations":
        target = data.draw(NUMBERS)
        given_values = {k: v for k, v in values.items() if k != "n"}
        call = lambda: rates.iterations_to_reach(b, target, **given_values)  # noqa: E731
    elif which == "batch_sample":
        call = lambda: rates.batch_sample_signs(b, data.draw(st.one_of(st.integers(0, 10), NASTY)))  # noqa: E731
    else:
        call = lambda: rates.optimal_step_constant(data.draw(NASTY))  # noqa: E731
    _outcome(call, TheoryError)


# ----------------------------------------------------------------- empirical


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    return sorted(str(p) for p in write_bad_files(tmp_path_factory.mktemp("api")).values())


VALID_ARRAYS = st.builds(
    lambda rows, cols, scale, seed: scale * np.random.default_rng(seed).random((rows, cols)),
    st.integers(1, 30),
    st.integers(1, 6),
    st.sampled_from((1.0, -3.0, 1e6, 2e6)),
    st.integers(0, 100),
)
ARRAYS = st.one_of(
    VALID_ARRAYS,
    VALID_ARRAYS,
    st.builds(
        lambda shape, dtype, fill: np.full(shape, fill).astype(dtype),
        st.lists(st.integers(0, 12), max_size=3).map(tuple),
        st.sampled_from(("float32", "float64", "int64", "bool", "complex64", "U3", "object")),
        st.one_of(st.floats(), st.integers(-(10**9), 10**9)),
    ),
    st.lists(st.lists(st.floats(), max_size=4), max_size=12),
    NASTY,
)


@fuzz(80)
@given(data=st.data())
def test_data_load_returns_float32_rows_or_an_empirical_error(data, bad_files):
    source = data.draw(st.one_of(ARRAYS, st.sampled_from(bad_files), st.sampled_from(("digits", "nope"))))
    opts = data.draw(st.dictionaries(st.sampled_from(("n", "dim", "seed")), NUMBERS, max_size=1))
    out = _outcome(lambda: load(source, **opts), EmpiricalError)
    if out is not None:
        assert out.dtype == torch.float32 and out.ndim == 2 and bool(torch.isfinite(out).all())


MAKE_OPTIONS = ("latent_dim", "hidden", "K", "c", "beta", "s", "activation", "decoder", "kl", "dtype", "nope")


@fuzz(80)
@given(data=st.data())
def test_models_make_returns_a_model_or_a_config_error(data):
    kinds = st.sampled_from(("linear", "gaussian", "iwae"))
    kind = data.draw(mostly(kinds, NASTY))
    dim = data.draw(mostly(st.integers(8, 64)))
    good = st.one_of(st.integers(1, 16), st.floats(0.1, 10), st.sampled_from(("softclip", "relu", "float64")))
    opts = data.draw(
        st.dictionaries(
            st.sampled_from(MAKE_OPTIONS),
            mostly(good, st.one_of(NUMBERS, st.lists(st.integers(-2, 10**6), max_size=3))),
            max_size=2,
        )
    )
    model = _outcome(lambda: make(kind, dim, **opts), EmpiricalError)
    if model is not None:
        assert 1 <= model.n_params <= 10**9


def _quadratic(params, x, eps):
    return 0.5 * ((params["w"] - x) ** 2).sum() + (0.0 if eps is None else (eps * params["w"]).sum())


KNOBS = st.one_of(NUMBERS, st.integers(0, 8), st.floats(0.01, 0.99))


@fuzz(60)
@given(
    data=st.data(),
    which=st.sampled_from(("gradient_norm_sq", "gradient_variance", "smoothness", "loss_at", "delta")),
)
def test_estimators_return_an_estimate_or_an_empirical_error(data, which):
    rows = data.draw(st.integers(0, 6))
    X = torch.linspace(-1, 1, 3 * rows).reshape(rows, 3).double()
    params = {"w": torch.zeros(3, dtype=torch.float64)}
    noise = data.draw(st.sampled_from((None, lambda g: torch.randn(3, generator=g, dtype=torch.float64))))
    knobs = data.draw(
        st.dictionaries(
            st.sampled_from(
                ("seed", "confidence", "n_gradients", "mc_samples", "n_examples", "tol", "max_iter")
            ),
            KNOBS,
            max_size=3,
        )
    )
    model = make("linear", 3, latent_dim=1, dtype="float64")
    if which == "gradient_norm_sq":
        allowed = {k: v for k, v in knobs.items() if k in ("seed", "confidence", "n_gradients")}
        call = lambda: estimators.gradient_norm_sq(_quadratic, params, X, noise, **allowed)  # noqa: E731
    elif which == "gradient_variance":
        allowed = {k: v for k, v in knobs.items() if k in ("seed", "confidence", "mc_samples", "n_examples")}
        call = lambda: estimators.gradient_variance(_quadratic, params, X, noise, **allowed)  # noqa: E731
    elif which == "smoothness":
        allowed = {k: v for k, v in knobs.items() if k in ("seed", "tol", "max_iter")}
        call = lambda: estimators.smoothness(lambda p: _quadratic(p, X.sum(0), None), params, **allowed)  # noqa: E731
    elif which == "loss_at":
        allowed = {k: v for k, v in knobs.items() if k in ("seed", "confidence", "mc_samples")}
        theta = model.init_params(torch.Generator().manual_seed(0))
        call = lambda: estimators.loss_at(model, theta, X, **allowed)  # noqa: E731
    else:
        F0 = estimators.Estimate(1.0, 0.5, 1.5, 0.95, "F", 1)
        low = data.draw(NUMBERS)
        call = lambda: estimators.delta(F0, low, data.draw(NUMBERS))  # noqa: E731
    out = _outcome(call, EmpiricalError)
    if out is not None and isinstance(out, estimators.Estimate):
        assert out.lo <= out.value <= out.hi


@fuzz(40)
@given(data=st.data())
def test_train_returns_runs_or_an_empirical_error(data):
    X = torch.linspace(0, 1, 40).reshape(10, 4)
    model = make("linear", 4, latent_dim=1)

    def value(good):
        return data.draw(mostly(good))

    args = {
        "steps": value(st.integers(1, 3)),
        "batch_size": value(st.integers(1, 4)),
        "C_gamma": value(st.floats(1e-3, 0.1)),
        "seed": value(st.integers(0, 2**63 - 2)),
        "runs": value(st.integers(1, 2)),
    }
    extra = data.draw(
        mostly(
            st.just({}),
            st.dictionaries(
                st.sampled_from(("box", "optimizer", "schedule", "eps", "betas")), NUMBERS, max_size=1
            ),
        )
    )
    assume(not (isinstance(args["steps"], int) and args["steps"] > 50))  # valid but slow: not the point here
    run = _outcome(lambda: train(model, None, X, progress=False, **args, **extra), EmpiricalError)
    if run is not None:
        assert run.steps == args["steps"] and len(run.seeds) == args["runs"]
