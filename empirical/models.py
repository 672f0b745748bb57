"""Real VAEs in torch, written functionally: ``loss(params, x, eps)``, built by :func:`make`.

The linear VAE, the Deep Gaussian VAE (beta-VAE with ``beta``) and IWAE, with a Gaussian
or a Bernoulli decoder; the interface and shared terms are in :mod:`empirical.vae`, the
objectives in docs/theory.md, "Objectives".
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import torch

from empirical.errors import ConfigError
from empirical.inputs import HIDDEN_DEFAULT, LATENT_DEFAULT, MAX_PARAMS, MAX_REAL, MAX_SAMPLES, MAX_WIDTH
from empirical.inputs.rules import shown as inputs_shown
from empirical.nets import ACTIVATIONS, MLP, Activation, LinearLayer, Params, Recorder, chain
from empirical.vae import (
    LOG_2PI,
    VAE,
    bernoulli_log_lik,
    gaussian_log_lik,
    kl_analytic,
    log_q_minus_log_p,
)
from empirical.validate import choice, number, whole
from empirical.validate import dtype as dtype_option
from theory.models.softclip import DEFAULT_S, HIDDEN_BOUNDS, LOGVAR_BOUNDS, MEAN_BOUNDS

__all__ = [
    "DEFAULTS",
    "IWAE",
    "KINDS",
    "VAE",
    "GaussianVAE",
    "LinearVAE",
    "bernoulli_log_lik",
    "gaussian_log_lik",
    "kl_analytic",
    "log_q_minus_log_p",
    "make",
]

KINDS = ("linear", "gaussian", "iwae")
DECODERS = ("gaussian", "bernoulli")
KL_FORMS = ("analytic", "mc")

#: Options of the default Deep Gaussian VAE (small and fast on CPU for digits, D = 64); the
#: latent dimension is min(latent_dim, data_dim) unless given (:func:`make`).
DEFAULTS: dict[str, Any] = {
    "latent_dim": LATENT_DEFAULT,
    "hidden": (HIDDEN_DEFAULT,),
    "activation": "softclip",
    "decoder": "gaussian",
    "c": 1.0,
    "beta": 1.0,
    "K": 1,
    "s": DEFAULT_S,
}


@dataclass(frozen=True)
class LinearVAE(VAE):
    """p(x|z) = N(W z + mu, c^2 I), q(z|x) = N(V (x - mu), diag(e^{logs})).

    Parameters dec.W (D, d), dec.mu (D,), enc.V (d, D), enc.logs (d,). With ``closed_form`` the
    per-example loss is -ELBO in closed form, m = V (x - mu), S = diag(e^{logs}):
    (D/2) log(2 pi c^2) + (||x - mu - W m||^2 + sum_j S_j ||W_:j||^2)/(2 c^2)
    + beta (1/2)(tr S + ||m||^2 - d - log det S), and eps is ignored; otherwise the
    reconstruction term is the K-sample Monte-Carlo average. dec.mu enters the encoder too,
    so every key is in :attr:`other_keys`.

    Attributes:
        closed_form: The loss in closed form (deterministic).
    """

    closed_form: bool = True
    kind = "linear"

    @property
    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """W, mu, V and logs by key."""
        D, d = self.data_dim, self.latent_dim
        return {"dec.W": (D, d), "dec.mu": (D,), "enc.V": (d, D), "enc.logs": (d,)}

    @property
    def is_deterministic(self) -> bool:
        """True in closed form."""
        return self.closed_form

    def init_params(self, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Draw the start: W, V ~ N(0, 1/D) entries; mu = 0; logs = 0 (S = I).

        Args:
            generator: The source of randomness.

        Returns:
            The parameters.
        """
        D, d = self.data_dim, self.latent_dim
        W = torch.randn((D, d), generator=generator, dtype=torch.float64) / math.sqrt(D)
        V = torch.randn((d, D), generator=generator, dtype=torch.float64) / math.sqrt(D)
        params = {"dec.W": W, "dec.mu": torch.zeros(D), "enc.V": V, "enc.logs": torch.zeros(d)}
        return {k: v.to(self.dtype) for k, v in params.items()}

    def truth_params(self, W: torch.Tensor, mu: torch.Tensor) -> dict[str, torch.Tensor]:
        """The decoder at (W, mu) and the ELBO-optimal encoder for it.

        V = M^{-1} W^T, S_j = c^2 / M_jj with M = W^T W + c^2 I (the exact posterior mean; the
        best diagonal variances, exact when W has orthogonal columns).

        Args:
            W: The true loadings, (D, d).
            mu: The true mean, (D,).

        Returns:
            The parameters.
        """
        W64, c2 = W.double(), self.c**2
        M = W64.T @ W64 + c2 * torch.eye(self.latent_dim, dtype=torch.float64)
        V = torch.linalg.solve(M, W64.T)
        logs = torch.log(c2 / torch.diagonal(M))
        params = {"dec.W": W64, "dec.mu": mu.double(), "enc.V": V, "enc.logs": logs}
        return {k: v.to(self.dtype) for k, v in params.items()}

    def batch_losses(
        self, params: Params, X: torch.Tensor, eps: torch.Tensor, recorder: Recorder | None = None
    ) -> torch.Tensor:
        """The per-example losses (the class docstring; arguments as :meth:`VAE.batch_losses`)."""
        W, mu, V, logs = params["dec.W"], params["dec.mu"], params["enc.V"], params["enc.logs"]
        centred = X - mu
        m = centred @ V.T  # (B, d)
        S = logs.exp()
        const = 0.5 * self.data_dim * (LOG_2PI + 2.0 * math.log(self.c))
        if self.closed_form:
            resid = centred - m @ W.T
            trace = ((W**2).sum(0) * S).sum()
            rec = const + 0.5 * ((resid**2).sum(-1) + trace) / self.c**2
            kl = kl_analytic(m, logs.expand_as(m))
            return rec + self.beta * kl
        z = m.unsqueeze(1) + S.sqrt() * eps  # (B, K, d)
        rec = -gaussian_log_lik(X.unsqueeze(1), z @ W.T + mu, self.c).mean(-1)
        if self.kl == "analytic":
            kl = kl_analytic(m, logs.expand_as(m))
        else:
            kl = log_q_minus_log_p(z, eps, logs).mean(-1)
        return rec + self.beta * kl

    @property
    def loss_lower_bound(self) -> float:
        """(D/2) log(2 pi c^2): -log N(x; ., c^2 I) >= it, beta KL >= 0 (in expectation for ``kl="mc"``)."""
        return 0.5 * self.data_dim * math.log(2.0 * math.pi * self.c**2)


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


