"""The built-in VAEs by name: :func:`make` checks a kind and its options and builds the model.

The models themselves: :class:`LinearVAE` (:mod:`empirical.linear_vae`), the Deep Gaussian VAE
(beta-VAE with ``beta``) and IWAE (:mod:`empirical.gaussian_vae`), with a Gaussian or a
Bernoulli decoder; the interface and shared terms are in :mod:`empirical.vae`, the objectives
in docs/theory.md, "Objectives".
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

from empirical.errors import ConfigError
from empirical.gaussian_vae import IWAE, GaussianVAE
from empirical.inputs import HIDDEN_DEFAULT, LATENT_DEFAULT, MAX_PARAMS, MAX_REAL, MAX_SAMPLES, MAX_WIDTH
from empirical.inputs.rules import Whole
from empirical.inputs.rules import shown as inputs_shown
from empirical.linear_vae import LinearVAE
from empirical.nets import ACTIVATIONS
from empirical.vae import VAE, bernoulli_log_lik, gaussian_log_lik, kl_analytic, log_q_minus_log_p
from empirical.validate import choice, number, whole
from empirical.validate import dtype as dtype_option
from theory.models.softclip import DEFAULT_S

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
    """A pair (s1, s2) of finite numbers with s1 < s2 (a text is not a pair of digits)."""
    try:
        pair = () if isinstance(value, str | bytes) else tuple(value)
    except TypeError:
        pair = ()
    real = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in pair)
    if len(pair) != 2 or not real:
        raise ConfigError(f"option {name} must be a pair (s1, s2) of numbers, got {inputs_shown(value)}")
    try:
        s1, s2 = (float(v) for v in pair)
    except OverflowError:  # an int beyond float's range
        s1 = s2 = math.inf
    if not (math.isfinite(s1) and math.isfinite(s2) and s1 < s2):
        raise ConfigError(f"option {name} needs finite s1 < s2, got (s1, s2) = {inputs_shown(value)}")
    return (s1, s2)


def _hidden(value: Any) -> tuple[int, ...]:
    """A width or a sequence of widths (a text is one bad width, not a sequence of digits)."""
    rule = Whole(1, MAX_WIDTH)
    try:
        widths = (value,) if isinstance(value, int | str | bytes) else tuple(value)
        return tuple(rule.check("option hidden", h) for h in widths)
    except (TypeError, ConfigError):
        raise ConfigError(
            f"option hidden must be a width or a list of widths, each {rule.allowed()}, "
            f"got {inputs_shown(value)}"
        ) from None


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
        out["hidden"] = _hidden(out["hidden"])
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
