"""Training runs that record what the bounds talk about.

- :mod:`empirical.train.optim`: step sizes (the schedules of
  :mod:`theory.schedules`) and step rules (SGD, Adam).
- :mod:`empirical.train.batched`: R runs in one computation (vmap over
  stacked parameters), the unbiased full-gradient records.
- :mod:`empirical.train.recording`: the record and snapshot schedules and the
  finished :class:`TrainRun`.
- :mod:`empirical.train.checkpoint`: checkpoint I/O.
- :mod:`empirical.train.loop`: :func:`train`, the loop itself.
"""

from __future__ import annotations

from empirical.train.loop import DIVERGE_RATIO, train
from empirical.train.optim import (
    ADAM_VARIANTS,
    OPTIMIZERS,
    SCHEDULES,
    AdamState,
    adam_direction,
    step_rule,
    step_size,
    step_sizes,
)
from empirical.train.recording import TrainRun, record_plan, snapshot_plan

__all__ = [
    "ADAM_VARIANTS",
    "DIVERGE_RATIO",
    "OPTIMIZERS",
    "SCHEDULES",
    "AdamState",
    "TrainRun",
    "adam_direction",
    "record_plan",
    "snapshot_plan",
    "step_rule",
    "step_size",
    "step_sizes",
    "train",
]
