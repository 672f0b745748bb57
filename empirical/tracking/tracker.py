"""``empirical.track``: follow a user's own training loop and verify it against the theorem
its optimizer is covered by (docs/architecture.md, "The tracker").

    tracker = empirical.track(model, loss, data, optimizer, seed=0)
    for step in range(n):
        ...                      # the user's minibatch, zero_grad, backward, optimizer.step()
        tracker.step()           # after every optimizer step
    result = tracker.verify()    # the same Result as the CLI's
    result.write("report/")

What the tracker reads, and when:

* at every ``optimizer.step()`` (a step pre-hook, so an LR scheduler stepped before or after
  ``tracker.step()`` is read right): the step size of every parameter group, ||g_k||^2 and
  ||g_k||_inf of the gradients the step uses, and the rows that went through the model's
  layers since the previous step (the batch size B, unless ``batch_size=`` is given); after
  it (a post-hook) the extremes of the preconditioner of Adam / Adagrad;
* at ``tracker.step()``: an unbiased record of ||grad F(theta_k)||^2 on the plan of
  :mod:`empirical.tracking.plan` (m independent gradients over B rows each, their
  U-statistic and jackknife variance, :mod:`empirical.tracking.evaluate`) and the
  parameter snapshots estimation needs (flat, on the CPU).

Nothing the tracker does changes the user's run: its evaluations draw noise inside
``fork_rng`` seeded from its own generator, restore the buffers, and do not touch ``.grad``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from empirical.errors import ConfigError, TrackingError
from empirical.estimators.results import unflatten
from empirical.inputs import MAX_BATCH, MAX_SAMPLES
from empirical.optim import factor_range, second_moment_extremes
from empirical.tracking import evaluate
from empirical.tracking.plan import GROWTH, SNAPSHOTS, RecordPlan, SnapshotPlan
from empirical.train.recording import TrainRun, UserLoop
from empirical.validate import SEED_MAX, number, whole

#: Independent gradients per record (the U-statistic and its jackknife need >= 3).
RECORD_GRADIENTS = 4
#: The final record: independent full-data gradients, over at most this many rows each
#: (uniform rows with replacement beyond).
FINAL_ROWS = 2048


def track(
    model: nn.Module,
    loss: Callable[[nn.Module, torch.Tensor], torch.Tensor],
    data: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    seed: int = 0,
    **options: Any,
) -> Tracker:
    """A :class:`Tracker` of ``model`` trained by ``optimizer`` on F = the mean of
    ``loss(model, x)`` over the rows of ``data`` (module docstring).

    Options: ``batch_size`` (B of the user's minibatches; default: inferred from the rows
    through the model's layers between optimizer steps), ``record_growth`` (record step
    growth, default 1.3; 1 records every step), ``record_gradients`` (m, default 4),
    ``record_rows`` (rows per record gradient, default B), ``snapshots`` (kept besides
    theta_0, default 8).
    """
    return Tracker(model, loss, data, optimizer, seed, **options)


class Tracker:
    """Follows a training loop; :meth:`step` after every optimizer step, then :meth:`verify`."""

    def __init__(
        self,
        model: nn.Module,
        loss: Callable[[nn.Module, torch.Tensor], torch.Tensor],
        data: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        seed: int = 0,
        *,
        batch_size: int | None = None,
        record_growth: float = GROWTH,
        record_gradients: int = RECORD_GRADIENTS,
        record_rows: int | None = None,
        snapshots: int = SNAPSHOTS,
    ) -> None:
        started = time.perf_counter()
        self.model, self.loss, self.data, self.optimizer = _checked(model, loss, data, optimizer)
        self.seed = whole("seed", seed, 0, SEED_MAX)
        self.names, self.params = _tracked_params(model, optimizer)
        self.batch_size = None if batch_size is None else whole("batch_size", batch_size, 1, MAX_BATCH)
        self.m = whole("record_gradients", record_gradients, 3, MAX_SAMPLES)
        self.record_rows = None if record_rows is None else whole("record_rows", record_rows, 1, MAX_BATCH)
        self.records_plan = RecordPlan(number("record_growth", record_growth, 1.0, 10.0, closed=True))
        self.snap_plan = SnapshotPlan(whole("snapshots", snapshots, 2, MAX_SAMPLES))
        self.gen = torch.Generator().manual_seed(self.seed)
        self.k, self.pending, self.busy = 0, 0, False
        self.h: dict[str, list] = {
            key: []
            for key in (
                "lr",
                "sq",
                "sup",
                "loss",
                "rows",
                "rec_k",
                "rec",
                "rec_var",
                "rec_loss",
                "psup",
                "elapsed",
            )
        }
        self.groups_agree, self.rows_now = True, {}
        self.plist = list(self.params.values())
        self.moments: list = []
        self.need_sup = type(optimizer) is not torch.optim.SGD
        self._find_groups(optimizer)
        self.snaps: dict[int, torch.Tensor] = {0: self._flat()}
        self.t0, self.tracking = started, 0.0
        self.handles = [
            optimizer.register_step_pre_hook(self._before),
            optimizer.register_step_post_hook(self._after),
        ]
        self.handles += [
            mod.register_forward_pre_hook(self._count)
            for mod in model.modules()
            if any(True for _ in mod.parameters(recurse=False))
        ]
        self.finished: TrainRun | None = None
        self.versions = self._versions()
        self.tracking += time.perf_counter() - started

    # ---- hooks ---------------------------------------------------------------------------
    def _count(self, module: nn.Module, args: tuple) -> None:
        if not self.busy and args and isinstance(args[0], torch.Tensor) and args[0].ndim >= 1:
            self.rows_now[id(module)] = self.rows_now.get(id(module), 0) + int(args[0].shape[0])

    def _before(self, optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        """Before optimizer step k: the step sizes of the groups, ||g_k||^2 and ||g_k||_inf (kept
        as tensors, read at the end: no synchronisation per step), the rows since the last step."""
        t = time.perf_counter()
        if len(optimizer.param_groups) != self.group_count:
            self._find_groups(optimizer)
        lrs = [float(optimizer.param_groups[i]["lr"]) for i in self.groups]
        self.groups_agree &= max(lrs) == min(lrs)
        grads = [p.grad for p in self.plist if p.grad is not None]
        with torch.no_grad():
            if grads:  # one concatenation: cheaper than foreach norms for small tensors
                g = torch.cat([x.reshape(-1) for x in grads])
                self.h["sq"].append(g.dot(g))
                if self.need_sup:  # R, for the adaptive theorems
                    self.h["sup"].append(torch.linalg.vector_norm(g, math.inf))
            else:
                self.h["sq"].append(torch.tensor(math.nan))
        self.h["lr"].append(lrs[0])
        self.h["rows"].append(min(self.rows_now.values()) if self.rows_now else 0)
        self.rows_now = {}
        self.tracking += time.perf_counter() - t

    def _find_groups(self, optimizer: torch.optim.Optimizer) -> None:
        tracked = set(map(id, self.plist))
        self.groups = [
            i for i, g in enumerate(optimizer.param_groups) if any(id(p) in tracked for p in g["params"])
        ]
        self.group_count = len(optimizer.param_groups)

    def _after(self, optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        t = time.perf_counter()
        self.k += 1
        self.pending += 1
        got = second_moment_extremes(optimizer)
        if got is not None:
            self.moments.append(got)
        self.tracking += time.perf_counter() - t

    # ---- the user's calls ------------------------------------------------------------------
    def step(self, loss: float | torch.Tensor | None = None) -> None:
        """Call after every ``optimizer.step()``; ``loss`` (optional) is that step's minibatch
        loss, shown in the report's training figure."""
        t = time.perf_counter()
        if self.finished is not None:
            raise TrackingError(
                "tracker.step() after tracker.verify(): this run is finished; track a new one"
            )
        if self.pending == 0:
            raise TrackingError(
                "tracker.step() without an optimizer step since the last one: call it once after every "
                "optimizer.step()"
            )
        value = math.nan if loss is None else float(loss.detach() if isinstance(loss, torch.Tensor) else loss)
        self.h["loss"] += [math.nan] * (self.pending - 1) + [value]
        self.pending = 0
        if not self.h["rec_k"]:  # theta_0, now that B is known
            self._record(0, self.params_at_snapshot(0))
            self.records_plan.due(0)
        keep, dropped = self.snap_plan.offer(self.k)
        for j in dropped:
            self.snaps.pop(j, None)
        if keep:
            self.snaps[self.k] = self._flat()
        if self.records_plan.due(self.k):
            self._record(self.k, None)
        self.versions = self._versions()
        self.tracking += time.perf_counter() - t

    def verify(self, *, approximate_ok: bool = False, **options: Any):
        """The verification of this run (:func:`empirical.tracking.verify.verify_runs`; one run
        is INCONCLUSIVE: verify several finished runs together). ``approximate_ok``: accept rows
        that are only approximately met (e.g. ``torch.optim.Adam``)."""
        from empirical.tracking.verify import verify_runs

        return verify_runs([self.finish()], approximate_ok=approximate_ok, **options)

    def finish(self) -> TrainRun:
        """The final record at theta_n and everything kept, frozen (idempotent); removes the hooks.

        Returns:
            The run as the one run type of training (:class:`empirical.train.TrainRun`, R = 1):
            per step the step sizes, the minibatch losses (NaN where :meth:`step` got none),
            ||g_k||^2, ||g_k||_inf (adaptive optimizers) and the preconditioner's extremes; at
            the record steps the unbiased records, their variances and losses; the snapshots;
            ``options`` (B and how it was found, the record plan, whether the parameter groups
            agreed); ``loops`` (the module, the loss, the data, the optimizer); ``timings``.
        """
        if self.finished is not None:
            return self.finished
        if self.pending:
            raise TrackingError(
                f"{self.pending} optimizer step(s) after the last tracker.step(): call tracker.step() after "
                "every optimizer.step() before verify()"
            )
        if self.k < 1:
            raise TrackingError(
                "no optimizer step was tracked: train first, calling tracker.step() after each"
            )
        if self._versions() != self.versions:
            raise TrackingError(
                "the parameters changed since the last tracker.step(): verify() needs theta_n"
            )
        training = time.perf_counter() - self.t0 - self.tracking
        for handle in self.handles:
            handle.remove()
        if self.h["rec_k"] and self.h["rec_k"][-1] == self.k:
            for key in ("rec_k", "rec", "rec_var", "rec_loss", "psup", "elapsed"):
                self.h[key].pop()
        N = int(self.data.shape[0])
        final_rows = None if N <= FINAL_ROWS else FINAL_ROWS
        self._record(self.k, None, rows=final_rows)
        self.snaps[self.k] = self._flat()
        B, how = self._batch()
        steps = sorted(self.snaps)
        lo, hi = self._precond()
        self.finished = TrainRun(
            model=self.model,
            seeds=(self.seed,),
            params={k: p.detach().clone().unsqueeze(0) for k, p in self.params.items()},
            loss=np.asarray([self.h["loss"]], dtype=float),
            grad_norm_sq=torch.stack(self.h["sq"]).double().numpy()[None],
            step_sizes=np.asarray(self.h["lr"], dtype=float),
            mapping_sq=None,
            record_steps=np.asarray(self.h["rec_k"], dtype=np.int64),
            full_grad_norm_sq=np.asarray([self.h["rec"]], dtype=float),
            full_loss=np.asarray([self.h["rec_loss"]], dtype=float),
            param_sup_norm=np.asarray([self.h["psup"]], dtype=float),
            elapsed=np.asarray(self.h["elapsed"], dtype=float),
            snapshot_steps=np.asarray(steps, dtype=np.int64),
            snapshots=torch.stack([self.snaps[j] for j in steps]).double().numpy()[None],
            param_keys=self.names,
            options={
                "batch_size": B,
                "batch_how": how,
                "groups_agree": self.groups_agree,
                "record_gradients": self.m,
                "record_rows": self.record_rows,
                "final_rows": final_rows,
                "record_growth": self.records_plan.growth,
                "snapshots": self.snap_plan.count,
            },
            full_grad_norm_sq_var=np.asarray([self.h["rec_var"]], dtype=float),
            record_dof=float(self.m - 1),
            precond_min=lo,
            precond_max=hi,
            grad_sup_norm=torch.stack(self.h["sup"]).double().numpy()[None] if self.h["sup"] else None,
            loops=(UserLoop(self.model, self.loss, self.data, self.optimizer),),
            timings={"training": training, "tracking": self.tracking},
        )
        return self.finished

    # ---- internals ---------------------------------------------------------------------------
    def _precond(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(smallest, largest) factor of the preconditioner at every step, shaped (1, n), from the
        second moments read after each step; (None, None) without a preconditioner."""
        if not self.moments:
            return None, None
        ranges = np.array(
            [factor_range(kind, k, b2, eps, *ends.tolist()) for kind, k, b2, eps, ends in self.moments]
        )
        return ranges[None, :, 0], ranges[None, :, 1]

    def params_at_snapshot(self, k: int) -> dict[str, torch.Tensor]:
        like = {name: p for name, p in self.params.items()}
        return unflatten(self.snaps[k], like)

    def _flat(self) -> torch.Tensor:
        with torch.no_grad():
            return torch.cat([p.detach().reshape(-1) for p in self.params.values()]).to("cpu", copy=True)

    def _versions(self) -> tuple[int, ...]:
        return tuple(p._version for p in self.params.values())

    def _batch(self) -> tuple[int, str]:
        if self.batch_size is not None:
            return self.batch_size, "given (batch_size=)"
        seen = [r for r in self.h["rows"] if r > 0]
        if not seen:
            raise TrackingError(
                "could not infer the batch size (no rows went through the model's layers between optimizer "
                "steps): pass batch_size= to empirical.track"
            )
        B = min(seen)
        spread = (
            ""
            if max(seen) == B
            else f" (between {B} and {max(seen)}: the smallest, whose variance is largest)"
        )
        return B, f"inferred: rows through the model's layers between optimizer steps{spread}"

    def _record(self, k: int, params: dict[str, torch.Tensor] | None, rows: int | None | str = "B") -> None:
        """The record at step k, at ``params`` (None: the model's own parameters, theta_k now)."""
        if rows == "B":
            rows = self.record_rows or self.batch_size or (self.h["rows"][0] if self.h["rows"] else 0) or None
            if rows is None:
                raise TrackingError("no batch size yet for the record: pass batch_size= to empirical.track")
        self.busy = True
        try:
            live = params is None
            given = self.params if live else params
            rec = evaluate.record(self.model, self.loss, given, self.data, rows, self.m, self.gen, live=live)
        finally:
            self.busy = False
        with torch.no_grad():
            values = self.plist if params is None else list(params.values())
            psup = float(torch.stack(torch._foreach_norm(values, math.inf)).max())
        self.h["rec_k"].append(k)
        self.h["rec"].append(rec.value)
        self.h["rec_var"].append(rec.variance)
        self.h["rec_loss"].append(rec.loss)
        self.h["psup"].append(psup)
        self.h["elapsed"].append(time.perf_counter() - self.t0)


def _checked(model, loss, data, optimizer):
    if not isinstance(model, nn.Module):
        raise ConfigError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss):
        raise ConfigError(
            f"loss must be a function loss(model, x) -> per-example losses, got {type(loss).__name__}"
        )
    if not isinstance(data, torch.Tensor) or data.ndim != 2 or data.shape[0] < 2:
        shape = tuple(data.shape) if isinstance(data, torch.Tensor) else type(data).__name__
        raise ConfigError(f"data must be a 2-D tensor with at least 2 rows, got {shape}")
    if not data.is_floating_point() or not bool(torch.isfinite(data).all()):
        raise ConfigError("data must hold finite floating-point numbers")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ConfigError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    return model, loss, data, optimizer


def _tracked_params(model: nn.Module, optimizer: torch.optim.Optimizer):
    """(names, {name: parameter}) of the model's parameters the optimizer trains, in model order."""
    trained = {id(p) for g in optimizer.param_groups for p in g["params"]}
    named = [(k, p) for k, p in model.named_parameters() if id(p) in trained]
    known = {id(p) for _, p in named}
    if trained - known:
        raise ConfigError("the optimizer trains tensors that are not parameters of the model")
    if not named:
        raise ConfigError("the optimizer trains none of the model's parameters")
    return tuple(k for k, _ in named), dict(named)
