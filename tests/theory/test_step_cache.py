"""The cached optimal step constants are those derived now, and give the same numbers."""

from __future__ import annotations

import pytest

import theory
from theory.rates import optimal_step_constant, optimal_step_constant_of
from theory.rates.step_cache import CACHED, cached_optimal_step, render


@pytest.mark.parametrize("key", sorted(CACHED))
def test_each_cached_optimal_step_is_the_one_derived_now(key):
    name, best = cached_optimal_step(*key)
    bound = theory.bound(key[0], key[1], key[2] or None)
    assert (name, best) == (bound.name, bound.optimal_step), (
        f"theory/rates/step_cache.py is stale; its entry now reads:\n{render([key])}"
    )


@pytest.mark.parametrize(
    "values",
    [
        {"L": 2 * 84.42, "sigma2": 3.1, "Delta": 0.7, "n": 2000},
        {"L": 2.0, "sigma2": 1e-3, "Delta": 50.0, "n": 10},  # clipped to 1/L
    ],
)
def test_the_cached_path_gives_the_same_number_bit_for_bit(values):
    cached = float(optimal_step_constant_of("generic", "sgd", None, values))
    derived = float(optimal_step_constant(theory.bound("generic", "sgd"), values))
    assert cached == derived


def test_an_uncached_theorem_is_derived():
    assert cached_optimal_step("linear", "sgd") is None
    values = {"L": 3.0, "sigma2": 2.0, "Delta": 1.0, "n": 100}
    bound = theory.bound("linear", "sgd")
    values |= {s.name: 2 for s in bound.optimal_step.free_symbols if s.name not in values}
    assert optimal_step_constant_of("linear", "sgd", None, values) == optimal_step_constant(bound, values)
