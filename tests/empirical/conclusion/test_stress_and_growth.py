"""The stress step and the growth condition in the conclusion (empirical/conclusion/stressed.py,
growth_condition.py): the bound at the stressed constants with the verdict at the runs'
constants beside it, --no-stress, a user's module not searched, the table along the runs in
report.json (every snapshot of every run), and the growth-condition bound against the
bounded-variance one on runs whose noise grows with the gradient."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from cases import growth_oracle

from empirical.compare import bind
from empirical.conclusion import conclude
from empirical.conclusion.coverage import OptimizerRun
from empirical.conclusion.growth_condition import growth_report
from empirical.conclusion.stressed import SWITCHED_OFF, USER_MODULE
from empirical.conclusion.values import fixed_values
from empirical.estimators import StressBudget, estimate, stress_runs, table_of_runs
from empirical.models import make
from empirical.report.content import report_json
from empirical.settings import Settings
from empirical.train import train

B, STEPS, RUNS = 16, 30, 2
SMALL = {"n_examples": 64, "mc_samples": 3}


@pytest.fixture(scope="module")
def batched(digits_train):
    """Two batched runs of a small Gaussian VAE, the table along them, the constants read from it,
    and the stress search at a small budget."""
    model = make("gaussian", digits_train.shape[1], hidden=(8,), latent_dim=2)
    runs = train(
        model, None, digits_train, steps=STEPS, batch_size=B, C_gamma=0.01, runs=RUNS, progress=False
    )
    along = table_of_runs(model, digits_train, runs, **SMALL)
    constants = estimate(model, digits_train, run=runs, batch_size=B, along=along, **SMALL)
    budget = StressBudget(starts=1, steps=4, variance_steps=1)
    searched = stress_runs(model, digits_train, runs, constants, along=along, budget=budget, **SMALL)
    skipped = stress_runs(model, digits_train, runs, constants, along=along, search=False, **SMALL)
    fixed = fixed_values(runs.step_sizes, batch_size=B, n_params=model.n_params, C_gamma=0.01, K=1)
    settings = Settings(steps=STEPS, batch_size=B, runs=RUNS, C_gamma=0.01, hidden=8, latent_dim=2)
    sgd = OptimizerRun("sgd", "batched SGD", 0.01, steps="sqrt")
    return settings, runs, constants, fixed, sgd, searched, skipped


def test_the_bound_is_at_the_stressed_constants_with_the_runs_verdict_beside(batched):
    settings, runs, constants, fixed, sgd, searched, _ = batched
    result = conclude(settings, runs, constants, fixed, sgd, stress=searched)
    assert result.stressed and result.stress.run_constants is constants
    needed = set(result.theorem.constants)
    for name, s in searched.stress.named().items():
        assert result.constants.named()[name] is s.stressed and s.stressed.value >= s.used.value
        assert s.used is constants.named()[name]  # the runs' own value is the one stressed
    stressed = bind(result.theorem, result.constants.named(), {k: v for k, v in fixed.items() if k in needed})
    own = bind(result.theorem, constants.named(), {k: v for k, v in fixed.items() if k in needed})
    assert result.bound == stressed.value and result.stress.at_run.binding.value == own.value
    assert (
        result.bound >= own.value
    )  # every stressed constant is at least the runs' and the bound grows in them
    assert "at the stressed constants" in result.headline
    data = json.loads(json.dumps(report_json(result)))
    L = data["constants"]["L"]
    assert L["value"] == constants.L.value and L["bound_at"] == "stressed"
    assert L["stressed"]["value"] == searched.stress.L.stressed.value and L["stress_gain"] >= 0.0
    verdicts = data["stress"]["verdicts"]
    assert verdicts["at_run_constants"]["bound"] == own.value
    assert verdicts["at_stressed_constants"]["bound"] == result.bound
    assert verdicts["at_stressed_constants"]["verdict"] == data["verdict"]
    assert data["stress"]["searched"] and set(data["stress"]["constants"]) == {
        "L",
        "sigma2_data",
        "sigma2_mc",
    }
    assert "constants_along_run.png" in data["figures"]


def test_constants_along_run_has_every_snapshot_of_every_run(batched):
    settings, runs, constants, fixed, sgd, searched, _ = batched
    data = json.loads(
        json.dumps(report_json(conclude(settings, runs, constants, fixed, sgd, stress=searched)))
    )
    rows = data["constants_along_run"]["rows"]
    R, S = runs.snapshots.shape[:2]
    assert {(r["run"], r["snapshot"]) for r in rows} == {(i, j) for i in range(R) for j in range(S)}
    assert len(rows) == R * S
    for r in rows:
        assert {"L", "sigma2_data", "sigma2_mc", "M", "theta_sup", "step", "label"} <= set(r)
        theta = np.asarray(runs.snapshots[r["run"], r["snapshot"]])
        assert r["step"] == int(runs.snapshot_steps[r["snapshot"]])
        assert r["theta_sup"] == pytest.approx(float(np.abs(theta).max()))
    # the runs' L and variance parts are the table's largest (estimate read them from it)
    largest = data["constants_along_run"]["largest"]
    assert largest["sigma2_data"]["value"] == constants.sigma2_data.value
    assert largest["sigma2_mc"]["value"] == constants.sigma2_mc.value
    assert largest["L"]["value"] <= constants.L.value  # the secants along the runs may be larger
    row = next(r for r in conclude(settings, runs, constants, fixed, sgd, stress=searched).assumptions
               if r.id == "bounded-variance")  # fmt: skip
    where = largest["sigma2_data"]
    assert f"sigma2_data {where['value']:.4g} at {where['label']}, step {where['step']}" in row.evidence


def test_no_stress_keeps_the_runs_constants_and_the_table(batched):
    settings, runs, constants, fixed, sgd, _, skipped = batched
    result = conclude(settings, runs, constants, fixed, sgd, stress=skipped)
    assert not result.stressed and result.constants is constants and result.stress.reason == SWITCHED_OFF
    assert "stressed" not in result.headline and result.stress.at_run is None
    data = json.loads(json.dumps(report_json(result)))
    assert data["stress"] == {
        "searched": False,
        "reason": SWITCHED_OFF,
        "evaluated_at": "the runs' constants",
    }
    assert data["constants"]["L"]["stressed"] is None and data["constants"]["L"]["bound_at"] == "runs"
    assert len(data["constants_along_run"]["rows"]) == RUNS * runs.snapshots.shape[1]


def test_a_user_module_is_not_searched_and_says_so(user_rows):
    from cases import run_user_loop

    _, tracker, _ = run_user_loop(user_rows, lambda p: torch.optim.SGD(p, lr=0.02), steps=60)
    result = tracker.verify()
    assert not result.stressed and result.stress.reason == USER_MODULE and result.stress.along is None
    data = report_json(result)
    assert data["stress"]["reason"].startswith("not searched (user module)")
    assert data["constants_along_run"] is None and "constants_along_run.png" not in data["figures"]
    assert data["growth"]["fit"] is not None  # the records are fitted whatever the source


def _oracle_run(A: float, G: float, seed: int, C: float = 0.1, steps: int = 2000):
    """growth_oracle as the runs the conclusion reads (one record variance per record, known)."""
    y, ks, x, v = growth_oracle(A, G, seed, C=C, steps=steps)
    gammas = C / np.sqrt(np.arange(1, steps + 1))
    run = SimpleNamespace(grad_norm_sq=y, record_steps=ks, full_grad_norm_sq=x, full_grad_norm_sq_var=v,
                          record_dof=1e6, step_sizes=gammas, steps=steps)  # fmt: skip
    return run, gammas, x


def test_growing_noise_is_covered_by_the_growth_form_with_a_smaller_bound():
    """Noise variance A + G ||grad F||^2 on a quadratic with L = 1: the bounded-variance form must take
    sigma2 = its largest value along the runs, A + G max ||grad F||^2; the growth form takes A_upper
    and G_upper. Both bound the same gamma-weighted average; the growth form is smaller and above the
    observed average. Delta = 5 max ||grad F(theta_0)||^2 >= F(theta_0) - F* (eigenvalues >= 0.1)."""
    A, G = 0.5, 2.0
    run, gammas, x = _oracle_run(A, G, seed=3)
    sigma2 = A + G * float(x.max()) * 1.1  # the largest variance the runs saw (records are 2 % noisy)
    values = {
        "L": 1.0, "Delta": 5.0 * 1.1 * float(x[:, 0].max()), "sigma2": sigma2, "S1": float(gammas.sum()),
        "S2": float(np.square(gammas).sum()), "gamma_max": float(gammas.max()), "n": float(gammas.size),
    }  # fmt: skip
    sgd = OptimizerRun("sgd", "SGD", 0.1, steps="sqrt")
    g = growth_report("generic", sgd, run, values, (), sigma2)
    assert g.applies and g.why_not == "" and g.step.holds
    assert g.fit.A_upper >= A * 0.9 and g.fit.G_upper >= G * 0.9
    expected = (2 * values["Delta"] + g.fit.A_upper * values["S2"]) / values["S1"]
    assert g.bound == pytest.approx(expected, rel=1e-12)
    assert g.bounded_variance == pytest.approx((2 * values["Delta"] + sigma2 * values["S2"]) / values["S1"])
    assert g.bound < g.bounded_variance and g.smaller == "growth condition"
    assert g.observed.hi <= g.bound  # covered: the bound is above the observed average's interval
    assert json.loads(json.dumps(g.as_dict()))["smaller"] == "growth condition"


def test_the_growth_form_is_not_applicable_to_projected_or_adaptive_runs_or_a_failed_step_condition():
    run, gammas, x = _oracle_run(0.5, 2.0, seed=4, steps=300)
    values = {"L": 1.0, "Delta": 50.0, "sigma2": 10.0, "S1": float(gammas.sum()),
              "S2": float(np.square(gammas).sum()), "gamma_max": float(gammas.max())}  # fmt: skip
    projected = OptimizerRun("sgd", "batched SGD", 0.1, steps="sqrt", box=0.5)
    g = growth_report("generic", projected, run, values, (), 10.0)
    assert not g.applies and g.bound is None and "unprojected" in g.why_not and g.fit is not None
    adam = OptimizerRun("adam", "batched Adam (defossez)", 1e-3, "adam-defossez", steps="constant")
    assert "analyses SGD" in growth_report("generic", adam, run, values, (), 10.0).why_not
    sgd = OptimizerRun("sgd", "SGD", 0.1, steps="sqrt")
    steep = growth_report("generic", sgd, run, {**values, "L": 100.0}, (), 10.0)
    assert (
        not steep.applies
        and not steep.step.holds
        and steep.bound is None
        and "step condition" in steep.why_not
    )
    failed = growth_report("generic", sgd, run, values, ("smooth",), 10.0)
    assert not failed.applies and "smooth" in failed.why_not
    assert math.isfinite(g.fit.A_upper)
