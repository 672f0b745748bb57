"""The one conclusion (empirical/conclusion/flow.py): the optimizer picks the theorem, whose
optimizer values join the fixed values; the bound is the binding's at those values; the time
spent is added to the caller's; adaptive optimizers get every variant on the same runs."""

from __future__ import annotations

import pytest
from cases import linear_batched

from empirical.compare import bind
from empirical.conclusion import Result, conclude
from empirical.conclusion.coverage import OptimizerRun


@pytest.fixture(scope="module")
def batched(digits_train):
    """Two batched runs of the linear VAE and the constants along them."""
    return linear_batched(digits_train, steps=20, C_gamma=0.01)


def test_sgd_runs_conclude_under_the_sgd_theorem(batched):
    settings, runs, constants, fixed = batched
    sgd = OptimizerRun("sgd", "batched SGD", 0.01, steps="sqrt")
    result = conclude(settings, runs, constants, fixed, sgd, timings={"training": 1.5}, extras={"rows": 7})
    assert isinstance(result, Result) and result.theorem.name == "linear/sgd" and result.fixed == fixed
    needed = set(result.theorem.constants)
    expected = bind(result.theorem, constants.named(), {k: v for k, v in fixed.items() if k in needed})
    assert result.bound == expected.value and result.binding.ends == expected.ends
    assert result.timings["training"] == 1.5 and result.timings["theory"] > 0
    assert result.extras["rows"] == 7 and result.extras["n_evals"] == constants.n_evals
    assert {r.id for r in result.assumptions} >= {a.id for a in result.theorem.assumptions}
    assert result.observed.runs == 2 and "variants" not in result.extras


def test_adaptive_runs_bind_their_optimizer_values_and_every_variant(batched):
    settings, runs, constants, fixed = batched
    options = {"betas": (0.5, 0.99), "eps": 1e-6}
    adam = OptimizerRun("adam", "batched Adam (defossez)", 1e-3, "adam-defossez", options, "constant")
    result = conclude(settings, runs, constants, fixed, adam)
    assert result.theorem.name == "linear/adam/defossez"
    got = [result.fixed[name] for name in ("alpha_step", "beta1", "beta2", "eps")]
    assert got == [1e-3, 0.5, 0.99, 1e-6]
    assert {v["variant"] for v in result.extras["variants"]} >= {"defossez", "aposteriori"}
