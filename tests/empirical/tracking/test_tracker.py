"""empirical.track on a user-written VAE in a plain loop (empirical/tracking/tracker.py): the
steps and step sizes it records, the user's run untouched, its refusals, and what it finishes
as (the run type of training)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cases import run_user_loop as run_loop
from cases import user_loss as loss
from cases import user_vae

import empirical
from empirical.errors import ConfigError, TrackingError
from empirical.optim import DefossezAdam


@pytest.fixture(scope="module")
def X(user_rows):
    return user_rows


def _statuses(result):
    return {r.id: r for r in result.assumptions}


def step_lr(opt):
    return torch.optim.lr_scheduler.StepLR(opt, step_size=40, gamma=0.5)


def test_scheduler_before_or_after_tracker_step_records_the_same_steps(X):
    before = run_loop(X, lambda p: torch.optim.SGD(p, lr=0.02), steps=90, scheduler=step_lr, order="before")
    after = run_loop(X, lambda p: torch.optim.SGD(p, lr=0.02), steps=90, scheduler=step_lr, order="after")
    got = [t.finish().step_sizes for _, t, _ in (before, after)]
    np.testing.assert_array_equal(got[0], got[1])
    np.testing.assert_array_equal(got[0], before[2])


def test_tracking_leaves_the_users_run_untouched(X):
    """Same global seed with and without the tracker: the same trajectory, the same RNG stream after."""
    plain, _, _ = run_loop(X, lambda p: torch.optim.SGD(p, lr=0.02), steps=30, tracked=False)
    after_plain = torch.rand(3)
    tracked, tracker, _ = run_loop(X, lambda p: torch.optim.SGD(p, lr=0.02), steps=30)
    after_tracked = torch.rand(3)
    for a, b in zip(plain.parameters(), tracked.parameters(), strict=True):
        assert torch.equal(a, b)
    assert torch.equal(after_plain, after_tracked)
    run = tracker.finish()
    assert run.options["batch_size"] == 32 and run.options["batch_how"].startswith("inferred")


def test_tracker_refuses_out_of_order_use(X):
    torch.manual_seed(0)
    model = user_vae(X.shape[1])
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    tracker = empirical.track(model, loss, X, opt, batch_size=8)
    with pytest.raises(TrackingError, match="without an optimizer step"):
        tracker.step()
    with pytest.raises(TrackingError, match="no optimizer step"):
        tracker.verify()
    loss(model, X[:8]).mean().backward()
    opt.step()
    with pytest.raises(TrackingError, match="after the last tracker.step"):
        tracker.verify()
    with pytest.raises(ConfigError, match="2-D tensor"):
        empirical.track(model, loss, X[0], opt)
    with pytest.raises(ConfigError, match="torch.optim.Optimizer"):
        empirical.track(model, loss, X, "sgd")
    with pytest.raises(ConfigError, match="record_gradients"):
        empirical.track(model, loss, X, opt, record_gradients=2)


@pytest.mark.parametrize("make_opt", [torch.optim.SGD, torch.optim.Adam], ids=["sgd", "adam"])
def test_a_tracker_step_skipped_mid_loop_is_refused_at_the_next_one(X, make_opt):
    """Step 3's tracker.step() skipped: step 4's is refused, naming the steps (SGD's steps are counted
    by the pre-hook, an adaptive optimizer's by its post-hook); a second call stays refused as before."""
    torch.manual_seed(0)
    model = user_vae(X.shape[1])
    opt = make_opt(model.parameters(), lr=1e-3)
    tracker = empirical.track(model, loss, X, opt, batch_size=8)

    def optimizer_step():
        opt.zero_grad()
        loss(model, X[:8]).mean().backward()
        opt.step()

    for _ in range(2):
        optimizer_step()
        tracker.step()
    with pytest.raises(TrackingError, match="without an optimizer step since the last one"):
        tracker.step()
    optimizer_step()
    optimizer_step()
    with pytest.raises(
        TrackingError,
        match=r"^tracker.step\(\) at step 4 came after 2 optimizer steps \(3 to 4\), not one: call "
        r"tracker.step\(\) after every optimizer.step\(\)$",
    ):
        tracker.step()


def test_approximate_ok_given_to_track_is_the_default_of_verify(X):
    """torch.optim.Adam is only approximately Défossez et al.'s Adam: refused (not covered) unless
    approximate_ok; given to track() it is verify()'s default, and verify()'s own value wins."""
    _, tracker, _ = run_loop(X, lambda p: torch.optim.Adam(p, lr=1e-3), steps=30, approximate_ok=True)
    assert any(r.status == "approximate" for r in tracker.verify().assumptions)
    accepted, refused = tracker.verify(), tracker.verify(approximate_ok=False)
    assert accepted.approximate_ok and accepted.verdict is not empirical.Verdict.NOT_COVERED
    assert not refused.approximate_ok and refused.verdict is empirical.Verdict.NOT_COVERED
    _, plain, _ = run_loop(X, lambda p: torch.optim.Adam(p, lr=1e-3), steps=30)
    assert plain.verify().verdict is empirical.Verdict.NOT_COVERED  # the default stays False
    assert plain.verify(approximate_ok=True).approximate_ok


def test_unknown_or_bad_track_options_are_refused_with_the_valid_ones(X):
    model = user_vae(X.shape[1])
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with pytest.raises(
        ConfigError, match="unknown option 'approximately_ok' of empirical.track; valid: "
    ) as err:
        empirical.track(model, loss, X, opt, approximately_ok=True)
    for name in ("batch_size", "record_growth", "defer_records", "approximate_ok", "callback"):
        assert name in str(err.value)
    with pytest.raises(ConfigError, match="option approximate_ok must be True or False, got 1"):
        empirical.track(model, loss, X, opt, approximate_ok=1)
    tracker = empirical.track(model, loss, X, opt, batch_size=8)
    loss(model, X[:8]).mean().backward()
    opt.step()
    tracker.step()
    with pytest.raises(ConfigError, match="option approximate_ok must be True or False, got 'yes'"):
        tracker.verify(approximate_ok="yes")


def test_a_tracker_finishes_as_the_run_type_of_training(X):
    """finish() returns a TrainRun of one run (the arrays training records, under its names);
    runs of two seeds stack into one TrainRun of two, and run(i) takes one back out."""
    from empirical.train import TrainRun, stack_runs

    finished = []
    for seed in (3, 4):
        _, tracker, taken = run_loop(
            X, lambda p: DefossezAdam(p, lr=1e-3), steps=20, seed=seed, batch_size=32
        )
        run = tracker.finish()
        assert isinstance(run, TrainRun) and run.seeds == (seed,) and run.runs == 1 and run.steps == 20
        np.testing.assert_array_equal(run.step_sizes, taken)
        assert (
            run.loss.shape
            == run.grad_norm_sq.shape
            == run.grad_sup_norm.shape
            == run.precond_min.shape
            == (1, 20)
        )
        T = run.record_steps.size
        assert run.full_grad_norm_sq.shape == run.full_loss.shape == run.param_sup_norm.shape == (1, T)
        assert run.full_grad_norm_sq_var.shape == (1, T) and run.record_dof == 2.0
        assert run.snapshots.shape == (
            1,
            run.snapshot_steps.size,
            sum(p.numel() for p in run.model.parameters()),
        )
        assert run.loops[0].model is run.model and run.options["batch_how"] == "given (batch_size=)"
        assert set(run.timings) == {"training", "tracking", "deferred records", "final record"}
        finished.append(run)
    both = stack_runs(finished)
    assert both.seeds == (3, 4) and both.runs == 2 and both.full_grad_norm_sq.shape[0] == 2
    assert len(both.loops) == 2 and both.run(1).loops[0] is finished[1].loops[0]
    np.testing.assert_array_equal(both.run(1).full_grad_norm_sq, finished[1].full_grad_norm_sq)
    with pytest.raises(ConfigError, match="share their steps"):
        _, other, _ = run_loop(X, lambda p: DefossezAdam(p, lr=1e-3), steps=21, batch_size=32)
        stack_runs([finished[0], other.finish()])


@pytest.mark.parametrize(
    "device",
    [
        "cpu",
        pytest.param(
            "cuda",
            marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine"),
        ),
    ],
)
def test_a_module_is_tracked_where_it_lives_and_its_rng_streams_are_untouched(X, device):
    """The records run on the module's device (the data moved there once); the global generators
    of the CPU and of that device are the same after tracking as without it."""

    def loop(tracked):
        torch.manual_seed(0)
        model = user_vae(X.shape[1]).to(device)
        opt = torch.optim.SGD(model.parameters(), lr=0.02)
        tracker = empirical.track(model, loss, X, opt, batch_size=32) if tracked else None
        for _ in range(12):
            x = X[torch.randint(X.shape[0], (32,))].to(device)
            opt.zero_grad()
            loss(model, x).mean().backward()
            opt.step()
            if tracker is not None:
                tracker.step()
        after = [torch.rand(2, device=d) for d in {"cpu", device}]
        return model, tracker, after

    plain, _, plain_after = loop(False)
    tracked, tracker, tracked_after = loop(True)
    assert tracker.data.device.type == device and tracker.device.type == device
    for a, b in zip(
        plain_after + list(plain.parameters()), tracked_after + list(tracked.parameters()), strict=True
    ):
        assert torch.equal(a, b)
    run = tracker.finish()
    assert np.all(np.isfinite(run.full_grad_norm_sq)) and run.record_steps[-1] == 12


def test_the_final_record_uses_as_many_rows_as_its_precision_needs(X):
    """Early in training ||grad F||^2 is large against the records' noise: the plan from the run's
    records asks for the fewest rows (128 of 400), and the final record says so; a record plan
    reaching all rows gives the full data (None)."""
    from empirical.tracking.run import planned_final_rows
    from empirical.train.recording import RECORD_MIN_ROWS

    _, tracker, _ = run_loop(X, lambda p: torch.optim.SGD(p, lr=1e-4), steps=6)
    run = tracker.finish()
    assert run.options["final_rows"] == RECORD_MIN_ROWS == 128
    assert run.full_grad_norm_sq_var[0, -1] > 0
    tracker.h["rec_var"] = [1e6 * v for v in tracker.h["rec_var"]]  # records far noisier: all rows
    assert planned_final_rows(tracker, 400, 2048) is None
    assert planned_final_rows(tracker, 4000, 2048) == 2048
