"""Training runs: descent, determinism, exact SGD/Adam steps, records,
projection, divergence, checkpoints and option validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from empirical import data, models
from empirical.errors import ConfigError, DivergenceError
from empirical.train import AdamState, adam_direction, step_size, train

ARRAYS = ("loss", "grad_norm_sq", "step_size", "record_steps", "full_grad_norm_sq")
ARRAYS += ("full_loss", "param_sup_norm", "param_trace")


@pytest.fixture(scope="module")
def digits() -> torch.Tensor:
    return data.split(data.load("digits"), held_out=0.2, seed=0)[0]


@pytest.fixture(scope="module")
def model() -> models.VAE:
    return models.make("gaussian", 64)


def assert_same_run(a, b):
    for name in ARRAYS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    for key in a.params:
        assert torch.equal(a.params[key], b.params[key]), key


def test_default_model_on_digits_lowers_the_loss(digits, model):
    run = train(model, None, digits, steps=400, lr_constant=0.05, record_every=100)
    assert run.full_loss[-1] < run.full_loss[0] - 5.0
    assert run.loss[-50:].mean() < run.loss[:3].mean() - 5.0
    assert run.full_grad_norm_sq[-1] < 0.1 * run.full_grad_norm_sq[0]
    assert run.full_loss.min() >= model.loss_lower_bound
    adam = train(model, None, digits, optimizer="adam", steps=200, lr_constant=0.01)
    assert adam.full_loss[-1] < adam.full_loss[0] - 5.0


def test_same_seed_same_trajectory_other_seed_differs(digits, model):
    kw = dict(steps=60, lr_constant=0.05, record_every=20, optimizer="adam")
    a = train(model, None, digits, seed=3, **kw)
    b = train(model, None, digits, seed=3, **kw)
    assert_same_run(a, b)
    c = train(model, None, digits, seed=torch.Generator().manual_seed(3), **kw)
    assert_same_run(a, c)
    d = train(model, None, digits, seed=4, **kw)
    assert not np.array_equal(a.loss, d.loss)


def test_recording_does_not_change_the_trajectory(digits, model):
    kw = dict(steps=40, lr_constant=0.05, seed=1)
    dense = train(model, None, digits, record_every=5, full_mc=2, **kw)
    sparse = train(model, None, digits, record_every=None, **kw)
    assert np.array_equal(dense.loss, sparse.loss)
    assert np.array_equal(dense.param_trace[-1], sparse.param_trace[-1])
    assert list(dense.record_steps) == list(range(0, 41, 5))
    assert list(sparse.record_steps) == [0, 40]


def test_records_shapes_and_schedule(digits, model):
    run = train(model, None, digits, steps=25, lr_constant=0.05, record_every=10)
    assert run.loss.shape == run.grad_norm_sq.shape == run.step_size.shape == (25,)
    assert list(run.record_steps) == [0, 10, 20, 25]
    assert run.param_trace.shape == (4, model.n_params)
    assert np.allclose(run.step_size, 0.05 / np.sqrt(np.arange(1, 26)))
    assert np.all(np.diff(run.elapsed) >= 0)
    sup = np.abs(run.param_trace).max(axis=1)
    assert np.allclose(run.param_sup_norm, sup)
    assert run.mean_full_grad_norm_sq == pytest.approx(run.full_grad_norm_sq[:3].mean())
    const = train(model, None, digits, steps=5, lr_constant=0.05, schedule="constant")
    assert np.all(const.step_size == 0.05) and step_size(4, 0.3) == 0.15


def test_sgd_step_and_full_gradient_by_hand():
    """Replays the run's random stream: params init, recording seed, minibatch, noise."""
    d = data.ppca(n=50, dim=5, latent_dim=2, seed=0)
    m = models.make("linear", 5, latent_dim=2, dtype="float64", closed_form=False)
    X = d.X.double()
    p0 = m.init_params(torch.Generator().manual_seed(1))
    run = train(m, p0, X, steps=1, batch_size=4, lr_constant=0.2, schedule="constant", seed=7)
    g = torch.Generator().manual_seed(7)
    torch.randint(2**62, (1,), generator=g)  # the recording generator's seed
    idx = torch.randint(50, (4,), generator=g)
    eps = m.sample_noise(g, 4)
    leaves = {k: v.clone().requires_grad_() for k, v in p0.items()}
    loss = m.batch_loss(leaves, X[idx], eps)
    grads = torch.autograd.grad(loss, list(leaves.values()))
    assert run.loss[0] == pytest.approx(float(loss.detach()))
    assert run.grad_norm_sq[0] == pytest.approx(sum(float((t**2).sum()) for t in grads))
    for (key, p), gk in zip(p0.items(), grads, strict=True):
        assert torch.allclose(run.params[key], p - 0.2 * gk)
    # deterministic objective: the recorded full gradient is the exact one
    closed = models.make("linear", 5, latent_dim=2, dtype="float64")
    run = train(closed, p0, X, steps=1, batch_size=4, lr_constant=0.2)
    full = torch.autograd.grad(closed.full_loss(leaves, X), list(leaves.values()))
    assert run.full_grad_norm_sq[0] == pytest.approx(sum(float((t**2).sum()) for t in full))
    assert run.full_loss[0] == pytest.approx(float(closed.full_loss(p0, X)))


