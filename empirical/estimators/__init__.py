"""Estimators of the constants of the bounds, each with an interval and its cost.

- :func:`smoothness`, :func:`smoothness_along_run`, :func:`smoothness_in_box`: L.
- :func:`gradient_variance` (any per-example loss, vmap) and
  :func:`model_gradient_variance` (a VAE, BackPACK-style norms): sigma2_data, sigma2_mc.
- :func:`gradient_snr`: decoder / encoder SNR over (B, K).
- :func:`delta`, :func:`loss_at`: Delta = F(theta_0) - F*.
- :func:`norms_along_run`, :func:`norms_at_point`: M and R.
- :func:`estimate`: all of them for one model, at a point or along a run.
"""

from __future__ import annotations

from empirical.estimators.constants import Constants, estimate
from empirical.estimators.gap import delta, loss_at, uses_proven_bound
from empirical.estimators.hvp import HessianOperator, hvp
from empirical.estimators.norms import max_seen, norms_along_run, norms_at_point, per_example_norms
from empirical.estimators.per_example import per_example_gradients
from empirical.estimators.results import Estimate
from empirical.estimators.smoothness import smoothness, smoothness_along_run, smoothness_in_box
from empirical.estimators.snr import SNRTable, gradient_snr
from empirical.estimators.variance import VarianceEstimate, gradient_variance, model_gradient_variance

__all__ = [
    "Constants",
    "Estimate",
    "HessianOperator",
    "SNRTable",
    "VarianceEstimate",
    "delta",
    "estimate",
    "gradient_snr",
    "gradient_variance",
    "hvp",
    "loss_at",
    "max_seen",
    "model_gradient_variance",
    "norms_along_run",
    "norms_at_point",
    "per_example_gradients",
    "per_example_norms",
    "smoothness",
    "smoothness_along_run",
    "smoothness_in_box",
    "uses_proven_bound",
]
