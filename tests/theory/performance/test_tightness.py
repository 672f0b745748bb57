"""theory.tightness: the SGD theorems against the exact worst case of their
algorithm at sigma2 = 0 (docs/theory.md, "Performance estimation").

Closed forms used: at n = 1 the descent lemma F(theta_1) <= F(theta_0) -
gamma (1 - L gamma / 2) ||grad F(theta_0)||^2 is attained by F = (L/2) x^2, so
the worst case of ||grad F(theta_0)||^2 is Delta / (gamma (1 - L gamma / 2))
for every method here (projected, momentum: the first step is a gradient step).
"""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import theory
from theory import symbols as S

pytest.importorskip("PEPit", reason='the pep extra is not installed (pip install -e ".[pep]")')
pytest.importorskip("clarabel", reason='the pep extra is not installed (pip install -e ".[pep]")')

SCHEDULE = theory.bound("generic", "sgd", "schedule")
DEFAULT = theory.bound("generic", "sgd")
PROJECTED = theory.bound("generic", "sgd", "projected")
BIASED = theory.bound("generic", "sgd", "biased")


def rule(name: str, n: int, L: float) -> np.ndarray:
    """Step rules, every step at most 1/L."""
    k = np.arange(1, n + 1, dtype=float)
    if name == "constant":
        return np.full(n, 0.5 / L)
    if name == "sqrt":
        return k**-0.5 / L
    if name == "cosine":
        return (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * (k - 1) / n))) / L
    if name == "step-decay":
        return 0.9 * 0.5 ** ((k - 1) // max(1, n // 3)) / L
    raise ValueError(name)


RULES = ("constant", "sqrt", "cosine", "step-decay")
HORIZONS = (1, 2, 3, 5, 8, 13, 21, 34, 50)


# ---------------------------------------------------------------- tight points


@pytest.mark.parametrize(("L", "Delta"), [(1.0, 1.0), (2.5, 0.3), (84.4, 15.4)])
def test_schedule_bound_is_attained_at_n1_with_the_largest_step(L, Delta):
    result = theory.tightness(SCHEDULE, 1, L=L, Delta=Delta, steps=[1 / L])
    assert result.ratio == pytest.approx(1, abs=1e-6)
    assert result.tight
    assert result.worst_case == pytest.approx(2 * L * Delta, rel=1e-6)
    assert result.method.exact and result.method.formulation == "pepit"


@pytest.mark.parametrize(("L", "Delta"), [(1.0, 1.0), (2.5, 0.3)])
def test_default_bound_is_attained_at_n1_with_C_one_over_L(L, Delta):
    result = theory.tightness(DEFAULT, 1, L=L, Delta=Delta, C_gamma=1 / L)
    assert result.ratio == pytest.approx(1, abs=1e-6)
    assert result.tight
    assert result.bound_value == pytest.approx(2 * L * Delta)


@pytest.mark.parametrize("n", [2, 5, 20, 200])
def test_schedule_bound_equals_the_worst_case_for_C_over_sqrt_k_at_C_one_over_L(n):
    """docs: with F(theta_0) - F(theta_n) <= Delta, 2 Delta / S1 is the exact worst case at C = 1/L."""
    steps = rule("sqrt", n, 1.0)
    result = theory.tightness(SCHEDULE, n, L=1.0, Delta=1.0, steps=steps)
    assert result.bound_value == pytest.approx(2 / steps.sum())
    assert result.ratio == pytest.approx(1, abs=1e-6)


@pytest.mark.parametrize("gamma", [0.1, 0.5, 1.0])
def test_closed_forms_at_n1(gamma):
    L, Delta = 2.0, 3.0
    worst = Delta / (gamma / L * (1 - gamma / 2))
    schedule = theory.tightness(SCHEDULE, 1, L=L, Delta=Delta, steps=[gamma / L])
    assert schedule.worst_case == pytest.approx(worst, rel=1e-6)
    assert schedule.ratio == pytest.approx(2 - gamma, rel=1e-6)  # 2 Delta / gamma over the worst case
    projected = theory.tightness(PROJECTED, 1, L=L, Delta=Delta, steps=[gamma / L])
    assert projected.worst_case == pytest.approx(worst, rel=1e-6)
    assert projected.ratio == pytest.approx(1, abs=1e-6)  # Delta / ((1 - L gamma/2) gamma) is attained
    momentum = theory.momentum_worst_case(1, L, Delta, gamma / L, 0.9)
    assert momentum.worst_case == pytest.approx(worst, rel=1e-6)


# ---------------------------------------------------------------- never below the worst case


@pytest.mark.parametrize("name", RULES)
@pytest.mark.parametrize("n", HORIZONS)
def test_schedule_and_projected_bounds_are_at_least_the_worst_case(name, n):
    steps = rule(name, n, 2.0)
    for bound in (SCHEDULE, PROJECTED):
        result = theory.tightness(bound, n, L=2.0, Delta=0.7, steps=steps)
        assert result.ratio >= 1 - 1e-6, (bound.name, result)


@pytest.mark.parametrize("C", [0.25, 0.6, 1.0])
@pytest.mark.parametrize("n", HORIZONS)
def test_default_bound_is_at_least_the_worst_case(C, n):
    result = theory.tightness(DEFAULT, n, L=1.5, Delta=2.0, C_gamma=C / 1.5)
    assert result.ratio >= 1 - 1e-6, result


@pytest.mark.parametrize("C_alpha", [0.0, 0.3])
@pytest.mark.parametrize("n", [1, 4, 16, 50])
def test_biased_bound_is_at_least_the_worst_case(C_alpha, n):
    result = theory.tightness(BIASED, n, L=1.0, Delta=1.0, C_gamma=0.25, C_alpha=C_alpha, alpha_bias=0.5)
    assert result.ratio >= 1 - 1e-6, result
    assert result.algorithm == "gradient descent with a bounded bias"


@given(st.lists(st.floats(0.05, 1.0), min_size=1, max_size=50), st.floats(0.1, 10.0), st.floats(0.1, 10.0))
def test_schedule_bound_holds_for_random_steps(fractions, L, Delta):
    steps = np.asarray(fractions) / L
    result = theory.tightness(SCHEDULE, len(steps), L=L, Delta=Delta, steps=steps, method="consecutive")
    assert result.ratio >= 1 - 1e-6


def test_projected_worst_case_is_the_unprojected_one_at_constant_steps_one_over_L():
    """X = R^d is one closed convex set, so projected >= unprojected; at gamma = 1/L both are 2 Delta/S1."""
    for n in (1, 3, 12):
        steps = np.ones(n)
        plain = theory.tightness(SCHEDULE, n, L=1.0, Delta=1.0, steps=steps)
        boxed = theory.tightness(PROJECTED, n, L=1.0, Delta=1.0, steps=steps)
        assert boxed.worst_case == pytest.approx(plain.worst_case, rel=1e-6)
        assert boxed.worst_case == pytest.approx(2 / n, rel=1e-6)


@pytest.mark.parametrize("name", RULES)
def test_projected_worst_case_is_at_least_the_unprojected_one(name):
    steps = rule(name, 15, 1.0)
    plain = theory.tightness(SCHEDULE, 15, L=1.0, Delta=1.0, steps=steps)
    boxed = theory.tightness(PROJECTED, 15, L=1.0, Delta=1.0, steps=steps)
    assert boxed.worst_case >= plain.worst_case * (1 - 1e-6)


# ---------------------------------------------------------------- planted wrong bounds


def test_schedule_bound_without_its_factor_two_is_caught():
    wrong = replace(SCHEDULE, expr=(S.Delta + S.L * S.sigma2 * S.S2) / S.S1, name="wrong")
    assert theory.tightness(wrong, 1, L=1.0, Delta=1.0, steps=[1.0]).ratio == pytest.approx(0.5, rel=1e-6)
    caught = [
        theory.tightness(wrong, n, L=1.0, Delta=1.0, steps=rule("sqrt", n, 1.0)).ratio for n in (1, 5, 20)
    ]
    assert max(caught) < 1 - 1e-3


def test_halved_Delta_in_the_default_bound_is_caught():
    wrong = DEFAULT.substitute(Delta=S.Delta / 2)
    assert theory.tightness(wrong, 1, L=1.0, Delta=1.0, C_gamma=1.0).ratio == pytest.approx(0.5, rel=1e-6)


# ---------------------------------------------------------------- momentum


@pytest.mark.parametrize("n", [2, 6, 25])
def test_momentum_zero_is_gradient_descent(n):
    plain = theory.tightness(SCHEDULE, n, L=1.0, Delta=1.0, steps=np.full(n, 0.5))
    heavy = theory.momentum_worst_case(n, 1.0, 1.0, 0.5, 0.0)
    assert heavy.worst_case == pytest.approx(plain.worst_case, rel=1e-6)
    assert heavy.is_bound is False
    assert "not a bound" in heavy.notes[0]


def test_momentum_averages_agree_at_a_constant_step_and_scale_with_L_Delta():
    uniform = theory.momentum_worst_case(6, 1.0, 1.0, 0.3, 0.7)
    assert theory.momentum_worst_case(6, 1.0, 1.0, 0.3, 0.7, average="step").worst_case == pytest.approx(
        uniform.worst_case, rel=1e-6
    )
    scaled = theory.momentum_worst_case(6, 4.0, 2.5, 0.3 / 4.0, 0.7)  # same L gamma: worst case times L Delta
    assert scaled.worst_case == pytest.approx(10.0 * uniform.worst_case, rel=1e-6)


def test_momentum_refuses_bad_values():
    with pytest.raises(theory.AssumptionViolation, match=r"momentum must be in \[0, 1\)"):
        theory.momentum_worst_case(3, 1.0, 1.0, 0.1, 1.0)
    with pytest.raises(theory.AssumptionViolation, match="steps must be"):
        theory.momentum_worst_case(3, 1.0, 1.0, [0.1, -0.1, 0.1], 0.5)


# ---------------------------------------------------------------- beyond the cap: the fit


def test_beyond_n_max_the_ratio_is_fitted_and_marked():
    solved = theory.tightness(DEFAULT, 1500, L=1.0, Delta=1.0, C_gamma=1.0)
    fitted = theory.tightness(DEFAULT, 1500, L=1.0, Delta=1.0, C_gamma=1.0, n_max=400)
    assert fitted.method.formulation == "fit" and fitted.method.fit is not None and not fitted.tight
    assert fitted.method.fit.horizons == (25, 50, 100, 200, 400)
    assert fitted.bound_value == solved.bound_value
    assert fitted.ratio == pytest.approx(solved.ratio, rel=0.005)
    assert any("extrapolated" in note for note in fitted.notes)


def test_proof_slack_of_a_run_ignores_the_noise_and_fits_long_runs():
    steps = 0.5 * np.arange(1, 101) ** -0.5
    direct = theory.tightness(DEFAULT, 100, L=1.0, Delta=1.0, C_gamma=0.5)
    slack = theory.proof_slack(DEFAULT, steps, L=1.0, Delta=1.0, C_gamma=0.5, sigma2=3.0, n=100)
    assert slack.ratio == pytest.approx(direct.ratio, rel=1e-9)
    model = theory.bound("gaussian", "sgd", "schedule", expand=False)
    run = theory.proof_slack(model, steps, L=1.0, Delta=1.0, sigma2_data=2.0, sigma2_mc=1.0, B=32, K=1)
    assert run.ratio >= 1 - 1e-6 and run.method.fit is None
    long = theory.proof_slack(model, np.full(300, 0.5), L=1.0, Delta=1.0, n_max=50)
    assert long.method.fit is not None and long.n == 300


def test_model_bounds_and_exponent_forms_pose_the_generic_problem():
    generic = theory.tightness(BIASED, 12, L=1.0, Delta=1.0, C_gamma=0.25, C_alpha=0.3, alpha_bias=0.5)
    iwae = theory.bound("iwae", "sgd", "biased")  # C_alpha = C_bias / K from its definitions
    same = theory.tightness(iwae, 12, L=1.0, Delta=1.0, C_gamma=0.25, C_bias=0.6, K=2, K_growth=0.5)
    assert same.worst_case == pytest.approx(generic.worst_case, rel=1e-9)
    fixed = theory.bound("generic", "sgd", "biased", alpha_bias=0.5)
    assert theory.tightness(fixed, 12, L=1.0, Delta=1.0, C_gamma=0.25, C_alpha=0.3).ratio == pytest.approx(
        generic.ratio, rel=1e-9
    )
    symbolic = theory.bound("generic", "sgd", alpha="symbolic")
    a = theory.tightness(symbolic, 12, L=1.0, Delta=1.0, C_gamma=1.0, alpha=0.3)
    b = theory.tightness(theory.bound("generic", "sgd", alpha=0.3), 12, L=1.0, Delta=1.0, C_gamma=1.0)
    assert a.ratio == pytest.approx(b.ratio, rel=1e-9) and a.ratio >= 1
    assert a.steps[1] == pytest.approx(2**-0.3)


# ---------------------------------------------------------------- refusals


def test_uncovered_bounds_are_refused_with_the_list_of_covered_ones():
    with pytest.raises(theory.NotCoveredError, match="'schedule'.*'projected'.*momentum_worst_case"):
        theory.tightness(theory.bound("generic", "adam", "defossez"), 3, L=1.0, Delta=1.0)
    with pytest.raises(theory.NotCoveredError, match="expand=False"):
        theory.tightness(theory.bound("linear", "sgd", "schedule"), 3, L=1.0, Delta=1.0, steps=[1, 1, 1])


def test_bad_inputs_are_refused_with_what_is_allowed():
    with pytest.raises(theory.MissingConstantError, match="pass steps="):
        theory.tightness(SCHEDULE, 3, L=1.0, Delta=1.0)
    with pytest.raises(theory.AssumptionViolation, match="sigma2 = 0"):
        theory.tightness(SCHEDULE, 1, L=1.0, Delta=1.0, steps=[1.0], sigma2=0.5)
    with pytest.raises(theory.AssumptionViolation, match="gamma_max at most 1/L"):
        theory.tightness(SCHEDULE, 1, L=1.0, Delta=1.0, steps=[1.5])
    with pytest.raises(theory.UnknownNameError, match="follows from the steps"):
        theory.tightness(SCHEDULE, 1, L=1.0, Delta=1.0, steps=[1.0], S1=1.0)
    with pytest.raises(theory.AssumptionViolation, match="use the 'schedule' variant"):
        theory.tightness(DEFAULT, 2, L=1.0, Delta=1.0, C_gamma=1.0, steps=[1.0, 1.0])
    with pytest.raises(theory.AssumptionViolation, match="length|n = 2"):
        theory.tightness(SCHEDULE, 2, L=1.0, Delta=1.0, steps=[1.0])
    with pytest.raises(theory.TheoryError, match="method must be one of"):
        theory.tightness(SCHEDULE, 1, L=1.0, Delta=1.0, steps=[1.0], method="mosek")
