"""Tracked runs verified (empirical/tracking/verify.py): the theorem picked from the optimizer,
its records against brute force, what is not covered, the observed weights, the report."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from cases import run_user_loop as run_loop
from cases import user_loss as loss
from scipy import stats

import empirical
from empirical.decision import Verdict
from empirical.estimators.results import Estimate
from empirical.optim import DefossezAdagrad, DefossezAdam


@pytest.fixture(scope="module")
def X(user_rows):
    return user_rows


def _statuses(result):
    return {r.id: r for r in result.assumptions}


def step_lr(opt):
    return torch.optim.lr_scheduler.StepLR(opt, step_size=40, gamma=0.5)


def test_sgd_under_step_lr_binds_the_schedule_theorem(X):
    """A user VAE, SGD with StepLR: a finite bound and, from one run, INCONCLUSIVE; the recorded
    steps are the optimizer's and their step sizes the ones it took; the last record is at the
    final step and agrees with an independent full-gradient computation at the final parameters."""
    model, tracker, taken = run_loop(X, lambda p: torch.optim.SGD(p, lr=0.02), scheduler=step_lr)
    result = tracker.verify()
    assert result.theorem.name == "generic/sgd/schedule"
    assert result.verdict is Verdict.INCONCLUSIVE and result.exit_code == 4 and result.holds is None
    assert math.isfinite(result.bound) and result.bound > 0 and isinstance(result.observed, Estimate)
    assert result.ratio == pytest.approx(result.bound / result.observed.value)
    assert _statuses(result)["algorithm"].status == "holds"
    assert _statuses(result)["unbiased"].status == "unchecked"  # the user's loop draws its own batches
    np.testing.assert_array_equal(result.runs.step_sizes, taken)  # 0.02, then 0.01 after 40 steps, ...
    assert sorted(set(taken)) == [0.005, 0.01, 0.02]
    steps = [k for k, _ in result.records]
    assert steps[0] == 0 and steps[-1] == 120 and steps == sorted(set(steps))
    assert result.fixed["S1"] == pytest.approx(sum(taken)) and result.fixed["gamma_max"] == 0.02
    # the last record against brute force: <mean of 64 full-data gradients, another 64>
    params = [p for p in model.parameters()]

    def mean_gradient(seed):
        torch.manual_seed(seed)
        total = 0
        for _ in range(64):
            grads = torch.autograd.grad(loss(model, X).mean(), params)
            total = total + torch.cat([g.reshape(-1) for g in grads]).double()
        return total / 64

    truth = float(mean_gradient(1) @ mean_gradient(2))
    last, var = result.records[-1][1], float(result.runs.full_grad_norm_sq_var[0, -1])
    half = stats.t.ppf(0.9995, result.runs.record_dof) * math.sqrt(var)
    assert abs(last - truth) <= half + 0.02 * truth, (last, half, truth)


def test_sgd_with_momentum_is_not_covered(X):
    _, tracker, _ = run_loop(X, lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9), steps=40)
    result = tracker.verify()
    row = _statuses(result)["algorithm"]
    assert result.holds is None and result.exit_code == 3
    assert row.status == "fails" and "momentum = 0.9" in row.evidence and "plain SGD" in row.evidence
    assert "algorithm" in result.headline


@pytest.mark.parametrize(
    "make_opt, theorem, status",
    [
        (lambda p: torch.optim.Adam(p, lr=1e-3), "generic/adam/defossez", "approximate"),
        (lambda p: torch.optim.Adagrad(p, lr=1e-2), "generic/adagrad", "approximate"),
        (lambda p: DefossezAdam(p, lr=1e-3), "generic/adam/defossez", "holds"),
        (lambda p: DefossezAdagrad(p, lr=1e-2), "generic/adagrad", "holds"),
    ],
)
def test_adaptive_optimizers_bind_defossez(X, make_opt, theorem, status):
    """torch's Adam and Adagrad: Défossez et al.'s theorem with the tau-weighted observed side and
    an approximate "algorithm matches" row naming the differences; their own algorithms: holds.
    The user's Gaussian noise leaves ||g||_inf <= R approximate: not covered (exit 3) by default;
    with approximate_ok the rule's verdict, here INCONCLUSIVE (one run), marked."""
    _, tracker, _ = run_loop(X, make_opt, steps=60)
    result = tracker.verify()
    row = _statuses(result)["algorithm"]
    assert result.theorem.name == theorem and row.status == status
    assert _statuses(result)["bounded-sup"].status == "approximate"
    approximate = ("bounded-sup", "algorithm") if status == "approximate" else ("bounded-sup",)
    assert (
        result.approximate == approximate and result.verdict is Verdict.NOT_COVERED and result.exit_code == 3
    )
    accepted = empirical.tracking.verify_runs([tracker.finish()], approximate_ok=True)
    assert (
        accepted.verdict is Verdict.INCONCLUSIVE
        and accepted.exit_code == 4
        and accepted.approximately_covered
    )
    assert accepted.headline.startswith(f"Approximately covered (approximate: {', '.join(approximate)}")
    if "adam" in theorem:
        assert result.theorem.lhs.weight.has(theory_beta1())
        assert result.fixed["beta1"] == 0.9 and result.fixed["alpha_step"] == 1e-3
    if status == "approximate":
        assert "bias correction" in row.evidence or "eps" in row.evidence
    assert {v["variant"] for v in result.extras["variants"]} >= {"aposteriori"}
    assert result.extras["preconditioner"]["lambda_min"] > 0


