"""theory.readable: a bound with named sub-expressions substitutes back to the bound
exactly, and every name it uses is defined."""

from __future__ import annotations

import pytest
import sympy as sp

import theory
from theory import symbols as S
from theory.models import gaussian, iwae, linear
from theory.models.common import unfold
from theory.readable import readable


@pytest.mark.parametrize("key", theory.registered())
def test_readable_form_unfolds_to_the_bound(key):
    b = theory.bound(*key)
    r = readable(b, tuple(step.statement for step in b.steps))
    assert r.unfold() == b.expr
    names = [n.symbol for n in r.where]
    assert len(names) == len(set(names)), key
    defined = set(names) | {info.symbol for info in S.REGISTRY.values()}
    for n in r.where:
        inner = n.expr.expr.free_symbols if isinstance(n.expr, sp.Subs) else set()
        assert (n.expr.free_symbols | inner) <= defined, (key, n.symbol)
    assert r.expr.free_symbols <= defined, key


def test_model_bound_is_written_with_its_named_pieces():
    r = readable(theory.bound("gaussian", "adam", "defossez"))
    assert S.L in r.expr.free_symbols and len(sp.sstr(r.expr)) < 400
    where = {n.symbol.name: n for n in r.where}
    assert sp.sstr(where["L"].expr) == "Subs(L_kl + L_rec, C_eps, sqrt(d_z))"
    assert sp.sstr(where["H_e"].expr) == "N_layers*(J_e**2*s/4 + 2*J_e)"
    assert "Jacobian" in where["J_G"].meaning
    assert r.shorten(theory.bound("gaussian", "adam").step_limit) == S.eps**2 / (S.L * (S.R + S.eps))


@pytest.mark.parametrize("named", [gaussian.named_pieces(), iwae.named_pieces(), linear.NAMED])
def test_named_pieces_use_only_earlier_names(named):
    seen: set[sp.Symbol] = set()
    for piece in named:
        assert not (piece.expr.free_symbols - seen - {i.symbol for i in S.REGISTRY.values()}), piece.symbol
        seen.add(piece.symbol)
    full = unfold(named)
    assert all(not (e.free_symbols & seen) for e in full.values())


def test_piecewise_bound_has_named_branches():
    b = theory.bound("generic", "sgd", "biased")
    r = readable(b)
    assert isinstance(r.expr, sp.Piecewise)
    assert [n.symbol.name for n in r.where[:3]] == ["B_1", "B_2", "B_3"]
    assert r.where[0].meaning == "the bound where Eq(alpha_bias, 0)"
    # below and above 1/4 the bound is one expression: one name for both
    assert r.where[1].meaning == "the bound where alpha_bias < 1/4 or alpha_bias > 1/4"
    assert r.unfold(r.expr) == b.expr
