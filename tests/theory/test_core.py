"""The theory core: symbols, Bound API, the derived SGD theorem, errors."""

import math
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import sympy as sp

import theory
from theory import rates
from theory import symbols as S
from theory.symbols import C_gamma, Delta, L, n, sigma2

VALUES = {"n": 1000.0, "L": 2.0, "sigma2": 0.7, "Delta": 3.0, "C_gamma": 0.25}


def test_import_does_not_import_torch():
    code = "import sys, theory; theory.bound('generic', 'sgd'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_rate_prints_log_over_sqrt():
    code = "import theory; print(theory.bound('generic','sgd').rate())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "log(n)/sqrt(n)"


def test_sgd_bound_is_the_reference_formula():
    # the SGD theorem as stated in docs/theory.md, written independently of the derivation.
    expected = (2 * Delta + L * sigma2 * C_gamma**2 * (1 + sp.log(n))) / (C_gamma * sp.sqrt(n))
    assert sp.simplify(theory.bound("generic", "sgd").expr - expected) == 0


def test_derivation_has_the_five_moves_with_justifications():
    b = theory.bound()
    titles = [s.title for s in b.steps]
    for needed in ("descent lemma", "expectation", "telescope", "gamma_n", "step-size sum"):
        assert any(needed in t for t in titles), (needed, titles)
    assert all(s.justification for s in b.steps)
    text = b.explain()
    for s in b.steps:
        assert s.justification in text
    assert "Reference:" in text and "log(n)/sqrt(n)" in text


def test_general_schedule_rate_is_minus_min_alpha():
    symbolic = theory.bound(alpha="symbolic")
    p, q = rates.rate_exponent(symbolic.expr)
    a = theory.symbols.alpha
    for value in (sp.Rational(1, 5), sp.Rational(1, 3), sp.Rational(2, 3), sp.Rational(9, 10)):
        assert p.subs(a, value) == -min(value, 1 - value)
        assert q.subs(a, value) == 0
    assert p.subs(a, sp.Rational(1, 2)) == sp.Rational(-1, 2)
    assert q.subs(a, sp.Rational(1, 2)) == 1


def test_evaluate_matches_hand_computation():
    v = VALUES
    hand = (2 * v["Delta"] + v["L"] * v["sigma2"] * v["C_gamma"] ** 2 * (1 + math.log(v["n"]))) / (
        v["C_gamma"] * math.sqrt(v["n"])
    )
    assert theory.bound().evaluate(**v) == pytest.approx(hand, rel=1e-12)


def test_numpy_is_vectorised_and_broadcasts():
    f = theory.bound().numpy()
    ns = np.arange(1, 11, dtype=float)
    out = f(**{**VALUES, "n": ns})
    assert out.shape == (10,)
    assert np.all(np.diff(out[3:]) < 0)  # decreasing once log n / sqrt n decreases


def test_latex_contains_both_sides():
    tex = theory.bound().latex()
    assert r"\le" in tex and r"\sigma^2" in tex and r"\sqrt{n}" in tex


@pytest.mark.parametrize("missing", ["L", "sigma2", "Delta", "C_gamma", "n"])
def test_missing_constant_is_named(missing):
    values = {k: v for k, v in VALUES.items() if k != missing}
    with pytest.raises(theory.MissingConstantError, match=missing):
        theory.bound().evaluate(**values)


@pytest.mark.parametrize(
    "key,value,pattern",
    [
        ("L", -1.0, "L must be"),
        ("sigma2", float("nan"), "sigma2 must be.*NaN"),
        ("Delta", -0.5, "Delta must be"),
        ("n", 0.5, "n must be"),
        ("C_gamma", float("inf"), "C_gamma must be"),
        ("C_gamma", 0.6, "C_gamma"),  # > 1/L = 0.5
    ],
)
def test_bad_values_raise_assumption_violation(key, value, pattern):
    with pytest.raises(theory.AssumptionViolation, match=pattern):
        theory.bound().evaluate(**{**VALUES, key: value})


def test_errors_are_value_errors():
    for err in (theory.MissingConstantError, theory.AssumptionViolation, theory.UnknownNameError):
        assert issubclass(err, ValueError)


def test_non_numeric_and_unknown_keys():
    with pytest.raises(theory.AssumptionViolation, match="L must be a real number"):
        theory.bound().evaluate(**{**VALUES, "L": "big"})
    with pytest.raises(theory.UnknownNameError, match="sigma_2"):
        theory.bound().evaluate(**VALUES, sigma_2=1.0)


@pytest.mark.parametrize(
    "args,pattern",
    [
        (("vae", "sgd"), "unknown model 'vae'.*generic, linear"),
        (("generic", "rmsprop"), "unknown optimizer 'rmsprop'.*sgd, adam, adagrad"),
        (("generic", "sgd", "nope"), "unknown variant 'nope'"),
    ],
)
def test_unknown_names(args, pattern):
    with pytest.raises(theory.UnknownNameError, match=pattern):
        theory.bound(*args)


@pytest.mark.parametrize("alpha", [0, 1, -0.5, 1.5, float("nan"), "x"])
def test_bad_alpha(alpha):
    with pytest.raises(ValueError, match="alpha"):
        theory.bound(alpha=alpha)


