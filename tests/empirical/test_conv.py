"""The convolutional VAE: size, the user-model protocol, its loss against torch.distributions,
the proven lower bound, and seeded initialisation."""

from __future__ import annotations

import pytest
import torch
from cases import uniform_rows
from torch.distributions import Bernoulli, Normal, kl_divergence

from empirical import conv, data
from empirical.errors import ConfigError

F64 = torch.float64


def test_default_conv_vae_on_mnist_rows():
    model, loss = conv.make(784)
    assert 100_000 <= model.n_params <= 160_000
    assert model.n_params == sum(p.numel() for p in model.parameters())
    X = data.load("mnist")[:32]
    torch.manual_seed(0)
    with torch.no_grad():
        out = loss(model, X)
    assert out.shape == (32,) and out.dtype == torch.float32
    assert bool(torch.isfinite(out).all())
    assert float(out.min()) >= model.loss_lower_bound == 0.0


def test_loss_is_the_negative_elbo_of_torch_distributions():
    model, loss = conv.make(64, K=3, beta=0.5, latent_dim=4, channels=(3, 5), dtype="float64")
    X = uniform_rows(6, 64, seed=1, dtype=F64)
    torch.manual_seed(5)
    got = loss(model, X)
    torch.manual_seed(5)
    mean, logvar = model.encode(X)
    eps = torch.randn(6, 3, 4, dtype=F64)
    z = mean.unsqueeze(1) + (0.5 * logvar).exp().unsqueeze(1) * eps
    logits = model.decode(z.reshape(18, 4)).reshape(6, 3, 64)
    log_lik = Bernoulli(logits=logits, validate_args=False).log_prob(X.unsqueeze(1)).sum(-1)
    kl = kl_divergence(Normal(mean, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(got, -log_lik.mean(1) + 0.5 * kl)


def test_lower_bound_holds_far_from_the_initialisation():
    model, loss = conv.make(64, channels=(3, 4), latent_dim=2, dtype="float64")
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(25.0).add_(torch.randn(p.shape, generator=g, dtype=F64))
    X = torch.rand(50, 64, generator=g, dtype=F64).round()  # binary images: BCE can approach 0
    torch.manual_seed(3)
    out = loss(model, X).detach()
    assert bool(torch.isfinite(out).all()) and float(out.min()) >= 0.0


def test_initialisation_is_seeded_and_leaves_the_global_rng_alone():
    torch.manual_seed(11)
    state = torch.get_rng_state()
    a, _ = conv.make(784, seed=4)
    assert torch.equal(torch.get_rng_state(), state)
    b, _ = conv.make(784, seed=4)
    c, _ = conv.make(784, seed=5)
    for (k, pa), pb in zip(a.named_parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb), k
    assert not torch.equal(a.enc1.weight, c.enc1.weight)


@pytest.mark.parametrize(
    "data_dim, options, match",
    [
        (100, {}, "divisible by 4"),
        (783, {}, "square images"),
        (784, {"hidden": 3}, "unknown option"),
        (784, {"channels": 8}, "channels must be a pair"),
        (784, {"K": 0}, "K must be an integer > 0"),
        (784, {"beta": -1.0}, "beta must be"),
        (784, {"dtype": "float16"}, "dtype"),
    ],
)
def test_bad_options_raise_config_errors(data_dim, options, match):
    with pytest.raises(ConfigError, match=match):
        conv.make(data_dim, **options)