_COMMON = ("latent_dim", "c", "beta", "K", "dtype", "noise_bound")
ALLOWED = {
    "linear": (*_COMMON, "closed_form", "kl"),
    "gaussian": (*_COMMON, "kl", "hidden", "activation", "decoder", "s")
    + ("hidden_bounds", "mean_bounds", "logvar_bounds"),
    "iwae": (*_COMMON, "hidden", "activation", "decoder", "s")
    + ("hidden_bounds", "mean_bounds", "logvar_bounds"),
}
_CLASSES = {"linear": LinearVAE, "gaussian": GaussianVAE, "iwae": IWAE}


def _bounds(name: str, value: Any) -> tuple[float, float]:
    try:
        s1, s2 = (float(v) for v in value)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"option {name} must be a pair (s1, s2), got {value!r}") from err
    if not (math.isfinite(s1) and math.isfinite(s2) and s1 < s2):
        raise ConfigError(f"option {name} needs finite s1 < s2, got (s1, s2) = ({s1}, {s2})")
    return (s1, s2)


def _validate(kind: str, data_dim: int, opts: dict[str, Any]) -> dict[str, Any]:
    out = dict(opts)
    out["latent_dim"] = whole("latent_dim", out["latent_dim"], 1, MAX_WIDTH)
    if out["latent_dim"] > data_dim:
        raise ConfigError(
            f"option latent_dim must be <= the data dimension {data_dim}, got {out['latent_dim']}"
        )
    out["K"] = whole("K", out["K"], 1, MAX_SAMPLES)
    out["c"] = number("c", out["c"], 0.0, MAX_REAL)
    out["beta"] = number("beta", out["beta"], 0.0, MAX_REAL, closed=True)
    out["dtype"] = dtype_option(out["dtype"])
    if out["noise_bound"] is not None:
        out["noise_bound"] = number("noise_bound", out["noise_bound"], 1.0, MAX_REAL, closed=True)
    if "kl" in out:
        choice("kl", out["kl"], KL_FORMS)
    if "closed_form" in out and not isinstance(out["closed_form"], bool):
        raise ConfigError(f"option closed_form must be True or False, got {out['closed_form']!r}")
    if kind != "linear":
        choice("activation", out["activation"], ACTIVATIONS)
        choice("decoder", out["decoder"], DECODERS)
        out["s"] = number("s", out["s"], 0.0, MAX_REAL)
        hidden = out["hidden"]
        try:
            hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
        except TypeError:
            raise ConfigError(f"option hidden must be a width or a list of widths, got {hidden!r}") from None
        out["hidden"] = tuple(whole("hidden", h, 1, MAX_WIDTH) for h in hidden)
        for name in ("hidden_bounds", "mean_bounds", "logvar_bounds"):
            out[name] = _bounds(name, out[name])
    return out


