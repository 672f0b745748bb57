"""What a training run records, and when: the record and snapshot plans and the run type.

Per step, for every run: the minibatch loss, ||g_k||^2, the step size and (projected
runs) the gradient mapping. At the record steps (:func:`record_plan`): an unbiased
record of ||grad F(theta_k)||^2 with its variance, over as many rows as
:data:`RECORD_PRECISION` (:data:`FINAL_PRECISION` at theta_n) needs
(docs/architecture.md, "Observed side"), F(theta_k) and ||theta_k||_inf; at a sparse
subset of them (:func:`snapshot_plan`) the parameters, for estimating constants along
the runs afterwards. The finished runs are one :class:`TrainRun`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from empirical.errors import ConfigError

#: Every step up to this one is recorded (||grad F||^2 changes fastest early).
DENSE_STEPS = 10
#: Log-spaced records between DENSE_STEPS and n.
LOG_RECORDS = 30
#: Regularly spaced records over [0, n].
REGULAR_RECORDS = 16
#: Parameter snapshots kept per run (including theta_0 and theta_n).
SNAPSHOTS = 16
#: Relative standard error sqrt(v)/|U| the records' rows are planned for along a run (every
#: record enters the observed weighted average with a weight well below 1) ...
RECORD_PRECISION = 0.15
#: ... and at theta_n, the final record (empirical.estimators.sampled.PRECISION).
FINAL_PRECISION = 0.05
#: The fewest rows per gradient of a record (the first record of a run uses these).
RECORD_MIN_ROWS = 128


def record_plan(
    steps: int, dense: int = DENSE_STEPS, log_points: int = LOG_RECORDS, regular: int = REGULAR_RECORDS
) -> tuple[int, ...]:
    """The record steps of an n-step run, sorted.

    Every step 0..``dense``; then log-spaced steps (``log_points`` per log range [dense, n])
    while their gaps are below n / ``regular``; then every multiple of n / ``regular``; and n.

    Args:
        steps: n, an integer >= 1.
        dense: The steps recorded one by one at the start (||grad F||^2 changes fastest early).
        log_points: The log-spaced records between ``dense`` and n.
        regular: The regularly spaced records over [0, n].

    Returns:
        The record steps, from 0 to n.

    Raises:
        ConfigError: ``steps`` is not an integer >= 1.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"option steps must be an integer >= 1, got {steps!r}")
    out = set(range(min(dense, steps) + 1))
    spacing = steps / regular
    k = float(max(dense, 1))
    ratio = (steps / k) ** (1.0 / max(log_points - 1, 1))
    while k * ratio < steps and k * (ratio - 1.0) <= spacing:
        k *= ratio
        out.add(int(round(k)))
    out |= {int(round(j * spacing)) for j in range(regular + 1) if j * spacing >= k + spacing / 2}
    out.add(steps)
    return tuple(sorted(out))


def checked_plan(records: Sequence[int] | None, steps: int) -> tuple[int, ...]:
    """A record plan given by a caller, checked, or the default plan.

    Args:
        records: The record steps (integers >= 0), or None for :func:`record_plan`.
        steps: n.

    Returns:
        The steps with 0 and n added and those beyond n left out (one list serves a run and
        its continuation).

    Raises:
        ConfigError: A step that is not an integer >= 0.
    """
    if records is None:
        return record_plan(steps)
    out = {0, steps}
    for k in records:
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or int(k) < 0:
            raise ConfigError(f"option records must hold integers >= 0, got {k!r}")
        if int(k) <= steps:
            out.add(int(k))
    return tuple(sorted(out))


def snapshot_plan(record_steps: Sequence[int], count: int = SNAPSHOTS) -> tuple[int, ...]:
    """The snapshot steps: some record steps, evenly spaced in the record list.

    Args:
        record_steps: The record steps.
        count: The snapshots wanted (the first and the last included).

    Returns:
        The snapshot steps.
    """
    ks = sorted(record_steps)
    idx = np.unique(np.linspace(0, len(ks) - 1, min(count, len(ks))).round().astype(int))
    return tuple(ks[i] for i in idx)


@dataclass(frozen=True, eq=False)
class UserLoop:
    """What a run tracked in a user's loop needs to be evaluated again (:func:`empirical.track`).

    Attributes:
        model: The user's ``torch.nn.Module``.
        loss: ``loss(model, x)``, the per-example losses.
        data: The data rows.
        optimizer: The optimizer that trained it.
    """

    model: Any
    loss: Callable[[Any, torch.Tensor], torch.Tensor]
    data: torch.Tensor
    optimizer: Any


