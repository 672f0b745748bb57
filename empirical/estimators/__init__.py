"""Estimators of the constants of the bounds, each with an interval and its cost.

- :func:`smoothness`, :func:`smoothness_along_run`, :func:`smoothness_in_box`: L.
- :func:`gradient_variance` (any per-example loss, vmap) and
  :func:`vae_gradient_variance` (a VAE, BackPACK-style norms): sigma2_data, sigma2_mc.
- :func:`module_gradient_variance`, :func:`module_row_stats`: the same for a user's
  ``torch.nn.Module`` (per-layer norms for Linear/Conv2d, vmap for the rest).
- :func:`gradient_norm_sq`, :func:`unbiased_sq_norm`: an unbiased ||grad F||^2.
- :func:`gradient_snr`: decoder / encoder SNR over (B, K).
- :func:`delta`, :func:`loss_at`: Delta = F(theta_0) - F*.
- :func:`norms_along_run`, :func:`norms_at_point`: M and R.
- :func:`estimate`: all of them for one model, at a point or along a run.
"""

from __future__ import annotations

from empirical.estimators.constants import Constants, estimate
from empirical.estimators.gap import delta, loss_at, uses_proven_bound
from empirical.estimators.gradnorm import gradient_norm_sq, unbiased_sq_norm
from empirical.estimators.hvp import HessianOperator, hvp
from empirical.estimators.module_stats import ModuleStats, module_gradient_variance, module_row_stats
from empirical.estimators.norms import max_seen, norms_along_run, norms_at_point, per_example_norms
from empirical.estimators.per_example import per_example_gradients
from empirical.estimators.results import Estimate
from empirical.estimators.smoothness import smoothness, smoothness_along_run, smoothness_in_box
from empirical.estimators.snr import SNRTable, gradient_snr
from empirical.estimators.variance import VarianceEstimate, gradient_variance, vae_gradient_variance

__all__ = [
    "Constants",
    "Estimate",
    "HessianOperator",
    "ModuleStats",
    "SNRTable",
    "VarianceEstimate",
    "delta",
    "estimate",
    "gradient_norm_sq",
    "gradient_snr",
    "gradient_variance",
    "hvp",
    "loss_at",
    "max_seen",
    "vae_gradient_variance",
    "module_gradient_variance",
    "module_row_stats",
    "norms_along_run",
    "norms_at_point",
    "per_example_gradients",
    "per_example_norms",
    "smoothness",
    "smoothness_along_run",
    "smoothness_in_box",
    "unbiased_sq_norm",
    "uses_proven_bound",
]
