"""``empirical.estimate``: every constant of the bounds for one VAE, at a point or along a run.

At a point (``run=None``): the point is ``params`` (default ``model.init_params``
with the seed). Along a run (a ``TrainRun`` from ``empirical.train``): the points
are theta_0 (``run.param_trace[0]``) and theta_n (``run.params``), plus ``params``
if given, and the run's own records are used too. With n examples drawn once
(``n_examples``, seeded) and, where noise enters, fixed noise for L:

* ``L``: Lanczos top |eigenvalue| of the Hessian of the fixed-noise loss on the
  n examples at every point; along a run also the largest secant
  ||grad F(theta_k) - grad F(theta_j)|| / ||theta_k - theta_j|| over up to
  ``trace_points`` recorded points. Reported: the maximum (a lower estimate of sup L).
* ``sigma2_data``, ``sigma2_mc``: the nested estimator (n examples x
  ``mc_samples`` draws, BackPACK-style per-example norms) at every point; the
  maximum over points (the bound needs a sup over the run). One draw of the
  model holds its K variational samples, so the per-draw Monte-Carlo variance
  is multiplied by K: ``sigma2_mc`` is per variational sample and
  :meth:`Constants.sigma2` ``(B, K)`` is the model's minibatch-gradient variance
  (exact for the ELBO's mean over K draws; for IWAE a convention).
* ``M``: max per-(example, draw) gradient norm at every point (bounds every
  minibatch gradient built from them) and, along a run, max ||g_k|| over all
  steps; ``M_full``: max ||grad F|| at the record steps (run only).
* ``R``: max per-example gradient sup-norm (vmap, up to 64 examples, one draw)
  at every point. (``TrainRun`` does not record minibatch sup-norms.)
* ``Delta``: F(theta_0) (n examples x ``mc_samples`` draws) minus the model's proven
  lower bound of F if it has one, else minus the lowest observed loss (the
  run's recorded full losses, or F at the point); :attr:`Constants.delta_is_upper` says which.
* ``snr``: decoder/encoder gradient SNR at the last point for ``snr_Ks`` and
  B in {1, batch_size}.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from empirical.errors import ConfigError
from empirical.estimators.gap import delta, loss_at, uses_proven_bound
from empirical.estimators.norms import combine_max, max_seen, norms_along_run, norms_at_point
from empirical.estimators.results import Estimate, Params, check_confidence, check_params, unflatten
from empirical.estimators.smoothness import smoothness, smoothness_along_run
from empirical.estimators.snr import SNRTable, gradient_snr
from empirical.estimators.variance import model_row_stats, select_examples

R_EXAMPLES = 64


@dataclass(frozen=True)
class Constants:
    """The constants of the bounds with intervals; ``n_evals`` = all evaluations spent."""

    L: Estimate
    sigma2_data: Estimate
    sigma2_mc: Estimate
    M: Estimate
    R: Estimate
    Delta: Estimate
    snr: SNRTable
    n_evals: int
    M_full: Estimate | None
    delta_is_upper: bool
    where: str

    def sigma2(self, batch_size: int, K: int = 1) -> float:
        """sigma2_data / B + sigma2_mc / (B K) (theory-reference §3.1)."""
        if batch_size < 1 or K < 1:
            raise ConfigError(f"batch_size and K must be >= 1, got {batch_size}, {K}")
        return self.sigma2_data.value / batch_size + self.sigma2_mc.value / (batch_size * K)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: each constant as ``{value, lo, hi, confidence, method, n_evals}``."""
        out: dict[str, Any] = {
            name: getattr(self, name).as_dict()
            for name in ("L", "sigma2_data", "sigma2_mc", "M", "R", "Delta")
        }
        if self.M_full is not None:
            out["M_full"] = self.M_full.as_dict()
        out["snr"] = {
            "Ks": list(self.snr.Ks),
            "batch_sizes": list(self.snr.batch_sizes),
            "decoder": self.snr.values("decoder"),
            "encoder": self.snr.values("encoder"),
        }
        out.update(n_evals=self.n_evals, delta_is_upper=self.delta_is_upper, where=self.where)
        return out