@dataclass(frozen=True, eq=False)
class TrainRun:
    """R finished runs (R = ``len(seeds)``), arrays with a leading run axis.

    The batched runs of :func:`empirical.train.train` and the runs :func:`empirical.track`
    followed alike (one run type). Per step k = 1..n, index k - 1; at the record steps
    (T,); at the snapshot steps (S,).

    Attributes:
        model: An :mod:`empirical.models` VAE (batched runs) or the user's module.
        seeds: The runs' seeds.
        params: theta_n, stacked (R, ...).
        loss: (R, n) the minibatch loss at theta_{k-1}.
        grad_norm_sq: (R, n) ||g_k||^2.
        step_sizes: (n,) gamma_k.
        mapping_sq: (R, n) ||theta_{k-1} - theta_k||^2 / gamma_k^2 (projected runs; None otherwise).
        record_steps: (T,) the record steps.
        full_grad_norm_sq: (R, T) unbiased records of ||grad F(theta_k)||^2 (each may be
            negative; their expectation is not).
        full_loss: (R, T) F(theta_k) (an unbiased estimate where the loss draws noise).
        param_sup_norm: (R, T) ||theta_k||_inf.
        elapsed: (T,) seconds.
        snapshot_steps: (S,) the snapshot steps.
        snapshots: (R, S, d) theta_k flattened in the order of ``param_keys`` (float64).
        param_keys: The parameters' names.
        options: How the runs were made (the optimizer's options; for tracked runs the batch
            size B and how it was found, the record plan, whether the parameter groups
            agreed, how the minibatches were drawn when known).
        full_grad_norm_sq_var: (R, T) each record's estimated variance (None: unknown).
        record_dof: The degrees of freedom of those variances.
        precond_min: (R, n) the smallest per-coordinate factor of an adaptive step (None: no
            preconditioner).
        precond_max: (R, n) the largest.
        grad_sup_norm: (R, n) ||g_k||_inf (None: not read).
        loops: For tracked runs, each run's :class:`UserLoop` (empty for the batched runs).
        timings: Seconds spent (tracked runs: training and tracking).
        record_rows: (R, T) the rows per gradient of each record (N: the full data; None:
            not recorded).
    """

    model: Any
    seeds: tuple[int, ...]
    params: dict[str, torch.Tensor]
    loss: np.ndarray
    grad_norm_sq: np.ndarray
    step_sizes: np.ndarray
    mapping_sq: np.ndarray | None
    record_steps: np.ndarray
    full_grad_norm_sq: np.ndarray
    full_loss: np.ndarray
    param_sup_norm: np.ndarray
    elapsed: np.ndarray
    snapshot_steps: np.ndarray
    snapshots: np.ndarray
    param_keys: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)
    full_grad_norm_sq_var: np.ndarray | None = None
    record_dof: float = float("nan")
    precond_min: np.ndarray | None = None
    precond_max: np.ndarray | None = None
    grad_sup_norm: np.ndarray | None = None
    loops: tuple[UserLoop, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    record_rows: np.ndarray | None = None

    @property
    def steps(self) -> int:
        """n, the number of iterations."""
        return int(self.step_sizes.shape[0])

    @property
    def runs(self) -> int:
        """R, the number of runs."""
        return len(self.seeds)

    def final_params(self, i: int) -> dict[str, torch.Tensor]:
        """theta_n of one run.

        Args:
            i: The run.

        Returns:
            Its parameters, by key.
        """
        return {key: p[i] for key, p in self.params.items()}

    def run(self, i: int) -> TrainRun:
        """One run alone (R = 1).

        Args:
            i: The run.

        Returns:
            The run as a :class:`TrainRun`.

        Raises:
            ConfigError: ``i`` is not a run.
        """
        if not 0 <= i < self.runs:
            raise ConfigError(f"run index must be in [0, {self.runs}), got {i}")
        sl = slice(i, i + 1)
        return replace(
            self,
            seeds=self.seeds[sl],
            params={k: p[sl] for k, p in self.params.items()},
            loops=self.loops[sl],
            **{name: _rows(getattr(self, name), sl) for name in PER_RUN},
        )

    @property
    def steps_per_second(self) -> float:
        """The iterations per second: n over the seconds the runs took."""
        return self.steps / float(self.elapsed[-1]) if self.elapsed[-1] > 0 else math.inf


#: The fields of :class:`TrainRun` with a leading run axis (besides ``params`` and ``loops``).
PER_RUN = (
    "loss", "grad_norm_sq", "mapping_sq", "full_grad_norm_sq", "full_grad_norm_sq_var", "full_loss",
    "param_sup_norm", "snapshots", "precond_min", "precond_max", "grad_sup_norm", "record_rows",
)  # fmt: skip


def _rows(values: np.ndarray | None, sl: slice) -> np.ndarray | None:
    return None if values is None else values[sl]


def stack_runs(runs: Sequence[TrainRun]) -> TrainRun:
    """Runs made one after the other (e.g. tracked runs of several seeds) as one :class:`TrainRun`.

    Args:
        runs: The runs; they must share their steps, step sizes, record and snapshot steps
            and parameter names.

    Returns:
        All their runs; ``options`` are the first run's with the smallest batch size B
        (whose variance is the largest); ``timings`` are summed.

    Raises:
        ConfigError: No run, or runs that do not share their steps.
    """
    runs = list(runs)
    if not runs:
        raise ConfigError("verify needs at least one run")
    first = runs[0]
    for r in runs[1:]:
        same = r.steps == first.steps and np.array_equal(r.record_steps, first.record_steps)
        same = same and np.allclose(r.step_sizes, first.step_sizes, rtol=1e-12)
        same = same and r.param_keys == first.param_keys
        if not same or not np.array_equal(r.snapshot_steps, first.snapshot_steps):
            raise ConfigError("runs verified together must share their steps, step sizes and record steps")
    if len(runs) == 1:
        return first
    options = dict(first.options)
    if all("batch_size" in r.options for r in runs):
        options["batch_size"] = min(r.options["batch_size"] for r in runs)
    timings: dict[str, float] = {}
    for r in runs:
        for key, value in r.timings.items():
            timings[key] = timings.get(key, 0.0) + value

    def stacked(name: str) -> np.ndarray | None:
        parts = [getattr(r, name) for r in runs]
        return None if any(p is None for p in parts) else np.concatenate(parts)

    return replace(
        first,
        seeds=tuple(s for r in runs for s in r.seeds),
        params={k: torch.cat([r.params[k] for r in runs]) for k in first.param_keys},
        loops=tuple(loop for r in runs for loop in r.loops),
        options=options,
        timings=timings,
        **{name: stacked(name) for name in PER_RUN},
    )


#: Per-step and per-record histories (lists of per-run rows), in checkpoint order.
STEP_KEYS = ("loss", "grad_norm_sq", "step_sizes", "mapping_sq", "precond_min", "precond_max")
RECORD_KEYS = (
    "record_steps",
    "full_grad_norm_sq",
    "full_grad_norm_sq_var",
    "record_rows",
    "full_loss",
    "param_sup_norm",
    "elapsed",
)
SNAPSHOT_KEYS = ("snapshot_steps", "snapshots")


def empty_history() -> dict[str, list]:
    """An empty history: one list per key of :data:`STEP_KEYS`, :data:`RECORD_KEYS` and :data:`SNAPSHOT_KEYS`.

    Returns:
        Key -> [].
    """
    return {key: [] for key in (*STEP_KEYS, *RECORD_KEYS, *SNAPSHOT_KEYS)}


def finish(
    history: dict[str, list],
    model: Any,
    seeds: Sequence[int],
    params: dict[str, torch.Tensor],
    keys: tuple[str, ...],
    options: dict[str, Any],
    projected: bool,
    record_dof: float = float("nan"),
) -> TrainRun:
    """The :class:`TrainRun` of a history (lists of per-run rows -> arrays).

    Args:
        history: The history (:func:`empty_history`, filled).
        model: The model trained.
        seeds: The runs' seeds.
        params: theta_n, stacked.
        keys: The parameters' names.
        options: How the runs were made.
        projected: The runs were projected (the gradient mapping was recorded).
        record_dof: The degrees of freedom of the records' variances.

    Returns:
        The runs.
    """
    R = len(seeds)

    def per_run(name: str, rows: int) -> np.ndarray:
        arr = np.asarray(history[name], dtype=np.float64).reshape(rows, R)
        return np.ascontiguousarray(arr.T)

    n, T = len(history["step_sizes"]), len(history["record_steps"])
    return TrainRun(
        model=model,
        seeds=tuple(seeds),
        params={k: p.detach() for k, p in params.items()},
        loss=per_run("loss", n),
        grad_norm_sq=per_run("grad_norm_sq", n),
        step_sizes=np.asarray(history["step_sizes"], dtype=np.float64),
        mapping_sq=per_run("mapping_sq", n) if projected else None,
        record_steps=np.asarray(history["record_steps"], dtype=np.int64),
        full_grad_norm_sq=per_run("full_grad_norm_sq", T),
        full_grad_norm_sq_var=per_run("full_grad_norm_sq_var", T)
        if history.get("full_grad_norm_sq_var")
        else None,
        record_dof=record_dof,
        precond_min=per_run("precond_min", n) if history.get("precond_min") else None,
        precond_max=per_run("precond_max", n) if history.get("precond_max") else None,
        record_rows=per_run("record_rows", T).astype(np.int64) if history.get("record_rows") else None,
        full_loss=per_run("full_loss", T),
        param_sup_norm=per_run("param_sup_norm", T),
        elapsed=np.asarray(history["elapsed"], dtype=np.float64),
        snapshot_steps=np.asarray(history["snapshot_steps"], dtype=np.int64),
        snapshots=torch.stack(history["snapshots"], dim=1).numpy(),
        param_keys=keys,
        options=options,
    )
