"""A small convolutional VAE for square images, as a plain ``torch.nn.Module``.

It follows the user-model protocol of :mod:`empirical.track` and of the CLI's
``--model FILE.py:make``: :func:`make` returns ``(model, loss)`` with ``loss(model, x)``
the per-example negative ELBO, shape ``(len(x),)``, drawing its own reparameterisation
noise from torch's global RNG.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from empirical.errors import ConfigError
from empirical.nets import softclip
from empirical.validate import dtype as dtype_option
from empirical.validate import number, whole
from theory.models.softclip import DEFAULT_S, HIDDEN_BOUNDS, LOGVAR_BOUNDS, MEAN_BOUNDS

#: Options of :func:`make` and their defaults.
DEFAULTS: dict[str, Any] = {
    "latent_dim": 16,
    "channels": (16, 48),
    "K": 1,
    "beta": 1.0,
    "s": DEFAULT_S,
    "dtype": "float32",
}


class ConvVAE(nn.Module):
    """Convolutional VAE with soft-clip activations and a Bernoulli decoder (side = 28 for MNIST).

    Encoder: Conv2d(1, c1, 3, stride 2) -> Conv2d(c1, c2, 3, stride 2), soft-clipped,
    flattened; two Linear heads give the mean (soft-clipped to ``MEAN_BOUNDS``) and the
    log-variance (soft-clipped to ``LOGVAR_BOUNDS``) of q(z|x). Decoder: Linear(latent,
    c2 (side/4)^2) -> Upsample x2 -> Conv2d(c2, c1, 3) -> Upsample x2 -> Conv2d(c1, 1, 3);
    hidden units soft-clipped to ``HIDDEN_BOUNDS``, the output logits to ``MEAN_BOUNDS``
    (as the MLP VAE of :mod:`empirical.models` clips its decoder output). The soft-clip is
    :func:`empirical.nets.softclip` (the smooth activations of assumption A1). The loss, with
    the KL in closed form:

        loss(x) = (1/K) sum_k BCE(x, sigmoid(G(z_k))) + beta KL(q(z|x) || N(0, I)),
        z_k = m(x) + exp(logvar(x)/2) eps_k,  eps_k ~ N(0, I).

    For x in [0, 1] and p in (0, 1), BCE(x, p) = -x log p - (1 - x) log(1 - p) >= 0 and
    beta KL >= 0, so loss >= 0: :attr:`loss_lower_bound` = 0.

    Args:
        side: The image side, divisible by 4.
        latent_dim: The latent dimension.
        channels: (c1, c2).
        K: The draws per example.
        beta: The KL weight, >= 0.
        s: The soft-clip's sharpness.
    """

    #: Proven lower bound of the per-example loss: BCE >= 0 and beta KL >= 0.
    loss_lower_bound = 0.0

    def __init__(
        self,
        side: int = 28,
        latent_dim: int = 16,
        channels: tuple[int, int] = (16, 48),
        K: int = 1,
        beta: float = 1.0,
        s: float = DEFAULT_S,
    ) -> None:
        super().__init__()
        c1, c2 = channels
        self.side, self.latent_dim, self.K, self.beta, self.s = side, latent_dim, K, beta, s
        self.grid = side // 4
        flat = c2 * self.grid**2
        self.enc1 = nn.Conv2d(1, c1, 3, stride=2, padding=1)
        self.enc2 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.mean_head = nn.Linear(flat, latent_dim)
        self.logvar_head = nn.Linear(flat, latent_dim)
        self.dec_in = nn.Linear(latent_dim, flat)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.dec1 = nn.Conv2d(c2, c1, 3, padding=1)
        self.dec2 = nn.Conv2d(c1, 1, 3, padding=1)
        self.channels = (c1, c2)

    @property
    def data_dim(self) -> int:
        """The pixels per image, side^2."""
        return self.side * self.side

    @property
    def n_params(self) -> int:
        """The number of scalar parameters."""
        return sum(p.numel() for p in self.parameters())

    def _act(self, x: torch.Tensor, bounds: tuple[float, float] = HIDDEN_BOUNDS) -> torch.Tensor:
        return softclip(x, self.s, bounds)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's outputs.

        Args:
            x: Rows (B, side^2).

        Returns:
            (mean, logvar) of q(z|x), each (B, latent).
        """
        h = x.reshape(-1, 1, self.side, self.side)
        h = self._act(self.enc1(h))
        h = self._act(self.enc2(h)).flatten(1)
        mean = self._act(self.mean_head(h), MEAN_BOUNDS)
        logvar = self._act(self.logvar_head(h), LOGVAR_BOUNDS)
        return mean, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's Bernoulli logits.

        Args:
            z: Latent rows (N, latent).

        Returns:
            Logits (N, side^2).
        """
        h = self._act(self.dec_in(z)).reshape(-1, self.channels[1], self.grid, self.grid)
        h = self._act(self.dec1(self.up(h)))
        logits = self.dec2(self.up(h)).flatten(1)
        return self._act(logits, MEAN_BOUNDS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The per-example loss: :func:`elbo_loss` of this model.

        Args:
            x: Rows (B, side^2).

        Returns:
            (B,) losses.
        """
        return elbo_loss(self, x)


