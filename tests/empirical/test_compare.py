"""empirical.compare against closed forms and brute-force sums."""

import numpy as np
import pytest
from scipy import stats

import theory
from empirical.compare import bind, brackets, fit_rate, observe, running_averages
from empirical.errors import ConfigError
from empirical.estimators.results import Estimate
from theory.lhs import MOMENTUM_WEIGHTED, STEP_WEIGHTED, UNIFORM

STEPS = 1000
F = 5.0 * (np.arange(STEPS + 1) + 1.0) ** -0.7  # a known decreasing sequence f(k)
GAMMAS = 0.1 / np.sqrt(np.arange(1, STEPS + 1))


def _records(every=50, extra=(1, 2, 3, 5, 10, 20)):
    ks = np.unique(np.concatenate([np.arange(0, STEPS + 1, every), np.asarray(extra, dtype=int), [STEPS]]))
    return ks, F[ks]


WEIGHTS = {
    "uniform": UNIFORM.weights(STEPS),
    "step-weighted": STEP_WEIGHTED.weights(STEPS, GAMMAS),
    "momentum": MOMENTUM_WEIGHTED.weights(STEPS, beta1=0.9),
}


@pytest.mark.parametrize("name", sorted(WEIGHTS))
def test_brackets_contain_the_weighted_average(name):
    w = WEIGHTS[name]
    truth = float(np.sum(w * F[:STEPS]))  # brute force: sum_j w_j f(j)
    ks, vals = _records()
    left, right = brackets(ks, vals[None], w)
    assert min(left[0], right[0]) <= truth <= max(left[0], right[0])
    assert abs(left[0] - right[0]) < 0.3 * truth


@pytest.mark.parametrize("name", sorted(WEIGHTS))
def test_every_index_recorded_gives_the_exact_sum(name):
    w = WEIGHTS[name]
    truth = float(np.sum(w * F[:STEPS]))
    for ks in (np.arange(STEPS + 1), np.arange(STEPS)):  # with or without theta_n (gradient mapping)
        left, right = brackets(ks, F[ks][None], w)
        assert left[0] == pytest.approx(truth, rel=1e-12) and right[0] == pytest.approx(truth, rel=1e-12)


def test_weights_are_the_theorems_brute_force():
    j = np.arange(STEPS)
    np.testing.assert_allclose(WEIGHTS["uniform"], np.full(STEPS, 1 / STEPS))
    np.testing.assert_allclose(WEIGHTS["step-weighted"], GAMMAS / GAMMAS.sum())
    tau = 1 - 0.9 ** (STEPS - j)
    np.testing.assert_allclose(WEIGHTS["momentum"], tau / tau.sum())


def test_observe_over_runs_is_the_decision_rules_interval():
    """Over runs: the rule's interval (empirical.mean_interval.interval_ends) of the lower and upper
    brackets, at least as wide as the Student-t one on each side, unclipped; the brackets are what
    empirical.decision.assess takes."""
    from empirical.decision import assess
    from empirical.mean_interval import interval_ends

    rng = np.random.default_rng(0)
    ks, vals = _records()
    runs = vals[None] * rng.uniform(0.8, 1.2, size=(5, 1))
    w = WEIGHTS["uniform"]
    obs = observe(ks, runs, w, "grad_norm_sq", confidence=0.9)
    left, right = brackets(ks, runs, w)
    lower, upper = np.minimum(left, right), np.maximum(left, right)
    t = stats.t.ppf(0.95, 4)
    lo, hi, _, _ = interval_ends(lower[None], upper[None], 0.9)
    assert obs.value == pytest.approx(((left + right) / 2).mean())
    assert (obs.lo, obs.hi) == (float(lo[0]), float(hi[0]))
    assert obs.lo <= lower.mean() - t * lower.std(ddof=1) / np.sqrt(5) + 1e-12
    assert obs.hi >= upper.mean() + t * upper.std(ddof=1) / np.sqrt(5) - 1e-12
    assert obs.per_run == pytest.approx(tuple((left + right) / 2)) and obs.runs == 5 and obs.covers_runs
    assert "Student-t" in obs.method and "Krishnamoorthy" in obs.method and "unclipped" in obs.method
    d = assess(1.0, obs.brackets, confidence=0.9)
    assert (d.lo, d.hi) == (obs.lo, obs.hi)


def test_one_run_interval_is_its_bracket():
    ks, vals = _records()
    obs = observe(ks, vals[None], WEIGHTS["uniform"], "grad_norm_sq")
    left, right = brackets(ks, vals[None], WEIGHTS["uniform"])
    assert (obs.lo, obs.hi) == pytest.approx((min(left[0], right[0]), max(left[0], right[0])))
    assert not obs.covers_runs and "not run-to-run spread" in obs.method


def test_records_must_start_at_zero_and_be_finite():
    ks, vals = _records()
    with pytest.raises(ConfigError, match="index 0"):
        brackets(ks[1:], vals[None, 1:], WEIGHTS["uniform"])
    with pytest.raises(ConfigError, match="before the last index"):
        brackets(ks[:-3], vals[None, :-3], WEIGHTS["uniform"])
    bad = vals.copy()
    bad[3] = np.nan
    with pytest.raises(ConfigError, match="finite"):
        brackets(ks, bad[None], WEIGHTS["uniform"])


