"""End to end on a tracked oracle (tests/cases.py, QuadraticModule): a user's module whose loss is
a noisy quadratic with known L, sigma2 and Delta, trained in a plain SGD loop and tracked. The
verdict is fixed by the exact expected left-hand side: HOLDS with the right bound (above the
truth by a margin >= 3), VIOLATED with a bound whose noise term is dropped (>= 1.5 times below
the truth), INCONCLUSIVE from one run. And the tracker's records are unbiased for
||grad F||^2, a test that a planted bias (the m gradients sharing one set of rows) fails."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from cases import QuadraticModule, quadratic_loss, quadratic_rows, quadratic_truth, run_quadratic_loop

import empirical
from empirical.decision import ONE_RUN, Verdict
from empirical.estimators.results import exact

CURVATURES, MASK, SIGMA = [1.0, 1 / 8, 1 / 8, 1 / 8], [0, 1, 1, 1], 1.0
B, GAMMA, STEPS, RUNS = 4, 0.5, 400, 4


def _module() -> QuadraticModule:
    return QuadraticModule([1.0] * 4, CURVATURES, MASK, SIGMA)


@pytest.fixture(scope="module")
def X():
    return quadratic_rows()


@pytest.fixture(scope="module")
def truth(X):
    """The exact (1/n) sum_j E||grad F(theta_j)||^2 of the runs (constant step: the gamma-weighted
    average of the schedule theorem is the plain average)."""
    return quadratic_truth(_module(), X, B, GAMMA, STEPS)


@pytest.fixture(scope="module")
def runs(X):
    return [run_quadratic_loop(_module(), X, B, GAMMA, STEPS, seed).finish() for seed in range(RUNS)]


def test_the_right_bound_holds(runs, truth):
    result = empirical.tracking.verify_runs(runs)
    assert result.theorem.name == "generic/sgd/schedule"
    assert result.bound >= 3 * truth, (result.bound, truth)
    assert result.verdict is Verdict.HOLDS and result.exit_code == 0 and result.holds is True
    assert result.observed.lo <= truth <= result.observed.hi  # the interval covers the truth here
    assert result.constants.L.value == pytest.approx(max(CURVATURES), rel=1e-6)


def test_a_bound_without_its_noise_term_is_violated(runs, truth, monkeypatch):
    """sigma2 bound at 0 (the theorem's noise term dropped): the bound 2 Delta / S1 is far below the
    truth and the rule says VIOLATED."""
    from empirical.tracking import verify as tracking_verify

    measured = tracking_verify.estimate_runs

    def without_noise(*args, **kwargs):
        c = measured(*args, **kwargs)
        return dataclasses.replace(c, sigma2=exact(0.0, "sigma2 bound at 0: the noise term dropped"))

    monkeypatch.setattr(tracking_verify, "estimate_runs", without_noise)
    result = empirical.tracking.verify_runs(runs)
    assert result.binding.values["sigma2"] == 0.0
    assert result.bound * 1.5 <= truth, (result.bound, truth)
    assert result.verdict is Verdict.VIOLATED and result.exit_code == 1 and result.holds is False


def test_without_a_proven_lower_bound_delta_is_a_lower_estimate_of_the_gap(runs, X, monkeypatch):
    """No loss_lower_bound: Delta = F(theta_0) - min_k F(theta_k) over the snapshots, labelled a
    lower estimate of F(theta_0) - F* (row, constants, headline); its interval's lower end is below
    the exact gap (1/2) e_0^T A e_0."""
    for run in runs:  # each run's own module: the instance attribute hides the class's
        monkeypatch.setattr(run.model, "loss_lower_bound", None)
    result = empirical.tracking.verify_runs(runs)
    D = result.constants.Delta
    e0 = runs[0].snapshots[0, 0] - X.mean(0).numpy()
    gap = 0.5 * float((torch.as_tensor(CURVATURES) * torch.as_tensor(e0) ** 2).sum())
    assert not result.constants.delta_is_upper and "Delta" not in result.constants.lower_estimates
    assert "Delta lower estimate" in D.method and "min_k F(theta_k) over" in D.method
    assert 0 < D.lo <= gap < D.hi, (D, gap)
    rows = {r.id: r for r in result.assumptions}
    assert (
        rows["lower-bounded"].status == "estimated"
        and "lower estimate of F(theta_0) - F*" in rows["lower-bounded"].evidence
    )
    assert (
        result.verdict is Verdict.HOLDS and "Delta is a lower estimate of F(theta_0) - F*" in result.headline
    )


def test_one_run_is_inconclusive(runs):
    result = empirical.tracking.verify_runs(runs[:1])
    assert result.verdict is Verdict.INCONCLUSIVE and result.exit_code == 4 and result.holds is None
    assert result.headline.startswith(f"Inconclusive: {ONE_RUN}")
    assert result.decision.comparison is Verdict.INCONCLUSIVE and result.observed.widened


# ------------------------------------------------------------ unbiased records


#: Rows spread over the coordinates (sigma2_data = 4 per row) and theta_0 near their mean.
SPREAD, OFFSET = 1.0, 0.3


def _mean_record(steps=600):
    """Every record of a tracked run whose step is 0 (theta stays at theta_0, so every record
    estimates the same ||grad F(theta_0)||^2), the final full-data record left out: (mean, its
    standard error, the exact ||grad F(theta_0)||^2, sigma2_data / b)."""
    X = quadratic_rows(spread=SPREAD, seed=1)
    model = QuadraticModule(X.mean(0) + OFFSET, [1.0] * 4, [1, 1, 1, 1], 0.5)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    torch.manual_seed(0)
    tracker = empirical.track(
        model, quadratic_loss, X, opt, seed=0, batch_size=8, record_growth=1.0, record_rows=8
    )
    for _ in range(steps):
        opt.zero_grad()
        quadratic_loss(model, X[torch.randint(X.shape[0], (8,))]).mean().backward()
        opt.step()
        tracker.step()
    records = tracker.finish().full_grad_norm_sq[0, :-1]
    exact_value = float(((model.theta.detach() - X.mean(0)) ** 2).sum())  # grad F = theta - xbar
    bias = float(X.var(0, unbiased=False).sum()) / 8
    return float(records.mean()), float(records.std(ddof=1) / math.sqrt(records.size)), exact_value, bias


def test_the_trackers_records_are_unbiased():
    mean, se, exact_value, _ = _mean_record()
    assert abs(mean - exact_value) <= 4 * se, (mean, se, exact_value)


def test_records_whose_gradients_share_their_rows_fail_the_unbiasedness_test(monkeypatch):
    """The planted bug: the m gradients of a record drawn on one set of rows (each record's first
    b rows reused by the others, whether the record draws its m x b rows at once, batched, or b
    at a time). Each record is then biased up by sigma2_data / b, and the test above catches it."""
    draw = torch.randint
    shared: dict[str, torch.Tensor] = {}
    b = 8  # the records' rows per gradient (_mean_record)

    def one_set_of_rows(high, size, *args, generator=None, **kwargs):
        if generator is None:  # the user's loop: untouched
            return draw(high, size, *args, **kwargs)
        if tuple(size) == (1,):  # a record begins (its seed is drawn first): new rows next
            shared.clear()
            return draw(high, size, *args, generator=generator, **kwargs)
        if "rows" not in shared:
            shared["rows"] = draw(high, (b,), *args, generator=generator, **kwargs)
        return shared["rows"].repeat(size[0] // b)

    monkeypatch.setattr(torch, "randint", one_set_of_rows)
    mean, se, exact_value, bias = _mean_record()
    assert mean - exact_value > 4 * se, (mean, se, exact_value, bias)  # the test above fails
    assert mean - exact_value == pytest.approx(bias, abs=4 * se)  # by sigma2_data / b
    assert mean - exact_value == pytest.approx(bias, abs=4 * se)
