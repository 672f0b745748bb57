"""``empirical.estimate``: every constant of the bounds for one VAE, at a point or along runs.

L, sigma2_data and the Monte-Carlo part, M, R, Delta and the SNR, each the largest over
the points (the bounds need suprema); what each is: docs/estimators.md, "Every constant
of a model".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from empirical.errors import ConfigError
from empirical.estimators.gap import delta, loss_at, uses_proven_bound
from empirical.estimators.norms import combine_max, max_seen, norms_at_point
from empirical.estimators.results import Estimate, Params, check_confidence, check_params, seeded, unflatten
from empirical.estimators.smoothness import smoothness, smoothness_along_run
from empirical.estimators.snr import SNRTable, gradient_snr
from empirical.estimators.variance import select_examples, vae_row_stats

R_EXAMPLES = 64

#: Constants measured as lower estimates of a supremum over the parameters
#: (the bound needs the supremum; the estimate is the largest value seen).
LOWER_ESTIMATES_OF_SUPREMA = ("L", "sigma2_data", "sigma2_mc", "sigma2_mc_K", "sigma2", "M", "R")
#: Every constant :class:`Constants` may hold, in the order the report lists them.
NAMES = ("L", "sigma2_data", "sigma2_mc", "sigma2_mc_K", "sigma2", "M", "R", "Delta")


@dataclass(frozen=True)
class Constants:
    """The constants of the bounds with intervals: the one constants type.

    Of the CLI's VAEs (:func:`estimate`) and of the tracker's modules
    (:func:`empirical.tracking.estimate.estimate_runs`). Exactly one of ``sigma2_mc`` and
    ``sigma2_mc_K`` is set.

    Attributes:
        L: The smoothness (a lower estimate of sup L).
        sigma2_data: The data part of the variance.
        sigma2_mc: The Monte-Carlo part per variational sample (models that average their K draws).
        sigma2_mc_K: The Monte-Carlo part at the K used (IWAE, a user's module).
        M: The gradient-norm bound (None: not measured).
        R: The gradient sup-norm bound (None: not measured).
        Delta: F(theta_0) - F*.
        snr: The decoder and encoder SNR (None: not measured).
        n_evals: All evaluations spent.
        delta_is_upper: Delta used a proven lower bound of F (a valid upper value).
        where: Where the constants were measured, in words.
        sigma2: The variance of the step's minibatch gradient, where it was measured as one
            (the tracker's).
        routes: How each parameter's per-example gradients were taken (a user's module).
        route_summary: The routes in words.
    """

    L: Estimate
    sigma2_data: Estimate
    sigma2_mc: Estimate | None
    sigma2_mc_K: Estimate | None
    M: Estimate | None
    R: Estimate | None
    Delta: Estimate
    snr: SNRTable | None
    n_evals: int
    delta_is_upper: bool
    where: str
    sigma2: Estimate | None = None
    routes: dict[str, str] = field(default_factory=dict)
    route_summary: str = ""

    def named(self) -> dict[str, Estimate]:
        """Every measured constant under its theory symbol name.

        Returns:
            Name -> estimate, in the order of :data:`NAMES`, the unmeasured left out.
        """
        return {name: getattr(self, name) for name in NAMES if getattr(self, name) is not None}

    @property
    def lower_estimates(self) -> tuple[str, ...]:
        """The constants that are lower estimates of suprema (L, the sigma2 parts, M, R).

        Delta is no supremum: without a proven lower bound of F it is a lower estimate of
        F(theta_0) - F* of its own kind (``delta_is_upper`` False).
        """
        return tuple(name for name in LOWER_ESTIMATES_OF_SUPREMA if name in self.named())

    def as_dict(self) -> dict[str, Any]:
        """The constants, JSON-ready.

        Returns:
            Each constant as ``{value, lo, hi, confidence, method, n_evals}``, the SNR table,
            ``n_evals``, ``delta_is_upper`` and ``where``.
        """
        out: dict[str, Any] = {name: e.as_dict() for name, e in self.named().items()}
        if self.snr is not None:
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
    points_per_run: int = 2,
    tol: float = 1e-3,
    max_iter: int = 100,
    seed: int = 0,
    confidence: float = 0.95,
    backend: str = "recorder",
    along: Any = None,
) -> Constants:
    """Estimate L, sigma2_data, the Monte-Carlo part, M, R, Delta and the SNR of a VAE.

    At a point (``run`` None): the point is ``params`` (default ``model.init_params`` with the
    seed). Along runs: for every run, ``points_per_run`` of its parameter snapshots (always
    theta_0 and theta_n), plus ``params`` if given; the runs' own records are used too.

    Args:
        model: An :mod:`empirical.models` VAE.
        data: The rows.
        params: The point, or an extra point along runs.
        run: A :class:`~empirical.train.TrainRun`, or None.
        n_examples: The examples drawn once (seeded) for every estimate.
        mc_samples: The noise draws per example.
        batch_size: The B of the SNR table (default the run's, else 1).
        snr_Ks: The K of the SNR table (default the model's).
        points_per_run: The snapshots per run, >= 2.
        tol: Lanczos's relative tolerance.
        max_iter: Lanczos's most products.
        seed: The seed of every draw.
        confidence: The intervals' two-sided level.
        backend: "recorder" (BackPACK-style norms) or "vmap" (the brute-force twin).
        along: The table of the constants along ``run`` on these examples and noise
            (:func:`~empirical.estimators.stress_runs.table_of_runs`): L, the variance parts
            and M at every snapshot are read from it (nothing computed twice); R stays at
            theta_0 and theta_n.

    Returns:
        The constants.

    Raises:
        ConfigError: Bad options, data or snapshots.
        LossError: A loss or gradient that is not finite.
    """
    confidence = check_confidence(confidence)
    if hasattr(model, "check_data"):
        model.check_data(data)
    points, starts = _points(model, params, run, seed, points_per_run)
    if batch_size is None:
        batch_size = int(getattr(run, "options", {}).get("batch_size", 1)) if run is not None else 1
    X = select_examples(data, n_examples, seeded(None, seed))
    eps_fixed = model.sample_noise(seeded(None, seed, 1), batch=X.shape[0])
    averages_draws = bool(getattr(model, "averages_draws", True))

    def fixed_loss(p: Params) -> torch.Tensor:
        return model.batch_loss(p, X, eps_fixed)

    L_parts, data_parts, mc_parts, M_parts, R_parts = [], [], [], [], []
    shared = 0  # evaluations M at the points shares with the variance's gradients
    if along is not None:
        L_parts, data_parts, mc_parts, M_parts = _from_table(along, run)
    for label, p in points:
        if along is None:
            L_parts.append(smoothness(fixed_loss, p, tol=tol, max_iter=max_iter, seed=seed, where=label))
            ms = vae_row_stats(model, p, data, mc_samples, n_examples=n_examples, seed=seed, backend=backend)
            v = ms.variance(confidence=confidence, label=f"{label}: ")
            data_parts.append(v.data)
            mc_parts.append(per_variational_sample(v.mc, model) if averages_draws else v.mc)
            sq = torch.stack([s.sq_draw for s in ms.stats.values()]).sum(0)
            M_parts.append(
                max_seen(sq.sqrt().numpy(), f"per-(example, draw) gradient norm at {label}", ms.n_evals)
            )
            shared += ms.n_evals
        Xr = X[:R_EXAMPLES]
        eps_r = model.sample_noise(seeded(None, seed, 2), batch=Xr.shape[0])
        R_parts.append(norms_at_point(model.loss, p, Xr, eps_r, where=label)[1])
    lowest = None
    if run is not None:
        like = _like(model, run)
        for i, s in enumerate(run.seeds):
            if run.snapshots.shape[1] >= 2:
                secant = smoothness_along_run(fixed_loss, np.asarray(run.snapshots[i]), like)
                L_parts.append(_relabel(secant, f"run of seed {s}: "))
        M_parts.append(
            max_seen(
                np.sqrt(np.asarray(run.grad_norm_sq)), f"minibatch gradient norm ||g_k|| over {run.runs} runs"
            )
        )
        lowest = float(np.min(run.full_loss))
    F0s = [
        loss_at(
            model, theta0, X, mc_samples, generator=seeded(None, seed, 3), confidence=confidence, where=label
        )
        for label, theta0 in starts
    ]
    if lowest is None:
        lowest = min(F0.value for F0 in F0s)
    lower_bound = getattr(model, "loss_lower_bound", None)
    Deltas = [delta(F0, lower_bound, lowest) for F0 in F0s]
    Delta = Deltas[0] if len(Deltas) == 1 else _largest(Deltas, f"Delta (largest over {len(Deltas)} runs)")
    Bs = sorted({1, int(batch_size)})
    snr = gradient_snr(
        model, points[-1][1], data, snr_Ks, Bs, mc_samples=mc_samples, n_examples=n_examples, seed=seed,
        confidence=confidence, backend=backend,
    )  # fmt: skip
    mc_name = "sigma2_mc" if averages_draws else "sigma2_mc_K"
    mc_what = (
        "sigma2_mc (per variational sample; max over points)"
        if averages_draws
        else f"sigma2_mc_K (variance of the K={model.K}-sample gradient at the K used; max over points)"
    )
    constants = dict(
        L=combine_max(L_parts, "L (lower estimate of sup L)"),
        sigma2_data=combine_max(data_parts, "sigma2_data (max over points)"),
        M=combine_max(M_parts, "M (lower estimate of sup ||g||)"),
        R=combine_max(R_parts, "R (lower estimate of sup ||g||_inf)"),
        Delta=Delta,
    )
    mc = combine_max(mc_parts, mc_what)
    n_evals = sum(e.n_evals for e in constants.values()) + snr.n_evals - shared
    if along is None:
        where = ", ".join(label for label, _ in points)
    else:
        S = 1 + max(r.snapshot for r in along.rows)
        where = f"every snapshot of every run ({S} per run, {run.runs} runs; R at theta_0 and theta_n)"
    where += " and the runs' records" if run is not None else ""
    return Constants(
        **constants,
        sigma2_mc=mc if mc_name == "sigma2_mc" else None,
        sigma2_mc_K=mc if mc_name == "sigma2_mc_K" else None,
        snr=snr,
        n_evals=int(n_evals),
        delta_is_upper=uses_proven_bound(Delta),
        where=where,
    )


def _from_table(along: Any, run: Any) -> tuple[list[Estimate], ...]:
    """(L, sigma2_data, Monte-Carlo part, M) at every row of the table along ``run``.

    Each is labelled with its run and step.
    """
    if run is None:
        raise ConfigError("option along needs the run it was measured along (run=)")
    R, S = np.asarray(run.snapshots).shape[:2]
    if {(r.run, r.snapshot) for r in along.rows} != {(i, j) for i in range(R) for j in range(S)}:
        raise ConfigError(f"option along must hold every snapshot of every run ({R} x {S})")
    if any(r.variance is None for r in along.rows):
        raise ConfigError("option along must hold the variance parts (a problem with a variance probe)")
    out: tuple[list[Estimate], ...] = ([], [], [], [])
    for r in along.rows:
        where = f"{r.label}, step {r.step}: "
        for parts, e in zip(out, (r.L, r.variance.data, r.variance.mc, r.variance.M), strict=True):
            parts.append(e if e is r.L else _relabel(e, where))
    return out


def per_variational_sample(mc: Estimate, model: Any) -> Estimate:
    """A Monte-Carlo variance per variational sample: a model draw averages K one-sample losses.

    Args:
        mc: The variance of one model draw (K samples).
        model: The model (its K).

    Returns:
        K times the variance (itself for K = 1 or 0).
    """
    K = int(getattr(model, "K", 1))
    if K == 1 or mc.value == 0.0:
        return mc
    return mc.scaled(K, f"per variational sample (one draw averages K={K})")


def _relabel(e: Estimate, prefix: str) -> Estimate:
    return Estimate(e.value, e.lo, e.hi, e.confidence, prefix + e.method, e.n_evals)


def _largest(estimates: Sequence[Estimate], what: str) -> Estimate:
    """The estimate with the largest upper end (it enters the bound), the method naming the others' count."""
    best = max(estimates, key=lambda e: e.hi)
    return Estimate(
        best.value,
        best.lo,
        best.hi,
        best.confidence,
        f"{what}, attained by [{best.method}]",
        sum(e.n_evals for e in estimates),
    )


def _like(model: Any, run: Any) -> Params:
    shapes = model.param_shapes
    keys = tuple(getattr(run, "param_keys", tuple(shapes)))
    return {k: torch.zeros(shapes[k], dtype=model.dtype) for k in keys}


def _points(
    model: Any, params: Params | None, run: Any, seed: int, per_run: int
) -> tuple[list[tuple[str, Params]], list[tuple[str, Params]]]:
    """(points to estimate at, starting points theta_0 for Delta), each labelled."""
    if run is None:
        if params is None:
            theta0 = model.init_params(seeded(None, seed))
            return [(f"theta_0 (init, seed {seed})", theta0)], [("theta_0", theta0)]
        given = check_params(params)
        return [("the given params", given)], [("the given params", given)]
    snaps = np.asarray(run.snapshots)
    if snaps.ndim != 3 or snaps.shape[1] < 1:
        raise ConfigError("run.snapshots must be a non-empty (R, S, d) array")
    if isinstance(per_run, bool) or not isinstance(per_run, int) or per_run < 2:
        raise ConfigError(f"option points_per_run must be an integer >= 2, got {per_run!r}")
    like = _like(model, run)
    steps = np.asarray(run.snapshot_steps)
    picks = np.unique(np.linspace(0, snaps.shape[1] - 1, per_run).round().astype(int))
    pts, starts = [], []
    for i, s in enumerate(run.seeds):
        for j in picks:
            theta = unflatten(torch.as_tensor(snaps[i, j]), like)
            pts.append((f"theta_{int(steps[j])} (seed {s})", theta))
        starts.append((f"theta_0 (seed {s})", unflatten(torch.as_tensor(snaps[i, 0]), like)))
    if params is not None:
        pts.append(("the given params", check_params(params)))
    return pts, starts
