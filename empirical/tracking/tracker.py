"""``empirical.track``: follow a user's own loop, verify it (docs/architecture.md, "The tracker").

    tracker = empirical.track(model, loss, data, optimizer, seed=0)
    for step in range(n):
        ...                      # the user's minibatch, zero_grad, backward, optimizer.step()
        tracker.step()           # after every optimizer step
    result = tracker.verify()    # the same Result as the CLI's

* At every ``optimizer.step()`` (a step pre-hook: an LR scheduler stepped before or after
  ``tracker.step()`` is read right): the step sizes, ||g_k||^2 (plan.reads_norm) and
  ||g_k||_inf, and the rows through the model's layers (B, unless given); after it (a
  post-hook, adaptive optimizers only) the preconditioner's extremes.
* At ``tracker.step()``: the parameter snapshots estimation needs (flat, on the CPU) and, on
  the plan of :mod:`empirical.tracking.plan`, an unbiased record of ||grad F(theta_k)||^2
  (:mod:`empirical.tracking.evaluate`): taken then, or theta_k kept and the record taken in
  :meth:`Tracker.finish`, the same number (:mod:`empirical.tracking.deferred`).

Nothing the tracker does changes the user's run: its evaluations draw noise inside
:func:`empirical.rng.forked` seeded from its own generator, restore the buffers, and do not
touch ``.grad``; per step it only reads (no synchronisation). An optimizer stepped with a
closure (as Lightning does) is read after the closure ran.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from empirical.errors import TrackingError
from empirical.estimators.results import unflatten
from empirical.inputs import MAX_BATCH, MAX_SAMPLES
from empirical.optim import second_moment_extremes
from empirical.tracking import evaluate
from empirical.tracking.accept import accept, has_parameters, known_options
from empirical.tracking.deferred import DEFER_BYTES, Kept, defers, kept_bytes, modes_as, modes_of
from empirical.tracking.fingerprint import Fingerprint
from empirical.tracking.history import history
from empirical.tracking.live import Callback, callbacks_of, tell
from empirical.tracking.plan import GROWTH, INFER_STEPS, SNAPSHOTS, RecordPlan, SnapshotPlan, reads_norm
from empirical.tracking.run import check_finishable, check_steppable, finished_run, planned_final_rows
from empirical.train.batched import RECORD_GRADIENTS  # m = 3, as the CLI's records: one m
from empirical.train.recording import TrainRun
from empirical.validate import SEED_MAX, flag, number, whole

#: The final record: independent gradients over as many rows as its precision needs
#: (FINAL_PRECISION, planned from the run's records; all rows when the plan reaches them), at
#: most this many rows each (uniform rows with replacement).
FINAL_ROWS = 2048


def track(
    model: nn.Module,
    loss: Callable[[nn.Module, torch.Tensor], torch.Tensor],
    data: Any,
    optimizer: torch.optim.Optimizer,
    seed: int = 0,
    **options: Any,
) -> Tracker:
    """A :class:`Tracker` of ``model`` trained by ``optimizer`` on F = the mean loss over ``data``.

    The loss is probed on 2 rows here: a module built for another width or a loss that cannot
    be tracked is refused before training (module docstring).

    Args:
        model: The user's ``torch.nn.Module``.
        loss: ``loss(model, x)``, the per-example losses (len(x),), drawing their own noise.
        data: A 2-D tensor, a 2-D NumPy array or a DataLoader (its rows, batch size and how it
            samples: :mod:`empirical.tracking.accept`), at least 10 rows.
        optimizer: The torch optimizer stepping ``model``.
        seed: The seed of the records' rows and noise.
        **options: ``batch_size`` (B; default a DataLoader's, else inferred from the rows through
            the layers in the first steps), ``record_growth`` (default 1.3; 1: every step),
            ``record_gradients`` (m, default 3), ``record_rows`` (default B), ``snapshots`` (kept
            besides theta_0, default 8), ``callback`` (``fn(step, record)``, each
            :class:`~empirical.tracking.live.LiveRecord`), ``tensorboard`` (a ``SummaryWriter``),
            ``defer_records`` (default True: kept for ``finish()`` where nothing needs them in the
            loop, :mod:`empirical.tracking.deferred`; False: taken in the loop, e.g. for a loss
            that changes during training), ``approximate_ok`` (default False: that of
            :meth:`Tracker.verify` when it is not given there).

    Returns:
        The tracker: :meth:`Tracker.step` after every optimizer step, then :meth:`Tracker.verify`.

    Raises:
        ConfigError: An unknown option (the message lists the valid ones), or a bad value.
    """
    return Tracker(model, loss, data, optimizer, seed, **known_options(options, Tracker))


class Tracker:
    """Follows a training loop; :meth:`step` after every optimizer step, then :meth:`verify`."""

    def __init__(
        self,
        model: nn.Module,
        loss: Callable[[nn.Module, torch.Tensor], torch.Tensor],
        data: Any,
        optimizer: torch.optim.Optimizer,
        seed: int = 0,
        *,
        batch_size: int | None = None,
        record_growth: float = GROWTH,
        record_gradients: int = RECORD_GRADIENTS,
        record_rows: int | None = None,
        snapshots: int = SNAPSHOTS,
        callback: Callback | None = None,
        tensorboard: Any = None,
        defer_records: bool = True,
        approximate_ok: bool = False,
    ) -> None:
        started = time.perf_counter()
        self.seed = whole("seed", seed, 0, SEED_MAX)
        self.approximate_ok = flag("approximate_ok", approximate_ok)
        self.batch_size = None if batch_size is None else whole("batch_size", batch_size, 1, MAX_BATCH)
        self.callbacks = callbacks_of(callback, tensorboard)
        got = accept(model, loss, data, optimizer)
        self.model, self.loss, self.data, self.optimizer = model, loss, got.rows, optimizer
        self.fingerprint = Fingerprint(got.rows)  # the rows unchanged until verify(), not a copy
        self.params, self.names = got.params, tuple(got.params)
        self.sampling = got.sampling
        self.batch_how = "given (batch_size=)"
        if self.batch_size is None and got.batch_size is not None:
            self.batch_size, self.batch_how = got.batch_size, "the DataLoader's batch_size"
        self.m = whole("record_gradients", record_gradients, 3, MAX_SAMPLES)
        self.record_rows = None if record_rows is None else whole("record_rows", record_rows, 1, MAX_BATCH)
        self.records_plan = RecordPlan(number("record_growth", record_growth, 1.0, 10.0, closed=True))
        self.snap_plan = SnapshotPlan(whole("snapshots", snapshots, 2, MAX_SAMPLES))
        self.gen = torch.Generator().manual_seed(self.seed)
        self.k, self.pending, self.busy, self.batched = 0, 0, False, evaluate.batches_well(model)
        self.h = history()
        self.groups_agree, self.rows_now = True, {}
        self.plist = list(self.params.values())
        self.moments: list = []
        self.need_sup = type(optimizer) is not torch.optim.SGD
        self._find_groups(optimizer)
        self.snaps: dict[int, torch.Tensor] = {0: self._flat()}
        # records kept for finish() (tracking.deferred), or None: taken in the loop
        self.kept: list[Kept] | None = (
            [] if defers(model, self.callbacks, self.device, defer_records) else None
        )
        self.t0, self.tracking = started, 0.0
        self.handles = [optimizer.register_step_pre_hook(self._before)]
        if self.need_sup:  # the preconditioner's extremes, after the step (SGD: none, no post-hook)
            self.handles.append(optimizer.register_step_post_hook(self._after))
        layers = [] if self.batch_size is not None else [m for m in model.modules() if has_parameters(m)]
        self.counting = [mod.register_forward_pre_hook(self._count) for mod in layers]
        self.finished: TrainRun | None = None
        self.versions = self._versions()
        self.left = time.perf_counter()  # when the tracker last handed the loop back, and its time then
        self.tracking += self.left - started
        self.tracked = self.tracking

    # ---- hooks ---------------------------------------------------------------------------
    def _count(self, module: nn.Module, args: tuple) -> None:
        if not self.busy and args and isinstance(args[0], torch.Tensor) and args[0].ndim >= 1:
            self.rows_now[id(module)] = self.rows_now.get(id(module), 0) + int(args[0].shape[0])

    def _before(self, optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict):
        """Before optimizer step k.

        The step sizes of the groups; then (:meth:`_read`) ||g_k||^2, ||g_k||_inf and the rows
        since the last step -- now, or after the closure the step was given has computed the
        gradients.
        """
        t = time.perf_counter()
        groups = optimizer.param_groups
        if len(groups) != self.group_count:
            self._find_groups(optimizer)
        lr = float(groups[self.groups[0]]["lr"])
        if len(self.groups) > 1:
            self.groups_agree &= all(float(groups[i]["lr"]) == lr for i in self.groups)
        self.h["lr"].append(lr)
        if not self.need_sup:  # no post-hook: the step is counted here
            self.k += 1
            self.pending += 1
        closure = kwargs.get("closure", args[1] if len(args) > 1 else None)  # args[0]: the optimizer
        if closure is None:
            self._read()
            self.tracking += time.perf_counter() - t
            return None

        def read_after(*a: Any, **kw: Any) -> Any:
            out = closure(*a, **kw)
            started = time.perf_counter()
            self._read()
            self.tracking += time.perf_counter() - started
            return out

        self.tracking += time.perf_counter() - t
        if "closure" in kwargs:
            return args, {**kwargs, "closure": read_after}
        return (args[0], read_after, *args[2:]), kwargs

    def _read(self) -> None:
        """Keep ||g_k||^2 (on the plan of reads_norm), ||g_k||_inf and the rows since the last step."""
        k = len(self.h["lr"])
        if self.need_sup or reads_norm(k):
            grads = [p.grad.reshape(-1) for p in self.plist if p.grad is not None]
            if grads:  # one concatenation: cheaper than foreach norms for small tensors
                g = torch.cat(grads)
                if g.requires_grad:  # a backward with create_graph=True; else no no_grad block (~10 us)
                    g = g.detach()
                self.h["sq"].append(g.dot(g))
                self.h["sq_k"].append(k)  # the other steps: NaN (history.at_steps)
                if self.need_sup:  # R, for the adaptive theorems (aminmax: 7x faster than the inf-norm)
                    lo, hi = torch.aminmax(g)
                    self.h["sup"].append(torch.maximum(-lo, hi))
        if self.counting:
            self.h["rows"].append(min(self.rows_now.values()) if self.rows_now else 0)
            self.rows_now = {}

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
        got = second_moment_extremes(optimizer) if self.need_sup else None  # SGD: no preconditioner
        if got is not None:
            self.moments.append(got)
        self.tracking += time.perf_counter() - t

    # ---- the user's calls ------------------------------------------------------------------
    def step(self, loss: float | torch.Tensor | None = None) -> None:
        """Call after every ``optimizer.step()``.

        Args:
            loss: That step's minibatch loss (optional), shown in the report's training figure.

        Raises:
            TrackingError: Not one optimizer step since the last call (or none yet), a finished run,
                or the data changed in place since ``track()`` (:mod:`empirical.tracking.fingerprint`).
        """
        t = time.perf_counter()
        if self.pending != 1 or self.finished is not None or self.data._version != self.fingerprint.version:
            check_steppable(self.finished is not None, self.pending, self.k)  # one test when all is well
            self.fingerprint.check_version(self.k)  # a bumped counter: the bytes (tracking.fingerprint)
        self.h["user"].append(t - self.left - (self.tracking - self.tracked))  # the user's own step
        value = math.nan if loss is None else loss.detach() if isinstance(loss, torch.Tensor) else float(loss)
        self.h["loss"].append(value)  # tensors read at the end: no sync
        self.pending = 0
        k = self.k
        if self.counting and k >= INFER_STEPS:  # B is known: back to the modules' fast path
            for handle in self.counting:
                handle.remove()
            self.counting = []
        if self.records_plan.due(0):  # theta_0, now that B is known
            self._take(0)
        keep, dropped = self.snap_plan.offer(k)
        for j in dropped:
            self.snaps.pop(j, None)
        if keep:
            self.snaps[k] = self._flat()
        if self.records_plan.due(k):
            self._take(k)
        self.versions = self._versions()
        self.left = time.perf_counter()
        self.tracking += self.left - t
        self.tracked = self.tracking

    def verify(self, *, approximate_ok: bool | None = None, **options: Any):
        """The verification of this run (one run is INCONCLUSIVE: verify several finished runs together).

        Args:
            approximate_ok: Accept rows only approximately met (e.g. ``torch.optim.Adam``); None:
                the tracker's (``track(..., approximate_ok=)``, default False).
            **options: Those of :func:`empirical.tracking.verify.verify_runs`.

        Returns:
            The :class:`~empirical.conclusion.Result`.
        """
        from empirical.tracking.verify import verify_runs

        ok = self.approximate_ok if approximate_ok is None else flag("approximate_ok", approximate_ok)
        if self.finished is not None:  # finished before: its estimation reads the rows again
            self.fingerprint.check("at verify()")
        return verify_runs([self.finish()], approximate_ok=ok, **options)

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
        check_finishable(self.pending, self.k, self._versions() == self.versions)
        training = time.perf_counter() - self.t0 - self.tracking
        for handle in self.handles + self.counting:
            handle.remove()
        self.fingerprint.check("at finish()")  # before the kept records read the rows
        deferred = 0.0
        if self.kept:  # records kept for finish() (tracking.deferred)
            t = time.perf_counter()
            self._take_kept()
            deferred = time.perf_counter() - t
        if self.h["rec_k"] and self.h["rec_k"][-1] == self.k:
            for key in ("rec_k", "rec", "rec_var", "rec_loss", "psup", "elapsed"):
                self.h[key].pop()
        N = int(self.data.shape[0])
        final_rows = planned_final_rows(self, N, FINAL_ROWS)
        t = time.perf_counter()
        self._record(self.k, None, rows=final_rows, final=True)
        self.snaps[self.k] = self._flat()
        final_record = time.perf_counter() - t
        self.finished = finished_run(self, training, final_record, final_rows, deferred)
        return self.finished

    # ---- internals ---------------------------------------------------------------------------
    def params_at_snapshot(self, k: int) -> dict[str, torch.Tensor]:
        """The parameters of the ``k``-th kept snapshot, name -> tensor (as the module holds them)."""
        return unflatten(self.snaps[k], self.params)

    @property
    def device(self) -> torch.device:
        """Where the module's tracked parameters live (the records run there)."""
        return self.plist[0].device

    def _flat(self) -> torch.Tensor:
        with torch.no_grad():
            flat = torch.cat([p.detach().reshape(-1) for p in self.plist])  # a new tensor: a copy
            return flat if flat.device.type == "cpu" else flat.to("cpu")

    def _versions(self) -> list[int]:
        return [p._version for p in self.plist]

    def _rows(self) -> int:
        """Rows per gradient of a record: ``record_rows``, else B (given, or counted in the first step)."""
        rows = self.record_rows or self.batch_size or (self.h["rows"][0] if self.h["rows"] else 0)
        if not rows:
            raise TrackingError("no batch size yet for the record: pass batch_size= to empirical.track")
        return rows

    def _take(self, k: int) -> None:
        """The record at step k: taken now (theta_0 from its snapshot), or kept for finish()."""
        if self.kept is None:
            self._record(k, self.params_at_snapshot(0) if k == 0 else None, self._rows())
            self.h["rec_made"].append(max(k, 1))
            return
        flat = self.snaps[k] if k in self.snaps else self._flat()
        elapsed = time.perf_counter() - self.t0
        self.kept.append(Kept(k, flat, self._rows(), elapsed, modes_of(self.model)))
        if kept_bytes(self.kept) > DEFER_BYTES:  # too many copies: taken now, in the loop
            self._take_kept()
            self.h["rec_made"].append(max(self.k, 1))

    def _take_kept(self) -> None:
        """The kept records, in step order (tracking.deferred); keeping starts again."""
        kept, self.kept = self.kept or [], []
        for rec in kept:
            with modes_as(self.model, rec.modes):
                self._record(rec.step, unflatten(rec.flat, self.params), rec.rows, elapsed=rec.elapsed)

    def _record(
        self,
        k: int,
        params: dict[str, torch.Tensor] | None,
        rows: int | None,
        final: bool = False,
        elapsed: float | None = None,
    ) -> None:
        """The record at step k, at ``params`` (None: theta_k now), handed to the callbacks."""
        self.busy = True
        try:
            live = params is None
            given = self.params if live else params
            rec = evaluate.record(self.model, self.loss, given, self.data, rows, self.m, self.gen,
                                  live=live, batched=self.batched)  # fmt: skip
        finally:
            self.busy = False
        if rec.batched is False:  # this loss cannot be batched: one gradient at a time from now on
            self.batched = False
        with torch.no_grad():
            values = self.plist if params is None else list(params.values())
            psup = float(torch.stack(torch._foreach_norm(values, math.inf)).max())
        self.h["rec_k"].append(k)
        self.h["rec"].append(rec.value)
        self.h["rec_var"].append(rec.variance)
        self.h["rec_loss"].append(rec.loss)
        self.h["psup"].append(psup)
        self.h["elapsed"].append(time.perf_counter() - self.t0 if elapsed is None else elapsed)
        if self.callbacks:
            tell(self.callbacks, k, rec, final, self.h)