def test_adam_torch_variant_matches_torch_optim():
    gen = torch.Generator().manual_seed(0)
    theta = torch.randn(7, generator=gen, dtype=torch.float64)
    ref = theta.clone().requires_grad_()
    opt = torch.optim.Adam([ref], lr=0.1, betas=(0.8, 0.99), eps=1e-6)
    state = AdamState(m={"w": torch.zeros(7, dtype=torch.float64)}, v={"w": torch.zeros_like(theta)})
    for _ in range(5):
        g = torch.randn(7, generator=gen, dtype=torch.float64)
        ref.grad = g.clone()
        opt.step()
        theta = theta - 0.1 * adam_direction(state, {"w": g}, (0.8, 0.99), 1e-6)["w"]
    assert torch.allclose(theta, ref.detach(), atol=1e-12)


def test_adam_delayed_uses_past_gradients_only():
    g1, g2 = torch.tensor([3.0]), torch.tensor([-1.0])
    v0 = torch.tensor([4.0])
    state = AdamState(m={"w": torch.zeros(1)}, v={"w": v0.clone()})
    d1 = adam_direction(state, {"w": g1}, (0.0, 0.5), 0.0, "delayed")["w"]
    assert torch.allclose(d1, g1 / 2.0)  # sqrt(v_0) = 2, g_1 not in it
    d2 = adam_direction(state, {"w": g2}, (0.0, 0.5), 0.0, "delayed")["w"]
    assert torch.allclose(d2, g2 / math.sqrt(0.5 * 4.0 + 0.5 * 9.0))


def test_delayed_adam_run_is_recorded(digits, model):
    kw = dict(optimizer="adam", steps=30, lr_constant=3e-3, betas=(0.0, 0.99), adam_eps=1e-3)
    run = train(model, None, digits, adam_variant="delayed", **kw)
    assert run.options["adam_variant"] == "delayed" and run.full_loss[-1] < run.full_loss[0]
    torch_run = train(model, None, digits, **kw)
    assert torch_run.options["adam_variant"] == "torch"
    assert not np.array_equal(run.param_trace[-1], torch_run.param_trace[-1])
    assert train(model, None, digits, steps=2, lr_constant=0.05).options["adam_variant"] is None


def test_projection_keeps_params_in_box(digits, model):
    run = train(model, None, digits, steps=30, lr_constant=0.05, box=0.05, record_every=10)
    assert np.all(run.param_sup_norm <= 0.05 + 1e-7)
    assert max(float(p.abs().max()) for p in run.params.values()) <= 0.05 + 1e-7
    free = train(model, None, digits, steps=1, lr_constant=0.05)
    assert free.param_sup_norm[0] > 0.05  # so the box really was active at theta_0


@pytest.mark.parametrize("activation", ["softclip", "relu"])
def test_huge_step_is_divergence_naming_the_step(digits, activation):
    m = models.make("gaussian", 64, activation=activation)
    with pytest.raises(DivergenceError, match=r"at step \d+"):
        train(m, None, digits, steps=50, lr_constant=1e30, record_every=None)


def test_checkpoint_resume_equals_uninterrupted_run(tmp_path, digits, model):
    kw = dict(optimizer="adam", lr_constant=0.01, record_every=10, seed=5)
    full = train(model, None, digits, steps=50, **kw)
    ckpt = tmp_path / "run.pt"
    first = train(model, None, digits, steps=30, checkpoint=ckpt, **kw)
    assert ckpt.is_file() and first.steps == 30
    resumed = train(model, None, digits, steps=50, resume=ckpt, checkpoint=ckpt, **kw)
    assert_same_run(full, resumed)
    with pytest.raises(ConfigError, match="lr_constant"):
        train(model, None, digits, steps=50, resume=ckpt, **{**kw, "lr_constant": 0.02})
    with pytest.raises(ConfigError, match="steps"):
        train(model, None, digits, steps=20, resume=ckpt, **kw)


def test_dtype_device_and_progress(digits, model, capsys):
    run = train(model, None, digits, steps=3, lr_constant=0.05, dtype="float64", progress=True)
    assert all(p.dtype == torch.float64 for p in run.params.values())
    assert run.options["dtype"] == "float64" and run.options["device"] == "cpu"
    assert "step" in capsys.readouterr().err
    train(model, None, digits, steps=3, lr_constant=0.05, progress=False)
    assert capsys.readouterr().err == ""
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="cuda"):
            train(model, None, digits, steps=3, lr_constant=0.1, device="cuda")


@pytest.mark.parametrize(
    "opts, word",
    [
        ({"batch_size": 0}, "batch_size"),
        ({"steps": 0}, "steps"),
        ({"optimizer": "rmsprop"}, "optimizer.*sgd, adam"),
        ({"schedule": "linear"}, "schedule.*sqrt, constant"),
        ({"box": -1.0}, "box"),
        ({"lr_constant": float("nan")}, "lr_constant"),
        ({"record_every": 0}, "record_every"),
        ({"optimizer": "adam", "adam_variant": "amsgrad"}, "adam_variant"),
        ({"betas": (1.0, 0.9)}, "betas"),
        ({"dtype": "int8"}, "dtype"),
    ],
)
def test_bad_train_options(digits, model, opts, word):
    kw = {"steps": 5, "lr_constant": 0.1, **opts}
    with pytest.raises(ConfigError, match=word):
        train(model, None, digits, **kw)
