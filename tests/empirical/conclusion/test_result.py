"""The result (empirical/conclusion/result.py): the verdict decided once, by the one decision
rule (empirical.decision) on the rows and the observed brackets; a frozen, typed dataclass."""

from __future__ import annotations

import dataclasses
import types
import typing

import numpy as np
import pytest

import empirical
from empirical.compare import Binding, Observed
from empirical.conclusion import Verdict as ConclusionVerdict
from empirical.conclusion.result import Result, Row, combined_exit_code, coverage
from empirical.decision import ONE_RUN, Verdict, assess

OK = (Row("smooth", "L-smooth", "estimated", "e"), Row("unbiased", "u", "holds", "e"))
FAILED = (*OK, Row("momentum", "m", "fails", "beta1 = 0.9"))
APPROX = (*OK, Row("algorithm", "a", "approximate", "bias correction"))


def _observed(lower, upper) -> Observed:
    """Runs with brackets [lower_i, upper_i]; the interval as compare.observe makes it."""
    box = empirical.decision.interval(list(zip(lower, upper, strict=True)))
    point = tuple((lo + hi) / 2 for lo, hi in zip(lower, upper, strict=True))
    return Observed(
        value=float(np.mean(point)), lo=box.lo, hi=box.hi, confidence=0.95, method=box.method,
        per_run=point, per_run_lo=tuple(lower), per_run_hi=tuple(upper), observable="grad_norm_sq",
    )  # fmt: skip


def _result(rows, observed, bound, approximate_ok=False, delta_is_upper=True) -> Result:
    constants = types.SimpleNamespace(lower_estimates=("L", "sigma2"), delta_is_upper=delta_is_upper)
    binding = Binding({}, {"L": "hi", "sigma2": "hi", "Delta": "hi"}, bound)
    return Result(None, None, None, constants, binding, observed, None, rows, {}, {}, {}, approximate_ok)


RUNS = [0.9, 1.0, 1.1, 1.05]


def test_the_verdict_is_the_decision_rule():
    """Four runs near 1: bound 2 holds, bound 0.5 is violated, bound 1 is inside the interval."""
    obs = _observed(RUNS, RUNS)
    for bound, verdict, holds in ((2.0, Verdict.HOLDS, True), (0.5, Verdict.VIOLATED, False),
                                  (1.0, Verdict.INCONCLUSIVE, None)):  # fmt: skip
        result = _result(OK, obs, bound)
        assert result.verdict is verdict is assess(bound, obs.brackets).verdict
        assert result.holds is holds and result.exit_code == verdict.exit_code
        assert (result.decision.lo, result.decision.hi) == (obs.lo, obs.hi)
    assert [v.exit_code for v in Verdict] == [0, 1, 3, 4]
    assert ConclusionVerdict is Verdict is empirical.Verdict  # one Verdict
    with pytest.raises(ValueError, match="status"):
        Row("smooth", "L-smooth", "proved", "e")


def test_upper_brackets_decide_holds():
    """Points below the bound but an upper bracket above it: not HOLDS."""
    obs = _observed(RUNS, [v + 1.5 for v in RUNS])
    assert _result(OK, obs, 2.0).verdict is Verdict.INCONCLUSIVE


def test_one_run_is_inconclusive_with_its_bracket_reported():
    obs = _observed([0.2], [0.3])
    result = _result(OK, obs, 100.0)
    assert result.verdict is Verdict.INCONCLUSIVE and result.exit_code == 4 and result.holds is None
    assert ONE_RUN in result.headline and "[0.2, 0.3] is at most the bound 100" in result.headline
    assert (result.decision.lo, result.decision.hi) == (0.2, 0.3)


def test_a_failed_row_is_not_covered_with_the_comparison_for_reference():
    result = _result(FAILED, _observed(RUNS, RUNS), 2.0)
    assert result.verdict is Verdict.NOT_COVERED and result.exit_code == 3 and result.holds is None
    assert result.decision.comparison is Verdict.HOLDS
    assert "failed: momentum" in result.headline and "For reference only: the bound holds" in result.headline
    assert _result(FAILED, _observed(RUNS, RUNS), 2.0, approximate_ok=True).verdict is Verdict.NOT_COVERED


@pytest.mark.parametrize(
    "bound, verdict", [(2.0, Verdict.HOLDS), (0.5, Verdict.VIOLATED), (1.0, Verdict.INCONCLUSIVE)]
)
def test_an_approximate_row_needs_approximate_ok(bound, verdict):
    """Approximate: not covered (exit 3) with the rows named; approximate_ok: the rule's verdict,
    marked approximately covered, same exit codes."""
    obs = _observed(RUNS, RUNS)
    plain = _result(APPROX, obs, bound)
    assert plain.verdict is Verdict.NOT_COVERED and plain.exit_code == 3 and plain.holds is None
    assert "approximate: algorithm" in plain.headline and "--approximate-ok" in plain.headline
    ok = _result(APPROX, obs, bound, approximate_ok=True)
    assert ok.verdict is verdict and ok.exit_code == verdict.exit_code and ok.approximately_covered
    assert ok.approximate == ("algorithm",) and ok.headline.startswith(
        "Approximately covered (approximate: algorithm"
    )
    assert not _result(OK, obs, bound, approximate_ok=True).approximately_covered


def test_the_headline_names_lower_estimates_by_their_kind():
    held = _result(OK, _observed(RUNS, RUNS), 2.0, delta_is_upper=False).headline
    assert "L, sigma2 are lower estimates of suprema" in held and "a check, not a proof" in held
    assert "Delta is a lower estimate of F(theta_0) - F*" in held and "Delta are lower" not in held
    violated = _result(OK, _observed(RUNS, RUNS), 0.5).headline
    assert "Delta" not in violated and "the bound may be larger" in violated


def test_combined_exit_code_is_1_then_3_then_4_then_0():
    assert combined_exit_code([0, 0]) == 0
    assert combined_exit_code([0, 4]) == 4
    assert combined_exit_code([4, 3, 0]) == 3
    assert combined_exit_code([3, 1, 4]) == 1
    with pytest.raises(ValueError, match="exit codes"):
        combined_exit_code([2])


def test_result_fields_are_frozen():
    assert dataclasses.is_dataclass(Result) and Result.__dataclass_params__.frozen


def test_result_fields_are_typed_with_the_project_types():
    hints = typing.get_type_hints(Result)
    from empirical.estimators.constants import Constants
    from empirical.settings import Settings
    from empirical.train.recording import TrainRun
    from theory.bound import Bound

    assert (hints["settings"], hints["theorem"], hints["runs"], hints["constants"]) == (
        Settings,
        Bound,
        TrainRun,
        Constants,
    )
    assert hints["decision"] is empirical.decision.Decision and hints["approximate_ok"] is bool


def test_approximate_ok_must_be_a_bool():
    with pytest.raises(empirical.ConfigError, match="approximate_ok"):
        _result(APPROX, _observed(RUNS, RUNS), 2.0, approximate_ok="yes")


def test_coverage_names_what_is_missing():
    assert coverage(OK, False) == (True, None)
    covered, why = coverage(APPROX, False)
    assert not covered and "approximate: algorithm" in why
    assert coverage(APPROX, True) == (True, None)
    assert coverage(FAILED, True)[0] is False
