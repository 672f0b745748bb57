"""Verify tracked runs.

The optimizer as the theorems see it, the constants measured along the runs, the fixed values,
and :func:`empirical.conclusion.conclude` -- the same :class:`~empirical.conclusion.Result` the
CLI returns (docs/architecture.md, "The tracker").

Several runs (the CLI's ``--seeds R`` for a user model) must share their steps and step
sizes; the observed side is then the mean over runs with a Student-t interval, as for the
built-in models; one run gets its quadrature bracket widened by the records' own noise.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from empirical.conclusion import Result, conclude
from empirical.conclusion.coverage import OptimizerRun
from empirical.conclusion.values import fixed_values
from empirical.estimators.constants import Constants
from empirical.progress import Progress, silent
from empirical.settings import Settings
from empirical.tracking.estimate import estimate_runs
from empirical.train.recording import TrainRun, stack_runs


def describe_optimizer(
    optimizer: torch.optim.Optimizer, steps: np.ndarray, groups_agree: bool
) -> OptimizerRun:
    """The optimizer as the theorems see it.

    Args:
        optimizer: The torch optimizer.
        steps: The step sizes it took.
        groups_agree: Whether every parameter group took the same steps.

    Returns:
        The :class:`OptimizerRun`: family, implementation, lr, hyperparameters, schedule.
    """
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
    runs: TrainRun | Sequence[TrainRun],
    *,
    seed: int = 0,
    progress: Progress = silent,
    settings: Settings | None = None,
    extras: Mapping[str, Any] | None = None,
    timings: Mapping[str, float] | None = None,
    approximate_ok: bool = False,
) -> Result:
    """The :class:`~empirical.conclusion.Result` of tracked runs (module docstring).

    Args:
        runs: what :meth:`empirical.tracking.Tracker.finish` returned, one run or several
            (stacked by :func:`empirical.train.stack_runs`).
        seed: seed of the estimators' rows and noise.
        progress: the progress callback.
        settings: what was run (the CLI's, for ``conv`` / ``FILE.py:NAME``); None: the
            :meth:`~empirical.settings.Settings.own_loop` settings the runs describe.
        extras: what the caller reports besides (the step constant's choice, ...).
        timings: seconds the caller spent, by part (added to the runs' own).
        approximate_ok: accept assumption rows that are only approximately met (e.g.
            ``torch.optim.Adam`` under Défossez et al.): the verdict is then HOLDS, VIOLATED or
            INCONCLUSIVE, marked approximately covered, instead of NOT_COVERED.

    Returns:
        The Result: the theorem the optimizer is covered by, bound at the constants measured
        along the runs, against the theorem's weighted average of their records.
    """
    run = stack_runs([runs] if isinstance(runs, TrainRun) else runs)
    spent = dict(run.timings)  # training, tracking, final record (summed over runs)
    for part, seconds in (timings or {}).items():
        spent[part] = spent.get(part, 0.0) + seconds
    loop = run.loops[0]
    desc = describe_optimizer(loop.optimizer, run.step_sizes, bool(run.options.get("groups_agree", True)))
    t = time.perf_counter()
    constants = estimate_runs(run, seed, progress=progress)
    spent["estimation"] = spent.get("estimation", 0.0) + time.perf_counter() - t
    B = int(run.options["batch_size"])
    n_params = int(run.snapshots.shape[2])
    fixed = fixed_values(run.step_sizes, batch_size=B, n_params=n_params, C_gamma=float(run.step_sizes[0]))
    if settings is None:
        settings = own_loop_settings(run, desc)
    report = {
        "tracker": _tracker_info(run, constants, desc),
        "optimizer_options": {
            "lr": desc.lr,
            "lr_range": list(desc.lr_range or ()),
            **_jsonable(desc.options),
        },
        "n_params": n_params,
        "rows": int(loop.data.shape[0]),
        **(extras or {}),
    }
    return conclude(
        settings, run, constants, fixed, desc, timings=spent, extras=report, approximate_ok=approximate_ok
    )


def own_loop_settings(run: TrainRun, desc: OptimizerRun) -> Settings:
    """The settings tracked runs of the user's own loop describe.

    Args:
        run: The tracked runs.
        desc: Their optimizer.

    Returns:
        :meth:`~empirical.settings.Settings.own_loop` settings (``source`` own loop).
    """
    N, D = (int(s) for s in run.loops[0].data.shape)
    K = getattr(run.model, "K", None)
    return Settings.own_loop(
        model=f"{type(run.model).__name__} (user module)",
        optimizer=desc.implementation,
        data=f"user data ({N} rows x {D})",
        steps=run.steps,
        batch_size=int(run.options["batch_size"]),
        seed=run.seeds[0],
        runs=run.runs,
        K=K if isinstance(K, int) and not isinstance(K, bool) else None,
    )


def _tracker_info(run: TrainRun, constants: Constants, desc: OptimizerRun) -> dict[str, Any]:
    o = run.options
    training, tracking = run.timings.get("training", 0.0), run.timings.get("tracking", 0.0)
    return {
        "batch_size": o["batch_size"],
        "batch_how": o["batch_how"],
        "records": int(run.record_steps.size),
        "record_gradients": o["record_gradients"],
        "record_rows": o["record_rows"] or "B",
        "final_rows": o["final_rows"] or "all",
        "snapshots": int(run.snapshot_steps.size),
        "routes": constants.routes,
        "route_summary": constants.route_summary,
        "tracking_seconds": tracking,
        "training_seconds": training,
        "overhead": tracking / training if training > 0 else math.nan,
        "optimizer": desc.implementation,
    }


def _jsonable(options: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}