def elbo_loss(model: ConvVAE, x: torch.Tensor) -> torch.Tensor:
    """The per-example negative ELBO with K reparameterised draws from torch's global RNG.

    Args:
        model: The conv VAE.
        x: Rows (B, side^2), in [0, 1].

    Returns:
        (len(x),) losses (:class:`ConvVAE`).
    """
    B = x.shape[0]
    mean, logvar = model.encode(x)
    eps = torch.randn(B, model.K, model.latent_dim, dtype=mean.dtype, device=mean.device)
    z = mean.unsqueeze(1) + (0.5 * logvar).exp().unsqueeze(1) * eps  # (B, K, d)
    logits = model.decode(z.reshape(B * model.K, model.latent_dim)).reshape(B, model.K, -1)
    target = x.reshape(B, 1, -1).expand_as(logits)
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1).mean(-1)
    kl = 0.5 * (logvar.exp() + mean**2 - 1.0 - logvar).sum(-1)
    return bce + model.beta * kl


def make(data_dim: int, *, seed: int = 0, **options: Any) -> tuple[ConvVAE, Any]:
    """The conv VAE and its loss for images of ``data_dim`` = side^2 pixels (side divisible by 4).

    The initialisation (torch's default per layer) is drawn from a stream seeded with
    ``seed``; the caller's global RNG is untouched.

    Args:
        data_dim: The pixels per image (e.g. 784).
        seed: The initialisation's seed.
        **options: latent_dim, channels (c1, c2), K, beta, s, dtype (defaults :data:`DEFAULTS`).

    Returns:
        ``(model, loss)``, the user-model protocol.

    Raises:
        ConfigError: Images that are not square with a side divisible by 4, an unknown
            option or a bad value.
    """
    side = math.isqrt(whole("data_dim", data_dim))
    if side * side != data_dim or side % 4:
        raise ConfigError(
            f"the conv VAE needs square images with a side divisible by 4 (e.g. 784 = 28^2), "
            f"got data_dim {data_dim}"
        )
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(unknown)} for the conv VAE; allowed: {', '.join(DEFAULTS)}"
        )
    opts = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
    try:
        c1, c2 = (whole("channels (each)", c) for c in opts["channels"])
    except TypeError as err:
        raise ConfigError(f"option channels must be a pair of integers, got {opts['channels']!r}") from err
    beta = opts["beta"]
    if isinstance(beta, bool) or not isinstance(beta, int | float) or not (math.isfinite(beta) and beta >= 0):
        raise ConfigError(f"option beta must be a finite number >= 0, got {beta!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ConvVAE(
            side,
            whole("latent_dim", opts["latent_dim"]),
            (c1, c2),
            whole("K", opts["K"]),
            float(beta),
            number("s", opts["s"]),
        )
    return model.to(dtype_option(opts["dtype"])), elbo_loss
