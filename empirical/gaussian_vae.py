"""The Deep Gaussian VAE (beta-VAE with ``beta``) and IWAE: MLP encoder and decoder, soft-clipped heads.

Built by :func:`empirical.models.make` (kinds ``gaussian`` and ``iwae``), with a Gaussian or a
Bernoulli decoder; the objectives and assumption A1 (the clipped heads) are in docs/theory.md,
"Objectives".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from empirical.nets import MLP, Activation, LinearLayer, Params, Recorder, chain
from empirical.vae import VAE, bernoulli_log_lik, gaussian_log_lik, kl_analytic, log_q_minus_log_p
from theory.models.softclip import DEFAULT_S, HIDDEN_BOUNDS, LOGVAR_BOUNDS, MEAN_BOUNDS

__all__ = ["IWAE", "GaussianVAE"]


@dataclass(frozen=True)
class GaussianVAE(VAE):
    """Deep Gaussian VAE: MLP encoder x -> (mean, logvar), MLP decoder z -> G(z).

    Loss -(1/K) sum_k log p(x|z_k) + beta KL; soft-clip activations also clip the heads
    (||G|| <= C_G, ||mu|| <= C_mu, lambda_min(Sigma) >= e^{s1}, as in A1).

    Attributes:
        hidden: The widths of the encoder's hidden layers; the decoder uses them reversed.
        activation: ``"softclip"`` or ``"relu"`` (heads unclipped).
        decoder: ``"gaussian"`` (N(G(z), c^2 I)) or ``"bernoulli"`` (logits G(z), data in [0, 1]).
        s: The soft-clip's sharpness.
        hidden_bounds: The hidden units' range.
        mean_bounds: The range of the mean and of the decoder output.
        logvar_bounds: The log-variance's range.
    """

    hidden: tuple[int, ...] = (64,)
    activation: str = "softclip"
    decoder: str = "gaussian"
    s: float = DEFAULT_S
    hidden_bounds: tuple[float, float] = HIDDEN_BOUNDS
    mean_bounds: tuple[float, float] = MEAN_BOUNDS
    logvar_bounds: tuple[float, float] = LOGVAR_BOUNDS
    kind = "gaussian"
    _nets: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        act = Activation(self.activation, self.s, self.hidden_bounds)
        D, d, H = self.data_dim, self.latent_dim, tuple(self.hidden)
        enc = MLP(chain("enc.", (D, *H)), act)
        width = H[-1] if H else D
        mean_head = LinearLayer("enc.mean.weight", "enc.mean.bias", width, d)
        logvar_head = LinearLayer("enc.logvar.weight", "enc.logvar.bias", width, d)
        dec_widths = (d, *reversed(H))
        dec = MLP(chain("dec.", dec_widths), act)
        out = LinearLayer("dec.out.weight", "dec.out.bias", dec_widths[-1], D)
        object.__setattr__(self, "_nets", (act, enc, mean_head, logvar_head, dec, out))

    @property
    def _layers(self) -> tuple[LinearLayer, ...]:
        _, enc, mean_head, logvar_head, dec, out = self._nets
        return (*enc.layers, mean_head, logvar_head, *dec.layers, out)

    @property
    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every layer's weight and bias shapes, by key."""
        shapes: dict[str, tuple[int, ...]] = {}
        for layer in self._layers:
            shapes.update(layer.shapes)
        return shapes

    @property
    def linear_layers(self) -> tuple[tuple[str, str], ...]:
        """(weight_key, bias_key) of every layer, encoder first."""
        return tuple((layer.weight_key, layer.bias_key) for layer in self._layers)

    def init_params(self, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Draw the start: every layer's W, b ~ Uniform(+-1/sqrt(fan_in)) (torch's default).

        Args:
            generator: The source of randomness.

        Returns:
            The parameters.
        """
        params: dict[str, torch.Tensor] = {}
        for layer in self._layers:
            params.update(layer.init(generator, self.dtype))
        return params

    def encode(
        self, params: Params, X: torch.Tensor, recorder: Recorder | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's outputs.

        Args:
            params: The parameters.
            X: The rows, (B, D).
            recorder: As in :meth:`VAE.batch_losses`.

        Returns:
            (mean, logvar), each (B, d), of q(z|x).
        """
        act, enc, mean_head, logvar_head, _, _ = self._nets
        h = enc(params, X, recorder)
        mean = act.clip(mean_head(params, h, recorder), self.mean_bounds)
        logvar = act.clip(logvar_head(params, h, recorder), self.logvar_bounds)
        return mean, logvar

    def decode(self, params: Params, z: torch.Tensor, recorder: Recorder | None = None) -> torch.Tensor:
        """The decoder's output G(z): the Gaussian mean or the Bernoulli logits.

        Args:
            params: The parameters.
            z: The latent draws, (B, K, d).
            recorder: As in :meth:`VAE.batch_losses`.

        Returns:
            G(z), (B, K, D).
        """
        act, _, _, _, dec, out = self._nets
        return act.clip(out(params, dec(params, z, recorder), recorder), self.mean_bounds)

    def _terms(
        self, params: Params, X: torch.Tensor, eps: torch.Tensor, recorder: Recorder | None
    ) -> tuple[torch.Tensor, ...]:
        mean, logvar = self.encode(params, X, recorder)
        z = mean.unsqueeze(1) + (0.5 * logvar).exp().unsqueeze(1) * eps  # (B, K, d)
        G = self.decode(params, z, recorder)
        x = X.unsqueeze(1)
        if self.decoder == "gaussian":
            log_lik = gaussian_log_lik(x, G, self.c)
        else:
            log_lik = bernoulli_log_lik(x, G)
        return log_lik, z, mean, logvar  # log_lik: (B, K)

    def batch_losses(
        self, params: Params, X: torch.Tensor, eps: torch.Tensor, recorder: Recorder | None = None
    ) -> torch.Tensor:
        """The per-example losses (the class docstring; arguments as :meth:`VAE.batch_losses`)."""
        log_lik, z, mean, logvar = self._terms(params, X, eps, recorder)
        if self.kl == "analytic":
            kl = kl_analytic(mean, logvar)
        else:
            kl = log_q_minus_log_p(z, eps, logvar.unsqueeze(1)).mean(-1)
        return -log_lik.mean(-1) + self.beta * kl

    @property
    def loss_lower_bound(self) -> float:
        """Bernoulli: 0 (BCE >= 0 on [0, 1], beta KL >= 0); Gaussian: (D/2) log(2 pi c^2)."""
        if self.decoder == "bernoulli":
            return 0.0
        return 0.5 * self.data_dim * math.log(2.0 * math.pi * self.c**2)


