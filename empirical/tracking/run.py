"""What a tracker finishes as.

The run type of training (:class:`empirical.train.TrainRun`, R = 1), assembled from what
:class:`empirical.tracking.Tracker` kept.

The run type: docs/architecture.md, "Training runs"; the tracker: "The tracker".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from empirical.errors import TrackingError
from empirical.estimators.sampled import next_rows
from empirical.optim import factor_range
from empirical.tracking.history import at_steps
from empirical.tracking.overhead import after_records
from empirical.train.recording import FINAL_PRECISION, RECORD_MIN_ROWS, TrainRun, UserLoop

#: The tracker these functions read (:class:`empirical.tracking.tracker.Tracker`): typed Any,
#: because tracker.py imports this module and this module sits below it.
_Tracker = Any


def finished_run(
    tracker: _Tracker, training: float, final_record: float, final_rows: int | None, deferred: float = 0.0
) -> TrainRun:
    """The :class:`TrainRun` of a finished tracker (its final record taken).

    Args:
        tracker: the tracker, its hooks removed and its final record made.
        training: seconds of the user's loop, the tracker's own time excluded (and, in the
            run's timings, the slowdown its records left in the user's next steps, moved to
            ``tracking``: :func:`empirical.tracking.overhead.after_records`).
        final_record: seconds of the final record at theta_n.
        final_rows: rows per gradient of the final record (None: all).
        deferred: seconds of the records kept for after the loop (:mod:`empirical.tracking.deferred`),
            taken in ``finish()``.

    Returns:
        The run (:meth:`empirical.tracking.Tracker.finish` says what it holds).
    """
    t, h = tracker, tracker.h
    B, how = batch_of(t)
    # the records' cost to the user's next steps: the tracker's time, not the loop's
    after = min(after_records(h["user"], h["rec_made"]), training)
    steps = sorted(t.snaps)
    lo, hi = precond_ranges(t.moments)
    sampling = (
        {} if t.sampling is None else {"sampling": t.sampling.how, "sampling_status": t.sampling.status}
    )
    return TrainRun(
        model=t.model,
        seeds=(t.seed,),
        params={k: p.detach().clone().unsqueeze(0) for k, p in t.params.items()},
        loss=h["loss"].array()[None],
        grad_norm_sq=at_steps(h["sq"].array(), h["sq_k"], len(h["lr"]))[None],
        step_sizes=np.asarray(h["lr"], dtype=float),
        mapping_sq=None,
        record_steps=np.asarray(h["rec_k"], dtype=np.int64),
        full_grad_norm_sq=np.asarray([h["rec"]], dtype=float),
        full_loss=np.asarray([h["rec_loss"]], dtype=float),
        param_sup_norm=np.asarray([h["psup"]], dtype=float),
        elapsed=np.asarray(h["elapsed"], dtype=float),
        snapshot_steps=np.asarray(steps, dtype=np.int64),
        snapshots=torch.stack([t.snaps[j] for j in steps]).double().numpy()[None],
        param_keys=t.names,
        options={
            "batch_size": B,
            "batch_how": how,
            **sampling,
            "groups_agree": t.groups_agree,
            "record_gradients": t.m,
            "record_rows": t.record_rows,
            "final_rows": final_rows,
            "record_growth": t.records_plan.growth,
            "snapshots": t.snap_plan.count,
        },
        full_grad_norm_sq_var=np.asarray([h["rec_var"]], dtype=float),
        record_dof=float(t.m - 1),
        precond_min=lo,
        precond_max=hi,
        grad_sup_norm=h["sup"].array()[None] if h["sup"] else None,
        loops=(UserLoop(t.model, t.loss, t.data, t.optimizer),),
        timings={
            "training": training - after,
            "tracking": t.tracking + after,
            "deferred records": deferred,
            "final record": final_record,
        },
    )


def check_steppable(finished: bool, pending: int, k: int) -> None:
    """Refuse a ``tracker.step()`` that does not follow exactly one optimizer step.

    Args:
        finished: Whether the tracker has finished (``verify()`` or ``finish()`` ran).
        pending: Optimizer steps since the last ``tracker.step()``.
        k: The optimizer steps so far.

    Raises:
        TrackingError: A finished run, no optimizer step, or more than one (the records and
            snapshots need theta_k of every step k: one skipped call is steps the theorem counts
            and the records do not).
    """
    if finished:
        raise TrackingError("tracker.step() after tracker.verify(): this run is finished; track a new one")
    if pending == 0:
        raise TrackingError(
            "tracker.step() without an optimizer step since the last one: call it once after every "
            "optimizer.step()"
        )
    if pending > 1:
        raise TrackingError(
            f"tracker.step() at step {k} came after {pending} optimizer steps ({k - pending + 1} to {k}), "
            "not one: call tracker.step() after every optimizer.step()"
        )


def check_finishable(pending: int, k: int, unchanged: bool) -> None:
    """Refuse to finish a run that is not at a tracked theta_n.

    Args:
        pending: Optimizer steps since the last ``tracker.step()``.
        k: The steps tracked.
        unchanged: Whether the parameters are those of the last ``tracker.step()``.

    Raises:
        TrackingError: Steps not followed by ``tracker.step()``, no step, or changed parameters.
    """
    if pending:
        raise TrackingError(
            f"{pending} optimizer step(s) after the last tracker.step(): call tracker.step() after "
            "every optimizer.step() before verify()"
        )
    if k < 1:
        raise TrackingError("no optimizer step was tracked: train first, calling tracker.step() after each")
    if not unchanged:
        raise TrackingError("the parameters changed since the last tracker.step(): verify() needs theta_n")


def precond_ranges(moments: list) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The preconditioner's smallest and largest factor at every step.

    Args:
        moments: The second moments read after each step.

    Returns:
        (smallest, largest), each shaped (1, n); (None, None) without a preconditioner.
    """
    if not moments:
        return None, None
    ranges = np.array([factor_range(kind, k, b2, eps, *ends.tolist()) for kind, k, b2, eps, ends in moments])
    return ranges[None, :, 0], ranges[None, :, 1]


