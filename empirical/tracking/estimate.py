"""The constants of the generic theorems for tracked runs of a user's module.

Measured at the parameter snapshots the tracker kept (docs/theory.md, "Models": user models
bind the generic bounds with measured L, sigma2, Delta, R).

* ``L``: Lanczos on Hessian-vector products of the loss on ``n_examples`` rows with its
  noise held fixed (the loss re-seeded inside ``fork_rng`` at every call), at theta_0 and
  theta_n of every run; and the largest secant between the snapshots of each run.
* ``sigma2_data``, ``sigma2_mc_K``: per-example statistics of the module
  (:func:`empirical.estimators.module_row_stats`, per-layer norms for Linear / Conv layers,
  vmap for the rest; the route of every parameter is reported) at the same points;
  ``sigma2_mc_K`` is the Monte-Carlo variance of one row's gradient as the user's loss draws
  it (its own K samples). The variance of a B-row minibatch gradient is
  ``sigma2 = sigma2_data/B + sigma2_mc_K/B`` (:data:`theory.models.common.iwae_variance`).
* ``M``: the largest per-(example, draw) gradient norm ||g_ij|| of those statistics' rows (their
  squared norms are the per-example statistics' own), at the same points.
* ``R``: the largest ||g_k||_inf of the minibatch gradients the optimizer used, at every step
  (read for every optimizer but plain ``torch.optim.SGD``, whose theorem does not need it).
* ``Delta``: with the model's ``loss_lower_bound``: F(theta_0) minus it (t interval over
  rows), whose upper end bounds F(theta_0) - F* at the interval's confidence (valid for the
  bound), F(theta_0) over as many rows as a standard error of FINAL_PRECISION
  |F(theta_0) - F*| needs (planned from independent pilot rows, as the final record).
  Without: F estimated at theta_0 and at every kept snapshot on the same ``DELTA_ROWS``
  rows x ``DRAWS`` noise draws, and F(theta_0) - min_k F(theta_k) over the snapshots
  (:func:`empirical.estimators.gap.snapshot_delta`, paired differences with a simultaneous
  interval), a lower estimate of F(theta_0) - F*.
  The largest over the runs.
L, the sigma2 parts, M and R are lower estimates of the suprema the theorem needs (the largest
value seen).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import numpy as np
import torch

from empirical.conclusion.values import step_variance
from empirical.estimators.constants import Constants
from empirical.estimators.gap import delta, snapshot_delta, uses_proven_bound
from empirical.estimators.module_stats import module_row_stats
from empirical.estimators.norms import combine_max, max_seen
from empirical.estimators.per_example import combine
from empirical.estimators.results import Estimate, unflatten
from empirical.estimators.sampled import sampled_mean
from empirical.estimators.smoothness import smoothness, smoothness_along_run
from empirical.estimators.variance import select_examples
from empirical.progress import Progress, silent
from empirical.tracking import evaluate
from empirical.train.recording import FINAL_PRECISION, TrainRun, UserLoop

#: Rows of the fixed-noise loss whose Hessian Lanczos takes (and whose secants are taken along
#: a run); rows x draws of F at the snapshots (Delta without a proven lower bound). 64 rows:
#: a user's module pays two or three gradients per Hessian-vector product, and the Hessian of
#: a mean over fewer rows tends to have the larger top eigenvalue.
L_EXAMPLES, DELTA_ROWS, DRAWS = 64, 1024, 4
#: Rows of the per-example statistics (DRAWS draws each); their intervals carry the rows.
STAT_EXAMPLES = 64


def params_at(run: TrainRun, i: int, j: int) -> dict[str, torch.Tensor]:
    """Snapshot ``j`` of run ``i`` as the module's parameters.

    Args:
        run: The tracked runs.
        i: The run.
        j: The snapshot.

    Returns:
        Name -> tensor, with the names, shapes and dtypes of the tracked parameters.
    """
    own = dict(run.loops[i].model.named_parameters())
    return unflatten(torch.as_tensor(run.snapshots[i, j]), {k: own[k] for k in run.param_keys})


@contextmanager
def loaded(model: torch.nn.Module, params: dict[str, torch.Tensor]):
    """The module holding ``params`` for the duration, its own parameters restored afterwards.

    Args:
        model: The user's module.
        params: Name -> tensor to load.

    Yields:
        Nothing; inside the block the module computes at ``params``.
    """
    own = dict(model.named_parameters())
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


def fixed_loss(loop: UserLoop, X: torch.Tensor, seed: int) -> Callable[[dict], torch.Tensor]:
    """The map theta -> mean loss over X with the noise held fixed (re-seeded at every call).

    Args:
        loop: The run's module and loss.
        X: The rows.
        seed: The seed of the noise, the same at every call.

    Returns:
        ``f(params)``: a deterministic loss, whose Hessian's top |eigenvalue| is L's estimate.
    """

    def f(params: dict[str, torch.Tensor]) -> torch.Tensor:
        with evaluate.isolated(loop.model, seed):
            return evaluate.per_example(loop.model, loop.loss, params, X).mean()

    return f


def estimate_runs(
    run: TrainRun,
    seed: int = 0,
    *,
    tol: float = 1e-3,
    max_iter: int = 100,
    progress: Progress = silent,
) -> Constants:
    """Every constant (module docstring) over the snapshots of the tracked runs ``run``.

    Args:
        run: R tracked runs (their :class:`~empirical.train.UserLoop` s, snapshots, records).
        seed: seed of the rows and the noise the estimators draw.
        tol: Lanczos's relative tolerance.
        max_iter: Lanczos's largest number of products.
        progress: the progress callback.

    Returns:
        The :class:`~empirical.estimators.Constants`: L, sigma2_data, sigma2_mc_K, sigma2 (of a
        B-row minibatch, :func:`empirical.conclusion.values.step_variance`), Delta and, when the
        runs read ||g_k||_inf, R; each the largest over the points (a lower estimate of the
        supremum the theorem needs), with the per-example route of every parameter.
    """
    gen = torch.Generator().manual_seed(seed)
    L_parts, data_parts, mc_parts, M_parts, Deltas, labels = [], [], [], [], [], []
    routes: dict[str, str] = {}
    summary = ""
    names = list(run.param_keys)
    S = len(run.snapshot_steps)
    for i, run_seed in enumerate(run.seeds):
        loop = run.loops[i]
        X_L = select_examples(loop.data, L_EXAMPLES, gen)
        f = fixed_loss(loop, X_L, int(torch.randint(2**62, (1,), generator=gen)))
        for j in sorted({0, S - 1}):
            label = f"theta_{int(run.snapshot_steps[j])} (seed {run_seed})"
            labels.append(label)
            progress(f"L and sigma2 at {label}")
            params = params_at(run, i, j)
            L_parts.append(smoothness(f, params, tol=tol, max_iter=max_iter, seed=seed, where=label))
            with loaded(loop.model, params):
                ms = module_row_stats(
                    loop.model, loop.loss, loop.data, DRAWS, n_examples=STAT_EXAMPLES, generator=gen
                )
            v = ms.variance(names, label=f"{label}: {ms.route_summary(names)}; ")
            data_parts.append(v.data)
            mc_parts.append(v.mc)
            rows = combine(ms.stats, names)
            M_parts.append(
                max_seen(
                    np.sqrt(rows.sq_draw.numpy()),
                    f"per-(example, draw) gradient norm ||g_ij|| of {rows.n} rows x {rows.J} draws "
                    f"at {label}",
                )
            )
            routes.update({k: ms.routes[k] for k in names})
            summary = ms.route_summary(names)
        if S >= 2:
            secant = smoothness_along_run(f, [params_at(run, i, j) for j in range(S)])
            L_parts.append(_prefixed(secant, f"run of seed {run_seed}: "))
        progress(f"Delta along the run of seed {run_seed}")
        Deltas.append(_delta(run, i, gen))
    Delta = max(Deltas, key=lambda e: e.hi)
    data = combine_max(data_parts, "sigma2_data (max over points)")
    mc = combine_max(
        mc_parts,
        "sigma2_mc_K (the Monte-Carlo variance of one row's gradient as the loss draws it, at its own K; "
        "max over points)",
    )
    R = None
    sups = run.grad_sup_norm
    if sups is not None and np.all(
        np.isfinite(sups)
    ):  # read for the adaptive optimizers (their theorems need R)
        R = max_seen(
            sups.ravel(), f"minibatch gradient sup-norm ||g_k||_inf at every step of {run.runs} run(s)"
        )
    L = combine_max(L_parts, "L (lower estimate of sup L)")
    M = combine_max(
        M_parts, "M (the largest per-(example, draw) gradient norm seen; lower estimate of sup ||g||)"
    )
    sigma2 = step_variance(data, mc, int(run.options["batch_size"]))
    n_evals = sum(e.n_evals for e in (L, data, mc, sigma2, Delta, *(() if R is None else (R,))))
    return Constants(
        L=L, sigma2_data=data, sigma2_mc=None, sigma2_mc_K=mc, M=M, R=R, Delta=Delta, snr=None,
        n_evals=int(n_evals), delta_is_upper=uses_proven_bound(Delta), where=", ".join(labels),
        sigma2=sigma2, routes=routes, route_summary=summary,
    )  # fmt: skip


def _delta(run: TrainRun, i: int, gen: torch.Generator) -> Estimate:
    """Delta of run ``i`` (module docstring).

    With a proven lower bound F*: F(theta_0) over as many rows as a standard error of
    FINAL_PRECISION |F(theta_0) - F*| needs (:func:`empirical.estimators.sampled.sampled_mean`,
    as the final record plans its rows). Without: the per-row losses, each the mean of
    ``DRAWS`` draws, on the same ``DELTA_ROWS`` rows and the same noise (one seed) at every
    snapshot, paired.
    """
    loop = run.loops[i]
    lower_bound = getattr(run.model, "loss_lower_bound", None)
    if lower_bound is not None:
        return delta(_F0(run, i, gen, float(lower_bound)), lower_bound)
    X = select_examples(loop.data, DELTA_ROWS, gen)
    n = int(X.shape[0])
    seed = int(torch.randint(2**62, (1,), generator=gen))
    snapshots = range(len(run.snapshot_steps))
    losses = []
    for j in snapshots:
        with torch.no_grad(), evaluate.isolated(loop.model, seed):  # the same noise at every snapshot
            out = evaluate.per_example(
                loop.model, loop.loss, params_at(run, i, j), X.repeat_interleave(DRAWS, 0)
            )
        losses.append(out.reshape(n, DRAWS).mean(1).double().numpy())
    where = f"(seed {run.seeds[i]})"
    labels = [f"theta_{int(k)}" for k in run.snapshot_steps]
    return _prefixed(snapshot_delta(np.stack(losses), labels), f"run {where}: ")


def _F0(run: TrainRun, i: int, gen: torch.Generator, reference: float, chunk: int = 4096) -> Estimate:
    """F(theta_0) of run ``i`` over the rows its precision needs.

    The mean of one-draw losses over rows planned for a standard error of FINAL_PRECISION
    |F - reference| (:func:`empirical.estimators.sampled.sampled_mean`), each call with fresh
    noise (its own seed from ``gen``), ``chunk`` rows at a time.

    Args:
        run: The tracked runs.
        i: The run.
        gen: The source of the rows and the noise seeds.
        reference: F*, the value the precision is relative to.
        chunk: The rows of one evaluation.

    Returns:
        The estimate of F(theta_0) with its t interval over the rows.
    """
    loop = run.loops[i]
    theta0 = params_at(run, i, 0)

    def losses(rows: torch.Tensor | None) -> torch.Tensor:
        X = loop.data if rows is None else loop.data[rows.to(loop.data.device)]
        seed = int(torch.randint(2**62, (1,), generator=gen))
        with torch.no_grad(), evaluate.isolated(loop.model, seed):
            parts = [
                evaluate.per_example(loop.model, loop.loss, theta0, X[s : s + chunk])
                for s in range(0, int(X.shape[0]), chunk)
            ]
        return torch.cat(parts).cpu()

    N = int(loop.data.shape[0])
    return sampled_mean(
        losses,
        N,
        gen,
        precision=FINAL_PRECISION,
        reference=reference,
        what=f"F(theta_0) (seed {run.seeds[i]})",
    )


def _prefixed(e: Estimate, prefix: str) -> Estimate:
    return Estimate(e.value, e.lo, e.hi, e.confidence, prefix + e.method, e.n_evals)
