"""Training runs: descent, determinism, R runs batched equal R single runs,
exact SGD steps, unbiased records, projection and its gradient mapping,
divergence, checkpoints and option validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from empirical import data, models
from empirical.errors import ConfigError, DivergenceError
from empirical.train import record_plan, snapshot_plan, train
from empirical.train.batched import gradient_norm_records
from empirical.train.recording import RECORD_MIN_ROWS

ARRAYS = ("loss", "grad_norm_sq", "step_sizes", "record_steps", "full_grad_norm_sq")
ARRAYS += ("full_loss", "param_sup_norm", "snapshot_steps", "snapshots")


@pytest.fixture(scope="module")
def model() -> models.VAE:
    return models.make("gaussian", 64)


def assert_same_run(a, b):
    for name in ARRAYS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    for key in a.params:
        assert torch.equal(a.params[key], b.params[key]), key


def test_default_model_on_digits_lowers_the_loss(digits_train, model):
    run = train(model, None, digits_train, steps=400, C_gamma=0.05, records=range(0, 401, 100))
    assert run.full_loss[0, -1] < run.full_loss[0, 0] - 5.0
    assert run.loss[0, -50:].mean() < run.loss[0, :3].mean() - 5.0
    assert run.full_grad_norm_sq[0, -1] < 0.1 * run.full_grad_norm_sq[0, 0]
    assert run.full_loss.min() >= model.loss_lower_bound
    adam = train(model, None, digits_train, optimizer="adam", steps=200, C_gamma=0.01)
    assert adam.full_loss[0, -1] < adam.full_loss[0, 0] - 5.0


def test_same_seed_same_trajectory_other_seed_differs(digits_train, model):
    kw = dict(steps=60, C_gamma=0.05, records=range(0, 61, 20), optimizer="adam")
    a = train(model, None, digits_train, seed=3, **kw)
    b = train(model, None, digits_train, seed=3, **kw)
    assert_same_run(a, b)
    d = train(model, None, digits_train, seed=4, **kw)
    assert not np.array_equal(a.loss, d.loss)


@pytest.mark.parametrize("kind", ["gaussian", "iwae"])
def test_batched_runs_equal_single_runs(digits_train, kind):
    """Run i of runs=R is the run of seed + i alone: same minibatches, noise
    and initialisation (bit for bit), same trajectory up to float rounding."""
    m = models.make(kind, 64, hidden=(16,), latent_dim=4, K=2)
    kw = dict(steps=80, batch_size=16, C_gamma=0.05, records=(0, 10, 40, 80))
    batch = train(m, None, digits_train, seed=7, runs=3, **kw)
    assert batch.seeds == (7, 8, 9) and batch.runs == 3
    for i in range(3):
        one = train(m, None, digits_train, seed=7 + i, **kw)
        np.testing.assert_allclose(batch.loss[i], one.loss[0], rtol=1e-4)
        np.testing.assert_allclose(batch.snapshots[i], one.snapshots[0], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(batch.full_grad_norm_sq[i], one.full_grad_norm_sq[0], rtol=1e-3)
        assert_same_run(batch.run(i).run(0), batch.run(i))
        assert np.array_equal(batch.snapshots[i, 0], one.snapshots[0, 0])  # theta_0 drawn alike


def test_recording_does_not_change_the_trajectory(digits_train, model):
    kw = dict(steps=40, C_gamma=0.05, seed=1)
    dense = train(model, None, digits_train, records=range(0, 41, 5), **kw)
    sparse = train(model, None, digits_train, records=(), **kw)
    assert np.array_equal(dense.loss, sparse.loss)
    assert np.array_equal(dense.snapshots[:, -1], sparse.snapshots[:, -1])
    assert list(dense.record_steps) == list(range(0, 41, 5))
    assert list(sparse.record_steps) == [0, 40]


def test_record_and_snapshot_plans():
    plan = record_plan(2000)
    assert plan[:11] == tuple(range(11)) and plan[-1] == 2000
    gaps = np.diff(plan)
    assert np.all(gaps >= 1) and gaps.max() <= 2000 / 16 + 1
    assert len(plan) < 60  # dense early, sparse late
    assert record_plan(1) == (0, 1) and record_plan(5) == (0, 1, 2, 3, 4, 5)
    snaps = snapshot_plan(plan)
    assert snaps[0] == 0 and snaps[-1] == 2000 and set(snaps) <= set(plan) and len(snaps) == 16
    with pytest.raises(ConfigError, match="steps"):
        record_plan(0)


def test_records_shapes_and_schedule(digits_train, model):
    run = train(model, None, digits_train, steps=25, C_gamma=0.05, records=(10, 20), runs=2)
    assert run.loss.shape == run.grad_norm_sq.shape == (2, 25) and run.step_sizes.shape == (25,)
    assert list(run.record_steps) == [0, 10, 20, 25]
    assert run.full_grad_norm_sq.shape == run.full_loss.shape == run.param_sup_norm.shape == (2, 4)
    assert list(run.snapshot_steps) == [0, 10, 20, 25]
    assert run.snapshots.shape == (2, 4, model.n_params)
    assert np.allclose(run.step_sizes, 0.05 / np.sqrt(np.arange(1, 26)))
    assert np.all(np.diff(run.elapsed) >= 0)
    assert np.allclose(run.param_sup_norm, np.abs(run.snapshots).max(axis=2))
    assert run.mapping_sq is None
    assert not hasattr(run, "mean_full_grad_norm_sq")  # no unweighted mean of uneven records
    # rows per record gradient: the first at the minimum, every one planned within [min, N]
    assert run.record_rows.shape == (2, 4) and np.all(run.record_rows[:, 0] == RECORD_MIN_ROWS)
    assert np.all((run.record_rows >= RECORD_MIN_ROWS) & (run.record_rows <= digits_train.shape[0]))
    assert np.array_equal(run.run(1).record_rows, run.record_rows[1:])
    const = train(model, None, digits_train, steps=5, C_gamma=0.05, schedule="constant")
    assert np.all(const.step_sizes == 0.05)


def test_sgd_step_by_hand():
    """Replays the run's random stream: params init, recording seed, minibatch, noise."""
    d = data.ppca(n=50, dim=5, latent_dim=2, seed=0)
    m = models.make("linear", 5, latent_dim=2, dtype="float64", closed_form=False)
    X = d.X.double()
    p0 = m.init_params(torch.Generator().manual_seed(1))
    run = train(m, p0, X, steps=1, batch_size=4, C_gamma=0.2, schedule="constant", seed=7)
    g = torch.Generator().manual_seed(7)
    torch.randint(2**62, (1,), generator=g)  # the recording generator's seed
    idx = torch.randint(50, (4,), generator=g)
    eps = m.sample_noise(g, 4)
    leaves = {k: v.clone().requires_grad_() for k, v in p0.items()}
    loss = m.batch_loss(leaves, X[idx], eps)
    grads = torch.autograd.grad(loss, list(leaves.values()))
    assert run.loss[0, 0] == pytest.approx(float(loss.detach()))
    assert run.grad_norm_sq[0, 0] == pytest.approx(sum(float((t**2).sum()) for t in grads))
    for (key, p), gk in zip(p0.items(), grads, strict=True):
        assert torch.allclose(run.params[key][0], p - 0.2 * gk)


