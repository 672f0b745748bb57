"""The tracker's records, live, in TensorBoard.

``empirical.track(..., tensorboard=writer)`` or ``callback=TensorBoardCallback(writer)`` with
``writer`` a ``torch.utils.tensorboard.SummaryWriter`` (which needs the optional ``tensorboard``
package: ``pip install -e ".[tensorboard]"``; only the writer's ``add_scalar`` is called here).

At each record k (global step k, the optimizer steps taken) it writes the scalars

* ``vaebounds/grad_norm_sq``: the unbiased record of ||grad F(theta_k)||^2,
* ``vaebounds/grad_norm_sq_std``: its jackknife standard error,
* ``vaebounds/loss``: the estimate of F(theta_k) taken with it,
* ``vaebounds/step_size``: gamma_k (from k = 1),
* ``vaebounds/running_average``: the gamma-weighted average of the records so far (from k = 1).

The final record at theta_n (made by ``verify()``) is written at step n too; when the plan had
already recorded step n, the final one replaces it in ``result.records``, and a reader of the
event file takes the last value written at a step.

The records written: docs/architecture.md, "The tracker".
"""

from __future__ import annotations

import math
from typing import Any

from empirical.errors import ConfigError

#: The tags written, in the order written.
TAGS = ("grad_norm_sq", "grad_norm_sq_std", "loss", "step_size", "running_average")
PREFIX = "vaebounds/"


class TensorBoardCallback:
    """``fn(step, record)`` writing each record to a ``SummaryWriter`` (module docstring).

    Args:
        writer: A ``torch.utils.tensorboard.SummaryWriter`` (anything with ``add_scalar(tag,
            value, global_step)``).
        prefix: Put before every tag.

    Raises:
        ConfigError: A writer without ``add_scalar``.
    """

    def __init__(self, writer: Any, prefix: str = PREFIX) -> None:
        if not callable(getattr(writer, "add_scalar", None)):
            raise ConfigError(
                f"tensorboard must be a torch.utils.tensorboard.SummaryWriter, got {type(writer).__name__}"
            )
        self.writer, self.prefix = writer, prefix

    def __call__(self, step: int, record: Any) -> None:
        """Write ``record`` (an :class:`empirical.tracking.live.LiveRecord`) at global step ``step``."""
        values = {
            "grad_norm_sq": record.value,
            "grad_norm_sq_std": math.sqrt(max(record.variance, 0.0)),
            "loss": record.loss,
            "step_size": record.step_size,
            "running_average": record.running,
        }
        for tag in TAGS:
            if values[tag] is not None:
                self.writer.add_scalar(self.prefix + tag, values[tag], step)