@dataclass(frozen=True)
class IWAE(GaussianVAE):
    """The importance-weighted bound with K samples: loss = -log (1/K) sum_k w_k.

    log w_k = log p(x|z_k) + beta (log p(z_k) - log q(z_k|x)). K = 1 is the ELBO estimate with
    the Monte-Carlo KL (GaussianVAE with ``kl="mc"``).
    """

    kind = "iwae"
    #: The K draws sit inside a log-mean-exp: the loss is not a mean of one-draw losses.
    averages_draws = False

    def batch_losses(
        self, params: Params, X: torch.Tensor, eps: torch.Tensor, recorder: Recorder | None = None
    ) -> torch.Tensor:
        """The per-example losses, by log-sum-exp (arguments as :meth:`VAE.batch_losses`)."""
        log_lik, z, _, logvar = self._terms(params, X, eps, recorder)
        log_w = log_lik - self.beta * log_q_minus_log_p(z, eps, logvar.unsqueeze(1))
        return -(torch.logsumexp(log_w, dim=-1) - math.log(self.K))

    @property
    def loss_lower_bound(self) -> float | None:
        """The decoder's bound for beta <= 1, None for beta > 1.

        F >= -log E_q[p(x|z) (p(z)/q(z|x))^beta] (Jensen) >= -log max_z p(x|z) (Jensen again,
        t^beta concave): (D/2) log(2 pi c^2), or 0 for Bernoulli.
        """
        if self.beta > 1.0:
            return None
        return super().loss_lower_bound
