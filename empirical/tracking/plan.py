"""When the tracker records, and which parameters it keeps, without knowing the number of steps.

The plan is fixed in advance of n (docs/architecture.md, "The tracker").

* Records of ||grad F(theta_k)||^2: at k = 0 and then at k >= next, next = max(k + 1,
  ceil(growth k)): every step at first (1, 2, 3, 4 at growth 1.3), then geometrically
  sparser (6, 8, 11, 15, 20, 26, ...), about log(n)/log(growth) records in all. The last
  record, at the final step, is made when the run is verified.
* The minibatch gradient's ||g_k||^2 (the report's training figure; and the growth fit, which
  needs it at every step, so a run of fewer than 2 NORM_DENSE steps is read at every step):
  at every step k < 2 :data:`NORM_DENSE`, then every 8th, 16th, ... step,
  :data:`NORM_SPARSE` readings per doubling of k (:func:`reads_norm`: each costs a
  concatenation of the gradients, 25 to 35 us inside the README's loop, 5 % of its step).
  The adaptive optimizers read ||g_k||_inf (their R) and ||g_k||^2 at every step.
* Parameter snapshots (flat copies on the CPU, for estimating L, sigma2 and Delta
  afterwards): theta_0 always, and every ``stride``-th step with at most ``count`` kept:
  when one more would exceed ``count``, the stride doubles and the snapshots off the new
  stride are dropped, so the kept ones stay evenly spread over [0, k].
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: Growth factor of the record steps (empirical.track's default; 1 to 10 allowed).
GROWTH = 1.3
#: Snapshots kept besides theta_0 (empirical.track's default).
SNAPSHOTS = 8
#: Every step k < 2 NORM_DENSE is read; then NORM_SPARSE readings per doubling of k (:func:`reads_norm`).
NORM_DENSE, NORM_SPARSE = 64, 16
#: Optimizer steps during which the tracker counts the rows through the model's layers to
#: infer B (when not given); then its forward hooks are removed (the modules' fast path).
INFER_STEPS = 8


def reads_norm(k: int) -> bool:
    """Whether step k reads ||g_k||^2 (module docstring).

    Args:
        k: The step.

    Returns:
        True for k < 2 NORM_DENSE, else for k a multiple of 2^floor(log2(k / NORM_SPARSE)).
    """
    if k < 2 * NORM_DENSE:
        return True
    stride = 1 << ((k // NORM_SPARSE).bit_length() - 1)
    return k % stride == 0


@dataclass
class RecordPlan:
    """The record steps: 0, 1, 2, ..., growing geometrically by ``growth``.

    Attributes:
        growth: The factor between record steps (1: every step; checked by :func:`empirical.track`).
    """

    growth: float = GROWTH
    next: int = 0

    def due(self, k: int) -> bool:
        """Whether step k is a record step; then the next one is planned.

        Args:
            k: The step.

        Returns:
            True at a record step.
        """
        if k < self.next:
            return False
        self.next = max(k + 1, math.ceil(self.growth * k - 1e-9))
        return True


@dataclass
class SnapshotPlan:
    """Which steps keep a parameter snapshot (module docstring).

    Attributes:
        count: The snapshots kept at most (checked by :func:`empirical.track`).
    """

    count: int = SNAPSHOTS
    stride: int = 1
    kept: list[int] = field(default_factory=list)

    def offer(self, k: int) -> tuple[bool, list[int]]:
        """Offer step k's parameters to the plan; step 0 is always kept and never dropped.

        Args:
            k: The step.

        Returns:
            (keep step k?, the kept steps to drop now).
        """
        if k == 0:
            return True, []
        if k % self.stride:
            return False, []
        dropped: list[int] = []
        while len(self.kept) >= self.count:
            self.stride *= 2
            dropped += [j for j in self.kept if j % self.stride]
            self.kept = [j for j in self.kept if j % self.stride == 0]
        if k % self.stride:
            return False, dropped
        self.kept.append(k)
        return True, dropped
