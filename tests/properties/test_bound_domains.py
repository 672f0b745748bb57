"""Every bound of the catalogue at admissible constants, drawn from the symbols' domains and
the theorems' constraints with their edges (0, 1, the largest admissible step, n just past
beta1/(1 - beta1), ...): never negative; evaluate and numpy give the same value or the same
refusal; iterations_to_reach is monotone in the target (docs/theory.md, "Evaluating a bound")."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import theory
from theory import rates
from theory import symbols as S
from theory.checks import expression_values

BOUNDS = theory.registered()
#: Each bound's own options besides the catalogue's defaults.
EXTRA = (("generic", "sgd", None, {"alpha": "symbolic"}),)


def _magnitude(typical: float, low: int, high: int) -> st.SearchStrategy[float]:
    """typical * 10^u, u in [low, high], with the ends and the typical value itself."""
    return st.one_of(
        st.just(typical), st.floats(low, high).map(lambda u: typical * 10.0**u), st.sampled_from((low, high))
    ).map(lambda v: typical * 10.0**v if isinstance(v, int) else v)


@functools.cache  # one strategy per symbol: building and validating one per draw was half the test
def value_in_domain(name: str) -> st.SearchStrategy[float]:
    """A value of the symbol ``name`` in its domain, edges included."""
    info = S.info(name)
    typical = abs(float(info.typical)) or 1.0
    if info.domain == "count":
        return st.one_of(st.sampled_from((1, 2, 3)), st.integers(1, 10**7)).map(float)
    if info.integer:  # j, the iterate index
        return st.integers(0, 1000).map(float)
    if info.domain == "unit":
        return st.one_of(st.sampled_from((1e-12, 0.5, 0.9, 0.999, 1 - 1e-12)), st.floats(1e-9, 1 - 1e-9))
    if info.domain == "unit_closed":
        return st.one_of(st.sampled_from((0.0, 0.25, 0.5, 0.9, 1 - 1e-12)), st.floats(0, 1 - 1e-9))
    if info.domain == "real":
        return st.floats(-100, 100)
    positive = _magnitude(typical, -6, 6)
    return st.one_of(st.just(0.0), positive) if info.domain == "nonnegative" else positive


@st.composite
def admissible(draw, key: tuple) -> dict[str, float]:
    """Constants that pass every check of ``bound``: each in its domain; a constant x <= rhs at
    rhs or a fraction of it (rhs first); a count x > lhs (N > beta1/(1 - beta1)) at the first
    integers past lhs or further; draws still refused are rejected. ``key`` = (model,
    optimizer, variant, options) names the bound (a Bound's repr is long)."""
    bound = theory.bound(*key[:3], **dict(key[3]))
    values = {name: draw(value_in_domain(name)) for name in bound.constants}
    for x, rhs in bound.upper_limits(set(values)):
        top = float(expression_values(rhs, values))
        info = S.info(x)
        if not math.isfinite(top) or info.integer or info.domain == "count":
            continue
        if info.domain == "real":
            values[x] = top - draw(st.floats(0, 10))
        elif top > 0:
            values[x] = top * draw(st.one_of(st.sampled_from((1.0, 1 - 1e-9, 0.5)), st.floats(1e-6, 1)))
    for _, con in bound.conditions:
        x = con.rhs
        if x.is_Symbol and x.name in values and S.info(x).domain == "count" and x not in con.lhs.free_symbols:
            low = float(expression_values(con.lhs, values))
            if math.isfinite(low) and low < 1e12:
                values[x.name] = max(
                    1.0, math.floor(low) + draw(st.one_of(st.integers(0, 3), st.integers(0, 10**6)))
                )
    assume(not bound.check(values))
    return values


def _keys():
    """Every bound; the model bounds (they specialise the generic ones) in the slow lane."""
    out = [
        pytest.param(
            (*key, ()),
            id="/".join(p for p in key if p),
            marks=[pytest.mark.slow] if key[0] != "generic" else [],
        )
        for key in BOUNDS
    ]
    out += [pytest.param((m, o, v, tuple(opts.items())), id=f"{m}/{o}/{opts}") for m, o, v, opts in EXTRA]
    return out


def _bound(key: tuple):
    return theory.bound(*key[:3], **dict(key[3]))


def _outcome(call):
    try:
        return call()
    except theory.AssumptionViolation as err:
        return err


@pytest.mark.parametrize("key", _keys())
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_never_negative_and_evaluate_agrees_with_numpy(key, data):
    bound = _bound(key)
    values = data.draw(admissible(key))
    f = bound.numpy()
    with np.errstate(all="ignore"):
        raw = float(f.func(*(np.float64(values[a]) for a in f.args)))
    assert not raw < 0, (bound.name, values, raw)  # NaN or inf (float overflow) is refused below
    scalar = _outcome(lambda: bound.evaluate(**values))
    vector = _outcome(lambda: f(**values))
    arrays = _outcome(lambda: f(**{k: np.full(2, v) for k, v in values.items()}))
    if isinstance(scalar, Exception):
        assert not math.isfinite(raw), (bound.name, values, scalar)  # refused only for overflow
        assert isinstance(vector, Exception) and isinstance(arrays, Exception)
        assert "not a finite number >= 0" in str(scalar) and "not a finite number >= 0" in str(vector)
    else:
        assert scalar >= 0 and math.isfinite(scalar) and not isinstance(vector, Exception)
        assert float(vector) == pytest.approx(scalar, rel=1e-12)
        np.testing.assert_allclose(arrays, scalar, rtol=1e-12)


#: Bounds with a rate in n whose iterations_to_reach is exercised (model bounds share the machinery).
WITH_RATE = [
    pytest.param(
        k.values[0], id=k.id, marks=[pytest.mark.slow] if k.values[0][0] != "generic" or k.marks else []
    )
    for k in _keys()
    if _bound(k.values[0]).has_rate and k.values[0][0] in ("generic", "linear")
]
# the Piecewise bounds (biased) and the horizon form take seconds a search: slow lane
WITH_RATE = [
    pytest.param(k.values[0], id=k.id, marks=[pytest.mark.slow])
    if any(word in k.id for word in ("biased", "horizon"))
    else k
    for k in WITH_RATE
]


@pytest.mark.parametrize("key", WITH_RATE)
@settings(max_examples=6, deadline=None)
@given(data=st.data(), ratios=st.lists(st.floats(1e-3, 1e3), min_size=2, max_size=4))
def test_iterations_to_reach_is_monotone_in_the_target(key, data, ratios):
    """A larger target never needs more iterations, and the answer is where the bound is valid."""
    bound = _bound(key)
    values = data.draw(admissible(key))
    values.pop("n")
    if "C_gamma" in values and data.draw(st.booleans()):
        values.pop("C_gamma")  # the step tuned to each horizon
    try:
        start = rates.iterations_to_reach(bound, 1e300, **values)
    except theory.TheoryError:
        assume(False)  # the assumptions fail at every n for these values (e.g. C_gamma above 1/L)
    scale = _outcome(lambda: bound.evaluate(n=max(start, 1000), **values, **_tuned(bound, values, 1000)))
    assume(not isinstance(scale, Exception) and scale > 0)
    found = {}
    for target in sorted(scale * r for r in ratios):
        try:
            found[target] = rates.iterations_to_reach(bound, target, **values)
        except theory.TheoryError as err:
            assert "does not reach" in str(err)
            assert not found, "a smaller target was reached"
    assert list(found.values()) == sorted(found.values(), reverse=True)
    assert all(m >= start for m in found.values())


def _tuned(bound, values, horizon) -> dict[str, float]:
    if "C_gamma" in bound.constants and "C_gamma" not in values:
        return {"C_gamma": float(rates.optimal_step_constant(bound, {**values, "n": horizon}))}
    return {}
