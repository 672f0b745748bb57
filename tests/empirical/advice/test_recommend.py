"""The advice's logic against closed forms (empirical/advice/recommend.py): the step constant
C* = sqrt(2 Delta / (L sigma2 (1 + log n))) clipped to 1/L at L = L_MARGIN x the pilot's L (the
pilot's rule), and the split of the budget as the minimiser of the bound (at the pilot's L) over a
brute-force grid."""

from __future__ import annotations

import math

import pytest

from empirical.advice.recommend import MAX_GRID_K, PilotConstants, powers_of_two, recommend
from empirical.errors import ConfigError
from empirical.pipeline.pilot import L_MARGIN, PilotPoint, from_pilot

# The default run's pilot on digits, rounded: the Delta term dominates, C* is clipped.
DIGITS = PilotConstants(K=1, L=84.4, sigma2_data=199.0, sigma2_mc=400.0, Delta=15.5, proven=True)
# A noisy problem: C* below the step limit.
NOISY = PilotConstants(K=1, L=2.0, sigma2_data=5e4, sigma2_mc=1e5, Delta=1.0, proven=True)


def sgd_bound(n, B, K, C, c: PilotConstants, iwae=False):
    """(2 Delta + L C^2 sigma2 (1 + log n)) / (C sqrt(n)) at the pilot's L, typed out."""
    L = c.L
    sigma2 = c.sigma2_data / B + (c.sigma2_mc / B if iwae else c.sigma2_mc / (B * K))
    return (2 * c.Delta + L * C**2 * sigma2 * (1 + math.log(n))) / (C * math.sqrt(n))


def tuned_C(n, B, K, c: PilotConstants, iwae=False):
    """min(C*, 1/L) at L = L_MARGIN x the pilot's L, typed out."""
    L = L_MARGIN * c.L
    sigma2 = c.sigma2_data / B + (c.sigma2_mc / B if iwae else c.sigma2_mc / (B * K))
    return min(math.sqrt(2 * c.Delta / (L * sigma2 * (1 + math.log(n)))), 1 / L)


def brute_force(budget, c_by_K, Bs, Ks, iwae=False):
    """(bound, B, K, n) minimising the bound over the grid, C tuned at each point."""
    best = None
    for B in Bs:
        for K in Ks:
            n = budget // (B * K)
            if n < 2:
                continue
            c = c_by_K[K]
            value = sgd_bound(n, B, K, tuned_C(n, B, K, c, iwae), c, iwae)
            if best is None or value < best[0]:
                best = (value, B, K, n)
    return best


@pytest.mark.parametrize("c", [DIGITS, NOISY], ids=["clipped", "unclipped"])
def test_step_constant_is_the_closed_form_clipped(c):
    budget, B, K = 64_000, 32, 1
    n = budget // (B * K)
    advice = recommend("gaussian", [c], budget, (B, K), 1e-4, "given")
    step = next(r for r in advice.recommendations if r.name == "C_gamma")
    L = L_MARGIN * c.L  # the rule's margin
    star = math.sqrt(2 * c.Delta / (L * (c.sigma2_data / B + c.sigma2_mc / (B * K)) * (1 + math.log(n))))
    assert step.values["C_gamma"] == pytest.approx(min(star, 1 / L), rel=1e-9)
    assert (star > 1 / L) == (c is DIGITS)  # both regimes are exercised
    assert f"{star:.4g}" in step.reasoning
    # its gain: the bound at that C over the bound at the given C, at the default's n, B, K
    expected = sgd_bound(n, B, K, min(star, 1 / L), c) / sgd_bound(n, B, K, 1e-4, c)
    assert step.gain == pytest.approx(expected, rel=1e-9) and step.gain < 1


def test_the_default_step_is_the_pilots_rule_as_verify_takes_it():
    """The pilot's rule (from_pilot, what verify runs) and the advice's C agree at the default."""
    points = [PilotPoint(84.4, 199.0 / 32 + 400.0 / 32, 15.5, True, 199.0, 400.0)]
    choice = from_pilot(points, 2000)
    advice = recommend("gaussian", [DIGITS], 64_000, (32, 1), choice.C_gamma, choice.how)
    step = next(r for r in advice.recommendations if r.name == "C_gamma")
    assert step.values["C_gamma"] == pytest.approx(choice.C_gamma, rel=1e-12) and step.gain == pytest.approx(
        1
    )
    assert "this rule already" in step.reasoning


