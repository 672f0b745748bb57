"""Training runs that record what the bounds talk about.

- :mod:`empirical.train.step_rules`: step sizes (the schedules of
  :mod:`theory.schedules`) and step rules (SGD, Adam, Adagrad).
- :mod:`empirical.train.batched`: R runs in one computation (vmap over
  stacked parameters), the unbiased full-gradient records.
- :mod:`empirical.train.recording`: the record and snapshot schedules and the
  finished :class:`TrainRun` (also what :func:`empirical.track` finishes as).
- :mod:`empirical.train.checkpoint`: checkpoint I/O.
- :mod:`empirical.train.loop`: :func:`train`, the loop itself.
"""

from __future__ import annotations

from empirical.train.loop import DIVERGE_RATIO, train
from empirical.train.recording import TrainRun, UserLoop, record_plan, snapshot_plan, stack_runs
from empirical.train.step_rules import (
    ADAGRAD_VARIANTS,
    ADAM_VARIANTS,
    OPTIMIZERS,
    SCHEDULES,
    Adagrad,
    AdamState,
    adam_direction,
    preconditioner_factor,
    step_rule,
    step_size,
    step_sizes,
)

__all__ = [
    "ADAGRAD_VARIANTS",
    "ADAM_VARIANTS",
    "DIVERGE_RATIO",
    "OPTIMIZERS",
    "SCHEDULES",
    "Adagrad",
    "AdamState",
    "TrainRun",
    "UserLoop",
    "adam_direction",
    "preconditioner_factor",
    "record_plan",
    "snapshot_plan",
    "stack_runs",
    "step_rule",
    "step_size",
    "step_sizes",
    "train",
]