def make(kind: str, data_dim: int, **options: Any) -> VAE:
    """Build a VAE (the beta-VAE is the ``beta`` option).

    Options (None means the default): latent_dim, c, beta, K, dtype, noise_bound (t: the
    noise is the unit-variance normal truncated at t, :func:`empirical.vae.truncated_normal`;
    None: N(0, I)); linear: closed_form, kl; gaussian/iwae: hidden, activation (softclip |
    relu), decoder (gaussian | bernoulli), s, hidden_bounds, mean_bounds, logvar_bounds;
    gaussian also kl (analytic | mc). Defaults: :data:`DEFAULTS`, the latent dimension
    min(8, data_dim).

    Args:
        kind: the model family: linear, gaussian, iwae.
        data_dim: columns of the data.
        **options: the options above.

    Returns:
        The model (its parameters are drawn by ``init_params``).

    Raises:
        ConfigError: An unknown kind or option, or a bad value (naming what is allowed), or
            a model above the parameter limit.
    """
    if not isinstance(kind, str) or kind not in KINDS:
        raise ConfigError(f"unknown model kind {inputs_shown(kind)}; valid kinds: {', '.join(KINDS)}")
    data_dim = whole("data_dim", data_dim, 1, MAX_WIDTH)
    given = {k: v for k, v in options.items() if v is not None}
    unknown = sorted(set(given) - set(ALLOWED[kind]))
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(unknown)} for kind {kind!r}; allowed: {', '.join(ALLOWED[kind])}"
        )
    cls = _CLASSES[kind]
    defaults = {f.name: f.default for f in dataclasses.fields(cls) if f.init}
    defaults.update({k: v for k, v in DEFAULTS.items() if k in ALLOWED[kind]})
    opts = {k: defaults[k] for k in ALLOWED[kind]}
    opts["latent_dim"] = min(opts["latent_dim"], data_dim)  # data with fewer columns than 8
    opts.update(given)
    model = cls(data_dim=data_dim, **_validate(kind, data_dim, opts))
    if model.n_params > MAX_PARAMS:  # checked before any parameter is allocated
        raise ConfigError(
            f"the model would have {model.n_params} parameters, above the limit of {MAX_PARAMS:.0e} "
            f"(data_dim {data_dim}, latent_dim {model.latent_dim}, hidden {getattr(model, 'hidden', ())})"
        )
    return model
