"""evaluate.isolated: the user's buffers are never written, and a graph built inside the block
can be differentiated after it (the Lanczos closures of the pilot and of the estimators do so)."""

from __future__ import annotations

import torch
from torch import nn

from empirical.tracking import evaluate


class Scaled(nn.Module):
    """A loss whose backward needs a buffer: d/dw (w * scale * x) reads ``scale``; the forward
    also updates a running statistic in place, as BatchNorm does in training mode."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor([1.5, -0.5]))
        self.register_buffer("scale", torch.tensor([2.0, 3.0]))
        self.register_buffer("running", torch.zeros(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            self.running.mul_(0.9).add_(0.1 * x.mean(0))
        return ((self.w * self.scale * x) ** 2).sum(1)


def test_backward_after_the_block_and_buffers_untouched():
    model = Scaled()
    x = torch.tensor([[1.0, 2.0], [0.5, -1.0]])
    scale, running = model.scale, model.running
    versions = (scale._version, running._version)
    with evaluate.isolated(model, 7):
        out = model(x).mean()
    (grad,) = torch.autograd.grad(out, [model.w])  # the bug: the block's exit wrote `scale` in place
    expected = (2 * model.w.detach() * (scale * x) ** 2).mean(0)
    torch.testing.assert_close(grad, expected)
    assert model.scale is scale and model.running is running  # the user's own tensors back
    assert (scale._version, running._version) == versions  # and never written
    assert torch.equal(running, torch.zeros(2))


def test_batchnorm_eval_hessian_vector_after_the_block():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    model(torch.randn(16, 3))  # running statistics away from their initial values
    model.eval()
    before = {k: (b.clone(), b._version) for k, b in model.named_buffers()}
    x = torch.randn(8, 3)

    def loss(m, rows):
        return m(rows).squeeze(1) ** 2

    params = {k: p.detach().requires_grad_(True) for k, p in model.named_parameters()}
    with evaluate.isolated(model, 1):
        out = evaluate.per_example(model, loss, params, x).mean()
    grads = torch.autograd.grad(out, list(params.values()), create_graph=True)
    flat = torch.cat([g.reshape(-1) for g in grads])
    hv = torch.autograd.grad(flat.sum(), list(params.values()))
    assert all(torch.isfinite(h).all() for h in hv)
    for k, b in model.named_buffers():
        torch.testing.assert_close(b, before[k][0])
        assert b._version == before[k][1]


def test_shared_buffer_stays_shared_inside_the_block():
    a, b = nn.Module(), nn.Module()
    shared = torch.ones(2)
    a.register_buffer("s", shared)
    b.register_buffer("s", shared)
    model = nn.ModuleDict({"a": a, "b": b})
    with evaluate.isolated(model, 0):
        assert model["a"].s is model["b"].s and model["a"].s is not shared
        model["a"].s.add_(1.0)
    assert model["a"].s is shared and model["b"].s is shared
    assert torch.equal(shared, torch.ones(2))
