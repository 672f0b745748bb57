"""Estimators of the constants of the bounds, each an :class:`Estimate` with its interval and cost.

L (:func:`smoothness`), sigma2_data and sigma2_mc (:func:`gradient_variance`,
:func:`vae_gradient_variance`, :func:`module_gradient_variance`), an unbiased
||grad F||^2 (:func:`gradient_norm_sq`), Delta (:func:`delta`), M and R
(:func:`norms_along_run`), the SNR over (B, K) (:func:`gradient_snr`) and the growth
condition (:func:`growth_fit`); :func:`estimate` gives all of them for one model,
:func:`constants_along_run` at every snapshot of every run, :func:`stress` searches the
runs' boxes for larger values (:func:`top_eigen`: the top |eigenvalue| and its gradient;
:func:`table_of_runs` and :func:`stress_runs` do both for a built-in VAE's TrainRun);
docs/architecture.md, "How a question flows".
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