def batch_of(t: _Tracker) -> tuple[int, str]:
    """The batch size B of a tracked run, and how it was found.

    Given (``batch_size=``, a DataLoader's), else the fewest rows through the model's layers
    between optimizer steps during the first steps.

    Args:
        t: The tracker.

    Returns:
        (B, how it was found, in words).
    """
    if t.batch_size is not None:
        return t.batch_size, t.batch_how
    seen = [r for r in t.h["rows"] if r > 0]
    if not seen:
        raise TrackingError(
            "could not infer the batch size (no rows went through the model's layers between optimizer "
            "steps): pass batch_size= to empirical.track"
        )
    B = min(seen)
    spread = (
        "" if max(seen) == B else f" (between {B} and {max(seen)}: the smallest, whose variance is largest)"
    )
    return B, (
        f"inferred: rows through the model's layers between optimizer steps (the first {len(t.h['rows'])})"
        f"{spread}"
    )


def planned_final_rows(t: _Tracker, N: int, cap: int) -> int | None:
    """Rows per gradient of the final record at theta_n.

    As many as a relative standard error sqrt(v)/|U| of FINAL_PRECISION needs, planned from the
    run's earlier records (:func:`empirical.estimators.sampled.next_rows`; their draws are
    independent of the final record's, so it stays unbiased).

    Args:
        t: The tracker.
        N: The rows of the data.
        cap: The most rows per gradient.

    Returns:
        The rows, at most ``cap``; None for all N rows.
    """
    r = t.record_rows or batch_of(t)[0]
    h = t.h
    plan = min(
        next_rows(h["rec"], h["rec_var"], [r] * len(h["rec"]), N, FINAL_PRECISION, RECORD_MIN_ROWS), cap
    )
    return None if plan >= N else plan
