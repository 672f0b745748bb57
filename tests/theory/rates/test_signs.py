"""derivative_sign: a sign only when proved; otherwise "depends", with the region
where SymPy finds it and sampled evidence reported as evidence."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import theory
from theory import rates
from theory import symbols as S
from theory.rates.signs import sample_points

VALUES = {"n": 1000.0, "L": 1.0, "sigma2": 1000.0, "Delta": 1.0}


def test_generic_sgd_in_the_step_constant_depends_with_its_region():
    """The SGD bound falls below C* = sqrt(2 Delta/(L sigma2 (1 + log n))) and rises above:
    no global sign (at L = 1, sigma2 = 1000, Delta = 1, n = 1000 it goes from 26 at
    C = 0.05 to 500 at C = 1)."""
    b = theory.bound()
    s = rates.derivative_sign(b, "C_gamma")
    assert s.sign is None and s.depends and not s.proved
    want = sp.sqrt(2 * S.Delta / (S.L * S.sigma2 * (1 + sp.log(S.n))))
    assert sp.simplify(s.threshold - want) == 0
    assert (s.below, s.above) == (-1, 1)
    assert s.checked > 0 and "evidence" in s.method
    assert b.evaluate(C_gamma=0.05, **VALUES) < b.evaluate(C_gamma=1.0, **VALUES)
    # with a point: the local sign there
    assert rates.derivative_sign(b, "C_gamma", values={**VALUES, "C_gamma": 1.0}).sign == 1
    assert rates.derivative_sign(b, "C_gamma", values={**VALUES, "C_gamma": 1e-4}).sign == -1


def test_proved_signs():
    b = theory.bound()
    for name, want in (("sigma2", 1), ("Delta", 1), ("L", 1), ("B", 0)):
        s = rates.derivative_sign(b, name)
        assert (s.sign, s.proved) == (want, True), name
    s = rates.derivative_sign(theory.bound("generic", "adam", expand=False), "beta1")
    assert (s.sign, s.proved) == (1, True)  # 1 - beta1 > 0 is known from beta1's domain


def test_evidence_alone_is_no_sign():
    # log(n)/sqrt(n) rises up to n = e^2/e and falls after: not proved, sampled only
    s = rates.derivative_sign(theory.bound(), "n", samples=50)
    assert s.sign is None and not s.proved and s.checked > 0 and -1 in s.evidence
    assert "evidence only" in s.method


def _claims(s):
    """(region -> sign) claims of a DerivativeSign: the whole domain, or below/above x*."""
    if s.sign is not None:
        return {"all": s.sign}
    if s.threshold is not None:
        return {"below": s.below, "above": s.above}
    return {}


@pytest.mark.slow
def test_claimed_signs_agree_with_finite_differences_for_every_bound_and_constant():
    """For every registered bound and every constant: where a sign is claimed (proved
    over the domain, or below/above a proved threshold), central differences at
    random admissible points have that sign (up to rounding)."""
    rng = np.random.default_rng(0)
    checked = claimed = 0
    for key in theory.registered():
        b = theory.bound(*key)
        f = b.numpy()
        points = sample_points(b, 40, rng)
        assert next(iter(points.values())).size > 0, key
        for name in b.constants:
            claims = _claims(rates.derivative_sign(b, name, samples=0))
            if not claims:
                continue
            claimed += 1
            if name not in f.args:
                assert claims == {"all": 0}, (key, name)
                continue
            x = points[name]
            h = 1e-6 * np.where(x != 0, np.abs(x), 1e-12)
            lower = x if S.info(name).domain in ("nonnegative", "unit_closed") else x - h
            args = {a: points[a] for a in f.args}
            with np.errstate(all="ignore"):
                mid = f.func(*(args[a] for a in f.args))
                diff = f.func(*(x + h if a == name else args[a] for a in f.args)) - f.func(
                    *(lower if a == name else args[a] for a in f.args)
                )
            diff, mid = np.broadcast_arrays(diff, mid)
            slack = 1e-7 * np.abs(mid)
            region = np.ones(x.shape, dtype=bool)
            for where, sign in claims.items():
                if where != "all":
                    s = rates.derivative_sign(b, name, samples=0)
                    at = sp.lambdify(sorted(s.threshold.free_symbols, key=str), s.threshold)
                    thr = at(*(points[x_.name] for x_ in sorted(s.threshold.free_symbols, key=str)))
                    region = x < thr * (1 - 1e-6) if where == "below" else x > thr * (1 + 1e-6)
                ok = np.isfinite(diff) & region
                if sign == 0:
                    bad = np.abs(diff[ok]) > slack[ok]
                else:
                    bad = sign * diff[ok] < -slack[ok]
                assert not bad.any(), (key, name, where, sign, diff[ok][bad][:3])
                checked += int(ok.sum())
    assert claimed > 150 and checked > 3000


def test_no_sign_in_K_for_a_bound_with_the_iwae_variance():
    found = 0
    for key in theory.registered():
        b = theory.bound(*key)
        if "sigma2_mc_K" in b.constants:
            s = rates.derivative_sign(b, "K", samples=0)
            assert s.sign is None and "sigma2_mc_K varies with K" in s.method, key
            found += 1
    assert found >= 6


@pytest.mark.parametrize(
    "call",
    [
        lambda: rates.derivative_sign(42, "L"),
        lambda: rates.optimal_step_constant(42),
        lambda: rates.iterations_to_reach("bound", 0.1),
        lambda: rates.batch_sample_signs(None),
        lambda: rates.iterations_grid([], 0.1, [1], [1]),
        lambda: rates.compute_tradeoff(3.0, 4, 0.1),
        lambda: rates.budget_tradeoff({}, 100),
    ],
)
def test_rates_reject_a_non_bound(call):
    with pytest.raises(theory.TheoryError, match="theory.Bound"):
        call()


def test_unknown_symbol_is_named():
    with pytest.raises(theory.UnknownNameError, match="sigma_2"):
        rates.derivative_sign(theory.bound(), "sigma_2")
