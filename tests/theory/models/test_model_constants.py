"""Model x optimizer bounds: registration, rates, expand on/off, errors."""

from __future__ import annotations

import pytest
import sympy as sp

import theory
from theory import symbols as S
from theory.models import beta, gaussian, iwae
from theory.models.common import variance_split

LOG_RATE = sp.log(S.n) / sp.sqrt(S.n)
MODELS = ("linear", "gaussian", "beta", "iwae", "bbvi")
PAIRS = [("sgd", None), ("adam", None), ("adagrad", None)]


def test_every_model_and_optimizer_is_registered():
    keys = set(theory.registered())
    for model in theory.MODELS:
        for optimizer in theory.OPTIMIZERS:
            assert (model, optimizer, "") in keys
        assert (model, "adam", "defossez") in keys


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adagrad"])
@pytest.mark.parametrize("expand", [True, False])
def test_rate_is_log_over_sqrt(model, optimizer, expand):
    b = theory.bound(model, optimizer, expand=expand)
    assert b.rate() == LOG_RATE
    assert b.model == model and b.optimizer == optimizer and b.reference
    assert any(a.id == "variance-split" for a in b.assumptions) == (optimizer != "adagrad")


@pytest.mark.parametrize("model", ["gaussian", "linear"])
def test_leading_order_of_expanded_bound_recomputed(model):
    """The rate carried over by specialise equals leading_order of the expanded expression."""
    b = theory.bound(model, "sgd")
    assert theory.rates.leading_order(b.expr) == LOG_RATE


def test_expand_false_keeps_measured_constants():
    b = theory.bound("gaussian", "sgd", expand=False)
    assert set(b.constants) == {"B", "C_gamma", "Delta", "K", "L", "n", "sigma2_data", "sigma2_mc"}
    sgd = theory.bound("generic", "sgd")
    assert sp.simplify(b.expr - sgd.expr.subs(S.sigma2, variance_split)) == 0
    a = theory.bound("gaussian", "adam", expand=False)
    assert {"R", "eps", "beta1", "L", "Delta"} <= set(a.constants)
    values = dict(
        L=5, Delta=1, sigma2_data=1, sigma2_mc=2, B=8, K=2, n=100, R=1, eps=0.1, beta1=0.9, beta2=0.99
    )
    assert a.evaluate(C_gamma=1e-3, **values) > 0
    with pytest.raises(theory.AssumptionViolation, match="C_gamma"):
        a.evaluate(C_gamma=1.0, **values)


def test_expand_true_substitutes_model_constants_and_step_limit():
    b = theory.bound("gaussian", "sgd")
    assert "L" not in b.constants and "sigma2" not in b.constants
    assert sp.simplify(b.step_limit - 1 / gaussian.constants().L) == 0
    values = {name: S.REGISTRY[name].typical for name in b.constants}
    values["C_gamma"] = 0.5 * float(b.step_limit.subs({S.get(k): v for k, v in values.items()}))
    assert b.evaluate(**values) > 0
    values["C_gamma"] *= 4
    with pytest.raises(theory.AssumptionViolation, match="C_gamma"):
        b.evaluate(**values)
    assert not b.tight and "explicit" in b.explain()


def test_gaussian_order_in_a_and_depth():
    """Decoder block: degree 2(N-1) in a (z fixed); joint Hessian: degree 4N-2."""
    L = gaussian.constants().L
    big = {S.width: 1, S.s: 1, S.s1: 0, S.s2: 1, S.C_x: 1, S.C_G: 1, S.C_mu: 1, S.c: 1}
    big |= {S.c_Sigma: sp.Rational(1, 4), S.C_Sigma: 1, S.d_z: 1}
    for depth in (1, 2, 3):
        expr = L.subs(big).subs(S.N_layers, depth)
        a_big = sp.Symbol("A", positive=True)
        poly = sp.Poly(sp.expand(expr.subs(S.a, a_big).replace(sp.Max, lambda *args, _a=a_big: _a)), a_big)
        assert poly.degree() == 4 * depth - 2
        # decoder block with z fixed: Gauss-Newton term J^2 of degree 2(N-1) in a
        J = gaussian.chain_jacobian(depth, 1, 0, sp.Max(1, a_big))
        assert sp.Poly(sp.expand((J**2).replace(sp.Max, lambda *args, _a=a_big: _a)), a_big).degree() == 2 * (
            depth - 1
        )


def test_beta_enters_through_max_one_beta():
    assert sp.simplify(beta.constants().L - sp.Max(1, S.beta) * gaussian.constants().L) == 0
    b = theory.bound("beta", "sgd")
    assert S.beta in b.expr.free_symbols


def test_iwae_orders():
    assert iwae.SNR_DECODER == sp.sqrt(S.B * S.K)
    assert iwae.SNR_ENCODER == sp.sqrt(S.B / S.K)
    assert iwae.BIAS == S.C_bias / S.K
    assert sp.limit(iwae.NOISE_LEVEL**4 / sp.log(S.K) ** 2, S.K, sp.oo) == 16


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_iwae_bound_decreases_in_B_and_claims_nothing_in_K(optimizer):
    """IWAE's Monte-Carlo variance is measured at the K used (sigma2_mc_K): the sign in K
    is an empirical question, never claimed; the sign in B is proved."""
    b = theory.bound("iwae", optimizer, expand=False)
    assert sp.simplify(b.expr - theory.bound("generic", optimizer).expr.subs(S.sigma2, iwae.VARIANCE)) == 0
    signs = theory.rates.batch_sample_signs(b)
    assert signs.B.sign == -1 and signs.B.proved
    assert signs.K.sign is None and not signs.K.proved and "sigma2_mc_K varies with K" in signs.K.method


def test_bbvi_parameterisations():
    ls = theory.bound("bbvi", "sgd")
    nl = theory.bound("bbvi", "sgd", "nonlinear")
    assert S.L_p in ls.expr.free_symbols and S.J_T in nl.expr.free_symbols
    assert any("location-scale" in a.name for a in ls.assumptions)
    assert any("non-linear" in a.name for a in nl.assumptions)


@pytest.mark.parametrize(
    "bad, error",
    [
        ({"B": -1}, theory.AssumptionViolation),
        ({"sigma2_mc_K": float("nan")}, theory.AssumptionViolation),
        ({"B": 2.5}, theory.AssumptionViolation),
        ({"n": True}, theory.AssumptionViolation),
        ({"L": "ten"}, theory.AssumptionViolation),
        ({"bogus": 1}, theory.UnknownNameError),
    ],
)
def test_bad_input_is_a_typed_error(bad, error):
    b = theory.bound("iwae", "sgd", expand=False)
    values = dict(L=5, Delta=1, sigma2_data=1, sigma2_mc_K=2, B=8, K=2, n=100, C_gamma=0.1)
    assert b.evaluate(**values) > 0
    with pytest.raises(error):
        b.evaluate(**{**values, **bad})


def test_unknown_names():
    with pytest.raises(theory.UnknownNameError, match="valid"):
        theory.bound("gaussian", "adam", "nope")
    with pytest.raises(theory.UnknownNameError):
        theory.bound("gaussian", "sgd", expand=True, wrong=1)


@pytest.mark.parametrize("model", ["gaussian", "beta", "iwae", "bbvi"])
def test_adaptive_bounds_keep_R_measured_under_gaussian_noise(model):
    # M bounds sqrt(E||g||^2) only; the adaptive theorems need ||g||_inf <= R almost surely
    b = theory.bound(model, "adam")
    assert "R" in b.constants and "L" not in b.constants
