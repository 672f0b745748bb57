"""Gradient SNR: Rainforth et al.'s IWAE trends on digits, and the sqrt(B) law."""

from __future__ import annotations

import math

import pytest
import torch
from cases import uniform_rows

from empirical import models
from empirical.errors import ConfigError
from empirical.estimators import gradient_snr


def test_iwae_on_digits_encoder_snr_falls_and_decoder_snr_rises_with_K(digits):
    X = digits
    m = models.make("iwae", X.shape[1], decoder="bernoulli", hidden=(32,), latent_dim=4)
    params = m.init_params(torch.Generator().manual_seed(0))
    table = gradient_snr(m, params, X, Ks=(1, 10, 100), batch_sizes=(8,), n_examples=48, mc_samples=4, seed=0)
    dec = [row[0].value for row in table.decoder]
    enc = [row[0].value for row in table.encoder]
    assert dec[0] < dec[1] < dec[2], dec
    assert enc[0] > enc[1] > enc[2], enc
    # not just noise: the extreme K are separated by their intervals
    assert table.at("decoder", 8, 1).hi < table.at("decoder", 8, 100).lo
    assert table.at("encoder", 8, 1).lo > table.at("encoder", 8, 100).hi
    assert table.n_evals == 3 * 48 * 4


def test_snr_grows_like_sqrt_B_and_table_lookup():
    X = uniform_rows(60, 16, seed=0)
    m = models.make("gaussian", 16, hidden=(8,), latent_dim=2)
    params = m.init_params(torch.Generator().manual_seed(1))
    table = gradient_snr(m, params, X, batch_sizes=(1, 4, 16), mc_samples=3)
    assert table.Ks == (m.K,)
    for group in ("decoder", "encoder"):
        s1, s4, s16 = (table.at(group, B, m.K).value for B in (1, 4, 16))
        assert s4 == pytest.approx(2 * s1) and s16 == pytest.approx(4 * s1)
        assert math.isfinite(s1) and s1 > 0
    with pytest.raises(ConfigError, match="group"):
        table.at("both", 1, m.K)
    with pytest.raises(ConfigError, match="not in the table"):
        table.at("decoder", 2, m.K)
    with pytest.raises(ConfigError, match="positive"):
        gradient_snr(m, params, X, Ks=(0,))


@pytest.mark.parametrize(
    ("mean_sq", "words"),
    [(0.0, "gradient is 0 for every example and draw here"), (2.0, "the SNR is infinite")],
)
def test_a_gradient_without_variance_is_refused_with_what_it_means(mean_sq, words):
    """Zero variance: with ||E g||^2 = 0 the SNR is 0/0 (a network saturated everywhere, as after
    --lr-constant 1e6 on digits), with ||E g||^2 > 0 it is infinite; each says which."""
    from empirical.estimators.results import Estimate
    from empirical.estimators.snr import snr_from_variance
    from empirical.estimators.variance import VarianceEstimate

    zero = Estimate(0.0, 0.0, 0.0, 0.95, "exact 0")
    v = VarianceEstimate(zero, zero, Estimate(mean_sq, mean_sq, mean_sq, 0.95, "m"), 8, 2)
    with pytest.raises(ConfigError, match=words) as err:
        snr_from_variance(v, 4, "decoder (K=1) ")
    assert "every example's gradient is the same under every draw" in str(err.value)
