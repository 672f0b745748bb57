"""A record's m gradients from one forward and one batched backward (empirical/tracking/evaluate.py,
gradients): the same gradients as one by one, and the one-by-one fallback for a loss whose
backward cannot be batched."""

from __future__ import annotations

import numpy as np
import torch
from cases import tiny_tracked_run, user_loss, user_vae
from torch import nn

import empirical
from empirical.rng import forked
from empirical.tracking import evaluate


class _NumpyDouble(torch.autograd.Function):
    """2x, with a backward through NumPy: it cannot run under the batched backward."""

    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, g):
        return torch.from_numpy(np.asarray(g.numpy()) * 2)


def _numpy_loss(model, x):
    return _NumpyDouble.apply(user_loss(model, x))


def test_the_batched_gradients_are_the_group_gradients_of_the_same_pass():
    """g_a = grad of the mean loss over the a-th b rows, with the noise of the one forward pass."""
    torch.manual_seed(0)
    model, x, m, b = user_vae(6), torch.rand(3 * 5, 6), 3, 5
    params = dict(model.named_parameters())
    with forked(11):
        means, G = evaluate.gradients(model, user_loss, params, x, m, live=True)
    with forked(11):
        out = user_loss(model, x)
        one_by_one = [
            evaluate.flat(
                torch.autograd.grad(out[a * b : (a + 1) * b].mean(), list(params.values()), retain_graph=True)
            )
            for a in range(m)
        ]
    torch.testing.assert_close(G, torch.stack(one_by_one), rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(means, out.detach().reshape(m, b).mean(1))
    assert G.dtype == torch.float64 and G.shape == (m, sum(p.numel() for p in params.values()))
    assert all(p.grad is None for p in params.values())  # .grad left alone


def test_a_loss_the_backward_cannot_batch_is_recorded_one_gradient_at_a_time():
    torch.manual_seed(0)
    model, X = user_vae(6), torch.rand(40, 6)
    params = dict(model.named_parameters())
    assert evaluate.gradients(model, _numpy_loss, params, X[:9], 3, live=True) is None
    gen = torch.Generator().manual_seed(0)
    assert evaluate.record(model, _numpy_loss, params, X, 3, 3, gen, live=True).batched is False
    assert evaluate.record(model, user_loss, params, X, 3, 3, gen, live=True).batched is True
    assert evaluate.record(model, user_loss, params, X, None, 3, gen, live=True).batched is None  # all rows


def test_the_tracker_falls_back_once_and_keeps_recording():
    tracker, _ = tiny_tracked_run(_numpy_loss, 9)
    run = tracker.finish()
    assert tracker.batched is False
    assert run.record_steps.tolist() == [0, 1, 2, 3, 4, 6, 8, 9]
    assert np.isfinite(run.full_grad_norm_sq).all()


def test_a_module_with_convolutions_records_one_gradient_at_a_time():
    """Batched over the m group means, a convolution's backward is slower than m passes (evaluate.
    batches_well): such a module is recorded one by one from the start, by its layers, not timing."""
    conv = nn.Sequential(nn.Unflatten(1, (1, 2, 3)), nn.Conv2d(1, 2, 2), nn.Flatten(), nn.Linear(4, 6))
    assert evaluate.batches_well(user_vae(6)) and not evaluate.batches_well(conv)

    def loss(model, x):
        return (model(x) - x).square().sum(1)

    opt = torch.optim.SGD(conv.parameters(), lr=0.01)
    tracker = empirical.track(conv, loss, torch.rand(40, 6), opt, seed=0, batch_size=4)
    assert tracker.batched is False