def test_deterministic_record_is_the_exact_gradient_norm():
    d = data.ppca(n=50, dim=5, latent_dim=2, seed=0)
    closed = models.make("linear", 5, latent_dim=2, dtype="float64")
    X = d.X.double()
    p0 = closed.init_params(torch.Generator().manual_seed(1))
    run = train(closed, p0, X, steps=1, batch_size=4, C_gamma=0.2)
    leaves = {k: v.clone().requires_grad_() for k, v in p0.items()}
    full = torch.autograd.grad(closed.full_loss(leaves, X), list(leaves.values()))
    assert run.full_grad_norm_sq[0, 0] == pytest.approx(sum(float((t**2).sum()) for t in full))
    assert run.full_loss[0, 0] == pytest.approx(float(closed.full_loss(p0, X)))


@pytest.mark.parametrize("rows", [None, 30, "mixed"])
def test_noisy_records_are_unbiased(digits_train, rows):
    """The mean of many records (U-statistics of 3 gradients, full-data or over rows drawn
    without replacement, runs with different rows batched together) at one point equals
    ||grad F||^2 (a reference from two independent 64-draw averages), within Monte-Carlo
    error; their jackknife variances are on average at least the records' spread (Efron-Stein)."""
    m = models.make("gaussian", 64, hidden=(16,), latent_dim=4, dtype="float64")
    X = digits_train[:200].double()
    theta = m.init_params(torch.Generator().manual_seed(0))
    R = 400
    stacked = {k: v.unsqueeze(0).expand(R, *v.shape) for k, v in theta.items()}
    gens = [torch.Generator().manual_seed(100 + i) for i in range(R)]
    per_run = {None: None, 30: [30] * R, "mixed": [(20, 200, 50, 199)[i % 4] for i in range(R)]}[rows]
    _, records, variances = gradient_norm_records(m, stacked, X, gens, per_run)
    leaves = {k: v.clone().requires_grad_() for k, v in theta.items()}

    def full_grad(seed: int, draws: int) -> torch.Tensor:
        F = m.full_loss(leaves, X, torch.Generator().manual_seed(seed), mc=draws)
        return torch.cat([g.reshape(-1) for g in torch.autograd.grad(F, list(leaves.values()))])

    truth = float(full_grad(1, 64) @ full_grad(2, 64))
    mean, se = float(records.mean()), float(records.std() / np.sqrt(R))
    assert abs(mean - truth) < 4 * se + 0.02 * truth, (mean, se, truth)
    assert float(variances.mean()) >= 0.8 * float(records.var()) and bool((variances >= 0).all())


