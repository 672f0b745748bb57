"""What one tracked run leaves behind: :class:`TrackedRun`, frozen by ``Tracker.finish()`` and
read by the estimation and the verification (docs/architecture.md, "The tracker")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from empirical.tracking import evaluate


@dataclass
class TrackedRun:
    """What one tracked run left behind (arrays over steps k = 1..n and over record steps)."""

    model: nn.Module
    loss: Callable
    data: torch.Tensor
    optimizer: torch.optim.Optimizer
    names: tuple[str, ...]
    seed: int
    step_sizes: np.ndarray
    groups_agree: bool
    grad_norm_sq: np.ndarray
    grad_sup: np.ndarray
    step_loss: np.ndarray
    batch_size: int
    batch_how: str
    record_steps: np.ndarray
    records: np.ndarray
    record_var: np.ndarray
    record_loss: np.ndarray
    param_sup: np.ndarray
    elapsed: np.ndarray
    snapshot_steps: np.ndarray
    snapshots: torch.Tensor
    lambdas: tuple[float, float] | None
    tracking_seconds: float
    training_seconds: float
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def steps(self) -> int:
        return int(self.step_sizes.size)

    def params_at(self, i: int) -> dict[str, torch.Tensor]:
        """The parameters of snapshot ``i`` as a dict (names of the tracked parameters)."""
        like = dict(zip(self.names, self._like(), strict=True))
        return evaluate.unflatten(self.snapshots[i], like)

    def _like(self) -> list[torch.Tensor]:
        params = dict(self.model.named_parameters())
        return [params[k] for k in self.names]