@pytest.mark.parametrize("c", [DIGITS, NOISY], ids=["delta-dominated", "noise-dominated"])
@pytest.mark.parametrize("budget", [64_000, 5_000, 100])
def test_split_is_the_brute_force_minimiser(c, budget):
    B0, K0 = 32, 1
    advice = recommend("gaussian", [c], budget, (B0, K0), 1e-3, "given")
    Bs = sorted(set(powers_of_two(budget // 2)) | {B0})
    Ks = [k for k in powers_of_two(MAX_GRID_K) if 2 * k <= budget]
    value, B, K, n = brute_force(budget, {k: c for k in Ks}, Bs, Ks)
    best = advice.advice
    assert (best.B, best.K, best.n) == (B, K, n)
    assert best.bound == pytest.approx(value, rel=1e-9)
    assert best.C_gamma == pytest.approx(tuned_C(n, B, K, c), rel=1e-9)
    assert best.evaluations <= budget and advice.default.n == budget // (B0 * K0)
    assert advice.default.bound == pytest.approx(sgd_bound(advice.default.n, B0, K0, 1e-3, c), rel=1e-9)
    split = next(r for r in advice.recommendations if r.name == "split")
    assert split.gain == pytest.approx(value / advice.default.bound, rel=1e-9)
    assert all(p.bound >= best.bound for p in advice.grid)


def test_the_split_moves_with_the_constants():
    """The Delta term dominates on digits: more, smaller steps; with large noise, larger batches."""
    low = recommend("gaussian", [DIGITS], 64_000, (32, 1), 1e-3, "given").advice
    high = recommend("gaussian", [NOISY], 64_000, (32, 1), 1e-3, "given").advice
    assert low.B < 32 < high.B and low.K == high.K == 1


def test_iwae_K_is_the_brute_force_minimiser_over_per_K_constants():
    """IWAE: the constants change with K (one pilot each); K enters only through them and n."""
    by_K = {
        1: PilotConstants(1, 84.0, 40.0, 900.0, 15.5, True),
        2: PilotConstants(2, 70.0, 40.0, 300.0, 14.7, True),
        4: PilotConstants(4, 10.0, 40.0, 100.0, 3.0, True),  # made far easier: K = 4 must win
    }
    budget = 64_000
    advice = recommend("iwae", list(by_K.values()), budget, (32, 1), 0.001, "given")
    Bs = sorted(set(powers_of_two(budget // 2)) | {32})
    value, B, K, n = brute_force(budget, by_K, Bs, sorted(by_K), iwae=True)
    assert (advice.advice.B, advice.advice.K, advice.advice.n) == (B, K, n) == (advice.advice.B, 4, n)
    assert advice.advice.bound == pytest.approx(value, rel=1e-9)
    samples = next(r for r in advice.recommendations if r.name == "K")
    best_at_1 = brute_force(budget, by_K, Bs, [1], iwae=True)[0]
    assert samples.values["K"] == 4 and samples.gain == pytest.approx(value / best_at_1, rel=1e-9)
    assert "its own objective" in samples.reasoning


def test_no_proven_delta_takes_the_step_limit():
    unproven = PilotConstants(1, 84.4, 199.0, 400.0, 15.5, proven=False)
    advice = recommend("gaussian", [unproven], 64_000, (32, 1), 1e-3, "given")
    assert all(p.C_gamma == pytest.approx(1 / (L_MARGIN * 84.4)) for p in advice.grid)
    assert any("no proven lower bound" in note for note in advice.notes)


def test_a_default_step_above_the_limit_is_named_not_hidden():
    advice = recommend("gaussian", [DIGITS], 64_000, (32, 1), 0.02, "given")  # 0.02 > 1/L = 0.0118
    assert any("breaks the theorem" in note for note in advice.notes)
    assert advice.default.bound == pytest.approx(sgd_bound(2000, 32, 1, 0.02, DIGITS), rel=1e-9)


def test_a_budget_below_two_default_steps_is_refused():
    with pytest.raises(ConfigError, match="at least 2"):
        recommend("gaussian", [DIGITS], 63, (32, 1), 1e-3, "given")


def test_a_step_cap_keeps_the_best_split_within_it_and_names_the_whole_grids():
    budget = 64_000
    capped = recommend("gaussian", [DIGITS], budget, (32, 1), 1e-3, "given", max_steps=8000)
    free = recommend("gaussian", [DIGITS], budget, (32, 1), 1e-3, "given")
    assert free.advice.n > 8000 >= capped.advice.n  # on digits the bound wants more steps than the cap
    Bs = sorted(set(powers_of_two(budget // 2)) | {32})
    Ks = powers_of_two(MAX_GRID_K)
    within = [(B, K) for B in Bs for K in Ks if 2 <= budget // (B * K) <= 8000]
    value, B, K, n = min(
        (
            sgd_bound(budget // (B * K), B, K, tuned_C(budget // (B * K), B, K, DIGITS), DIGITS),
            B,
            K,
            budget // (B * K),
        )
        for B, K in within
    )
    assert (capped.advice.B, capped.advice.K, capped.advice.n) == (B, K, n)
    split = next(r for r in capped.recommendations if r.name == "split")
    assert f"B = {free.advice.B}, K = {free.advice.K}, n = {free.advice.n}" in split.reasoning
    grid = [(B, K) for B in Bs for K in Ks if budget // (B * K) >= 2]
    # it said "of the 65 (B, K) ... with n <= 8000", counting the points beyond the cap too
    assert f"of the {len(grid)} (B, K)" in split.reasoning and len(within) < len(grid)
    assert f"of which the {len(within)} with n <= 8000 (--max-steps) are compared" in split.reasoning


def test_a_cap_at_the_default_steps_on_digits_leaves_the_default_as_the_advice():
    from empirical.pipeline.pilot import PilotPoint, from_pilot

    points = [PilotPoint(84.4, 199.0 / 32 + 400.0 / 32, 15.5, True, 199.0, 400.0)]
    C0 = from_pilot(points, 2000).C_gamma
    advice = recommend("gaussian", [DIGITS], 64_000, (32, 1), C0, "pilot", max_steps=2000)
    assert advice.is_default and advice.gain == pytest.approx(1)
    assert (
        "already the bound's best split"
        in next(r for r in advice.recommendations if r.name == "split").reasoning
    )
