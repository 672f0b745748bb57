"""The result (empirical/conclusion/result.py): the verdict decided once, from the rows and
then the upper end of the observed interval; a frozen, typed dataclass."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from empirical.compare import Observed
from empirical.conclusion.result import Result, Row, Verdict, decide


def _observed(lo: float, hi: float) -> Observed:
    return Observed(
        value=(lo + hi) / 2,
        lo=lo,
        hi=hi,
        confidence=0.95,
        method="test",
        per_run=((lo + hi) / 2,),
        per_run_lo=(lo,),
        per_run_hi=(hi,),
        observable="grad_norm_sq",
    )


def test_verdict_is_decided_by_rows_then_the_upper_end():
    ok = (Row("smooth", "L-smooth", "estimated", "e"), Row("unbiased", "u", "holds", "e"))
    failed = (*ok, Row("momentum", "m", "fails", "beta1 = 0.9"))
    assert decide(ok, _observed(1.0, 2.0), 2.0) is Verdict.HOLDS
    assert decide(ok, _observed(1.0, 2.01), 2.0) is Verdict.VIOLATED
    assert decide(failed, _observed(1.0, 2.0), 100.0) is Verdict.NOT_COVERED
    assert [v.exit_code for v in Verdict] == [0, 1, 3]
    with pytest.raises(ValueError, match="status"):
        Row("smooth", "L-smooth", "proved", "e")


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
