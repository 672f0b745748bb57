"""empirical.compare against closed forms."""

import numpy as np
import pytest

import theory
from empirical.compare import bind, bound_assumption_checks, fit_rate, observed_average, running_average
from empirical.errors import ConfigError
from empirical.estimators.results import Estimate

STEPS = 1000
F = 5.0 * (np.arange(STEPS + 1) + 1.0) ** -0.7  # a known decreasing sequence f(k)


def _records(every=50, extra=(1, 2, 3, 5, 10, 20)):
    ks = np.unique(np.concatenate([np.arange(0, STEPS + 1, every), np.asarray(extra, dtype=int), [STEPS]]))
    return ks, F[ks]


def test_observed_average_brackets_the_true_average():
    ks, vals = _records()
    obs = observed_average(ks, vals, STEPS)
    truth = F[:STEPS].mean()
    assert obs.lo <= truth <= obs.hi
    assert obs.hi - obs.lo < 0.3 * truth


def test_observed_average_exact_when_every_step_is_recorded():
    ks = np.arange(STEPS + 1)
    obs = observed_average(ks, F, STEPS)
    assert obs.hi == pytest.approx(F[:STEPS].mean(), rel=1e-12)


def test_observed_average_subtracts_bias_and_needs_endpoints():
    ks, vals = _records()
    assert observed_average(ks, vals + 0.5, STEPS, bias=0.5).mean == pytest.approx(
        observed_average(ks, vals, STEPS).mean
    )
    with pytest.raises(ConfigError):
        observed_average(ks[1:], vals[1:], STEPS)


def test_fit_rate_recovers_a_power_law():
    ks = np.unique(np.geomspace(1, STEPS, 60).astype(int))
    ks = np.concatenate([[0], ks])
    vals = 3.0 * (ks + 1.0) ** -0.4
    fit = fit_rate(ks, vals, STEPS, "n**(-2/5)", -0.4, skip_fraction=0.05)
    # the running average of (k+1)^-0.4 is n^-0.4 / 0.6 + O(1/n): slope -0.4 up to that term
    assert abs(fit.exponent + 0.4) < 0.03 and fit.lo <= fit.exponent <= fit.hi


def test_running_average_with_every_step_recorded():
    ks, vals = _records(every=1, extra=())
    ns, avg = running_average(ks, vals, STEPS)
    np.testing.assert_allclose(avg[-1], ((F[:-1] + F[1:]) / 2).mean(), rtol=1e-12)


def _est(v, lo, hi):
    return Estimate(v, lo, hi, 0.95, "test")


def test_bind_takes_the_end_that_makes_the_bound_larger():
    b = theory.bound("gaussian", "sgd", expand=False)
    est = {
        "L": _est(2.0, 1.5, 2.5),
        "sigma2_data": _est(1.0, 0.5, 1.5),
        "sigma2_mc": _est(1.0, 0.5, 1.5),
        "Delta": _est(3.0, 2.0, 4.0),
    }
    fixed = {"B": 8, "K": 2, "C_gamma": 0.1, "n": 100}
    binding = bind(b, est, fixed)
    assert binding.ends == {"L": "hi", "sigma2_data": "hi", "sigma2_mc": "hi", "Delta": "hi"}
    values = {**fixed, **{k: e.hi for k, e in est.items()}}
    assert binding.value == pytest.approx(b.evaluate(**values))
    assert all(c.status == "holds" for c in bound_assumption_checks(b, binding))


def test_bind_reports_a_broken_step_condition_instead_of_raising():
    b = theory.bound("gaussian", "sgd", expand=False)
    est = {k: _est(1.0, 1.0, 1.0) for k in ("L", "sigma2_data", "sigma2_mc", "Delta")}
    binding = bind(b, est, {"B": 8, "K": 1, "C_gamma": 5.0, "n": 100})  # C_gamma > 1/L
    checks = {c.name: c for c in bound_assumption_checks(b, binding)}
    assert checks["step size"].status == "fails" and "C_gamma" in checks["step size"].evidence
    assert np.isfinite(binding.value)


def test_bind_names_missing_constants():
    b = theory.bound("gaussian", "sgd", expand=False)
    with pytest.raises(ConfigError, match="sigma2_mc"):
        bind(b, {"L": _est(1, 1, 1)}, {"B": 1, "K": 1, "C_gamma": 0.1, "n": 10, "Delta": 1, "sigma2_data": 1})


def test_bind_takes_the_larger_end_where_the_bound_is_not_monotone():
    # the SGD bound is convex in C_gamma: decreasing at 0.01, increasing at 1 (L = 1)
    b = theory.bound("generic", "sgd")
    est = {"C_gamma": _est(0.5, 0.01, 1.0)}  # increasing at the point, yet the lo end is larger
    fixed = {"L": 1.0, "sigma2": 10.0, "Delta": 1.0, "n": 100}
    binding = bind(b, est, fixed)
    ends = {side: b.evaluate(**fixed, C_gamma=getattr(est["C_gamma"], side)) for side in ("lo", "hi")}
    assert binding.ends["C_gamma"] == max(ends, key=ends.get)
    assert binding.value == pytest.approx(max(ends.values()))