def test_optimal_step_constant_closed_form_and_clip():
    b = theory.bound()
    c_star = rates.optimal_step_constant(b)
    expected = sp.sqrt(2 * Delta / (L * sigma2 * (1 + sp.log(n))))
    assert isinstance(c_star, sp.Min)
    unclipped = [a for a in c_star.args if a != 1 / L][0]
    assert sp.simplify(unclipped**2 - expected**2) == 0  # both positive
    point = {Delta: 3, L: 2, sigma2: sp.Rational(7, 10), n: 1000}
    assert abs(float(unclipped.subs(point)) - float(expected.subs(point))) < 1e-12
    # clipped to 1/L when the unconstrained optimum is larger
    big_gap = {"Delta": 1e6, "L": 2.0, "sigma2": 1e-3, "n": 100.0}
    assert float(rates.optimal_step_constant(b, big_gap)) == pytest.approx(0.5)


def test_iterations_to_reach_is_smallest():
    b = theory.bound()
    values = {"L": 1.0, "sigma2": 1.0, "Delta": 1.0, "C_gamma": 0.5}
    target = 0.1
    m = rates.iterations_to_reach(b, target, **values)
    assert b.evaluate(n=m, **values) <= target < b.evaluate(n=m - 1, **values)
    f = b.numpy()
    later = f(**values, n=np.arange(m, 50 * m, dtype=float))
    assert np.all(later <= target)


def test_iterations_to_reach_rejects_bad_target():
    with pytest.raises(theory.AssumptionViolation, match="target"):
        rates.iterations_to_reach(theory.bound(), -1.0, L=1, sigma2=1, Delta=1, C_gamma=0.5)


def test_derivative_signs():
    b = theory.bound()
    for name in ("sigma2", "Delta"):
        sign = rates.derivative_sign(b, name)
        assert sign.sign == 1 and sign.proved
    local = rates.derivative_sign(b, "n", values={**VALUES})
    assert local.sign == -1
    assert rates.derivative_sign(b, "B").sign == 0


def test_unknown_option_lists_the_options_and_unknown_variant_how_to_ask_for_the_default():
    with pytest.raises(theory.UnknownNameError, match="'foo'; its options: alpha, expand"):
        theory.bound("generic", "sgd", foo=1)
    with pytest.raises(theory.UnknownNameError, match="'alpha'; its options: expand$"):
        theory.bound("generic", "adam", alpha=0.3)
    with pytest.raises(theory.UnknownNameError, match='valid: None or "" \\(the default\\), aposteriori'):
        theory.bound("generic", "adam", "default")


def test_every_bound_carries_the_variant_it_was_registered_under():
    """The BBVI non-linear variants were named after the location-scale ones
    (``bbvi/sgd/projected`` for ``projected-nonlinear``): asking again by b.variant gave another bound."""
    for model, optimizer, variant in theory.catalog.registered():
        b = theory.bound(model, optimizer, variant)
        assert (b.model, b.optimizer, b.variant) == (model, optimizer, variant)
        assert b.name == "/".join(part for part in (model, optimizer, variant) if part)


def test_a_renamed_constant_is_renamed_in_the_rate():
    """IWAE's biased bound renames alpha_bias to K_growth: its rate still spoke of alpha_bias."""
    for optimizer in ("sgd", "adam"):
        b = theory.bound("iwae", optimizer, "biased")
        assert b.rate().free_symbols <= b.expr.free_symbols
        assert b.rate().subs(S.K_growth, sp.Rational(1, 10)) == S.n ** sp.Rational(-1, 5)
    renamed = theory.bound().substitute(L=S.L_p)
    assert renamed.rate() == sp.log(S.n) / sp.sqrt(S.n)
    stated = replace(theory.bound(alpha="symbolic"), order=S.n**-S.alpha)  # a rate the theorem states
    assert stated.substitute(alpha=sp.Rational(3, 10)).rate() == S.n ** sp.Rational(-3, 10)


def test_substitute_keeps_assumptions():
    b = theory.bound().substitute(L=2.0)
    assert "L" not in b.constants
    assert float(b.step_limit) == 0.5


def test_iterations_to_reach_starts_where_n_dependent_assumptions_hold():
    # Défossez's N~ = n - beta1/(1 - beta1) > 0 and beta1 < beta2 = 1 - 1/n fail at small n
    b = theory.bound("generic", "adam", "defossez-horizon")
    values = {"R": 1.0, "L": 1.0, "Delta": 1.0, "d": 10, "beta1": 0.9, "eps": 1e-8, "C_gamma": 1e-2}
    assert b.check({**values, "n": 1})
    m = rates.iterations_to_reach(b, 5.0, **values)
    assert b.evaluate(n=m, **values) <= 5.0 < b.evaluate(n=m - 1, **values)


def test_repr_is_one_short_line_with_the_name_and_constants_and_every_printer_uses_it():
    from hypothesis.vendor.pretty import pretty  # Hypothesis prints a drawn strategy's arguments

    for key in theory.registered():
        b = theory.bound(*key)
        text = repr(b)
        assert text == f"<Bound {b.name!r} in {', '.join(b.constants)}>"
        assert "\n" not in text and len(text) < 200
        assert pretty(b) == text  # not the dataclass's fields one by one
    assert str(theory.bound()).startswith("generic/sgd: ")  # str() keeps the expression
