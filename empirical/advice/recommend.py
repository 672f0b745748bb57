"""What SGD's bound recommends for a budget of gradient evaluations: C_gamma, the split of n B K, IWAE's K.

Each recommendation comes with its predicted gain (bound at the advice / bound at the
default) and its reasoning in one line (:func:`recommend`; docs/advise.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from empirical.errors import ConfigError
from empirical.inputs import MAX_BATCH, MAX_STEPS
from empirical.pipeline.pilot import L_MARGIN

#: Samples K tried (powers of two up to this, and the default's K).
MAX_GRID_K = 16


@dataclass(frozen=True)
class PilotConstants:
    """The pilot's upper values at theta_0 for one K (the largest over its initialisations).

    Attributes:
        K: The samples per row.
        L: The smoothness.
        sigma2_data: The data part of the variance.
        sigma2_mc: The Monte-Carlo part (per variational sample for a loss that averages its K
            draws; sigma2_mc_K, measured at this K, for IWAE).
        Delta: F(theta_0) - F*.
        proven: Delta rests on a proven lower bound of F.
    """

    K: int
    L: float
    sigma2_data: float
    sigma2_mc: float
    Delta: float
    proven: bool


@dataclass(frozen=True)
class Setting:
    """n steps of B rows and K draws with step constant C_gamma, and the bound there.

    Attributes:
        n: The steps.
        B: The rows per step.
        K: The draws per row.
        C_gamma: The step constant.
        bound: The bound at these values.
    """

    n: int
    B: int
    K: int
    C_gamma: float
    bound: float

    @property
    def evaluations(self) -> int:
        """The gradient evaluations n B K."""
        return self.n * self.B * self.K

    def same_run(self, other: Setting) -> bool:
        """Whether two settings train the same runs.

        Args:
            other: The other setting.

        Returns:
            True when n, B, K agree and C_gamma agrees to 1e-12.
        """
        return (self.n, self.B, self.K) == (other.n, other.B, other.K) and math.isclose(
            self.C_gamma, other.C_gamma, rel_tol=1e-12
        )


@dataclass(frozen=True)
class Recommendation:
    """One recommendation, with its predicted gain and reasoning.

    Attributes:
        name: "C_gamma", "split" or "K".
        values: The recommended values.
        gain: Bound at the advice / bound at the default (None when the bound does not apply
            at the default).
        reasoning: Why, in one line.
    """

    name: str
    values: dict[str, float]
    gain: float | None
    reasoning: str


@dataclass(frozen=True)
class Advice:
    """Everything ``vaebounds advise`` recommends.

    Attributes:
        theorem: The bound's name.
        budget: The gradient evaluations n B K.
        default: The default run.
        advice: The advised run.
        recommendations: The recommendations.
        constants: The pilot's constants, one per K measured.
        grid: Every admissible point of the grid, sorted by the bound.
        notes: Remarks.
    """

    theorem: str
    budget: int
    default: Setting
    advice: Setting
    recommendations: tuple[Recommendation, ...]
    constants: tuple[PilotConstants, ...]
    grid: tuple[Setting, ...]
    notes: tuple[str, ...] = ()

    @property
    def gain(self) -> float:
        """Bound at the advice / bound at the default."""
        return self.advice.bound / self.default.bound

    @property
    def is_default(self) -> bool:
        """True when the advice is the default run itself."""
        return self.advice.same_run(self.default)

    def as_dict(self) -> dict:
        """The advice, JSON-ready.

        Returns:
            The fields, the gain, whether it is the default, and L_MARGIN.
        """
        return {
            "theorem": self.theorem,
            "budget": self.budget,
            "L_margin": L_MARGIN,
            "default": {**asdict(self.default), "evaluations": self.default.evaluations},
            "advice": {**asdict(self.advice), "evaluations": self.advice.evaluations},
            "gain": self.gain,
            "is_default": self.is_default,
            "recommendations": [asdict(r) for r in self.recommendations],
            "constants": [asdict(c) for c in self.constants],
            "grid": [asdict(p) for p in self.grid],
            "notes": list(self.notes),
        }


def powers_of_two(limit: int) -> list[int]:
    """The powers of two 1, 2, 4, ... up to a limit.

    Args:
        limit: The limit (>= 1).

    Returns:
        The powers.
    """
    return [2**i for i in range(int(math.log2(max(limit, 1))) + 1)]


def _mc_name(bound) -> str:
    return "sigma2_mc_K" if "sigma2_mc_K" in bound.constants else "sigma2_mc"


def bound_values(bound, c: PilotConstants) -> tuple[dict[str, float], dict[str, float] | None]:
    """The constants the bound is evaluated at, and those C_gamma is tuned at instead.

    Args:
        bound: The model's SGD bound (``expand=False``).
        c: The pilot's constants.

    Returns:
        (values, tune_at): L, the variance parts and Delta, with {"L": L_MARGIN L} to tune
        C_gamma at; or, when the pilot's rule takes the step limit whatever n (no proven Delta,
        no noise), C_gamma = 1/(L_MARGIN L) among the values and None.
    """
    values = {"L": c.L, "sigma2_data": c.sigma2_data, _mc_name(bound): c.sigma2_mc, "Delta": c.Delta}
    if not c.proven or c.Delta <= 0 or c.sigma2_data + c.sigma2_mc <= 0:
        return {**values, "C_gamma": 1.0 / (L_MARGIN * c.L)}, None
    return values, {"L": L_MARGIN * c.L}


def _point(bound, values: dict[str, float], n: int, B: int, K: int) -> dict[str, float]:
    return {k: v for k, v in {**values, "n": n, "B": B, "K": K}.items() if k in bound.constants}


def _sigma2(bound, values: dict[str, float], B: int, K: int) -> float:
    """sigma2(B, K), the variance of a step (theory.models.common: the split, or IWAE's)."""
    from theory.models.common import iwae_variance, variance_split

    expr = iwae_variance if _mc_name(bound) == "sigma2_mc_K" else variance_split
    at = {**values, "B": B, "K": K}
    return float(expr.subs({s: at[s.name] for s in expr.free_symbols}))


def _unclipped(bound, values: dict[str, float], n: int, B: int, K: int) -> float:
    """C*, the bound's stationary point in C_gamma at ``values`` (optimal_step's part other than 1/L)."""
    import sympy as sp

    from theory import symbols as S

    best = bound.optimal_step
    parts = [a for a in (best.args if isinstance(best, sp.Min) else (best,)) if a != 1 / S.L]
    at = _point(bound, values, n, B, K)
    return float(parts[0].subs({s: at[s.name] for s in parts[0].free_symbols}))


def _attribution(bound, values: dict[str, float], n: int, B: int, K: int, C: float):
    import theory

    return theory.attribution(bound, **{**_point(bound, values, n, B, K), "C_gamma": C})


def _delta_share(attribution) -> float:
    return sum(t.share for t in attribution.terms if t.name.startswith("Delta"))


def _grid(bound, c: PilotConstants, budget: int, Bs: list[int], Ks: list[int]) -> list[Setting]:
    """Every (B, K) with 2 <= n <= MAX_STEPS, C_gamma by the rule at each, sorted by the bound."""
    from theory.errors import TheoryError
    from theory.rates import budget_tradeoff

    values, tune_at = bound_values(bound, c)
    try:
        t = budget_tradeoff(bound, budget, Bs, Ks, tune_at=tune_at, **values)
    except TheoryError:  # no admissible point at all
        return []
    return [
        Setting(p.n, p.B, p.K, values["C_gamma"] if p.C_gamma is None else p.C_gamma, p.value)
        for p in t.points
        if 2 <= p.n <= MAX_STEPS
    ]


def recommend(
    model: str,
    constants: Sequence[PilotConstants],
    budget: int,
    default: tuple[int, int],
    C_default: float,
    C_default_how: str,
    max_steps: int | None = None,
) -> Advice:
    """The advice for a budget of gradient evaluations (docs/advise.md).

    The bound is the model's SGD theorem with L, Delta and the variance parts as constants
    (``theory.bound(model, "sgd", expand=False)``) at the pilot's upper ends at theta_0, C_gamma by
    the pilot's rule min(C*, 1/(L_MARGIN L)) (:func:`empirical.pipeline.pilot.from_pilot`). It
    recommends C_gamma at the default's n, B, K; the split (n, B, K) minimising the bound over
    powers of two with n = floor(budget / (B K)), C by the rule at each point
    (:func:`theory.rates.budget_tradeoff`); and, for IWAE, K (a pilot at every K).

    Args:
        model: the theorem catalogue's model (e.g. "gaussian", "iwae").
        constants: the pilot's constants: one (for the default's K) or, for IWAE, one per K
            of the K grid, the default's K among them.
        budget: the gradient evaluations n B K to spend.
        default: the default's (B, K); its n is floor(budget / (B K)).
        C_default: the default's C_gamma (the pilot's rule, or the one the user gave).
        C_default_how: how it was chosen, in words.
        max_steps: the most steps the advice may take (None: MAX_STEPS); the bound's best over
            the whole grid is named in the split's reasoning when it lies beyond.

    Returns:
        The :class:`Advice`.

    Raises:
        ConfigError: the budget buys fewer than 2 steps of the default, or no admissible point.
    """
    import theory

    bound = theory.bound(model, "sgd", expand=False)
    iwae = _mc_name(bound) == "sigma2_mc_K"
    B0, K0 = default
    n0 = budget // (B0 * K0)
    if n0 < 2:
        raise ConfigError(
            f"budget (--budget) {budget} buys {n0} step(s) of the default's B K = {B0 * K0} gradient "
            f"evaluations; a run needs at least 2: give at least {2 * B0 * K0}"
        )
    by_K = {c.K: c for c in constants}
    if K0 not in by_K:
        raise ConfigError(f"the pilot has no constants at the default's K = {K0}")
    Bs = sorted(set(powers_of_two(min(budget // 2, MAX_BATCH))) | {B0})
    grid: list[Setting] = []
    if iwae:
        for c in constants:
            grid += _grid(bound, c, budget, Bs, [c.K])
    else:
        Ks = sorted({k for k in powers_of_two(MAX_GRID_K) if 2 * k <= budget} | {K0})
        grid = _grid(bound, by_K[K0], budget, Bs, Ks)
    grid.sort(key=lambda p: (p.bound, -p.B, p.K))
    at_default = next((p for p in grid if (p.n, p.B, p.K) == (n0, B0, K0)), None)
    if at_default is None:
        raise ConfigError(
            f"budget (--budget) {budget}: the default's n = {n0}, B = {B0}, K = {K0} is no admissible point"
        )
    values0, _ = bound_values(bound, by_K[K0])
    a0 = _attribution(bound, values0, n0, B0, K0, C_default)
    default_setting = Setting(n0, B0, K0, C_default, a0.value)
    notes = []
    problem = bound.check({**_point(bound, values0, n0, B0, K0), "C_gamma": C_default})
    if problem:
        notes.append(
            "the default breaks the theorem: "
            + "; ".join(v.message for v in problem)
            + " (its bound is the formula's value, not a bound)"
        )
    if not by_K[K0].proven:
        notes.append("Delta rests on no proven lower bound of F: the bound's values are not upper values")
    cap = MAX_STEPS if max_steps is None else max_steps
    allowed = [p for p in grid if p.n <= cap]
    if not allowed:
        raise ConfigError(f"max_steps (--max-steps) {cap}: no (B, K) on the grid needs so few steps")
    best = allowed[0]
    recs = [
        _step_advice(bound, by_K[K0], at_default, default_setting, C_default_how),
        _split_advice(bound, by_K[best.K], default_setting, best, grid, a0, cap),
    ]
    if iwae and len(constants) > 1:
        recs.append(_samples_advice(allowed, default_setting))
    return Advice(
        bound.name, budget, default_setting, best, tuple(recs), tuple(constants), tuple(grid), tuple(notes)
    )


def _step_advice(bound, c: PilotConstants, at_default: Setting, default: Setting, how: str) -> Recommendation:
    values, tune_at = bound_values(bound, c)
    n, B, K, C = at_default.n, at_default.B, at_default.K, at_default.C_gamma
    limit = 1.0 / (L_MARGIN * c.L)
    if tune_at is None:
        why = (
            f"no proven Delta or no noise: the pilot's rule takes the limit 1/({L_MARGIN:g} L) = {limit:.4g}"
        )
    else:
        sigma2, star = _sigma2(bound, values, B, K), _unclipped(bound, {**values, **tune_at}, n, B, K)
        side = (
            f"above the step limit 1/({L_MARGIN:g} L) = {limit:.4g}, which decides"
            if star >= limit
            else f"below the step limit 1/({L_MARGIN:g} L) = {limit:.4g}"
        )
        why = (
            f"C* = sqrt(2 Delta / ({L_MARGIN:g} L sigma2 (1 + log n))) = {star:.4g} at L = {c.L:.4g}, "
            f"sigma2 = {sigma2:.4g}, Delta = {c.Delta:.4g}, n = {n}: {side}"
        )
    same = math.isclose(C, default.C_gamma, rel_tol=1e-9)
    why += (
        "; the default's C_gamma is this rule already"
        if same
        else f"; the default's is {default.C_gamma:.4g} ({how})"
    )
    return Recommendation("C_gamma", {"C_gamma": C}, at_default.bound / default.bound, why)


def _split_advice(
    bound, c_best: PilotConstants, default: Setting, best: Setting, grid, a0, cap: int
) -> Recommendation:
    values, _ = bound_values(bound, c_best)
    a = _attribution(bound, values, best.n, best.B, best.K, best.C_gamma)
    share0, share = _delta_share(a0), _delta_share(a)
    top = grid[0]
    within = sum(1 for p in grid if p.n <= cap)
    capped = f", of which the {within} with n <= {cap} (--max-steps) are compared" if top is not best else ""
    why = (
        f"at the default (n = {default.n}, B = {default.B}, K = {default.K}) the Delta term is {share0:.0%} "
        f"of the bound and the noise terms {1 - share0:.0%}; of the {len(grid)} (B, K) on powers of two "
        f"(n = budget/(B K), C_gamma by the rule at each){capped}, the bound is lowest at B = {best.B}, "
        f"K = {best.K}, n = {best.n} (C_gamma = {best.C_gamma:.4g}), where the Delta term is {share:.0%}"
    )
    if best.same_run(default):
        why += ": the default is already the bound's best split"
    if capped:
        gain = top.bound / default.bound
        why += f"; without the cap: B = {top.B}, K = {top.K}, n = {top.n}, bound x {gain:.3g}"
    values = {"n": best.n, "B": best.B, "K": best.K, "C_gamma": best.C_gamma}
    return Recommendation("split", values, best.bound / default.bound, why)


def _samples_advice(grid: list[Setting], default: Setting) -> Recommendation:
    """K for IWAE: the best K over the grid's points (each K at its best B)."""
    best_at = {}
    for p in grid:  # sorted by the bound: the first at each K is its best B
        best_at.setdefault(p.K, p)
    Ks = sorted(best_at)
    K = min(Ks, key=lambda k: best_at[k].bound)
    listed = ", ".join(f"{best_at[k].bound:.4g} at K = {k} (B = {best_at[k].B})" for k in Ks)
    why = (
        f"a pilot at each K (L, sigma2_mc_K and Delta change with K), the bound at its best B: {listed}; "
        f"lowest at K = {K}. Each K's bound is about the gradient of its own objective (the IWAE bound "
        "with K draws)"
    )
    reference = best_at.get(default.K)
    gain = None if reference is None else best_at[K].bound / reference.bound
    return Recommendation("K", {"K": K}, gain, why)
