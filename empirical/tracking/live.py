"""What a live logger sees of a tracked run.

``empirical.track(..., callback=fn)`` calls ``fn(step, record)`` as each record of ||grad
F(theta_k)||^2 is taken (docs/architecture.md, "The tracker"). The TensorBoard adapter
(:mod:`empirical.tracking.tensorboard`) and the Lightning callback
(:mod:`empirical.tracking.lightning`) are such functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from empirical.compare import brackets
from empirical.errors import ConfigError


@dataclass(frozen=True)
class LiveRecord:
    """One record as it is taken.

    Attributes:
        step: k, the optimizer steps taken (0: the initial parameters).
        value: the unbiased record of ||grad F(theta_k)||^2 (a U-statistic of m gradients).
        variance: its delete-one jackknife variance (m - 1 degrees of freedom).
        loss: the unbiased estimate of F(theta_k) taken with it.
        step_size: gamma_k, the step size of optimizer step k (None at k = 0).
        running: the gamma-weighted average of ||grad F(theta_j)||^2 over j < k from the records
            so far (:func:`running_average`; None at k = 0).
        final: True for the record at theta_n made by ``finish()``/``verify()`` (it replaces a
            record the plan took at the same step, if any).
    """

    step: int
    value: float
    variance: float
    loss: float
    step_size: float | None
    running: float | None
    final: bool = False


#: ``fn(step, record)``: called as each record is taken.
Callback = Callable[[int, LiveRecord], None]


def running_average(steps: Sequence[int], values: Sequence[float], step_sizes: Sequence[float]) -> float:
    """The gamma-weighted average of ||grad F(theta_j)||^2 over j < k, from the records so far.

    sum_{j<k} gamma_(j+1) ||grad F(theta_j)||^2 / sum_{j<k} gamma_(j+1), the left-hand side of
    SGD under any step sequence, from records at ``steps`` (0 first, the last at k =
    len(step_sizes)), each gap valued at the mean of its quadrature bracket
    (:func:`empirical.compare.brackets`, the observed side's quadrature); the verdict uses the
    theorem's own weights.

    Args:
        steps: the record steps so far, increasing, starting at 0.
        values: the records at those steps.
        step_sizes: gamma_1, ..., gamma_k (k >= 1).

    Returns:
        The running average (a float).
    """
    weights = np.asarray(step_sizes, dtype=np.float64)
    left, right = brackets(np.asarray(steps), np.asarray([values]), weights)
    return float((left[0] + right[0]) / 2 / weights.sum())


def callbacks_of(callback: Callback | None, tensorboard: Any) -> tuple[Callback, ...]:
    """The live callbacks, checked.

    Args:
        callback: Called with every :class:`LiveRecord` (or None).
        tensorboard: A ``SummaryWriter`` (or None), wrapped in a
            :class:`~empirical.tracking.tensorboard.TensorBoardCallback`.

    Returns:
        The callbacks to call, in that order.

    Raises:
        ConfigError: A callback that is not callable, or a writer without ``add_scalar``
            (:class:`~empirical.tracking.tensorboard.TensorBoardCallback`).
    """
    out: list[Callback] = []
    if callback is not None:
        if not callable(callback):
            raise ConfigError(f"callback must be a function fn(step, record), got {type(callback).__name__}")
        out.append(callback)
    if tensorboard is not None:
        from empirical.tracking.tensorboard import TensorBoardCallback

        out.append(TensorBoardCallback(tensorboard))
    return tuple(out)


def tell(callbacks: Sequence[Callback], k: int, rec: Any, final: bool, h: dict) -> None:
    """Hand the record just taken at step k to every callback, as a :class:`LiveRecord`.

    Args:
        callbacks: The callbacks (:func:`callbacks_of`).
        k: The record's step.
        rec: The record (:class:`empirical.tracking.evaluate.Record`).
        final: Whether it is the final record at theta_n.
        h: The tracker's history, this record already in it (the running average reads it).
    """
    running = running_average(h["rec_k"], h["rec"], h["lr"][:k]) if k else None
    live = LiveRecord(k, rec.value, rec.variance, rec.loss, h["lr"][k - 1] if k else None, running, final)
    for fn in callbacks:
        fn(k, live)