def test_projection_keeps_params_in_box_and_records_the_mapping(digits_train, model):
    run = train(model, None, digits_train, steps=30, C_gamma=0.05, box=0.05, records=range(0, 31, 10), runs=2)
    assert np.all(run.param_sup_norm <= 0.05 + 1e-7)
    assert max(float(p.abs().max()) for p in run.params.values()) <= 0.05 + 1e-7
    assert run.mapping_sq.shape == (2, 30)
    # no projection active on a coordinate -> the mapping is g_k there; overall at most ||g_k||^2
    assert np.all(run.mapping_sq <= run.grad_norm_sq * (1 + 1e-4))
    free = train(model, None, digits_train, steps=1, C_gamma=0.05)
    assert free.param_sup_norm[0, 0] > 0.05  # so the box really was active at theta_0
    one = train(model, None, digits_train, steps=1, C_gamma=0.05, box=0.05, schedule="constant")
    theta0 = {k: v[0] for k, v in one.run(0).params.items()}
    start = one.snapshots[0, 0]
    end = torch.cat([theta0[k].reshape(-1) for k in one.param_keys]).double().numpy()
    assert one.mapping_sq[0, 0] == pytest.approx(float(np.square(start - end).sum()) / 0.05**2, rel=1e-4)


@pytest.mark.parametrize("activation", ["softclip", "relu"])
def test_huge_step_is_divergence_naming_the_step_and_seed(digits_train, activation):
    m = models.make("gaussian", 64, activation=activation)
    with pytest.raises(DivergenceError, match=r"at step \d+ \(run of seed \d+\)"):
        train(m, None, digits_train, steps=50, C_gamma=1e30, records=(), runs=2)


