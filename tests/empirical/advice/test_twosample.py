"""The two-sample decision of ``advise --check`` (empirical/advice/twosample.py): Welch's t
interval for the difference of the means, lower is better."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from empirical.advice.twosample import HELPED, NOT_HELPED, UNCLEAR, compare
from empirical.errors import DataError


def test_welch_interval_and_p_value_match_scipy():
    a, d = [1.0, 1.4, 0.9, 1.3], [2.0, 2.6, 1.7, 2.9, 2.2]
    c = compare("x", a, d)
    t = stats.ttest_ind(a, d, equal_var=False)
    assert c.p_value == pytest.approx(t.pvalue, rel=1e-10)
    ci = t.confidence_interval(0.95)
    assert (c.lo, c.hi) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert c.difference == pytest.approx(np.mean(a) - np.mean(d))
    mean, lo, hi = c.advice_interval
    assert mean == pytest.approx(np.mean(a)) and lo < mean < hi


@pytest.mark.parametrize(
    ("advice", "default", "decision"),
    [
        ([1.0, 1.1, 0.9, 1.05], [2.0, 2.1, 1.9, 2.05], HELPED),
        ([2.0, 2.1, 1.9, 2.05], [1.0, 1.1, 0.9, 1.05], NOT_HELPED),
        ([1.0, 2.0, 1.5, 1.2], [1.1, 1.9, 1.4, 1.3], UNCLEAR),
        ([1.0, 1.0], [1.0, 1.0], UNCLEAR),  # identical sides: nothing to tell apart
        ([1.0, 1.0], [2.0, 2.0], HELPED),  # both constant: the difference is known
    ],
)
def test_decisions(advice, default, decision):
    assert compare("x", advice, default).decision == decision


def test_a_side_with_one_run_or_a_nan_is_refused():
    with pytest.raises(DataError, match="at least 2 runs"):
        compare("x", [1.0], [1.0, 2.0])
    with pytest.raises(DataError, match="finite"):
        compare("x", [1.0, float("nan")], [1.0, 2.0])


def test_coverage_of_the_difference_at_no_effect():
    """At equal means the decision says "could not be told apart" about 95% of the time."""
    rng = np.random.default_rng(0)
    decisions = [compare("x", rng.normal(1, 0.3, 4), rng.normal(1, 0.6, 4)).decision for _ in range(2000)]
    wrong = 1 - decisions.count(UNCLEAR) / len(decisions)
    assert 0.02 < wrong < 0.08
