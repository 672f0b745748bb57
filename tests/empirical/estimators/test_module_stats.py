"""Per-example statistics of a user's nn.Module against a brute-force twin: a per-row loop of
autograd gradients through the same batched evaluation (same noise), in float64."""

from __future__ import annotations

import pytest
import torch
from cases import uniform_rows
from torch import nn

from empirical.errors import ConfigError, LossError
from empirical.estimators import module_gradient_variance
from empirical.estimators.module_stats import PER_LAYER, VMAP, module_row_stats, module_stats_at
from empirical.estimators.per_example import stats_of_gradients
from empirical.estimators.variance import from_row_stats

F64 = torch.float64


class Scale(nn.Module):
    """A layer type the per-layer route does not know: x * gain + shift."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.linspace(0.5, 1.5, width))
        self.shift = nn.Parameter(torch.linspace(-0.2, 0.2, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gain + self.shift


class UserVAE(nn.Module):
    """A user-written conv VAE: Conv2d encoder (dilated "same", then grouped, strided, reflect-padded),
    an unknown layer, and a Linear decoder applied either to (B*K, d) rows made by a reshape
    (``layout="rows"``) or to a (K*B, d) stack (``layout="stacked"``)."""

    def __init__(self, side: int = 6, latent: int = 3, K: int = 2, layout: str = "rows") -> None:
        super().__init__()
        self.side, self.latent, self.K, self.layout = side, latent, K, layout
        self.conv1 = nn.Conv2d(1, 4, 3, padding="same", dilation=2)
        self.conv2 = nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=2, padding_mode="reflect")
        flat = 4 * ((side + 1) // 2) ** 2
        self.scale = Scale(flat)
        self.head = nn.Linear(flat, 2 * latent)
        self.dec1 = nn.Linear(latent, 8)
        self.dec2 = nn.Linear(8, side * side)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # per-example negative ELBO
        B = x.shape[0]
        h = torch.tanh(self.conv1(x.reshape(B, 1, self.side, self.side)))
        h = torch.tanh(self.conv2(h)).reshape(B, -1)
        mean, logvar = self.head(self.scale(h)).chunk(2, -1)
        eps = torch.randn(B, self.K, self.latent, dtype=x.dtype)
        z = mean.unsqueeze(1) + (0.5 * logvar).exp().unsqueeze(1) * eps  # (B, K, d)
        if self.layout == "rows":
            flat_z = z.reshape(B * self.K, self.latent)  # row-major: example r owns rows rK..rK+K-1
        else:
            flat_z = z.transpose(0, 1).reshape(self.K * B, self.latent)  # (K*B): rows interleaved
        logits = self.dec2(torch.tanh(self.dec1(flat_z)))
        if self.layout != "rows":
            logits = logits.reshape(self.K, B, -1).transpose(0, 1)
        logits = logits.reshape(B, self.K, -1)
        rec = nn.functional.binary_cross_entropy_with_logits(
            logits, x.unsqueeze(1).expand_as(logits), reduction="none"
        ).sum(-1)
        kl = 0.5 * (logvar.exp() + mean**2 - 1 - logvar).sum(-1)
        return rec.mean(1) + kl


def vae_loss(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model(x)


def brute_force(model, loss, X, J, noise_seed):
    """RowStats of the per-row autograd gradients of one batched evaluation with the same noise."""
    rows = X.repeat_interleave(J, 0)
    params = {k: p for k, p in model.named_parameters() if p.requires_grad}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(noise_seed)
        losses = loss(model, rows)
    wrt = list(params.values())
    grads = [
        torch.autograd.grad(losses[r], wrt, retain_graph=True, allow_unused=True) for r in range(len(rows))
    ]
    out = {}
    for j, (k, p) in enumerate(params.items()):
        g = torch.stack([torch.zeros_like(p) if gr[j] is None else gr[j] for gr in grads])
        out[k] = stats_of_gradients(g.reshape(X.shape[0], J, *g.shape[1:]))
    return out


def assert_same(fast, slow):
    assert set(fast) == set(slow)
    for k in slow:
        for f in ("sq_draw", "sq_mean", "dot_mean"):
            torch.testing.assert_close(getattr(fast[k], f), getattr(slow[k], f), rtol=1e-6, atol=1e-12)
        assert fast[k].grand_sq == pytest.approx(slow[k].grand_sq, rel=1e-6, abs=1e-14)


def data(n: int, side: int = 6, seed: int = 0) -> torch.Tensor:
    return uniform_rows(n, side * side, seed=seed, dtype=F64)


@pytest.mark.parametrize("layout", ["rows", "stacked"])
def test_module_statistics_equal_the_per_row_autograd_twin(layout):
    torch.manual_seed(0)
    model = UserVAE(layout=layout).double()
    X = data(5)
    ms = module_stats_at(model, vae_loss, X, 3, noise_seed=123)
    assert_same(ms.stats, brute_force(model, vae_loss, X, 3, 123))
    routes = ms.routes
    for k in ("conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "head.weight", "head.bias"):
        assert routes[k] == PER_LAYER
    assert routes["scale.gain"] == routes["scale.shift"] == VMAP  # unknown layer type
    dec = [routes[k] for k in ("dec1.weight", "dec1.bias", "dec2.weight", "dec2.bias")]
    # (B*K) rows made by a reshape keep each example's rows together; a (K*B) stack does not
    assert dec == ([PER_LAYER] * 4 if layout == "rows" else [VMAP] * 4)
    assert ms.n_evals == 15 and ms.population == 5


def test_variance_from_module_stats_is_the_nested_estimator_of_the_twin():
    torch.manual_seed(1)
    model = UserVAE().double()
    X = data(6, seed=2)
    ms = module_stats_at(model, vae_loss, X, 2, noise_seed=7, population=40)
    twin = brute_force(model, vae_loss, X, 2, 7)
    from empirical.estimators.per_example import combine

    expect = from_row_stats(combine(twin), deterministic=False, population=40)
    got = ms.variance()
    for part in ("data", "mc", "mean_grad_sq"):
        assert getattr(got, part).value == pytest.approx(getattr(expect, part).value, rel=1e-6)
    assert "per-layer norms for 10 parameters" in got.data.method
    assert "vmap for 2 (scale.gain, scale.shift)" in got.data.method


def test_public_entry_point_is_reproducible_and_leaves_the_global_rng_alone():
    torch.manual_seed(2)
    model = UserVAE().double()
    X = data(12, seed=3)
    torch.manual_seed(99)
    before = torch.get_rng_state()
    a = module_gradient_variance(model, vae_loss, X, 3, n_examples=8, seed=5)
    assert torch.equal(torch.get_rng_state(), before)
    b = module_gradient_variance(model, vae_loss, X, 3, n_examples=8, seed=5)
    assert a == b
    c = module_gradient_variance(model, vae_loss, X, 3, n_examples=8, seed=6)
    assert c.mc.value != a.mc.value
    assert a.data.n_evals == 24 and a.mc_samples == 3 and a.n_examples == 8


def test_weight_tying_is_caught_at_the_probe():
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.Linear(5, 3)
            self.out_bias = nn.Parameter(torch.zeros(5))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            z = torch.tanh(self.enc(x)) + 0.1 * torch.randn(x.shape[0], 3, dtype=x.dtype)
            recon = nn.functional.linear(z, self.enc.weight.T, self.out_bias)  # tied: used outside enc
            return ((recon - x) ** 2).sum(-1)

    torch.manual_seed(3)
    model = Tied().double()
    X = data(4, side=1, seed=4).repeat(1, 5) + torch.arange(5, dtype=F64)
    ms = module_stats_at(model, vae_loss, X, 2, noise_seed=11)
    assert ms.routes["enc.weight"] == VMAP
    assert ms.routes["enc.bias"] == PER_LAYER  # the bias is only used inside enc
    assert_same(ms.stats, brute_force(model, vae_loss, X, 2, 11))


def test_frozen_parameters_are_left_out_and_an_unused_layer_counts_zero():
    torch.manual_seed(4)
    model = UserVAE().double()
    model.conv1.weight.requires_grad_(False)
    model.spare = nn.Linear(3, 3).double()  # never called by the loss
    X = data(4, seed=5)
    ms = module_stats_at(model, vae_loss, X, 2, noise_seed=3)
    assert "conv1.weight" not in ms.stats
    assert float(ms.stats["spare.weight"].sq_draw.abs().sum()) == 0.0
    assert ms.routes["spare.weight"] == PER_LAYER
    assert_same(ms.stats, brute_force(model, vae_loss, X, 2, 3))


def test_bad_inputs_raise_typed_errors():
    model = UserVAE().double()
    X = data(4)
    with pytest.raises(ConfigError, match="mc_samples"):
        module_row_stats(model, vae_loss, X, 1)
    with pytest.raises(ConfigError, match="nn.Module"):
        module_row_stats(lambda x: x, vae_loss, X, 2)
    with pytest.raises(LossError, match=r"shape \(6,\)"):
        module_row_stats(model, lambda m, x: m(x).sum(), X[:3], 2)
    with pytest.raises(LossError, match="NaN"):
        module_row_stats(model, lambda m, x: m(x) * float("nan"), X, 2)


def test_every_parameter_of_the_conv_vae_takes_the_per_layer_route():
    from empirical import conv

    model, loss = conv.make(64, K=2, latent_dim=3, channels=(3, 4), dtype="float64", seed=1)
    X = data(5, side=8, seed=6)
    ms = module_stats_at(model, loss, X, 2, noise_seed=21)
    assert set(ms.routes.values()) == {PER_LAYER}
    assert_same(ms.stats, brute_force(model, loss, X, 2, 21))


def test_the_layout_probe_runs_once_per_model_and_loss():
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1)).double()
    calls = []

    def loss(m, x):
        calls.append(x.shape[0])
        return m(x + 0.1 * torch.randn_like(x)).squeeze(-1) ** 2

    X = data(5, side=2, seed=7)
    module_stats_at(model, loss, X, 2, noise_seed=1)
    assert calls == [6, 10]  # the probe (3 examples x 2 draws), then the batch
    module_stats_at(model, loss, X, 2, noise_seed=2)
    assert calls == [6, 10, 10]


def test_a_loss_vmap_cannot_run_is_named_in_a_loss_error():
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gain = nn.Parameter(torch.ones(4, dtype=F64))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            scale = float(x.abs().max())  # data-dependent Python float: not allowed under vmap
            return ((x * self.gain) ** 2).sum(-1) * scale

    with pytest.raises(LossError, match=r"\['gain'\].*vmap"):
        module_stats_at(Odd(), vae_loss, data(3, side=2), 2, noise_seed=0)


@pytest.mark.parametrize("per_layer", [True, False])
def test_a_module_loss_without_gradient_is_a_loss_error(per_layer):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), Scale(3)).double()
    X = data(4, side=2)
    for loss in (lambda m, x: m(x).detach().sum(-1), lambda m, x: x.sum(-1)):
        with pytest.raises(LossError, match=r"loss\(model, x\) carries no gradient with respect to params"):
            module_row_stats(model, loss, X, 2, per_layer=per_layer)
    zero = module_row_stats(model, lambda m, x: 0 * m(x).sum(-1) + x.sum(-1), X, 2, per_layer=per_layer)
    assert all(float(s.sq_draw.abs().max()) == 0.0 for s in zero.stats.values())  # a true 0 gradient
