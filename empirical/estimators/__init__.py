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
- :func:`constants_along_run`: L, sigma2_data, the Monte-Carlo part, M and ||theta||_inf at
  every snapshot of every run; :func:`stress`: a projected-ascent search of the runs' boxes
  for larger L and variance parts (:func:`top_eigen`: the top |eigenvalue| and its
  gradient); :func:`table_of_runs`, :func:`stress_runs`: both for a TrainRun of a built-in
  VAE (``estimate(..., along=table)`` reads its snapshot values from the table).
- :func:`growth_fit`: E||g||^2 <= A + (1 + G) ||grad F||^2 fitted to the runs' records.
"""

from __future__ import annotations

from empirical.estimators.along_run import AlongRun, constants_along_run
from empirical.estimators.constants import Constants, estimate
from empirical.estimators.curvature import top_eigen
from empirical.estimators.gap import delta, loss_at, uses_proven_bound
from empirical.estimators.gradnorm import gradient_norm_sq, unbiased_sq_norm
from empirical.estimators.growth import GrowthFit, growth_fit, growth_fit_of
from empirical.estimators.hvp import HessianOperator, hvp
from empirical.estimators.module_stats import ModuleStats, module_gradient_variance, module_row_stats
from empirical.estimators.norms import max_seen, norms_along_run, norms_at_point, per_example_norms
from empirical.estimators.per_example import per_example_gradients
from empirical.estimators.probes import SearchProblem, vae_problem
from empirical.estimators.results import Estimate
from empirical.estimators.smoothness import smoothness, smoothness_along_run, smoothness_in_box
from empirical.estimators.snr import SNRTable, gradient_snr
from empirical.estimators.stress import StressBudget, StressResult, stress
from empirical.estimators.stress_runs import RunsStress, stress_runs, table_of_runs
from empirical.estimators.variance import VarianceEstimate, gradient_variance, vae_gradient_variance

__all__ = [
    "AlongRun",
    "Constants",
    "Estimate",
    "GrowthFit",
    "HessianOperator",
    "ModuleStats",
    "RunsStress",
    "SNRTable",
    "SearchProblem",
    "StressBudget",
    "StressResult",
    "VarianceEstimate",
    "constants_along_run",
    "delta",
    "estimate",
    "gradient_norm_sq",
    "gradient_snr",
    "gradient_variance",
    "growth_fit",
    "growth_fit_of",
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
    "stress",
    "stress_runs",
    "table_of_runs",
    "top_eigen",
    "unbiased_sq_norm",
    "uses_proven_bound",
    "vae_problem",
]
