"""Every input a user gives the theory is checked at the edge: a typed error
naming the input, the value and what is allowed."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

import theory
from theory import rates

VALUES = {"n": 1000, "L": 2.0, "sigma2": 0.5, "Delta": 3.0, "C_gamma": 0.25}
GAUSSIAN = theory.bound("gaussian", "sgd", expand=False)
GAUSSIAN_VALUES = dict(L=5, Delta=1, sigma2_data=1, sigma2_mc=2, B=8, K=2, n=100, C_gamma=0.1)


@pytest.mark.parametrize(
    "bad, pattern",
    [
        ({"L": "2"}, "L must be a real number, got '2'"),
        ({"n": True}, "n must be a real number, got True"),
        ({"n": 10**400}, r"n = 1000.* is too large: it must be a finite number below 1.8e308"),
        ({"n": 10.5}, "n must be an integer >= 1, got 10.5"),
        ({"n": -1}, "n must be an integer >= 1, got -1"),
        ({"sigma2": complex(1, 1)}, "sigma2 must be a real number"),
        ({"Delta": float("nan")}, "Delta must be a finite number >= 0, got NaN"),
        ({"L": np.float64("inf")}, "L must be a finite number > 0, got inf"),
    ],
)
def test_evaluate_rejects_bad_values(bad, pattern):
    with pytest.raises(theory.AssumptionViolation, match=pattern):
        theory.bound().evaluate(**{**VALUES, **bad})


def test_integer_symbols_need_integral_values():
    assert GAUSSIAN.evaluate(**GAUSSIAN_VALUES) > 0
    assert GAUSSIAN.evaluate(**{**GAUSSIAN_VALUES, "B": 8.0, "n": np.int64(100)}) > 0
    for name in ("B", "K", "n"):
        with pytest.raises(theory.AssumptionViolation, match=f"{name} must be an integer >= 1, got 2.5"):
            GAUSSIAN.evaluate(**{**GAUSSIAN_VALUES, name: 2.5})


def test_numpy_checks_names_and_domains():
    f = theory.bound().numpy()
    good = {k: np.array([v, v]) for k, v in VALUES.items()}
    assert f(**good).shape == (2,)
    with pytest.raises(theory.UnknownNameError, match="sigma_2"):
        f(**good, sigma_2=1.0)
    with pytest.raises(theory.MissingConstantError, match="Delta"):
        f(**{k: v for k, v in good.items() if k != "Delta"})
    with pytest.raises(theory.AssumptionViolation, match="n must be an integer >= 1, got -1.0"):
        f(**{**good, "n": np.array([10.0, -1.0])})
    with pytest.raises(theory.AssumptionViolation, match="sigma2 must be a finite number >= 0, got NaN"):
        f(**{**good, "sigma2": np.array([np.nan, 1.0])})
    with pytest.raises(theory.AssumptionViolation, match="L must be real numbers"):
        f(**{**good, "L": np.array([True, False])})
    with pytest.raises(theory.AssumptionViolation, match="too large"):
        f(**{**good, "n": 10**400})
    # the theorem's constraints are checked at every point, as evaluate does (C_gamma <= 1/L = 0.5)
    with pytest.raises(theory.AssumptionViolation, match=r"\[step-size\].*C_gamma <= 1/L fails.*index 1"):
        f(**{**good, "C_gamma": np.array([0.1, 1.0])})
    with pytest.raises(theory.AssumptionViolation, match="C_gamma"):
        theory.bound().check_arrays({**good, "C_gamma": np.array([0.1, 1.0])})
    # ... masked: NaN there, with the mask and the reason; raw: the theorem's conditions left aside
    masked = f.masked(**{**good, "C_gamma": np.array([0.1, 1.0])})
    assert masked.valid.tolist() == [True, False] and np.isnan(masked.value[1])
    assert masked.value[0] == f(**{**good, "C_gamma": 0.1})[0]
    assert "C_gamma <= 1/L" in masked.reasons[0][0] and masked.reasons[0][1].tolist() == [False, True]
    assert np.isfinite(f.raw(**{**good, "C_gamma": np.array([1.0, 1.0])})).all()


def test_positional_numpy_is_checked_too():
    f = theory.bound().numpy()
    values = [VALUES[a] for a in f.args]
    assert np.isfinite(f(*values))
    with pytest.raises(theory.AssumptionViolation):
        f(*[(-1.0 if a == "n" else VALUES[a]) for a in f.args])
    with pytest.raises(theory.TheoryError, match="expected"):
        f(1.0)


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (lambda b: rates.iterations_to_reach(b, "x", **VALUES), theory.AssumptionViolation, "target"),
        (
            lambda b: rates.iterations_to_reach(b, -1.0, L=1, sigma2=1, Delta=1),
            theory.AssumptionViolation,
            "target",
        ),
        (
            lambda b: rates.iterations_to_reach(b, 0.1, L=-1, sigma2=1, Delta=1),
            theory.AssumptionViolation,
            "L must",
        ),
        (lambda b: rates.iterations_to_reach(b, 0.1, Lip=1), theory.UnknownNameError, "Lip"),
        (lambda b: rates.iterations_to_reach(b, 0.1, L=1, sigma2=1), theory.MissingConstantError, "Delta"),
        (
            lambda b: rates.optimal_step_constant(b, {"L": "big"}),
            theory.AssumptionViolation,
            "L must be a real",
        ),
        (lambda b: rates.optimal_step_constant(b, [1, 2]), theory.TheoryError, "mapping"),
        (lambda b: rates.derivative_sign(b, "L", values={"L": -1}), theory.AssumptionViolation, "L must"),
        (
            lambda b: rates.iterations_grid(b, 0.1, [1, 2.5], [1], L=1),
            theory.AssumptionViolation,
            "batch_sizes",
        ),
        (lambda b: rates.iterations_grid(b, 0.1, 4, [1], L=1), theory.TheoryError, "batch_sizes"),
        (lambda b: rates.compute_tradeoff(b, True, 0.1), theory.AssumptionViolation, "compute"),
        (lambda b: rates.budget_tradeoff(b, 0), theory.AssumptionViolation, "budget"),
        (lambda b: rates.budget_tradeoff(b, 100, n=3), theory.TheoryError, "sets n"),
    ],
)
def test_rates_reject_bad_input(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call(theory.bound())


def test_iterations_to_reach_tunes_the_step_when_it_is_not_given():
    b = theory.bound()
    values = {"L": 2.0, "sigma2": 0.5, "Delta": 3.0}
    m = rates.iterations_to_reach(b, 0.1, **values)

    def at_best(steps):
        c = float(rates.optimal_step_constant(b, {**values, "n": steps}))
        return b.evaluate(n=steps, C_gamma=c, **values)

    assert at_best(m) <= 0.1 < at_best(m - 1)
    assert m <= rates.iterations_to_reach(b, 0.1, C_gamma=0.25, **values)


def test_budget_tradeoff():
    values = dict(L=10, Delta=5, sigma2_data=1, sigma2_mc=4, C_gamma=0.05)
    out = rates.budget_tradeoff(GAUSSIAN, 4096, **values)
    assert not out.tuned and out.budget == 4096
    assert out.best == out.points[0] and out.best.value == min(p.value for p in out.points)
    for p in out.points:
        assert p.n == 4096 // (p.B * p.K) >= 1
        assert p.value == pytest.approx(GAUSSIAN.evaluate(B=p.B, K=p.K, n=p.n, **values))
    # with sigma2_mc/(B K) and sigma2_data/B, K buys nothing B does not: K = 1 is best
    assert out.best.K == 1
    n_free = out.expr.subs({"B": 8, "K": 2})
    assert "n" not in {s.name for s in out.expr.free_symbols} and n_free.has(theory.symbols.C_gamma)
    tuned = rates.budget_tradeoff(
        GAUSSIAN, 4096, batch_sizes=[4, 16], samples=[1, 2], L=10, Delta=5, sigma2_data=1, sigma2_mc=4
    )
    assert tuned.tuned and len(tuned.points) == 4


@pytest.mark.parametrize("given", [np.array(3.0), Decimal("3")])
def test_evaluate_takes_a_zero_dimensional_array_and_a_decimal_as_their_number(given):
    b = theory.bound()
    assert (
        b.evaluate(**{**VALUES, "Delta": given})
        == b.evaluate(**VALUES)
        == b.numpy()(**{**VALUES, "Delta": given})
    )


def test_a_decimal_nan_is_refused_like_a_float_nan():
    with pytest.raises(theory.AssumptionViolation, match="Delta must be a finite number >= 0, got NaN"):
        theory.bound().evaluate(**{**VALUES, "Delta": Decimal("NaN")})
