"""The interface every VAE of :mod:`empirical.models` implements, and the likelihood and KL terms.

Prior p(z) = N(0, I); encoder q(z|x) = N(m(x), diag(sigma^2(x))); the noise eps is an
*argument* (z_k = m + sigma * eps_k), so torch.func transforms and Hessian-vector
products see fixed noise. It is N(0, I), or with ``noise_bound = t`` the unit-variance
truncated normal, so that the gradients are bounded on any bounded set of parameters
(docs/theory.md, "Truncated reparameterisation noise").
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from empirical.errors import ConfigError, DataError
from empirical.nets import Params, Recorder

LOG_2PI = math.log(2.0 * math.pi)


def truncated_variance(t: float) -> float:
    """Var(eps | |eps| <= t) for eps ~ N(0, 1): 1 - 2 t phi(t) / (2 Phi(t) - 1).

    Args:
        t: the truncation point, > 0.

    Returns:
        The variance of one coordinate of the truncated normal, in (0, 1).
    """
    phi = math.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)
    return 1.0 - 2.0 * t * phi / math.erf(t / math.sqrt(2.0))


def truncated_normal(
    shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype, t: float
) -> torch.Tensor:
    """Independent coordinates of the unit-variance normal truncated at t.

    eps_j = e_j / sqrt(v_t), e_j ~ N(0, 1) conditioned on |e_j| <= t (exact: every draw
    outside is drawn again from ``generator``), v_t = :func:`truncated_variance`.

    Args:
        shape: the shape drawn.
        generator: the source of randomness (its device is the output's).
        dtype: the output's dtype.
        t: the truncation point, > 0.

    Returns:
        eps with E eps_j = 0, E eps_j^2 = 1 and |eps_j| <= t / sqrt(v_t) surely. Each
        coordinate cuts the mass 2 Phi(-t) of N(0, 1) (5.7e-7 at t = 5).
    """
    eps = torch.randn(shape, generator=generator, dtype=dtype, device=generator.device)
    outside = eps.abs() > t
    while bool(outside.any()):
        eps[outside] = torch.randn(
            int(outside.sum()), generator=generator, dtype=dtype, device=generator.device
        )
        outside = eps.abs() > t
    return eps / math.sqrt(truncated_variance(t))


def gaussian_log_lik(x: torch.Tensor, mean: torch.Tensor, c: float) -> torch.Tensor:
    """The Gaussian log-likelihood log N(x; mean, c^2 I), summed over the last dimension.

    Args:
        x: The data.
        mean: The decoder's mean, broadcasting with ``x``.
        c: The decoder's standard deviation.

    Returns:
        The log-likelihoods.
    """
    D = x.shape[-1]
    return -0.5 * ((x - mean) ** 2).sum(-1) / c**2 - 0.5 * D * (LOG_2PI + 2.0 * math.log(c))


def bernoulli_log_lik(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """The Bernoulli log-likelihood -BCE(x, sigmoid(l)) = x l - softplus(l), summed over the last dimension.

    Args:
        x: The data, in [0, 1].
        logits: The decoder's logits l, broadcasting with ``x``.

    Returns:
        The log-likelihoods.
    """
    return (x * logits - F.softplus(logits)).sum(-1)


def kl_analytic(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(m, diag e^{logvar}) || N(0, I)) = (1/2) sum(e^{logvar} + m^2 - 1 - logvar).

    Args:
        mean: m, (..., d).
        logvar: The log-variances, (..., d).

    Returns:
        The KL, summed over the last dimension.
    """
    return 0.5 * (logvar.exp() + mean**2 - 1.0 - logvar).sum(-1)


def log_q_minus_log_p(z: torch.Tensor, eps: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The difference log q(z|x) - log p(z) at z = m + sigma * eps: (1/2) sum(z^2 - eps^2 - logvar).

    Its mean over draws is the Monte-Carlo estimate of the KL.

    Args:
        z: The latent draws, (..., d).
        eps: Their noise, (..., d).
        logvar: The log-variances, broadcasting.

    Returns:
        The difference, summed over the last dimension.
    """
    return 0.5 * (z**2 - eps**2 - logvar).sum(-1)


def _as_generator_noise(
    model: VAE, X: torch.Tensor, noise: torch.Generator | torch.Tensor | None, mc: int
) -> torch.Tensor:
    """Noise of shape (mc, N, K, d) for :meth:`VAE.full_loss`."""
    N = X.shape[0]
    if isinstance(noise, torch.Tensor):
        eps = noise if noise.dim() == 4 else noise.unsqueeze(0)
        if eps.shape[1:] != (N, model.K, model.latent_dim):
            raise ConfigError(
                f"full_loss noise must have shape (N, K, d) or (mc, N, K, d) = "
                f"(.., {N}, {model.K}, {model.latent_dim}), got {tuple(noise.shape)}"
            )
        return eps.to(dtype=X.dtype, device=X.device)
    if noise is None:
        raise ConfigError("full_loss of a Monte-Carlo objective needs a torch.Generator or eps")
    if not (isinstance(mc, int) and mc > 0):
        raise ConfigError(f"option mc must be an integer > 0, got {mc!r}")
    eps = model.sample_noise(noise, batch=mc * N, dtype=X.dtype)
    return eps.reshape(mc, N, model.K, model.latent_dim).to(X.device)


@dataclass(frozen=True)
class VAE:
    """The common interface of the VAEs.

    Subclasses define ``param_shapes``, ``init_params``, ``batch_losses``, key lists and
    ``loss_lower_bound``.

    Attributes:
        data_dim: D, the data's columns.
        latent_dim: d, the latent dimension.
        c: The Gaussian decoder's standard deviation.
        beta: The weight of the KL term (beta-VAE; 1 for the ELBO).
        K: The draws per example.
        kl: ``"analytic"`` or ``"mc"`` (the Monte-Carlo estimate).
        dtype: The parameters' dtype.
        noise_bound: t for the truncated noise, None for N(0, I).
    """

    data_dim: int
    latent_dim: int
    c: float = 1.0
    beta: float = 1.0
    K: int = 1
    kl: str = "analytic"
    dtype: torch.dtype = torch.float32
    noise_bound: float | None = None

    kind = "vae"
    decoder = "gaussian"
    #: True when the loss of one draw (K samples) is the mean of K independent
    #: one-sample losses, so the split sigma2_data/B + sigma2_mc/(B K) is exact.
    averages_draws = True

    # -- parameters --------------------------------------------------------
    @property
    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Parameter name -> shape."""
        raise NotImplementedError

    @property
    def n_params(self) -> int:
        """The total number of scalar parameters d* = d_theta + d_phi."""
        return sum(math.prod(shape) for shape in self.param_shapes.values())

    @property
    def decoder_keys(self) -> tuple[str, ...]:
        """theta: the generative model's parameters (names start with ``dec.``)."""
        return tuple(k for k in self.param_shapes if k.startswith("dec."))

    @property
    def encoder_keys(self) -> tuple[str, ...]:
        """phi: the variational parameters (names start with ``enc.``)."""
        return tuple(k for k in self.param_shapes if k.startswith("enc."))

    @property
    def linear_layers(self) -> tuple[tuple[str, str], ...]:
        """(weight_key, bias_key) of every linear layer (see :mod:`empirical.nets`)."""
        return ()

    @property
    def other_keys(self) -> tuple[str, ...]:
        """The parameters not in any linear layer of :attr:`linear_layers`."""
        in_layers = {k for pair in self.linear_layers for k in pair}
        return tuple(k for k in self.param_shapes if k not in in_layers)

    # -- noise and losses ---------------------------------------------------
    def sample_noise(
        self, generator: torch.Generator, batch: int | None = None, dtype: torch.dtype | None = None
    ) -> torch.Tensor:
        """Draw the noise eps: N(0, I), or with ``noise_bound = t`` the unit-variance truncated normal.

        Args:
            generator: The source of randomness.
            batch: The examples (None: one).
            dtype: The dtype (default the model's).

        Returns:
            eps of shape (K, d), or (batch, K, d) when ``batch`` is given.
        """
        shape = (self.K, self.latent_dim) if batch is None else (batch, self.K, self.latent_dim)
        dtype = self.dtype if dtype is None else dtype
        if self.noise_bound is not None:
            return truncated_normal(shape, generator, dtype, self.noise_bound)
        return torch.randn(shape, generator=generator, dtype=dtype, device=generator.device)

    @property
    def noise_sup(self) -> float | None:
        """The supremum of |eps_j| over the noise.

        t / sqrt(v_t) for truncated noise, None (unbounded) for Gaussian noise, 0 for a model
        whose loss ignores its noise.
        """
        if self.is_deterministic:
            return 0.0
        if self.noise_bound is None:
            return None
        return self.noise_bound / math.sqrt(truncated_variance(self.noise_bound))

    def batch_losses(
        self, params: Params, X: torch.Tensor, eps: torch.Tensor, recorder: Recorder | None = None
    ) -> torch.Tensor:
        """The per-example losses (docs/theory.md, "Objectives").

        Args:
            params: The parameters.
            X: The examples, (B, D).
            eps: The noise, (B, K, d).
            recorder: A recorder for per-example gradients (:meth:`empirical.nets.LinearLayer.__call__`).

        Returns:
            (B,) losses.
        """
        raise NotImplementedError

    def batch_loss(self, params: Params, X: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """The minibatch estimate of F: the mean of :meth:`batch_losses`.

        Args:
            params: The parameters.
            X: The examples, (B, D).
            eps: The noise, (B, K, d).

        Returns:
            The mean loss, a scalar tensor.
        """
        return self.batch_losses(params, X, eps).mean()

    def loss(self, params: Params, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """The loss of one example under its noise; works under torch.func.

        Args:
            params: The parameters.
            x: The example, (D,).
            eps: Its noise, (K, d).

        Returns:
            The loss, a scalar tensor.
        """
        return self.batch_losses(params, x.unsqueeze(0), eps.unsqueeze(0))[0]

    @property
    def is_deterministic(self) -> bool:
        """True when the loss does not depend on eps (the closed-form linear VAE)."""
        return False

    def full_loss(
        self,
        params: Params,
        X: torch.Tensor,
        noise: torch.Generator | torch.Tensor | None = None,
        mc: int = 1,
    ) -> torch.Tensor:
        """The full-data objective F(params): the mean over all rows of X of the loss.

        Exact for the closed-form linear VAE.

        Args:
            params: The parameters.
            X: Every row, (N, D).
            noise: A generator (``mc`` draws per row) or the noise itself, (N, K, d) or
                (mc, N, K, d).
            mc: The draws per row with a generator.

        Returns:
            F, averaged over the draws, a scalar tensor.

        Raises:
            ConfigError: Noise of the wrong shape, none for a Monte-Carlo objective, or a bad ``mc``.
        """
        if self.is_deterministic:
            eps = torch.zeros((X.shape[0], self.K, self.latent_dim), dtype=X.dtype)
            return self.batch_losses(params, X, eps).mean()
        eps = _as_generator_noise(self, X, noise, mc)
        total = sum(self.batch_losses(params, X, e).mean() for e in eps)
        return total / eps.shape[0]

    def check_data(self, X: torch.Tensor) -> None:
        """Check that data fits this model.

        Args:
            X: The data, (N, D).

        Raises:
            DataError: A shape other than (N, data_dim), or data outside [0, 1] for the
                Bernoulli decoder.
        """
        if X.dim() != 2 or X.shape[1] != self.data_dim:
            raise DataError(f"model expects data of shape (N, {self.data_dim}), got {tuple(X.shape)}")
        if self.decoder == "bernoulli" and (X.min() < 0 or X.max() > 1):
            raise DataError(
                "the Bernoulli decoder needs data in [0, 1], got values in "
                f"[{float(X.min()):.3g}, {float(X.max()):.3g}]"
            )

    @property
    def loss_lower_bound(self) -> float | None:
        """A lower bound of the loss, used for Delta (None when the model has none)."""
        raise NotImplementedError

    def options(self) -> dict[str, Any]:
        """The options that rebuild this model with :func:`empirical.models.make`.

        Returns:
            Option name -> value (without data_dim; dtype as its name).
        """
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}
        out.pop("data_dim")
        if out["noise_bound"] is None:  # Gaussian noise: the options of before the truncation option
            out.pop("noise_bound")
        out["dtype"] = str(self.dtype).removeprefix("torch.")
        return out
