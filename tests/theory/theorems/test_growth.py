"""SGD under a growth condition (docs/theory.md, "SGD under a growth condition"): the
derivation through theory.descent, G_growth = 0 giving the schedule theorem exactly, its
left-hand side and step condition, and what explain() says of Bottou, Curtis and Nocedal."""

from __future__ import annotations

import pytest
import sympy as sp

import theory
from theory import descent
from theory import symbols as S
from theory.lhs import STEP_WEIGHTED

GROWTH = theory.bound("generic", "sgd", "growth")
SCHEDULE = theory.bound("generic", "sgd", "schedule")
VALUES = dict(Delta=3.0, L=2.0, S1=4.0, S2=0.5, gamma_max=0.25)


def test_the_bound_is_the_schedule_form_with_A_in_place_of_sigma2():
    assert sp.simplify(GROWTH.expr - (2 * S.Delta + S.L * S.A_growth * S.S2) / S.S1) == 0
    assert GROWTH.lhs == STEP_WEIGHTED and GROWTH.lhs == SCHEDULE.lhs
    assert set(GROWTH.constants) == {"A_growth", "Delta", "G_growth", "L", "S1", "S2", "gamma_max"}
    assert not GROWTH.has_rate and GROWTH.variant == "growth" and GROWTH.tight
    ids = [a.id for a in GROWTH.assumptions]
    assert "growth-variance" in ids and "bounded-variance" not in ids and "step-size" in ids


def test_G_zero_gives_the_schedule_theorem_exactly():
    zero = GROWTH.substitute(G_growth=0, A_growth=S.sigma2)
    assert zero.expr == SCHEDULE.expr
    for sigma2 in (0.0, 0.7, 3.0):
        got = GROWTH.evaluate(**VALUES, A_growth=sigma2, G_growth=0.0)
        assert got == SCHEDULE.evaluate(**VALUES, sigma2=sigma2)
    # the derivation itself: growth 0 is the bounded-variance update, step for step
    plain = descent.per_step(descent.Update(variance=S.sigma2, growth=sp.Integer(0)))
    assert plain.steps == descent.per_step(descent.SGD).steps
    # and the step condition 1/(L (1 + G)) is 1/L
    limit = next(c.rhs for a in GROWTH.assumptions for c in a.constraints if c.lhs == S.gamma_max)
    assert limit.subs(S.G_growth, 0) == 1 / S.L


def test_the_derivation_proves_the_step_limit_one_over_L_one_plus_G():
    step = descent.per_step(descent.Update(variance=S.A_growth, growth=S.G_growth))
    assert step.limit == 1 / (S.L * (1 + S.G_growth)) and step.factor == sp.Rational(1, 2)
    titles = [s.title for s in GROWTH.steps]
    assert titles[0] == "descent lemma" and "growth condition" in GROWTH.steps[1].justification
    assert titles[2] == "step size at most 1/(L*(G_growth + 1))"
    with pytest.raises(theory.AssumptionViolation, match=r"gamma_max <= 1/\(L\*\(G_growth \+ 1\)\)"):
        GROWTH.evaluate(**{**VALUES, "gamma_max": 0.2}, A_growth=1.0, G_growth=2.0)  # > 1/(2 * 3)
    assert GROWTH.evaluate(**{**VALUES, "gamma_max": 1 / 6, "S2": 0.5}, A_growth=1.0, G_growth=2.0) > 0
    with pytest.raises(theory.MissingConstantError, match="G_growth"):
        GROWTH.evaluate(**VALUES, A_growth=1.0)


def test_explain_relates_it_to_bottou_curtis_nocedal():
    text = GROWTH.explain()
    for phrase in ("Bottou", "M_G = 1 + G_growth", "M = A_growth", "M_V = G_growth", "Theorem 4.8",
                   "Theorem 4.10", "G_growth = 0 gives the schedule theorem"):  # fmt: skip
        assert phrase in text, phrase
    assert "SIAM Review 60(2)" in GROWTH.reference


def test_the_symbols_are_registered_with_their_domains():
    for name in ("A_growth", "G_growth"):
        info = S.info(name)
        assert info.domain == "nonnegative" and "growth" in info.meaning
    with pytest.raises(theory.AssumptionViolation, match="G_growth must be a finite number >= 0"):
        GROWTH.evaluate(**VALUES, A_growth=1.0, G_growth=-0.5)
