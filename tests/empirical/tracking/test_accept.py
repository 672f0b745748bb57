"""What empirical.track accepts (empirical/tracking/accept.py, evaluate.probe): each bad input is
refused in track(), before any step, with one line; NumPy arrays and DataLoaders are taken, and
a DataLoader's sampler sets the ``unbiased`` row."""

from __future__ import annotations

import pytest
import torch
from cases import run_user_loop, user_loss, user_vae
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

import empirical
from empirical.errors import ConfigError
from empirical.inputs import MIN_TRAIN_ROWS


@pytest.fixture(scope="module")
def X(user_rows):
    return user_rows


def _sgd(model):
    return torch.optim.SGD(model.parameters(), lr=0.01)


def _refused(model, loss, data, opt=None):
    with pytest.raises(ConfigError) as info:
        empirical.track(model, loss, data, opt if opt is not None else _sgd(model))
    message = str(info.value)
    assert len(message.splitlines()) == 1
    return message


def test_data_of_another_width_is_refused_in_track(X):
    model = user_vae(X.shape[1] + 3)
    message = _refused(model, user_loss, X)
    assert "loss(model, x) failed on 2 rows of the data (64 columns" in message
    assert "built for 64 columns" in message


def test_no_parameter_requiring_grad_is_refused_in_track(X):
    model = user_vae(X.shape[1])
    opt = _sgd(model)
    for p in model.parameters():
        p.requires_grad_(False)
    assert "no parameter that requires grad" in _refused(model, user_loss, X, opt)


def test_integer_losses_are_refused(X):
    model = user_vae(X.shape[1])
    message = _refused(model, lambda m, x: m(x).long(), X)
    assert "returned int64 losses" in message and "floating-point" in message


def test_a_loss_that_ignores_the_parameters_is_refused(X):
    model = user_vae(X.shape[1])
    assert "does not depend on the trained parameters" in _refused(model, lambda m, x: x.sum(1), X)


def test_a_loss_of_the_wrong_shape_is_refused(X):
    model = user_vae(X.shape[1])
    assert "shape (2,)" in _refused(model, lambda m, x: m(x).sum(), X)


def test_fewer_rows_than_the_clis_minimum_are_refused(X):
    model = user_vae(X.shape[1])
    message = _refused(model, user_loss, X[:3])
    assert f"data has 3 rows: the estimators need at least {MIN_TRAIN_ROWS}" in message


def test_a_numpy_array_is_taken_in_the_modules_dtype(X):
    model = user_vae(X.shape[1])
    tracker = empirical.track(model, user_loss, X.double().numpy(), _sgd(model))
    assert tracker.data.dtype == torch.float32 and torch.equal(tracker.data, X)


def test_the_probe_leaves_the_rng_and_the_gradients_alone(X):
    model = user_vae(X.shape[1])
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    empirical.track(model, user_loss, X, _sgd(model))
    assert torch.equal(torch.rand(3), expected)
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize(
    "loader, status, words",
    [
        (lambda ds: DataLoader(ds, batch_size=32, shuffle=True), "approximate", "without replacement"),
        (lambda ds: DataLoader(ds, batch_size=32, sampler=RandomSampler(ds, True, num_samples=32)),
         "holds", "uniformly with replacement"),
        (lambda ds: DataLoader(ds, batch_size=32, shuffle=False), "fails", "fixed order"),
    ],
)  # fmt: skip
def test_a_dataloader_gives_rows_batch_size_and_the_unbiased_row(X, loader, status, words):
    """The DataLoader's rows are F's rows, its batch_size is B, and its sampler decides the
    ``unbiased`` row: epoch-style shuffling is sampling without replacement (approximate)."""
    torch.manual_seed(0)
    model = user_vae(X.shape[1])
    opt = _sgd(model)
    data = loader(TensorDataset(X))
    tracker = empirical.track(model, user_loss, data, opt)
    assert torch.equal(tracker.data, X)
    for step, (x,) in enumerate(data):
        opt.zero_grad()
        user_loss(model, x).mean().backward()
        opt.step()
        tracker.step()
        if step == 11:
            break
    result = tracker.verify()
    row = {r.id: r for r in result.assumptions}["unbiased"]
    assert row.status == status and words in row.evidence
    assert result.runs.options["batch_size"] == 32
    assert result.runs.options["batch_how"] == "the DataLoader's batch_size"


def test_a_dataloader_of_an_iterable_dataset_is_refused(X):
    class Rows(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(X)

    model = user_vae(X.shape[1])
    assert "iterable dataset" in _refused(model, user_loss, DataLoader(Rows(), batch_size=8))


def test_the_batch_size_is_inferred_during_the_first_steps_only(X):
    """Without batch_size=, forward hooks count rows for the first steps and are then removed."""
    _, tracker, _ = run_user_loop(X, lambda p: torch.optim.SGD(p, lr=0.01), steps=12)
    assert tracker.counting == [] and all(not m._forward_pre_hooks for m in tracker.model.modules())
    run = tracker.finish()
    assert run.options["batch_size"] == 32 and "(the first 8)" in run.options["batch_how"]
