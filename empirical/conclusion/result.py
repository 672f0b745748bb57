"""The result of a verify run, its verdict and exit code, decided once here by the one decision rule.

The rule is :mod:`empirical.decision` (docs/decision.md; docs/architecture.md, "Verdict");
the CLI, the report and the sweep only read the verdict.

- **not covered** (exit 3): an assumption row fails, or a row is only ``approximate``
  and approximate covers were not accepted (``approximate_ok``); the comparison is
  still made and reported, for reference;
- otherwise the rule's comparison of the bound with the interval for the expectation
  over runs: **holds at the estimated constants** (exit 0: the upper end is at most
  the bound), **violated** (exit 1: the lower end is above it) or **inconclusive**
  (exit 4: the bound lies inside the interval, or there is one run). With
  ``approximate_ok`` and an approximate row the verdict is marked "approximately covered".

Bad input is exit 2, decided by the CLI before any result exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from empirical.compare import Binding, Observed, RateFit
from empirical.conclusion.assumption_row import APPROXIMATE, FAILS, Row
from empirical.conclusion.growth_condition import GrowthReport
from empirical.conclusion.stressed import StressReport
from empirical.decision import Decision, Verdict, assess, rule
from empirical.estimators.constants import Constants
from empirical.settings import Settings
from empirical.train.recording import TrainRun
from empirical.validate import flag
from theory.bound import Bound

#: Combined exit code of several results (a sweep): the first of these any result has.
EXIT_ORDER = (1, 3, 4, 0)


def coverage(rows: Iterable[Row], approximate_ok: bool) -> tuple[bool, str | None]:
    """Whether the theorem covers the run, from its assumption rows.

    Args:
        rows: the assumption rows.
        approximate_ok: approximate rows are accepted.

    Returns:
        (covered, why not in words or None): not covered when a row fails, or when a row is
        approximate and ``approximate_ok`` is False; the ids of those rows are named.
    """
    rows = tuple(rows)
    failed = [r.id for r in rows if r.status == FAILS]
    if failed:
        return False, f"the theorem does not apply to this run (failed: {', '.join(failed)})"
    approximate = [r.id for r in rows if r.status == APPROXIMATE]
    if approximate and not approximate_ok:
        return False, (
            f"the theorem covers this run only approximately (approximate: {', '.join(approximate)}); "
            "--approximate-ok (approximate_ok=True) accepts approximate covers"
        )
    return True, None


@dataclass(frozen=True)
class Result:
    """A finished verification, from the CLI's runs or from :func:`empirical.track`.

    Everything the report needs, and its verdict. The contract: :attr:`holds`, :attr:`bound`,
    :attr:`observed`, :attr:`ratio`, :attr:`theorem`, :attr:`assumptions`, :attr:`records` and
    :meth:`write`.

    Attributes:
        settings: What was run (:class:`empirical.settings.Settings`).
        theorem: The :class:`theory.Bound` compared: model, optimizer, variant, reference.
        runs: The :class:`empirical.train.TrainRun` of the R runs (batched or tracked).
        constants: The measured :class:`empirical.estimators.Constants` (stressed when the
            search ran).
        binding: Each constant bound at the end of its interval that makes the bound larger.
        observed: The weighted average the theorem bounds, with the theorem's weights; its
            interval is the decision rule's.
        rate: The rate fitted on the mean running average.
        assumptions: One :class:`Row` per assumption id.
        fixed: The values that were not estimated (n, B, step sums, optimizer parameters).
        timings: Seconds per phase.
        extras: Variants, attribution, curves and other report parts.
        approximate_ok: Approximate rows are accepted (the verdict is then marked
            approximately covered).
        stress: The stress step (:class:`~empirical.conclusion.stressed.StressReport`: the table
            along the runs, the search or why not, the rule at the runs' constants).
        growth: The growth-condition line
            (:class:`~empirical.conclusion.growth_condition.GrowthReport`), beside the verdict.
        decision: The rule's :class:`~empirical.decision.Decision`, made on construction.

    Raises:
        ConfigError: ``approximate_ok`` not a bool.
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
    approximate_ok: bool = False
    stress: StressReport | None = None
    growth: GrowthReport | None = None
    decision: Decision = field(init=False)

    def __post_init__(self) -> None:
        flag("approximate_ok", self.approximate_ok)
        covered, because = coverage(self.assumptions, self.approximate_ok)
        decision = assess(
            self.binding.value, self.observed.brackets, confidence=self.observed.confidence,
            covered=covered, because=because,
        )  # fmt: skip
        object.__setattr__(self, "decision", decision)

    @property
    def verdict(self) -> Verdict:
        """Holds, violated, inconclusive or not covered (the decision rule's)."""
        return self.decision.verdict

    @property
    def exit_code(self) -> int:
        """The verdict's exit code: 0 holds, 1 violated, 3 not covered, 4 inconclusive."""
        return self.verdict.exit_code

    @property
    def holds(self) -> bool | None:
        """True (holds at the estimated constants), False (violated), None (inconclusive or not covered)."""
        return {Verdict.HOLDS: True, Verdict.VIOLATED: False}.get(self.verdict)

    @property
    def approximate(self) -> tuple[str, ...]:
        """The ids of the rows that are only approximately met."""
        return tuple(r.id for r in self.assumptions if r.status == APPROXIMATE)

    @property
    def approximately_covered(self) -> bool:
        """A verdict given under accepted approximate rows (``approximate_ok``)."""
        return bool(self.approximate) and self.verdict is not Verdict.NOT_COVERED

    @property
    def stressed(self) -> bool:
        """True when the bound is evaluated at stressed constants (the search ran)."""
        return self.stress is not None and self.stress.searched

    @property
    def constants_word(self) -> str:
        """Where the bound is evaluated, in words: the stressed or the estimated constants."""
        return "the stressed constants" if self.stressed else "the estimated constants"

    @property
    def bound(self) -> float:
        """The bound's value at the estimated constants (stressed when the search ran)."""
        return self.binding.value

    @property
    def bound_value(self) -> float:
        """The bound's value (as :attr:`bound`)."""
        return self.binding.value

    @property
    def records(self) -> list[tuple[int, float]]:
        """The (step k, unbiased record of ||grad F(theta_k)||^2) pairs, one per record step.

        k counts the optimizer steps taken, the last record at the final step; the record is the
        mean over runs when there are several.
        """
        values = np.asarray(self.runs.full_grad_norm_sq, dtype=float).mean(0)
        return [(int(k), float(v)) for k, v in zip(self.runs.record_steps, values, strict=True)]

    def write(self, folder: str | Path, command: list[str] | None = None):
        """Write report.json, report.md and the figures into ``folder``, as a whole.

        Args:
            folder: The output folder (:func:`empirical.report.write_report`).
            command: The command line recorded in the report.

        Returns:
            The :class:`empirical.report.Report` written.
        """
        from empirical.report import write_report

        return write_report(self, folder, command)

    @property
    def ratio(self) -> float:
        """Bound / observed mean."""
        return self.binding.value / self.observed.value if self.observed.value > 0 else float("inf")

    @property
    def lower_estimates(self) -> tuple[str, ...]:
        """The constants bound into the theorem that are lower estimates of suprema (L, sigma2, M, R)."""
        used = set(self.binding.ends)
        return tuple(name for name in self.constants.lower_estimates if name in used)

    @property
    def delta_lower_estimate(self) -> bool:
        """True when the Delta bound into the theorem is a lower estimate of F(theta_0) - F*."""
        return "Delta" in self.binding.ends and not self.constants.delta_is_upper

    @property
    def headline(self) -> str:
        """The verdict in a sentence or two, and what it rests on."""
        d = self.decision
        over = f"the {d.confidence:.0%} interval for the expectation over {d.runs} runs"
        at = " at the stressed constants" if self.stressed else ""
        if d.runs == 1:
            relation = {Verdict.HOLDS: "is at most", Verdict.VIOLATED: "is above"}.get(
                rule(d.lo, d.hi, d.bound).item(), "contains"
            )
            comparison = (
                f"Inconclusive: one run cannot estimate an expectation: train at least 2 (for reference, "
                f"that run's interval [{d.lo:.4g}, {d.hi:.4g}] {relation} the bound {d.bound:.4g}{at})."
            )
        elif d.comparison is Verdict.HOLDS:
            comparison = (
                f"The bound holds at {self.constants_word}: the upper end {d.hi:.4g} of {over} is at most "
                f"the bound {d.bound:.4g}."
            )
        elif d.comparison is Verdict.VIOLATED:
            comparison = (
                f"The bound is violated at {self.constants_word}: the lower end {d.lo:.4g} of {over} is "
                f"above the bound {d.bound:.4g}."
            )
        else:
            comparison = (
                f"Inconclusive: the bound {d.bound:.4g}{at} lies inside {over}, [{d.lo:.4g}, {d.hi:.4g}]; "
                "more runs, or a bound further from the truth, are needed."
            )
        if self.verdict is Verdict.NOT_COVERED:
            _, because = coverage(self.assumptions, self.approximate_ok)
            reference = comparison[0].lower() + comparison[1:]
            return f"Not covered: {because}; no verdict. For reference only: {reference}"
        if self.approximately_covered:
            comparison = (
                f"Approximately covered (approximate: {', '.join(self.approximate)}, accepted): {comparison}"
            )
        return comparison + self._estimates_note()

    def _estimates_note(self) -> str:
        """What the verdicts HOLDS and VIOLATED rest on: the lower estimates, each by its kind."""
        if self.verdict not in (Verdict.HOLDS, Verdict.VIOLATED):
            return ""
        parts = []
        if self.lower_estimates:
            seen = "the largest values seen"
            if self.stressed:
                names = ", ".join(n for n in self.stress.stressed_names() if n in self.lower_estimates)
                seen += f"; {names} stressed by a search of the region the runs visited"
            parts.append(f"{', '.join(self.lower_estimates)} are lower estimates of suprema ({seen})")
        if self.delta_lower_estimate:
            parts.append("Delta is a lower estimate of F(theta_0) - F* (no proven lower bound of F)")
        if not parts:
            return ""
        tail = (
            "a check, not a proof"
            if self.verdict is Verdict.HOLDS
            else "at their true values the bound may be larger"
        )
        return f" {'; '.join(parts)}: {tail}."


def combined_exit_code(codes: Iterable[int]) -> int:
    """The exit code of several results (a sweep).

    Args:
        codes: the results' exit codes (0, 1, 3, 4).

    Returns:
        The first of :data:`EXIT_ORDER` any has: 1 if any is violated, else 3 if any is not
        covered, else 4 if any is inconclusive, else 0 (also for no results).

    Raises:
        ValueError: a code that is no result's (e.g. 2, bad input).
    """
    codes = set(codes)
    unknown = codes - set(EXIT_ORDER)
    if unknown:
        raise ValueError(
            f"exit codes of results are {', '.join(map(str, EXIT_ORDER))}, got {sorted(unknown)}"
        )
    return next((code for code in EXIT_ORDER if code in codes), 0)
