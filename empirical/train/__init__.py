"""Training runs that record what the bounds talk about.

Step sizes and step rules (:mod:`~empirical.train.step_rules`), R runs in one computation
(:mod:`~empirical.train.batched`), the record and snapshot schedules and the finished
:class:`TrainRun` (:mod:`~empirical.train.recording`, also what :func:`empirical.track`
finishes as), checkpoints (:mod:`~empirical.train.checkpoint`) and :func:`train`, the
loop itself (:mod:`~empirical.train.loop`); docs/architecture.md, "Layout".
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