def estimate(
    model: Any,
    data: torch.Tensor,
    params: Params | None = None,
    run: Any = None,
    *,
    n_examples: int = 256,
    mc_samples: int = 4,
    batch_size: int | None = None,
    snr_Ks: Sequence[int] | None = None,
    trace_points: int = 16,
    tol: float = 1e-3,
    max_iter: int = 100,
    seed: int = 0,
    confidence: float = 0.95,
    backend: str = "recorder",
) -> Constants:
    """Estimate L, sigma2_data, sigma2_mc, M, R, Delta and the SNR (module docstring)."""
    confidence = check_confidence(confidence)
    if hasattr(model, "check_data"):
        model.check_data(data)
    points = _points(model, params, run, seed)
    if batch_size is None:
        batch_size = int(getattr(run, "options", {}).get("batch_size", 1)) if run is not None else 1
    X = select_examples(data, n_examples, torch.Generator().manual_seed(seed))
    eps_fixed = model.sample_noise(torch.Generator().manual_seed(seed + 1), batch=X.shape[0])

    def fixed_loss(p: Params) -> torch.Tensor:
        return model.batch_loss(p, X, eps_fixed)

    L_parts, data_parts, mc_parts, M_parts, R_parts = [], [], [], [], []
    for label, p in points:
        L_parts.append(smoothness(fixed_loss, p, tol=tol, max_iter=max_iter, seed=seed, where=label))
        ms = model_row_stats(model, p, data, mc_samples, n_examples=n_examples, seed=seed, backend=backend)
        v = ms.variance(confidence=confidence, label=f"{label}: ")
        data_parts.append(v.data)
        mc_parts.append(_per_sample(v.mc, model))
        sq = torch.stack([s.sq_draw for s in ms.stats.values()]).sum(0)
        M_parts.append(
            max_seen(sq.sqrt().numpy(), f"per-(example, draw) gradient norm at {label}", ms.n_evals)
        )
        Xr = X[:R_EXAMPLES]
        eps_r = model.sample_noise(torch.Generator().manual_seed(seed + 2), batch=Xr.shape[0])
        R_parts.append(norms_at_point(model.loss, p, Xr, eps_r, where=label)[1])
    M_full = None
    lowest = None
    if run is not None:
        idx = np.unique(np.linspace(0, len(run.param_trace) - 1, trace_points).round().astype(int))
        if idx.size >= 2:
            L_parts.append(
                smoothness_along_run(fixed_loss, np.asarray(run.param_trace)[idx], _like(model, run))
            )
        M_run, M_full = norms_along_run(run)
        M_parts.append(M_run)
        lowest = float(np.min(run.full_loss))
    label0, theta0 = points[0]
    F0 = loss_at(model, theta0, X, mc_samples, seed=seed + 3, confidence=confidence, where=label0)
    if lowest is None:
        lowest = F0.value
    Delta = delta(F0, getattr(model, "loss_lower_bound", None), lowest)
    Bs = sorted({1, int(batch_size)})
    snr = gradient_snr(
        model, points[-1][1], data, snr_Ks, Bs, mc_samples=mc_samples, n_examples=n_examples, seed=seed,
        confidence=confidence, backend=backend,
    )  # fmt: skip
    constants = dict(
        L=combine_max(L_parts, "L (lower estimate of sup L)"),
        sigma2_data=combine_max(data_parts, "sigma2_data (max over points)"),
        sigma2_mc=combine_max(mc_parts, "sigma2_mc (max over points)"),
        M=combine_max(M_parts, "M (lower estimate of sup ||g||)"),
        R=combine_max(R_parts, "R (lower estimate of sup ||g||_inf)"),
        Delta=Delta,
    )
    n_evals = sum(e.n_evals for e in constants.values()) + snr.n_evals
    n_evals -= sum(e.n_evals for e in mc_parts)  # sigma2_data and sigma2_mc share their gradients
    n_evals -= sum(e.n_evals for e in M_parts[: len(points)])  # so does M at the points
    where = ", ".join(label for label, _ in points) + (" and the run's records" if run is not None else "")
    return Constants(
        **constants,
        snr=snr,
        n_evals=int(n_evals),
        M_full=M_full,
        delta_is_upper=uses_proven_bound(Delta),
        where=where,
    )


def _per_sample(mc: Estimate, model: Any) -> Estimate:
    """One model draw carries K variational samples; the theory's sigma2_mc is per sample."""
    K = int(getattr(model, "K", 1))
    if K == 1 or mc.value == 0.0:
        return mc
    return mc.scaled(K, f"per variational sample (one draw holds K={K})")


def _like(model: Any, run: Any) -> Params:
    shapes = model.param_shapes
    keys = tuple(getattr(run, "param_keys", tuple(shapes)))
    return {k: torch.zeros(shapes[k], dtype=model.dtype) for k in keys}


def _points(model: Any, params: Params | None, run: Any, seed: int) -> list[tuple[str, Params]]:
    if run is None:
        if params is None:
            return [(f"theta_0 (init, seed {seed})", model.init_params(torch.Generator().manual_seed(seed)))]
        return [("the given params", check_params(params))]
    trace = np.asarray(run.param_trace)
    if trace.ndim != 2 or trace.shape[0] < 1:
        raise ConfigError("run.param_trace must be a non-empty (T, d) array")
    theta0 = unflatten(torch.as_tensor(trace[0]), _like(model, run))
    pts = [("theta_0", theta0), ("theta_n", check_params(run.params))]
    if params is not None:
        pts.append(("the given params", check_params(params)))
    return pts
