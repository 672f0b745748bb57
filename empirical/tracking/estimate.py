"""The constants of the generic theorems for tracked runs of a user's module, measured at
the parameter snapshots the tracker kept (docs/theory.md, "Models": user models bind the
generic bounds with measured L, sigma2, Delta, R).

* ``L``: Lanczos on Hessian-vector products of the loss on ``n_examples`` rows with its
  noise held fixed (the loss re-seeded inside ``fork_rng`` at every call), at theta_0 and
  theta_n of every run; and the largest secant between the snapshots of each run.
* ``sigma2_data``, ``sigma2_mc_K``: per-example statistics of the module
  (:func:`empirical.estimators.module_row_stats`, per-layer norms for Linear / Conv layers,
  vmap for the rest; the route of every parameter is reported) at the same points;
  ``sigma2_mc_K`` is the Monte-Carlo variance of one row's gradient as the user's loss draws
  it (its own K samples). The variance of a B-row minibatch gradient is
  ``sigma2 = sigma2_data/B + sigma2_mc_K/B`` (:data:`theory.models.common.iwae_variance`).
* ``R``: the largest ||g_k||_inf of the minibatch gradients the optimizer used, at every step
  (read for every optimizer but plain ``torch.optim.SGD``, whose theorem does not need it).
* ``Delta``: F(theta_0) (rows x draws, t interval over rows) minus the model's
  ``loss_lower_bound`` when it has one (an upper value), else minus the lowest loss the
  run recorded (a lower estimate).
Each is a lower estimate of the supremum the theorem needs (the largest value seen).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch

from empirical.estimators.gap import delta, uses_proven_bound
from empirical.estimators.module_stats import module_row_stats
from empirical.estimators.norms import combine_max, max_seen
from empirical.estimators.results import Estimate, mean_interval
from empirical.estimators.smoothness import smoothness, smoothness_along_run
from empirical.estimators.variance import select_examples
from empirical.tracking import evaluate
from empirical.tracking.run import TrackedRun

#: Rows of the fixed-noise loss whose Hessian Lanczos takes; rows x draws for F(theta_0).
L_EXAMPLES, DELTA_ROWS, DRAWS = 128, 1024, 4
#: Rows and draws of the per-example statistics.
STAT_EXAMPLES = 128


@dataclass(frozen=True)
class MeasuredConstants:
    """The constants with their intervals (``named()``), which are lower estimates of
    suprema, whether Delta rests on a proven lower bound, where they were measured, the
    evaluations spent and the per-example route of every parameter."""

    estimates: dict[str, Estimate]
    lower_estimates: tuple[str, ...]
    delta_is_upper: bool
    where: str
    n_evals: int
    routes: dict[str, str] = field(default_factory=dict)
    route_summary: str = ""

    def named(self) -> dict[str, Estimate]:
        return dict(self.estimates)

    def __getattr__(self, name: str) -> Estimate:
        """Each constant by its name, as on :class:`empirical.estimators.Constants` (``c.L``)."""
        if name.startswith("_") or name == "estimates":
            raise AttributeError(name)
        try:
            return self.estimates[name]
        except KeyError:
            raise AttributeError(name) from None


@contextmanager
def loaded(run: TrackedRun, params: dict[str, torch.Tensor]):
    """The module holding ``params`` for the duration, its own parameters restored afterwards."""
    own = dict(run.model.named_parameters())
    saved = {k: own[k].detach().clone() for k in params}
    with torch.no_grad():
        for k, v in params.items():
            own[k].copy_(v)
    try:
        yield
    finally:
        with torch.no_grad():
            for k, v in saved.items():
                own[k].copy_(v)


def fixed_loss(run: TrackedRun, X: torch.Tensor, seed: int) -> Callable[[dict], torch.Tensor]:
    """theta -> mean loss over X with the noise held fixed (re-seeded at every call)."""

    def f(params: dict[str, torch.Tensor]) -> torch.Tensor:
        with evaluate.isolated(run.model, seed):
            return evaluate.per_example(run.model, run.loss, params, X).mean()

    return f


def estimate_runs(
    runs: Sequence[TrackedRun],
    seed: int = 0,
    *,
    tol: float = 1e-3,
    max_iter: int = 100,
    progress: Callable[[str], None] = lambda _: None,
) -> MeasuredConstants:
    """Every constant (module docstring) over the snapshots of ``runs``."""
    gen = torch.Generator().manual_seed(seed)
    L_parts, data_parts, mc_parts, F0s, labels = [], [], [], [], []
    routes: dict[str, str] = {}
    summary = ""
    B = min(r.batch_size for r in runs)
    for r in runs:
        X_L = select_examples(r.data, L_EXAMPLES, gen)
        f = fixed_loss(r, X_L, int(torch.randint(2**62, (1,), generator=gen)))
        for i in sorted({0, len(r.snapshot_steps) - 1}):
            label = f"theta_{int(r.snapshot_steps[i])} (seed {r.seed})"
            labels.append(label)
            progress(f"L and sigma2 at {label}")
            params = r.params_at(i)
            L_parts.append(smoothness(f, params, tol=tol, max_iter=max_iter, seed=seed, where=label))
            with loaded(r, params):
                ms = module_row_stats(r.model, r.loss, r.data, DRAWS, n_examples=STAT_EXAMPLES, generator=gen)
            v = ms.variance(list(r.names), label=f"{label}: {ms.route_summary(list(r.names))}; ")
            data_parts.append(v.data)
            mc_parts.append(v.mc)
            routes.update({k: ms.routes[k] for k in r.names})
            summary = ms.route_summary(list(r.names))
        if len(r.snapshot_steps) >= 2:
            secant = smoothness_along_run(f, [r.params_at(i) for i in range(len(r.snapshot_steps))])
            L_parts.append(_prefixed(secant, f"run of seed {r.seed}: "))
        F0s.append(_loss_at_start(r, gen))
    lowest = min(min(float(np.min(r.record_loss)) for r in runs), min(F.value for F in F0s))
    lower_bound = getattr(runs[0].model, "loss_lower_bound", None)
    Deltas = [delta(F0, lower_bound, lowest) for F0 in F0s]
    Delta = max(Deltas, key=lambda e: e.hi)
    data = combine_max(data_parts, "sigma2_data (max over points)")
    mc = combine_max(
        mc_parts,
        "sigma2_mc_K (the Monte-Carlo variance of one row's gradient as the loss draws it, at its own K; "
        "max over points)",
    )
    estimates = {
        "L": combine_max(L_parts, "L (lower estimate of sup L)"),
        "sigma2_data": data,
        "sigma2_mc_K": mc,
        "sigma2": step_variance(data, mc, B),
        "Delta": Delta,
    }
    sups = np.concatenate([r.grad_sup for r in runs])
    if np.all(np.isfinite(sups)):  # read for the adaptive optimizers (their theorems need R)
        what = f"minibatch gradient sup-norm ||g_k||_inf at every step of {len(runs)} run(s)"
        estimates["R"] = max_seen(sups, what)
    upper = uses_proven_bound(Delta)
    lower = tuple(n for n in ("L", "sigma2_data", "sigma2_mc_K", "sigma2", "R") if n in estimates)
    lower += () if upper else ("Delta",)
    n_evals = sum(e.n_evals for e in estimates.values())
    return MeasuredConstants(estimates, lower, upper, ", ".join(labels), int(n_evals), routes, summary)


def step_variance(data: Estimate, mc: Estimate, B: int) -> Estimate:
    """sigma2 = sigma2_data/B + sigma2_mc_K/B (theory.models.common.iwae_variance), each end of
    the interval from the same ends of the parts."""
    from theory.models.common import iwae_variance

    def at(d: float, m: float) -> float:
        values = {"sigma2_data": d, "sigma2_mc_K": m, "B": B}
        return float(iwae_variance.subs({s: values[s.name] for s in iwae_variance.free_symbols}))

    return Estimate(
        at(data.value, mc.value),
        at(data.lo, mc.lo),
        at(data.hi, mc.hi),
        min(data.confidence, mc.confidence),
        f"variance of a B = {B} row minibatch gradient, sigma2_data/B + sigma2_mc_K/B, from the two parts",
        data.n_evals + mc.n_evals,
    )


def _loss_at_start(run: TrackedRun, gen: torch.Generator) -> Estimate:
    """F(theta_0): DELTA_ROWS rows x DRAWS draws, Student-t interval over rows."""
    X = select_examples(run.data, DELTA_ROWS, gen)
    n = int(X.shape[0])
    with torch.no_grad(), evaluate.isolated(run.model, int(torch.randint(2**62, (1,), generator=gen))):
        out = evaluate.per_example(run.model, run.loss, run.params_at(0), X.repeat_interleave(DRAWS, 0))
    losses = out.reshape(n, DRAWS).mean(1).double()
    return mean_interval(
        losses, f"F(theta_0) over {n} rows x {DRAWS} draws, t interval over rows", n_evals=n * DRAWS
    )


def _prefixed(e: Estimate, prefix: str) -> Estimate:
    return Estimate(e.value, e.lo, e.hi, e.confidence, prefix + e.method, e.n_evals)
