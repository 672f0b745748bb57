"""The stress step in the conclusion (docs/theory.md, "Stressed constants").

Which constants the bound is evaluated at, and the comparison at the runs' own constants beside
the verdict.

When the search ran (:func:`empirical.estimators.stress_runs`), L, sigma2_data and the
Monte-Carlo part are replaced by their stressed values, each the larger of the runs' value and
the search's fresh re-evaluation (:class:`empirical.estimators.stress.Stressed`, gain >= 0); the
other constants stay the runs'. The verdict is decided at the stressed constants; the same rule
at the runs' constants is reported beside it (:class:`AtRunConstants`). A stressed constant is
still a lower estimate of a supremum, not a proof.

Not searched: with ``--no-stress`` (the table along the runs is still measured), and for a
user's module (``conv``, ``FILE.py:NAME``, an own loop): the search evaluates a built-in VAE's
fixed-noise loss and variance probe (:func:`empirical.estimators.probes.vae_problem`), which a
user's module does not have; its report says so, and its constants are those of its snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from empirical.decision import Decision
from empirical.settings import BUILT_IN, Settings

if TYPE_CHECKING:
    from empirical.compare import Binding
    from empirical.estimators.along_run import AlongRun
    from empirical.estimators.constants import Constants
    from empirical.estimators.stress import StressResult
    from empirical.estimators.stress_runs import RunsStress

#: Why a user's module is not searched.
USER_MODULE = (
    "not searched (user module): the search evaluates a built-in VAE's fixed-noise loss and "
    "variance probe; a user's module is evaluated at its snapshots only"
)
#: Why ``--no-stress`` runs are not searched.
SWITCHED_OFF = "not searched (--no-stress): the bound is evaluated at the runs' constants"


@dataclass(frozen=True)
class AtRunConstants:
    """The decision rule at the runs' own constants (before the stress search).

    Attributes:
        binding: The theorem bound at the runs' constants.
        decision: The rule's :class:`~empirical.decision.Decision` there.
        failed: The ids of the assumption rows that fail there.
    """

    binding: Binding
    decision: Decision
    failed: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """report.json's ``verdicts.at_run_constants``: bound, verdict, exit code, comparison, inputs."""
        d = self.decision
        return {
            "bound": self.binding.value, "verdict": d.verdict.value, "exit_code": d.verdict.exit_code,
            "comparison": d.comparison.value, "failed": list(self.failed),
            "inputs": dict(self.binding.values),
        }  # fmt: skip


@dataclass(frozen=True)
class StressReport:
    """The stress step of a result (docs/theory.md, "Stressed constants").

    Attributes:
        along: The table of the constants along the runs (None for a user's module).
        search: The stress search (None when not searched).
        reason: Why not searched ("" when searched).
        run_constants: The runs' own constants.
        at_run: When searched, the decision rule at the runs' own constants.
    """

    along: AlongRun | None
    search: StressResult | None
    reason: str
    run_constants: Constants
    at_run: AtRunConstants | None = None

    @property
    def searched(self) -> bool:
        """True when the stress search ran."""
        return self.search is not None

    def stressed_names(self) -> tuple[str, ...]:
        """The constants whose stressed values the bound is evaluated at.

        Returns:
            Their theory names (empty when not searched).
        """
        return tuple(self.search.named()) if self.search is not None else ()

    def as_dict(self, decision: Decision | None = None, bound: float | None = None) -> dict[str, Any]:
        """report.json's ``stress``.

        Args:
            decision: The result's decision, at the stressed constants.
            bound: The result's bound, at the stressed constants.

        Returns:
            Searched or why not, each stressed constant (used, found, stressed, gain, where), the
            margin and budget, and the verdicts at the runs' and at the stressed constants side
            by side.
        """
        out: dict[str, Any] = {"searched": self.searched, "reason": self.reason or None}
        if self.search is None:
            out["evaluated_at"] = "the runs' constants"
            return out
        out.update(self.search.as_dict())
        out["constants"] = {name: out.pop(name) for name in self.stressed_names()}
        out["evaluated_at"] = "the stressed constants"
        verdicts: dict[str, Any] = {}
        if self.at_run is not None:
            verdicts["at_run_constants"] = self.at_run.as_dict()
        if decision is not None:
            verdicts["at_stressed_constants"] = {
                "bound": bound, "verdict": decision.verdict.value, "exit_code": decision.verdict.exit_code,
                "comparison": decision.comparison.value,
            }  # fmt: skip
        out["verdicts"] = verdicts
        return out


def stress_report(settings: Settings, constants: Constants, runs_stress: RunsStress | None) -> StressReport:
    """The stress step of ``settings``' runs, before the bound is evaluated.

    Args:
        settings: Its ``source`` (a user's module is not searched) and ``stress`` (``--no-stress``).
        constants: The runs' own constants (the largest values at their snapshots).
        runs_stress: The table and the search (None: nothing measured, a user's module).

    Returns:
        :class:`StressReport` without ``at_run`` (:func:`with_run_comparison` adds it).
    """
    along = None if runs_stress is None else runs_stress.along
    search = None if runs_stress is None else runs_stress.stress
    reason = ""
    if search is None:
        reason = USER_MODULE if settings.source != BUILT_IN else SWITCHED_OFF
    return StressReport(along, search, reason, constants)


def bound_constants(report: StressReport) -> Constants:
    """The constants the bound is evaluated at.

    The runs', with L, sigma2_data and the Monte-Carlo part at their stressed values when the
    search ran.

    Args:
        report: The stress step.

    Returns:
        ``report.run_constants`` with each searched constant's field set to
        :attr:`~empirical.estimators.stress.Stressed.stressed` (>= the runs' value).
    """
    if report.search is None:
        return report.run_constants
    return replace(report.run_constants, **{name: s.stressed for name, s in report.search.named().items()})


def with_run_comparison(
    report: StressReport, binding: Binding, decision: Decision, failed: tuple[str, ...]
) -> StressReport:
    """The stress step with the decision rule at the runs' own constants added.

    Args:
        report: The stress step.
        binding: The theorem bound at the runs' constants.
        decision: The rule's decision there.
        failed: The ids of the rows that fail there.

    Returns:
        ``report`` with ``at_run`` set (:class:`AtRunConstants`).
    """
    return replace(report, at_run=AtRunConstants(binding, decision, failed))
