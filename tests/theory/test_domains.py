"""Where a bound's expression leaves its domain, every entry point refuses (docs/theory.md,
"Evaluating a bound"): evaluate, numpy, attribution and iterations_to_reach. One test per
reported case."""

from __future__ import annotations

import math

import numpy as np
import pytest

import theory
from theory import rates
from theory.assumptions import Constraint
from theory.checks import TOLERANCE, holds
from theory.symbols import beta1, n

DEFOSSEZ = theory.bound("generic", "adam", "defossez")
#: The reported case: torch's default betas, the default run's constants, n = 9 = beta1/(1 - beta1).
REPORTED = dict(n=9, d=9936, R=5.14, L=84.4, Delta=15.4, alpha_step=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)


def test_defossez_at_n_equal_to_beta1_over_one_minus_beta1_is_refused_everywhere():
    """N~ = N - beta1/(1 - beta1) is 0 there (-1.8e-15 in floats, which gave -1.70e25)."""
    assert REPORTED["n"] - 0.9 / (1 - 0.9) < 0  # the float N~ is negative
    message = r"\[hyperparameters\] horizon N > beta1/\(1 - beta1\), so N~ > 0"
    with pytest.raises(theory.AssumptionViolation, match=message):
        DEFOSSEZ.evaluate(**REPORTED)
    with pytest.raises(theory.AssumptionViolation, match=message):
        DEFOSSEZ.numpy()(**REPORTED)
    with pytest.raises(theory.AssumptionViolation, match=message):
        theory.attribution(DEFOSSEZ, **REPORTED)
    masked = DEFOSSEZ.numpy().masked(**{**REPORTED, "n": np.arange(1.0, 13.0)})
    assert masked.valid.tolist() == [False] * 9 + [True] * 3
    assert np.all(masked.value[9:] > 0) and np.isnan(masked.value[:9]).all()
    assert DEFOSSEZ.evaluate(**{**REPORTED, "n": 10}) > 0


def test_iterations_to_reach_starts_where_defossez_holds_and_is_monotone_in_the_target():
    """It returned 9 for every target from 0.1 to 1e30. With a constant beta2 the bound falls
    to about 1.06e6: targets below are never reached (a TheoryError naming the value at 2^200);
    above, the answer starts at 10 (the first admissible n) and falls as the target grows."""
    values = {k: v for k, v in REPORTED.items() if k != "n"}
    limit = DEFOSSEZ.evaluate(n=10**9, **values)
    assert 1.0e6 < limit < 1.1e6
    for target in (0.1, 1e6):
        with pytest.raises(theory.TheoryError, match="does not reach"):
            rates.iterations_to_reach(DEFOSSEZ, target, **values)
    targets = (1.1e6, 2e6, 1e7, 1e9, 1e12, 1e30)
    found = [rates.iterations_to_reach(DEFOSSEZ, t, **values) for t in targets]
    assert found == sorted(found, reverse=True) and found[-1] == 10 and len(set(found)) > 3
    for t, m in zip(targets, found, strict=True):
        assert DEFOSSEZ.evaluate(n=m, **values) <= t
        if m > 10:
            assert DEFOSSEZ.evaluate(n=m - 1, **values) > t


def test_numpy_refuses_what_evaluate_refuses():
    """numpy() returned a number (1.16 in the report) where evaluate raised: generic SGD at
    C_gamma = 1 > 1/L."""
    b = theory.bound()
    values = dict(n=100, L=4.0, sigma2=0.5, Delta=1.0, C_gamma=1.0)
    with pytest.raises(theory.AssumptionViolation, match=r"\[step-size\]") as scalar:
        b.evaluate(**values)
    with pytest.raises(theory.AssumptionViolation, match=r"\[step-size\]") as vector:
        b.numpy()(**values)
    assert "C_gamma <= 1/L fails (1 > 0.25)" in str(scalar.value) and "C_gamma <= 1/L fails" in str(
        vector.value
    )
    assert math.isfinite(b.numpy().raw(**values))  # the expression, outside the theorem, on request


@pytest.mark.parametrize(
    "key, values, match",
    [
        (
            ("generic", "adam", "defossez"),
            {**REPORTED, "n": 100, "beta1": 0.5, "beta2": 0.5},
            "beta1 < beta2",
        ),
        (
            ("generic", "adam", "defossez-horizon"),
            dict(n=1, d=10, R=1.0, L=1.0, Delta=1.0, C_gamma=0.1, beta1=0.0, eps=1e-8),
            "beta1 < beta2 = 1 - 1/n",
        ),
        (
            ("generic", "sgd", "projected"),
            dict(L=2.0, sigma2=1.0, Delta=1.0, S1=5.0, gamma_max=1.0),
            "gamma_max < 2/L",
        ),
        (
            ("generic", "adam", ""),
            dict(n=10, L=1.0, sigma2=1.0, Delta=1.0, C_gamma=1e-20, R=1.0, eps=1e-8, beta1=0.5, beta2=0.25),
            "beta1 < sqrt",
        ),  # fmt: skip
    ],
)
def test_strict_conditions_refuse_their_boundary(key, values, match):
    """beta1 = beta2 made 1 - beta1/beta2 = 0 (an infinite Défossez bound); beta2 = 1 - 1/n = 0 at
    n = 1 made log(beta2) infinite; gamma_max = 2/L made 1 - L gamma_max/2 = 0; the seed paper
    asks beta1 < sqrt(beta2) strictly."""
    b = theory.bound(*key)
    for call in (lambda: b.evaluate(**values), lambda: b.numpy()(**values)):
        with pytest.raises(theory.AssumptionViolation, match=match):
            call()


def test_a_strict_constraint_keeps_a_margin_beyond_rounding():
    strict = Constraint(beta1 / (1 - beta1), n, "N~ > 0", strict=True)
    assert strict.violation({"beta1": 0.9, "n": 9}) is not None
    assert strict.violation({"beta1": 0.9, "n": 10}) is None
    assert holds(1.0, 1.0) and holds(1.0 + 0.5 * TOLERANCE, 1.0) and not holds(1.0, 1.0, strict=True)
    assert not holds(1.0 - 0.5 * TOLERANCE, 1.0, strict=True) and holds(1.0 - 2 * TOLERANCE, 1.0, strict=True)
    assert str(strict.relation()) == "beta1/(1 - beta1) < n"


def test_evaluate_refuses_a_negative_value_as_a_last_resort():
    """Were a domain left unencoded, a negative value would be refused, not returned."""
    b = theory.bound().substitute(Delta=-100.0)  # a bound made negative by hand
    values = dict(n=100, L=1.0, sigma2=0.0, C_gamma=0.5)
    with pytest.raises(theory.AssumptionViolation, match="not a finite number >= 0"):
        b.evaluate(**values)
    with pytest.raises(theory.AssumptionViolation, match="not a finite number >= 0"):
        b.numpy()(**values)
    masked = b.numpy().masked(**values)
    assert not masked.valid and "not a finite number" in masked.reasons[0][0]


def test_evaluate_agrees_with_numpy_beyond_the_square_root_of_the_largest_float():
    """At eps = 1.35e154 an intermediate square overflows: as Python floats that raised, the
    step limit became NaN and evaluate refused a valid point ("fails (0.00119 > nan)") that
    numpy() accepted; both now compute in numpy floats (an overflow is inf)."""
    b = theory.bound("generic", "adam")
    values = dict(Delta=1.0, L=2.0, R=2.0, beta1=0.5, eps=1.35e154, n=100, sigma2=1.0, C_gamma=3.375e153)
    assert b.evaluate(**values) == b.numpy()(**values) == pytest.approx(1.6)