def test_checkpoint_resume_equals_uninterrupted_run(tmp_path, digits_train, model):
    kw = dict(optimizer="adam", C_gamma=0.01, records=range(0, 51, 10), seed=5, runs=2)
    full = train(model, None, digits_train, steps=50, **kw)
    ckpt = tmp_path / "run.pt"
    first = train(model, None, digits_train, steps=30, checkpoint=ckpt, **kw)
    assert ckpt.is_file() and first.steps == 30
    resumed = train(model, None, digits_train, steps=50, resume=ckpt, checkpoint=ckpt, **kw)
    assert_same_run(full, resumed)
    with pytest.raises(ConfigError, match="C_gamma"):
        train(model, None, digits_train, steps=50, resume=ckpt, **{**kw, "C_gamma": 0.02})
    with pytest.raises(ConfigError, match="seeds"):
        train(model, None, digits_train, steps=50, resume=ckpt, **{**kw, "runs": 3})
    with pytest.raises(ConfigError, match="steps"):
        train(model, None, digits_train, steps=20, resume=ckpt, **kw)
    bad = tmp_path / "bad.pt"
    torch.save({"format": 1}, bad)
    with pytest.raises(ConfigError, match="not a vaebounds training checkpoint"):
        train(model, None, digits_train, steps=50, resume=bad, **kw)


def test_delayed_adam_run_is_recorded(digits_train, model):
    kw = dict(optimizer="adam", steps=30, C_gamma=3e-3, betas=(0.0, 0.99), eps=1e-3)
    run = train(model, None, digits_train, variant="delayed", **kw)
    assert run.options["variant"] == "delayed" and run.full_loss[0, -1] < run.full_loss[0, 0]
    torch_run = train(model, None, digits_train, **kw)
    assert torch_run.options["variant"] == "torch"
    assert not np.array_equal(run.snapshots[:, -1], torch_run.snapshots[:, -1])
    assert train(model, None, digits_train, steps=2, C_gamma=0.05).options["variant"] is None


def test_dtype_device_and_progress(digits_train, model, capsys):
    run = train(model, None, digits_train, steps=3, C_gamma=0.05, dtype="float64", progress=True)
    assert all(p.dtype == torch.float64 for p in run.params.values())
    assert run.options["dtype"] == "float64" and run.options["device"] == "cpu"
    assert "step" in capsys.readouterr().err
    train(model, None, digits_train, steps=3, C_gamma=0.05, progress=False)
    assert capsys.readouterr().err == ""
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="cuda"):
            train(model, None, digits_train, steps=3, C_gamma=0.1, device="cuda")


def test_given_params_shared_or_stacked(digits_train, model):
    p0 = model.init_params(torch.Generator().manual_seed(11))
    shared = train(model, p0, digits_train, steps=2, C_gamma=0.05, runs=2)
    flat = torch.cat([p0[k].reshape(-1) for k in shared.param_keys]).double().numpy()
    assert np.array_equal(shared.snapshots[0, 0], flat) and np.array_equal(shared.snapshots[1, 0], flat)
    stacked = {k: torch.stack([v, v + 0.01]) for k, v in p0.items()}
    two = train(model, stacked, digits_train, steps=2, C_gamma=0.05, runs=2)
    assert not np.array_equal(two.snapshots[0, 0], two.snapshots[1, 0])
    with pytest.raises(ConfigError, match="shape"):
        train(
            model,
            {k: torch.stack([v] * 3) for k, v in p0.items()},
            digits_train,
            steps=2,
            C_gamma=0.05,
            runs=2,
        )


@pytest.mark.parametrize(
    "opts, word",
    [
        ({"batch_size": 0}, "batch_size"),
        ({"steps": 0}, "steps"),
        ({"optimizer": "rmsprop"}, "optimizer.*sgd, adam"),
        ({"schedule": "linear"}, "schedule.*sqrt, constant"),
        ({"box": -1.0}, "box"),
        ({"C_gamma": float("nan")}, "C_gamma"),
        ({"records": (0, -1)}, "records"),
        ({"optimizer": "adam", "variant": "amsgrad"}, "variant"),
        ({"betas": (1.0, 0.9)}, "betas"),
        ({"dtype": "int8"}, "dtype"),
        ({"seed": -1}, "seed"),
        ({"runs": 0}, "runs"),
        ({"seed": 2**63 - 1, "runs": 2}, "seed"),
        ({"threads": 0}, "threads"),
    ],
)
def test_bad_train_options(digits_train, model, opts, word):
    kw = {"steps": 5, "C_gamma": 0.1, **opts}
    with pytest.raises(ConfigError, match=word):
        train(model, None, digits_train, **kw)
