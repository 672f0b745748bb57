"""theory/vectorised.py's ``lambdified``: a bound's numpy function gives what ``sympy.lambdify``
(with its common subexpressions) gives, to the bit, and a Piecewise whose conditions read
scalars evaluates only the piece that applies."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import theory
from theory.rates.signs import sample_points
from theory.vectorised import lambdified

#: The registered bounds that are a Piecewise (in alpha_bias or K_growth), and one that is not.
PIECEWISE = [(model, opt, "biased") for model in ("generic", "iwae") for opt in ("sgd", "adam")]
PLAIN = ("gaussian", "sgd", "")


def _twin(bound):
    """The bound's function as ``sympy.lambdify`` builds it: ``numpy.select`` over every piece."""
    syms = sorted(bound.expr.free_symbols, key=lambda x: x.name)
    return sp.lambdify(syms, bound.float_form(), modules="numpy", cse=True)


def test_the_registry_has_these_piecewise_bounds():
    pieces = {key for key in theory.registered() if isinstance(theory.bound(*key).float_form(), sp.Piecewise)}
    assert pieces == set(PIECEWISE) and PLAIN in theory.registered()


#: Values of alpha_bias (K_growth) in each piece: 0 and below 1e-6, below 1/4, within 1e-6 above
#: 1/4, beyond it.
PIECE_VALUES = (0.0, 5e-7, 0.1, 0.25, 0.2500005, 0.4, 1.0)


@pytest.mark.parametrize("key", [*PIECEWISE, PLAIN], ids=lambda k: "/".join(p for p in k if p))
def test_equals_sympy_lambdify_to_the_bit(key):
    """At admissible points: every constant varying (select's path), and n varying with the
    others one point (each condition decided once), that point's alpha_bias (K_growth) also set
    in every piece; NaN where the twin gives NaN."""
    bound = theory.bound(*key)
    f, twin = bound.numpy(), _twin(bound)
    drawn = sample_points(bound, 2000, np.random.default_rng(1))
    n = np.random.default_rng(2).integers(10, 10**6, 2000).astype(float)
    pieces = [name for name in ("alpha_bias", "K_growth") if name in f.args]
    for point in range(10):
        one = {name: values[point] for name, values in drawn.items()}
        cases = [drawn, {**one, "n": n}, *({**one, "n": n, p: v} for p in pieces for v in PIECE_VALUES)]
        for values in cases:
            args = [values[a] for a in f.args]
            with np.errstate(all="ignore"):
                np.testing.assert_array_equal(f.func(*args), twin(*args))


def test_only_the_piece_that_applies_is_evaluated():
    """The other piece overflows: select evaluates it (and raises under errstate), one piece does not."""
    x, a = sp.symbols("x a", positive=True)
    expr = sp.Piecewise((x + 1, a < 1), (sp.exp(x * 10**6), True))
    f, twin = lambdified([a, x], expr), sp.lambdify([a, x], expr, modules="numpy", cse=True)
    xs = np.linspace(1.0, 2.0, 5)
    with np.errstate(over="raise"):
        np.testing.assert_array_equal(f(0.5, xs), xs + 1)
        with pytest.raises(FloatingPointError):
            twin(0.5, xs)
    with np.errstate(over="ignore"):  # a in an array: select, as the twin
        np.testing.assert_array_equal(f(np.array([0.5, 2.0]), 1.0), twin(np.array([0.5, 2.0]), 1.0))
        assert np.isinf(f(2.0, xs)).all()


def test_no_piece_applies_gives_nan_as_select_does():
    x = sp.Symbol("x", real=True)
    expr = sp.Piecewise((x, x < 0), (2 * x, x > 1))
    f, twin = lambdified([x], expr), sp.lambdify([x], expr, modules="numpy")
    assert np.isnan(f(0.5)) and np.isnan(twin(0.5))
    assert f(-1.0) == twin(-1.0) == -1.0 and f(3.0) == twin(3.0) == 6.0


def test_a_piece_without_the_array_argument_has_select_s_shape():
    """A piece that does not read x still gives one value per x, as select does (a fresh array)."""
    x, a = sp.symbols("x a", positive=True)
    expr = sp.Piecewise((a + 1, a < 1), (x, True))
    f, twin = lambdified([a, x], expr), sp.lambdify([a, x], expr, modules="numpy")
    xs = np.linspace(1.0, 2.0, 4)
    out = f(0.5, xs)
    np.testing.assert_array_equal(out, twin(0.5, xs))
    assert out.shape == (4,) and out.flags.writeable
    assert np.isnan(lambdified([x], sp.Piecewise((x, x < 0)))(np.float64(2.0)))
    none = sp.Piecewise((x, a < 1))  # no piece applies at a = 2: NaN at every x
    got, expected = lambdified([a, x], none)(2.0, xs), sp.lambdify([a, x], none, modules="numpy")(2.0, xs)
    assert got.shape == expected.shape == (4,) and np.isnan(got).all() and np.isnan(expected).all()