def test_running_averages_are_the_average_at_each_horizon():
    ks, vals = _records()
    horizons, avg = running_averages(ks, vals[None], lambda m: STEP_WEIGHTED.weights(m, GAMMAS[:m]))
    assert list(horizons) == list(ks[1:])
    for t, m in enumerate(ks[1:]):
        keep = ks <= m
        left, right = brackets(ks[keep], vals[None, keep], STEP_WEIGHTED.weights(int(m), GAMMAS[:m]))
        assert avg[0, t] == pytest.approx((left[0] + right[0]) / 2)
    exact = running_averages(np.arange(STEPS + 1), F[None], UNIFORM.weights)[1]
    assert exact[0, -1] == pytest.approx(F[:STEPS].mean(), rel=1e-12)


def test_fit_rate_recovers_a_power_law():
    ns = np.unique(np.geomspace(1, STEPS, 60).astype(int)).astype(float)
    fit = fit_rate(ns, 3.0 * ns**-0.4, STEPS, "n**(-2/5)", -0.4, skip_fraction=0.05)
    assert fit.exponent == pytest.approx(-0.4, abs=1e-9) and fit.lo <= fit.exponent <= fit.hi
    assert np.isnan(fit_rate(ns[:2], ns[:2], STEPS, "1", 0.0).exponent)


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
    assert binding.value == pytest.approx(b.evaluate(**values)) and not binding.violations


def test_bind_reports_a_broken_step_condition_instead_of_raising():
    b = theory.bound("gaussian", "sgd", expand=False)
    est = {k: _est(1.0, 1.0, 1.0) for k in ("L", "sigma2_data", "sigma2_mc", "Delta")}
    binding = bind(b, est, {"B": 8, "K": 1, "C_gamma": 5.0, "n": 100})  # C_gamma > 1/L
    assert [v.id for v in binding.violations] == ["step-size"]
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


def test_one_run_interval_covers_with_the_records_noise():
    """One run, noisy records (U-statistics of 3 gradients with their jackknife variances):
    the widened interval covers the run's exact weighted average at least at its nominal
    rate; the bracket alone, which ignores the records' noise, does not."""
    import torch

    from empirical.estimators.gradnorm import u_statistic

    ks, _ = _records()
    w, d, reps, confidence = WEIGHTS["step-weighted"], 20, 300, 0.9
    truth = float(np.sum(w * F[:STEPS]))
    direction = torch.ones(d, dtype=torch.float64) / np.sqrt(d)
    grads = torch.as_tensor(np.sqrt(F[ks]))[:, None] * direction  # ||grad F(theta_k)||^2 = f(k)
    gen = torch.Generator().manual_seed(0)
    covered = bracket_only = 0
    for _ in range(reps):
        noise = 0.6 * torch.randn(len(ks), 3, d, generator=gen, dtype=torch.float64)
        values, variances = u_statistic(grads[:, None, :] + noise)
        v = variances.numpy()[None]
        obs = observe(ks, values.numpy()[None], w, "grad_norm_sq", confidence, variances=v, dof=2)
        covered += obs.lo <= truth <= obs.hi
        left, right = brackets(ks, values.numpy()[None], w)
        bracket_only += min(left[0], right[0]) <= truth <= max(left[0], right[0])
        assert obs.lo <= obs.value <= obs.hi and "Monte-Carlo noise" in obs.method
    assert covered / reps >= confidence - 0.04, covered / reps
    assert bracket_only / reps < 0.5, bracket_only / reps


def test_record_variances_are_checked():
    ks, vals = _records()
    with pytest.raises(ConfigError, match="variances"):
        observe(ks, vals[None], WEIGHTS["uniform"], "grad_norm_sq", variances=-np.ones((1, ks.size)), dof=2)
    with pytest.raises(ConfigError, match="degrees of freedom"):
        observe(ks, vals[None], WEIGHTS["uniform"], "grad_norm_sq", variances=np.ones((1, ks.size)))


def test_one_run_widened_bracket_is_unclipped_and_is_what_the_rule_takes():
    """Records so noisy that the widened bracket reaches below 0: its lower end is reported as it
    is (no clip at 0), and the one pair the rule takes is that bracket."""
    from empirical.decision import Verdict, assess
    from empirical.estimators.gradnorm import u_statistic

    ks, _ = _records()
    w = WEIGHTS["step-weighted"]
    gen = np.random.default_rng(1)
    values, variances = u_statistic(torch_tensor(0.1 + 2.0 * gen.standard_normal((ks.size, 3, 4))))
    obs = observe(ks, values.numpy()[None], w, "grad_norm_sq", 0.95, variances=variances.numpy()[None], dof=2)
    left, right = brackets(ks, values.numpy()[None], w)
    assert obs.lo < min(0.0, left[0], right[0]) and obs.hi > max(left[0], right[0])
    assert obs.brackets == ((obs.lo, obs.hi),) and "unclipped" in obs.method
    d = assess(obs.hi * 2, obs.brackets)
    assert (d.lo, d.hi, d.verdict) == (obs.lo, obs.hi, Verdict.INCONCLUSIVE)


def torch_tensor(x):
    import torch

    return torch.as_tensor(x, dtype=torch.float64)
