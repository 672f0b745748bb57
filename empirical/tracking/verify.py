"""Verify tracked runs: the theorem their optimizer is covered by, the constants measured
along them, the bound, the observed side with the theorem's weights, the assumption rows,
and for Adam / Adagrad every variant side by side -- one :class:`empirical.pipeline.Result`,
the type the CLI returns (docs/architecture.md, "The tracker").

Several runs (the CLI's ``--seeds R`` for a user model) must share their steps and step
sizes; the observed side is then the mean over runs with a Student-t interval, as for the
built-in models; one run gets its quadrature bracket widened by the records' own noise.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from empirical.compare import bind
from empirical.conclusion.coverage import OptimizerRun, choose_theorem
from empirical.conclusion.observed import CONFIDENCE, compare_runs
from empirical.conclusion.result import HOLDS, UNCHECKED, Result, Row
from empirical.conclusion.rows import CHECKS, Evidence, assumption_rows
from empirical.conclusion.variants import attribution_of, variant_extras
from empirical.errors import ConfigError
from empirical.tracking.estimate import MeasuredConstants, estimate_runs
from empirical.tracking.run import TrackedRun
from empirical.train.recording import TrainRun


@dataclass(frozen=True)
class TrackSettings:
    """What was tracked, under the names the report uses."""

    model: str
    optimizer: str
    data: str
    steps: int
    batch_size: int
    seed: int
    seeds: int
    seed_list: list[int] = field(default_factory=list)
    K: int | None = None
    box: None = None
    options: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "optimizer": self.optimizer,
            "data": self.data,
            "steps": self.steps,
            "batch_size": self.batch_size,
            "K": self.K,
            "seed": self.seed,
            "seeds": self.seeds,
            **self.options,
        }


def describe_optimizer(
    optimizer: torch.optim.Optimizer, steps: np.ndarray, groups_agree: bool
) -> OptimizerRun:
    """The :class:`OptimizerRun` of a torch optimizer with the step sizes it took."""
    from empirical.optim import DefossezAdagrad, DefossezAdam

    kind = type(optimizer)
    module = "torch.optim" if kind.__module__.startswith("torch.optim") else kind.__module__
    name = f"{module}.{kind.__name__}"
    family, algorithm = "other", ""
    if kind is DefossezAdam:
        family, algorithm, name = "adam", "adam-defossez", "empirical.optim.DefossezAdam"
    elif kind is DefossezAdagrad:
        family, algorithm, name = "adagrad", "adagrad-defossez", "empirical.optim.DefossezAdagrad"
    elif kind in (torch.optim.Adam, torch.optim.AdamW):
        family, algorithm, name = "adam", "torch.optim.Adam", f"torch.optim.{kind.__name__}"
    elif kind is torch.optim.Adagrad:
        family, algorithm, name = "adagrad", "torch.optim.Adagrad", "torch.optim.Adagrad"
    elif kind is torch.optim.SGD:
        family, name = "sgd", "torch.optim.SGD"
    groups = optimizer.param_groups
    keys = (
        "betas",
        "eps",
        "momentum",
        "dampening",
        "nesterov",
        "weight_decay",
        "maximize",
        "amsgrad",
        "lr_decay",
        "initial_accumulator_value",
        "decoupled_weight_decay",
    )
    options = {k: groups[0][k] for k in keys if k in groups[0]}
    if options.get("decoupled_weight_decay") and not options.get("weight_decay"):
        options.pop("decoupled_weight_decay")
    same = all({k: g.get(k) for k in keys} == {k: groups[0].get(k) for k in keys} for g in groups)
    lr_range = (float(np.min(steps)), float(np.max(steps)))
    return OptimizerRun(
        family, name, float(steps[0]), algorithm, options, "recorded", lr_range, groups_agree and same
    )


def verify_runs(
    runs: Sequence[TrackedRun],
    *,
    seed: int = 0,
    progress: Callable[[str], None] = lambda _: None,
    sampling: str | None = None,
) -> Result:
    """The :class:`Result` of tracked runs (module docstring). ``sampling``: how the loop
    drew its minibatches and noise, when the caller knows it (the CLI's loop: rows uniformly
    with replacement, fresh noise at every step); the unbiasedness row then holds by
    construction. None (a user's own loop): that row stays unchecked."""
    runs = list(runs)
    _check_alike(runs)
    first = runs[0]
    timings = {
        "training": sum(r.training_seconds for r in runs),
        "tracking": sum(r.tracking_seconds for r in runs),
    }
    t = time.perf_counter()
    desc = describe_optimizer(first.optimizer, first.step_sizes, all(r.groups_agree for r in runs))
    choice = choose_theorem("generic", desc)
    theorem = choice.theorem
    timings["theory"] = time.perf_counter() - t
    t = time.perf_counter()
    constants = estimate_runs(runs, seed, progress=progress)
    timings["estimation"] = time.perf_counter() - t
    t = time.perf_counter()
    B = min(r.batch_size for r in runs)
    gammas = first.step_sizes
    fixed = {
        "n": float(first.steps),
        "B": float(B),
        "S1": float(gammas.sum()),
        "S2": float(np.square(gammas).sum()),
        "gamma_max": float(gammas.max()),
        "d": float(first.snapshots.shape[1]),
        "C_gamma": float(gammas[0]),
        **choice.values,
    }
    binding = bind(
        theorem, constants.named(), {k: v for k, v in fixed.items() if k in set(theorem.constants)}
    )
    train_run = as_train_run(runs)
    observed, rate, curves = compare_runs(theorem, train_run, binding.values, fixed, schedule_rate=False)
    settings = _settings(runs, desc, B, sampling)
    evidence = Evidence(
        settings, first.model, train_run, desc.options, constants, binding, False, choice.algorithm_row
    )
    rows = assumption_rows(theorem, evidence, OVERRIDES)
    extras: dict[str, Any] = {
        "tracker": _tracker_info(runs, constants, desc),
        "optimizer_options": {
            "lr": desc.lr,
            "lr_range": list(desc.lr_range or ()),
            **_jsonable(desc.options),
        },
        "n_params": int(first.snapshots.shape[1]),
        "rows": int(first.data.shape[0]),
        "n_evals": constants.n_evals,
        "attribution": attribution_of(theorem, binding.values),
        **curves,
    }
    if desc.family in ("adam", "adagrad"):
        extras.update(
            variant_extras("generic", desc, constants.named(), fixed, train_run, _lambdas(runs), CONFIDENCE)
        )
    timings["theory"] += time.perf_counter() - t
    return Result(
        settings, theorem, train_run, constants, binding, observed, rate, rows, fixed, timings, extras
    )


def as_train_run(runs: Sequence[TrackedRun]) -> TrainRun:
    """The tracked runs as a :class:`TrainRun` (R runs stacked), as the CLI's runs are."""
    first = runs[0]
    own = [dict(r.model.named_parameters()) for r in runs]
    return TrainRun(
        model=first.model,
        seeds=tuple(r.seed for r in runs),
        params={k: torch.stack([p[k].detach().clone() for p in own]) for k in first.names},
        loss=np.stack([r.step_loss for r in runs]),
        grad_norm_sq=np.stack([r.grad_norm_sq for r in runs]),
        step_size=np.asarray(first.step_sizes, dtype=float),
        mapping_sq=None,
        record_steps=np.asarray(first.record_steps),
        full_grad_norm_sq=np.stack([r.records for r in runs]),
        full_loss=np.stack([r.record_loss for r in runs]),
        param_sup_norm=np.stack([r.param_sup for r in runs]),
        elapsed=np.asarray(first.elapsed),
        snapshot_steps=np.asarray(first.snapshot_steps),
        snapshots=np.stack([r.snapshots.double().numpy() for r in runs]),
        param_keys=first.names,
        options=dict(first.options),
        full_grad_norm_sq_var=np.stack([r.record_var for r in runs]),
        record_dof=float(first.options["record_gradients"] - 1),
    )


# ---- the rows a user's loop needs its own words for ----------------------------------------


def _unbiased(a, ev: Evidence) -> Row:
    sampling = ev.settings.options.get("sampling")
    if sampling:
        return Row(
            a.id, a.name, HOLDS, f"by construction: {sampling}, so E[g_k | past] = grad F(theta_(k-1))"
        )
    return Row(
        a.id,
        a.name,
        UNCHECKED,
        "the minibatches and the noise come from your loop: rows drawn uniformly (with replacement) and "
        "fresh noise at every step make E[g_k | past] = grad F(theta_(k-1)); shuffled epochs are close, "
        "not the same",
    )


def _bounded_variance(a, ev: Evidence) -> Row:
    row = CHECKS["bounded-variance"](a, ev)
    how = ev.settings.options.get("batch_how", "")
    routes = ev.constants.route_summary
    return Row(row.id, row.name, row.status, f"{row.evidence}; B = {int(ev.settings.batch_size)} ({how}); "
               f"per-example gradients by {routes}")  # fmt: skip


def _smooth_activations(a, ev: Evidence) -> Row:
    return Row(a.id, a.name, UNCHECKED, "a user's module: its activations are not inspected")


OVERRIDES = {
    "unbiased": _unbiased,
    "bounded-variance": _bounded_variance,
    "smooth-activations": _smooth_activations,
}


def _check_alike(runs: list[TrackedRun]) -> None:
    if not runs:
        raise ConfigError("verify needs at least one tracked run")
    first = runs[0]
    for r in runs[1:]:
        same = r.steps == first.steps and np.array_equal(r.record_steps, first.record_steps)
        same = same and np.allclose(r.step_sizes, first.step_sizes, rtol=1e-12) and r.names == first.names
        if not same or not np.array_equal(r.snapshot_steps, first.snapshot_steps):
            raise ConfigError("runs verified together must share their steps, step sizes and record steps")


def _settings(runs: list[TrackedRun], desc: OptimizerRun, B: int, sampling: str | None) -> TrackSettings:
    first = runs[0]
    N, D = (int(s) for s in first.data.shape)
    K = getattr(first.model, "K", None)
    return TrackSettings(
        model=f"{type(first.model).__name__} (user module)",
        optimizer=desc.implementation,
        data=f"user data ({N} rows x {D})",
        steps=first.steps,
        batch_size=B,
        seed=first.seed,
        seeds=len(runs),
        seed_list=[r.seed for r in runs],
        K=K if isinstance(K, int) else None,
        options={"batch_how": first.batch_how, "sampling": sampling, **first.options},
    )


def _tracker_info(runs: list[TrackedRun], constants: MeasuredConstants, desc: OptimizerRun) -> dict[str, Any]:
    first = runs[0]
    training = sum(r.training_seconds for r in runs)
    tracking = sum(r.tracking_seconds for r in runs)
    return {
        "batch_size": min(r.batch_size for r in runs),
        "batch_how": first.batch_how,
        "records": int(first.record_steps.size),
        "record_gradients": first.options["record_gradients"],
        "record_rows": first.options["record_rows"] or "B",
        "final_rows": first.options["final_rows"] or "all",
        "snapshots": int(first.snapshot_steps.size),
        "routes": constants.routes,
        "route_summary": constants.route_summary,
        "tracking_seconds": tracking,
        "training_seconds": training,
        "overhead": tracking / training if training > 0 else math.nan,
        "optimizer": desc.implementation,
    }


def _lambdas(runs: list[TrackedRun]) -> tuple[float, float] | None:
    got = [r.lambdas for r in runs if r.lambdas is not None]
    if not got:
        return None
    return min(lo for lo, _ in got), max(hi for _, hi in got)


def _jsonable(options: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}