def theory_beta1():
    from theory.symbols import beta1

    return beta1


def test_observed_weights_are_the_tau_distribution(X):
    """Every step recorded: the observed side is exactly sum_j P(tau = j) f(j), P(tau = j)
    proportional to 1 - beta1^(n - j), j = 0..n-1, by brute force over the records."""
    b1, n = 0.7, 25
    _, tracker, _ = run_loop(
        X, lambda p: DefossezAdam(p, lr=1e-3, betas=(b1, 0.99)), steps=n, record_growth=1.0
    )
    result = tracker.verify()
    steps, values = zip(*result.records, strict=True)
    assert list(steps) == list(range(n + 1))
    p = np.array([1 - b1 ** (n - j) for j in range(n)])
    brute = float(np.sum(p / p.sum() * np.array(values[:n])))
    assert result.observed.value == pytest.approx(brute, rel=1e-12)


def test_groups_with_different_steps_and_other_optimizers_are_not_covered(X):
    def two_groups(params):
        params = list(params)
        return torch.optim.SGD([{"params": params[:2], "lr": 0.01}, {"params": params[2:], "lr": 0.02}])

    _, tracker, _ = run_loop(X, two_groups, steps=20)
    row = _statuses(tracker.verify())["algorithm"]
    assert row.status == "fails" and "different step sizes" in row.evidence
    _, tracker, _ = run_loop(X, lambda p: torch.optim.RMSprop(p, lr=1e-3), steps=20)
    result = tracker.verify()
    assert result.holds is None and "torch.optim.RMSprop" in _statuses(result)["algorithm"].evidence


def test_adam_with_a_scheduler_is_not_covered(X):
    _, tracker, _ = run_loop(X, lambda p: torch.optim.Adam(p, lr=1e-3), steps=50, scheduler=step_lr)
    row = _statuses(tracker.verify())["algorithm"]
    assert row.status == "fails" and "step changed" in row.evidence


def test_result_writes_the_cli_report(X, tmp_path):
    _, tracker, _ = run_loop(X, lambda p: torch.optim.Adam(p, lr=1e-3), steps=40)
    result = tracker.verify()
    report = result.write(tmp_path / "rep")
    names = {p.name for p in report.folder.iterdir()}
    assert {"report.json", "report.md", "convergence.png", "constants.png", "training.png"} <= names
    data = report.data
    assert data["holds"] is None and data["verdict"] == "not covered" and data["exit_code"] == 3
    assert data["approximate"] == ["bounded-sup", "algorithm"] and data["approximate_ok"] is False
    assert data["decision"]["comparison"] == "inconclusive" and data["records"][-1][0] == 40
    assert data["tracker"]["batch_size"] == 32 and data["variants"]
    text = (report.folder / "report.md").read_text()
    assert "VAE (user module)" in text and "Every Adam theorem on this run" in text


def test_an_own_loop_is_described_by_its_settings(X):
    """Runs of the user's own loop conclude with settings of source "own loop": the module's class,
    the optimizer as it ran, the data's shape; the seeds reported are the runs' own."""
    runs = []
    for seed in (2, 7):
        _, tracker, _ = run_loop(X, lambda p: torch.optim.SGD(p, lr=0.02), steps=30, seed=seed)
        runs.append(tracker.finish())
    result = empirical.tracking.verify_runs(runs)
    s = result.settings
    assert (s.source, s.model, s.optimizer, s.data) == (
        "own loop",
        "VAE (user module)",
        "torch.optim.SGD",
        f"user data ({X.shape[0]} rows x {X.shape[1]})",
    )
    assert (s.steps, s.batch_size, s.runs, s.K) == (30, 32, 2, None)
    assert result.observed.runs == 2 and list(result.runs.seeds) == [2, 7]
    assert result.decision.runs == 2
    from empirical.report.content import report_json

    data = report_json(result)
    assert data["seeds"] == [2, 7] and data["runs"] == 2 and data["settings"]["source"] == "own loop"
