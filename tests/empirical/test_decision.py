"""empirical.decide: the verdicts, their exit codes, the refusals, and the
rule's error rates measured on seeded simulations of thousands of
verifications (docs/decision.md).

The simulations use :func:`empirical.mean_interval.interval_ends` and
:func:`empirical.decision.rule` on many sets of runs at once, the two
functions :func:`empirical.decision.assess` calls for one set;
``test_assess_is_the_vectorised_rule`` checks that they agree.
Each rate is asserted with a margin of 3 binomial standard errors.
"""

import functools
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import empirical
from empirical.decision import ONE_RUN, Decision, Verdict, assess, decide, rule
from empirical.errors import ConfigError, DataError
from empirical.mean_interval import interval_ends

SIMS = 16000  # per cell: binomial standard error 0.12 % at 2.5 %, 0.20 % at 7 %


@functools.cache
def simulated(kind: str, spread: float, runs: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(lo, hi, truth) of SIMS seeded verifications of R = runs values: normal
    with mean 1 and CV ``spread`` or lognormal with sigma_log ``spread``."""
    rng = np.random.default_rng([{"normal": 1, "lognormal": 2}[kind], round(spread * 100), runs])
    if kind == "normal":
        values, truth = rng.normal(1.0, spread, (SIMS, runs)), 1.0
    else:
        values, truth = rng.lognormal(0.0, spread, (SIMS, runs)), math.exp(spread**2 / 2)
    lo, hi, _, _ = interval_ends(values, values, 0.95)
    return lo, hi, truth


def se(p: float) -> float:
    return math.sqrt(p * (1 - p) / SIMS)


def rate(verdicts: np.ndarray, verdict: Verdict) -> float:
    return float(np.mean(verdicts == verdict))


GRID = [
    (k, s, r)
    for k, s in (("normal", 0.1), ("normal", 0.3), ("lognormal", 0.3), ("lognormal", 0.8))
    for r in (4, 8)
]


# ------------------------------------------------------------------- verdicts


def test_verdicts_exit_codes_and_texts():
    assert {v.name: (v.exit_code, v.text) for v in Verdict} == {
        "HOLDS": (0, "holds at the estimated constants"),
        "VIOLATED": (1, "violated"),
        "NOT_COVERED": (3, "not covered"),
        "INCONCLUSIVE": (4, "inconclusive"),
    }


def test_the_public_rule_without_torch():
    code = (
        "import sys, empirical; v = empirical.decide(2.0, [1.0, 1.1, 0.9, 1.05]); "
        "assert v is empirical.Verdict.HOLDS and v.exit_code == 0; "
        "assert 'torch' not in sys.modules, 'empirical.decide imported torch'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert empirical.decide is decide and empirical.assess is assess and empirical.Decision is Decision


def test_holds_violated_inconclusive_and_their_reasons():
    runs = [1.0, 1.1, 0.9, 1.05]
    held = assess(2.0, runs)
    assert held.verdict is Verdict.HOLDS and held.exit_code == 0 and held.hi <= 2.0
    assert held.mean == pytest.approx(1.0125) and held.runs == 4 and held.confidence == 0.95
    assert "upper end" in held.reasons[0] and "Student-t" in held.method and "Krishnamoorthy" in held.method
    assert decide(0.5, runs) is Verdict.VIOLATED and assess(0.5, runs).lo > 0.5
    inside = assess(1.0125, runs)
    assert inside.verdict is Verdict.INCONCLUSIVE and inside.exit_code == 4 and inside.lo < 1.0125 < inside.hi
    assert "inside the interval" in inside.reasons[0]


def test_not_covered_keeps_the_comparison():
    d = assess(2.0, [1.0, 1.1, 0.9, 1.05], covered=False)
    assert d.verdict is Verdict.NOT_COVERED and d.exit_code == 3 and d.comparison is Verdict.HOLDS
    assert "for reference" in d.reasons[0] and d.hi <= 2.0
    assert decide(0.5, [1.0, 1.1], covered=False) is Verdict.NOT_COVERED


def test_one_run_never_holds_or_violates():
    rng = np.random.default_rng(3)
    for value, bound in zip(rng.lognormal(0, 2, 300), rng.lognormal(0, 2, 300), strict=True):
        d = assess(float(bound), [float(value)])
        assert d.verdict is Verdict.INCONCLUSIVE and d.reasons[0] == ONE_RUN and "reference" in d.reasons[1]
        assert d.lo == d.hi == d.mean == float(value)
    d = assess(1e6, [(0.9, 1.2)])  # its bracket is reported as the interval
    assert (d.verdict, d.lo, d.hi, d.mean) == (Verdict.INCONCLUSIVE, 0.9, 1.2, 1.05)
    assert assess(1e6, [1.0], covered=False).verdict is Verdict.NOT_COVERED


def test_upper_brackets_decide_holds_and_lower_brackets_violated():
    points = [1.0, 1.1, 0.9, 1.05]
    assert decide(1.6, points) is Verdict.HOLDS
    wide_up = [(p, 1.5 * p) for p in points]  # same lower ends, upper ends raised
    assert decide(1.6, wide_up) is Verdict.INCONCLUSIVE
    assert assess(1.6, wide_up).lo == assess(1.6, points).lo
    assert assess(1.6, wide_up).hi == assess(1.6, [1.5 * p for p in points]).hi
    assert decide(0.7, points) is Verdict.VIOLATED
    wide_down = [(0.5 * p, p) for p in points]  # same upper ends, lower ends lowered
    assert decide(0.7, wide_down) is Verdict.INCONCLUSIVE
    assert assess(0.7, wide_down).hi == assess(0.7, points).hi
    assert assess(0.7, wide_down).lo == assess(0.7, [0.5 * p for p in points]).lo
    as_array = np.array(wide_down)  # an (R, 2) array is the same as a sequence of pairs
    assert assess(0.7, as_array) == assess(0.7, wide_down)


def test_ends_are_unclipped():
    d = assess(1.0, [0.001, 0.5, 0.002, 0.3])
    assert d.lo < 0 and "unclipped" in d.method


RANK = {Verdict.VIOLATED: 0, Verdict.INCONCLUSIVE: 1, Verdict.HOLDS: 2}
values = st.lists(st.floats(1e-3, 1e3), min_size=2, max_size=8)


@given(values, st.floats(1e-3, 1e4), st.floats(1.0, 100.0))
def test_a_larger_bound_never_gives_a_worse_verdict(runs, bound, factor):
    assert RANK[decide(bound, runs)] <= RANK[decide(bound * factor, runs)]


@given(values, st.floats(1e-3, 1e4), st.floats(1.0, 100.0))
def test_larger_values_never_give_a_better_verdict(runs, bound, factor):
    assert RANK[decide(bound, [v * factor for v in runs])] <= RANK[decide(bound, runs)]


def test_assess_is_the_vectorised_rule():
    rng = np.random.default_rng(4)
    sets = rng.lognormal(0.0, 0.6, (150, 4))
    bounds = rng.lognormal(0.5, 0.5, 150)
    lo, hi, _, _ = interval_ends(sets, sets, 0.95)
    verdicts = rule(lo, hi, bounds)
    for i in range(150):
        d = assess(float(bounds[i]), sets[i])
        assert d.verdict is verdicts[i]
        assert d.lo == pytest.approx(lo[i], rel=1e-12) and d.hi == pytest.approx(hi[i], rel=1e-12)


@pytest.mark.parametrize(
    "per_run, error",
    [
        ([], DataError),
        ([1.0, float("nan")], DataError),
        ([1.0, float("inf")], DataError),
        ([1.0, (2.0, 1.0)], DataError),
        ([1.0, None], DataError),
        ([1.0, True], DataError),
        ([1.0, (1.0, 2.0, 3.0)], DataError),
        ("1.0", DataError),
        (1.0, DataError),
    ],
)
def test_bad_runs_are_refused(per_run, error):
    with pytest.raises(error):
        decide(1.0, per_run)


@pytest.mark.parametrize(
    "bound, kwargs",
    [
        (float("nan"), {}),
        (float("inf"), {}),
        ("1", {}),
        (1.0, {"confidence": -0.95}),
        (1.0, {"confidence": 0.0}),
        (1.0, {"confidence": 1.0}),
        (1.0, {"confidence": 95}),
        (1.0, {"covered": "no"}),
    ],
)
def test_bad_options_are_refused(bound, kwargs):
    with pytest.raises(ConfigError):
        decide(bound, [1.0, 2.0], **kwargs)


# --------------------------------------------------------- measured error rates


@pytest.mark.parametrize("kind, spread, runs", GRID)
def test_each_end_errs_at_most_its_nominal_level(kind, spread, runs):
    """The upper end below the truth, and the lower end above it, each at most 2.5 %."""
    lo, hi, truth = simulated(kind, spread, runs)
    assert np.mean(hi < truth) <= 0.025 + 3 * se(0.025)
    assert np.mean(lo > truth) <= 0.025 + 3 * se(0.025)


def test_the_coverage_check_fails_student_t_alone():
    """The check above has teeth: the Student-t upper end alone errs on lognormal runs."""
    rng = np.random.default_rng([11, 80, 4])
    x = rng.lognormal(0.0, 0.8, (SIMS, 4))
    t_hi = x.mean(1) + stats.t.ppf(0.975, 3) * x.std(1, ddof=1) / 2
    assert np.mean(t_hi < math.exp(0.32)) > 0.025 + 3 * se(0.025)


@pytest.mark.parametrize("kind, spread, runs", GRID)
def test_wrong_verdicts_at_truth_equal_bound(kind, spread, runs):
    lo, hi, truth = simulated(kind, spread, runs)
    verdicts = rule(lo, hi, truth)
    assert rate(verdicts, Verdict.HOLDS) + 3 * se(0.07) <= 0.07
    assert rate(verdicts, Verdict.VIOLATED) + 3 * se(0.07) <= 0.07


@pytest.mark.parametrize("runs", [4, 8])
def test_holds_at_half_the_bound(runs):
    lo, hi, truth = simulated("normal", 0.1, runs)
    assert rate(rule(lo, hi, 2 * truth), Verdict.HOLDS) - 3 * se(0.95) >= 0.95


@pytest.mark.parametrize("runs", [4, 8])
def test_violated_at_1_3_times_the_bound(runs):
    """Normal runs with CV 10 % (wider or skewed runs need more runs: docs/decision.md)."""
    lo, hi, truth = simulated("normal", 0.1, runs)
    assert rate(rule(lo, hi, truth / 1.3), Verdict.VIOLATED) - 3 * se(0.80) >= 0.80
