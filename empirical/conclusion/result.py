"""The result of a verify run, its verdict and exit code, decided once here
(docs/architecture.md, "Verdict"); the CLI, the report and the sweep only read them.

- **holds at the estimated constants**: no assumption row fails and the upper
  end of the observed interval is at most the bound; exit 0. Some constants
  are lower estimates of suprema (L, sigma2, M, R): the check is not a proof.
- **violated**: no assumption row fails and the upper end exceeds the bound; exit 1.
- **not covered**: an assumption row fails (the theorem does not apply to the
  run); the comparison is still reported, ``holds`` is None; exit 3.

Bad input is exit 2, decided by the CLI before any result exists.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from empirical.compare import Binding, Observed, RateFit
from empirical.estimators.constants import Constants
from empirical.settings import Settings
from empirical.train.recording import TrainRun
from theory.bound import Bound

#: Statuses of an assumption row (docs/architecture.md, "Assumption ids").
HOLDS, ESTIMATED, APPROXIMATE, FAILS, UNCHECKED = "holds", "estimated", "approximate", "fails", "unchecked"
STATUSES = (HOLDS, ESTIMATED, APPROXIMATE, FAILS, UNCHECKED)


class Verdict(enum.Enum):
    """The three verdicts and their exit codes."""

    HOLDS = "holds at the estimated constants"
    VIOLATED = "violated"
    NOT_COVERED = "not covered"

    @property
    def exit_code(self) -> int:
        return {Verdict.HOLDS: 0, Verdict.VIOLATED: 1, Verdict.NOT_COVERED: 3}[self]


@dataclass(frozen=True)
class Row:
    """One assumption of the theorem checked on the run: its id, display name,
    status (one of :data:`STATUSES`) and the evidence."""

    id: str
    name: str
    status: str
    evidence: str

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {self.status!r}")


def decide(rows: Iterable[Row], observed: Observed, bound_value: float) -> Verdict:
    """The verdict (module docstring)."""
    if any(r.status == FAILS for r in rows):
        return Verdict.NOT_COVERED
    return Verdict.HOLDS if observed.hi <= bound_value else Verdict.VIOLATED


@dataclass(frozen=True)
class Result:
    """A finished verification, from the CLI's runs or from :func:`empirical.track`:
    everything the report needs, and its verdict.

    The contract: ``holds`` (True / False / None when not covered), ``bound``
    (its value at the estimated constants), ``observed`` (an
    :class:`~empirical.estimators.Estimate` of the weighted average the theorem
    bounds, with the theorem's weights), ``ratio``, ``theorem`` (the
    :class:`theory.Bound`: model, optimizer, variant, reference),
    ``assumptions`` (one :class:`Row` per assumption id), ``records`` ((step,
    record of ||grad F(theta_step)||^2) pairs) and :meth:`write`.

    ``runs`` is the :class:`empirical.train.TrainRun` of the R runs (batched or
    tracked); ``constants`` the measured :class:`empirical.estimators.Constants`;
    ``fixed`` the values that were not estimated (n, B, step sums, optimizer
    parameters); ``settings`` what was run (:class:`empirical.settings.Settings`:
    ``model``, ``optimizer``, ``data``, ``steps``, ``batch_size``, ``K``, ``seed``,
    ``runs``, ``seeds``, ``source``, ``as_dict()``).
    """

    settings: Settings
    theorem: Bound
    runs: TrainRun
    constants: Constants
    binding: Binding
    observed: Observed
    rate: RateFit
    assumptions: tuple[Row, ...]
    fixed: Mapping[str, float]
    timings: Mapping[str, float]
    extras: Mapping[str, Any] = field(default_factory=dict)
    verdict: Verdict = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", decide(self.assumptions, self.observed, self.binding.value))

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    @property
    def holds(self) -> bool | None:
        """True / False, or None when the theorem does not cover the run."""
        return None if self.verdict is Verdict.NOT_COVERED else self.verdict is Verdict.HOLDS

    @property
    def bound(self) -> float:
        """The bound's value at the estimated constants."""
        return self.binding.value

    @property
    def bound_value(self) -> float:
        return self.binding.value

    @property
    def records(self) -> list[tuple[int, float]]:
        """(step k, unbiased record of ||grad F(theta_k)||^2) at every record step, k = optimizer
        steps taken, the last at the final step; the mean over runs when there are several."""
        values = np.asarray(self.runs.full_grad_norm_sq, dtype=float).mean(0)
        return [(int(k), float(v)) for k, v in zip(self.runs.record_steps, values, strict=True)]

    def write(self, folder: str | Path, command: list[str] | None = None):
        """Write report.json, report.md and the figures into ``folder``, as a whole
        (:func:`empirical.report.write_report`); returns the :class:`empirical.report.Report`."""
        from empirical.report import write_report

        return write_report(self, folder, command)

    @property
    def ratio(self) -> float:
        """bound / observed mean."""
        return self.binding.value / self.observed.value if self.observed.value > 0 else float("inf")

    @property
    def lower_estimates(self) -> tuple[str, ...]:
        """The constants bound into the theorem that are lower estimates of suprema."""
        used = set(self.binding.ends)
        return tuple(name for name in self.constants.lower_estimates if name in used)

    @property
    def headline(self) -> str:
        """One sentence: the verdict and what it rests on."""
        lower = ", ".join(self.lower_estimates)
        if self.verdict is Verdict.HOLDS:
            tail = f" ({lower} are lower estimates of suprema: a check, not a proof)" if lower else ""
            return f"The bound holds at the estimated constants{tail}."
        if self.verdict is Verdict.VIOLATED:
            return "The bound is violated: the upper end of the observed interval exceeds the bound."
        failed = ", ".join(r.id for r in self.assumptions if r.status == FAILS)
        return f"Not covered: the theorem does not apply to this run (failed: {failed}); no verdict."


def combined_exit_code(codes: Iterable[int]) -> int:
    """Several results (a sweep): 1 if any is violated, else 3 if any is not covered, else 0."""
    codes = set(codes)
    if 1 in codes:
        return 1
    return 3 if 3 in codes else 0
