"""Live records (empirical/tracking/live.py, tensorboard.py): callback=fn is called as each
record is taken, with what result.records ends up holding; a TensorBoard writer gets the same
scalars; an optimizer stepped with a closure is read after the closure."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cases import run_user_loop, user_loss, user_vae

import empirical
from empirical.errors import ConfigError


@pytest.fixture(scope="module")
def X(user_rows):
    return user_rows


def _step_lr(opt):
    return torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)


def test_the_callback_sees_every_record_as_result_records_holds_it(X):
    seen = []
    _, tracker, taken = run_user_loop(
        X, lambda p: torch.optim.SGD(p, lr=0.02), steps=30, scheduler=_step_lr,
        callback=lambda step, record: seen.append((step, record)),
    )  # fmt: skip
    result = tracker.verify()
    last = {step: record for step, record in seen}  # the final record replaces one at the same step
    assert [(k, last[k].value) for k in last] == result.records
    assert [k for k, _ in seen] == [k for k, _ in result.records]  # 30 is not a planned step
    assert seen[-1][1].final and not any(r.final for _, r in seen[:-1])
    assert seen[0][1].step_size is None and seen[0][1].running is None
    for step, record in seen[1:]:
        assert record.step == step and record.step_size == taken[step - 1]
    np.testing.assert_allclose([r.variance for _, r in seen], result.runs.full_grad_norm_sq_var[0])


def test_the_running_average_is_the_gamma_weighted_average_of_the_records(X):
    """Records at every step (record_growth=1): the bracket is exact, so at step k the running
    average is sum_{j<k} gamma_(j+1) r_j / sum_{j<k} gamma_(j+1)."""
    seen = []
    run_user_loop(
        X, lambda p: torch.optim.SGD(p, lr=0.02), steps=25, scheduler=_step_lr, record_growth=1.0,
        callback=lambda step, record: seen.append(record),
    )  # fmt: skip
    values = np.array([r.value for r in seen])
    gammas = np.array([r.step_size for r in seen[1:]])
    for k in range(1, len(seen)):
        expected = np.sum(gammas[:k] * values[:k]) / np.sum(gammas[:k])
        assert seen[k].running == pytest.approx(expected, rel=1e-12)


def test_a_callback_that_is_not_callable_is_refused(X):
    model = user_vae(X.shape[1])
    with pytest.raises(ConfigError, match="callback must be a function"):
        empirical.track(model, user_loss, X, torch.optim.SGD(model.parameters(), lr=0.01), callback=3)


def test_tensorboard_event_file_holds_the_records(X, tmp_path):
    """A SummaryWriter given as tensorboard= leaves an event file whose scalars (the last written
    at each step) match result.records, the step sizes and the running averages."""
    pytest.importorskip("tensorboard", reason="the optional tensorboard extra is not installed")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(tmp_path))
    seen = []
    _, tracker, taken = run_user_loop(
        X, lambda p: torch.optim.SGD(p, lr=0.02), steps=26, scheduler=_step_lr, tensorboard=writer,
        callback=lambda step, record: seen.append(record),
    )  # fmt: skip
    result = tracker.verify()
    writer.close()
    events = EventAccumulator(str(tmp_path))
    events.Reload()

    def scalars(tag):
        return {e.step: e.value for e in events.Scalars(f"vaebounds/{tag}")}

    records = scalars("grad_norm_sq")
    assert sorted(records) == [k for k, _ in result.records]
    np.testing.assert_allclose(
        [records[k] for k, _ in result.records], [v for _, v in result.records], rtol=1e-6
    )
    steps = scalars("step_size")
    assert all(steps[k] == pytest.approx(taken[k - 1]) for k in steps) and 0 not in steps
    running = scalars("running_average")
    last = {r.step: r.running for r in seen[1:]}  # 26 is a planned step: the final record replaces it
    assert seen[-1].final and seen[-2].step == 26
    np.testing.assert_allclose([running[k] for k in last], list(last.values()), rtol=1e-6)


def test_a_writer_without_add_scalar_is_refused(X):
    model = user_vae(X.shape[1])
    with pytest.raises(ConfigError, match="SummaryWriter"):
        empirical.track(model, user_loss, X, torch.optim.SGD(model.parameters(), lr=0.01), tensorboard="logs")


def _closure_loop(X, closure: bool):
    torch.manual_seed(0)
    model = user_vae(X.shape[1])
    opt = torch.optim.SGD(model.parameters(), lr=0.02)
    tracker = empirical.track(model, user_loss, X, opt, seed=0)
    gen = torch.Generator().manual_seed(1)
    for _ in range(15):
        x = X[torch.randint(X.shape[0], (16,), generator=gen)]

        def compute(x=x):
            opt.zero_grad()
            value = user_loss(model, x).mean()
            value.backward()
            return value

        if closure:
            value = opt.step(compute)
        else:
            value = compute()
            opt.step()
        tracker.step(value)
    return tracker.finish()


def test_an_optimizer_stepped_with_a_closure_is_read_after_the_closure(X):
    """optimizer.step(closure) (as Lightning steps): the gradients and rows are read after the
    closure computed them, so the run equals the same loop without a closure."""
    plain, closed = _closure_loop(X, False), _closure_loop(X, True)
    np.testing.assert_array_equal(plain.grad_norm_sq, closed.grad_norm_sq)
    np.testing.assert_array_equal(plain.full_grad_norm_sq, closed.full_grad_norm_sq)
    assert closed.options["batch_size"] == 16 and np.isfinite(closed.grad_norm_sq[0, 0])
