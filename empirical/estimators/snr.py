"""Signal-to-noise ratio of the minibatch gradient, decoder (theta) and encoder (phi) apart.

SNR(B, K) = ||E g|| / sqrt(E ||g_B - E g||^2) from the variance split, the model rebuilt for
every K (docs/estimators.md, "Signal-to-noise ratio").
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from empirical.errors import ConfigError
from empirical.estimators.results import Estimate, Params, check_confidence, seeded
from empirical.estimators.variance import VarianceEstimate, vae_row_stats

GROUPS = ("decoder", "encoder")


@dataclass(frozen=True)
class SNRTable:
    """The decoder and encoder SNR over a grid of (K, B).

    Attributes:
        Ks: The K values.
        batch_sizes: The B values.
        decoder: ``decoder[i][j]``, the decoder SNR at ``Ks[i]``, ``batch_sizes[j]``.
        encoder: ``encoder[i][j]``, the encoder SNR.
        n_evals: The per-example gradients spent.
    """

    Ks: tuple[int, ...]
    batch_sizes: tuple[int, ...]
    decoder: tuple[tuple[Estimate, ...], ...]
    encoder: tuple[tuple[Estimate, ...], ...]
    n_evals: int

    def at(self, group: str, batch_size: int, K: int) -> Estimate:
        """The SNR of one group at (B, K).

        Args:
            group: "decoder" or "encoder".
            batch_size: B.
            K: K.

        Returns:
            The estimate.

        Raises:
            ConfigError: An unknown group, or (B, K) not in the table.
        """
        if group not in GROUPS:
            raise ConfigError(f"unknown group {group!r}; valid: {', '.join(GROUPS)}")
        if K not in self.Ks or batch_size not in self.batch_sizes:
            raise ConfigError(f"(B, K) = ({batch_size}, {K}) not in the table {self.batch_sizes} x {self.Ks}")
        table = self.decoder if group == "decoder" else self.encoder
        return table[self.Ks.index(K)][self.batch_sizes.index(batch_size)]

    def values(self, group: str) -> list[list[float]]:
        """The point values of one group.

        Args:
            group: "decoder" or "encoder".

        Returns:
            A nested list [K][B] (JSON-ready).
        """
        table = self.decoder if group == "decoder" else self.encoder
        return [[e.value for e in row] for row in table]


def snr_from_variance(v: VarianceEstimate, batch_size: int, label: str = "") -> Estimate:
    """The SNR of the B-example minibatch gradient from a variance split.

    Args:
        v: The variance split with ||E g||^2.
        batch_size: B.
        label: A prefix of the method.

    Returns:
        sqrt(||E g||^2 / (sigma2_data/B + sigma2_mc/B)) with [sqrt(msq.lo / var.hi),
        sqrt(msq.hi / var.lo)] (Bonferroni: coverage at least 1 - 3 (1 - confidence)).

    Raises:
        ConfigError: A variance of 0.
    """
    var = v.total(batch_size, 1)
    msq = v.mean_grad_sq
    if var.value <= 0:
        same = "every example's gradient is the same under every draw"
        if msq.value <= 0:  # 0 / 0: e.g. a network saturated by too large a step, every gradient 0
            raise ConfigError(
                f"{label}gradient is 0 for every example and draw here ({same}, and 0): the SNR is "
                "not defined; a network saturated everywhere (e.g. after too large a step) gives this"
            )
        raise ConfigError(f"{label}gradient variance is 0 ({same}): the SNR is infinite")
    value = math.sqrt(msq.value / var.value)
    lo = math.sqrt(msq.lo / var.hi) if var.hi > 0 else 0.0
    hi = math.sqrt(msq.hi / var.lo) if var.lo > 0 else math.inf
    conf = max(1.0 - 3.0 * (1.0 - v.data.confidence), 1e-9)
    method = (
        f"{label}SNR ||E g|| / sqrt(sigma2_data/B + sigma2_mc/B) at B={batch_size} "
        f"({v.n_examples} examples x {v.mc_samples} draws)"
    )
    return Estimate(value, min(lo, value), max(hi, value), conf, method, msq.n_evals)


def gradient_snr(
    model: object,
    params: Params,
    data: torch.Tensor,
    Ks: Sequence[int] | None = None,
    batch_sizes: Sequence[int] = (1,),
    *,
    mc_samples: int = 4,
    n_examples: int | None = None,
    generator: torch.Generator | None = None,
    seed: int = 0,
    confidence: float = 0.95,
    backend: str = "recorder",
) -> SNRTable:
    """The decoder and encoder gradient SNR of a model at a point for every (K, B).

    Every K uses the same examples (same seed) and fresh noise.

    Args:
        model: A dataclass VAE (rebuilt for every K).
        params: The point.
        data: The rows.
        Ks: The K values (default the model's own).
        batch_sizes: The B values.
        mc_samples: The noise draws per example.
        n_examples: The examples drawn (default all).
        generator: The generator (default: seeded with ``seed``).
        seed: The seed when no generator is given.
        confidence: The intervals' two-sided level.
        backend: "recorder" or "vmap".

    Returns:
        The table; ``n_evals`` = the per-example gradients spent.

    Raises:
        ConfigError: Bad Ks or batch sizes, or a model that cannot be rebuilt with another K.
    """
    confidence = check_confidence(confidence)
    Ks = (int(model.K),) if Ks is None else tuple(int(k) for k in Ks)
    Bs = tuple(int(b) for b in batch_sizes)
    if not Ks or min(Ks) < 1 or not Bs or min(Bs) < 1:
        raise ConfigError(f"Ks and batch_sizes must be non-empty positive integers, got {Ks}, {Bs}")
    dec_rows, enc_rows, n_evals = [], [], 0
    for K in Ks:
        m = _with_K(model, K)
        gen = seeded(generator, seed)
        ms = vae_row_stats(m, params, data, mc_samples, n_examples=n_examples, generator=gen, backend=backend)
        n_evals += ms.n_evals
        for keys, rows, name in (
            (m.decoder_keys, dec_rows, "decoder"),
            (m.encoder_keys, enc_rows, "encoder"),
        ):
            v = ms.variance(keys, confidence)
            rows.append(tuple(snr_from_variance(v, B, f"{name} (K={K}) ") for B in Bs))
    return SNRTable(Ks, Bs, tuple(dec_rows), tuple(enc_rows), n_evals)


def _with_K(model: object, K: int) -> object:
    if K == getattr(model, "K", None):
        return model
    if not dataclasses.is_dataclass(model):
        raise ConfigError("the model cannot be rebuilt with another K (not a dataclass)")
    return dataclasses.replace(model, K=K)
