"""Exploring a bound over the batch size B and the samples K.

Iterations over a grid, the split of a per-step compute B K, and the bound at a
fixed budget of B K n gradient evaluations (docs/theory.md, "Closed-form
consequences").
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import sympy as sp

from theory import checks
from theory.bound import Bound
from theory.errors import AssumptionViolation, MissingConstantError, TheoryError
from theory.rates.step_constant import at_optimal_step, clean_values, iterations_to_reach, require_bound
from theory.symbols import B, K, n


def _sizes(name: str, values: Iterable) -> list[int]:
    try:
        items = list(values)
    except TypeError:
        raise TheoryError(f"{name} must be an iterable of integers >= 1, got {values!r:.60}") from None
    if not items:
        raise TheoryError(f"{name} must not be empty")
    out = [checks.require_integer(name, v, minimum=1) for v in items]
    if len(set(out)) != len(out):
        raise TheoryError(f"{name} has duplicate values: {out}")
    return out


def iterations_grid(
    bound: Bound, target: float, batch_sizes, samples, **values: float
) -> dict[tuple[int, int], int]:
    """The iterations needed to reach a target for every (B, K) in a grid.

    Args:
        bound: The bound.
        target: The accuracy to reach.
        batch_sizes: The values of B, integers >= 1.
        samples: The values of K, integers >= 1.
        **values: The other constants (not B or K).

    Returns:
        (B, K) -> :func:`~theory.rates.step_constant.iterations_to_reach` at that point.

    Raises:
        TheoryError: B or K in ``values``, a bad grid, or any error of ``iterations_to_reach``.
    """
    require_bound(bound, "iterations_grid")
    for key in ("B", "K"):
        if key in values:
            raise TheoryError(f"iterations_grid varies {key}: do not pass it in values")
    return {
        (b, kk): iterations_to_reach(bound, target, B=b, K=kk, **values)
        for b in _sizes("batch_sizes", batch_sizes)
        for kk in _sizes("samples", samples)
    }


@dataclass(frozen=True)
class ComputeSplit:
    """One way to spend a per-step budget B K = compute.

    Attributes:
        B: The batch size.
        K: The samples per example.
        iterations: The iterations to reach the target.
        total: The total gradient evaluations n B K.
    """

    B: int
    K: int
    iterations: int
    total: int


def compute_tradeoff(bound: Bound, compute: int, target: float, **values: float) -> tuple[ComputeSplit, ...]:
    """Every split B K = ``compute`` into integers, with the iterations each needs.

    For the SGD bound with the variance split, at fixed B K = c the variance is
    sigma2_data/B + sigma2_mc/c, decreasing in B: with constants that do not depend on K
    the best split is B = c, K = 1.

    Args:
        bound: The bound.
        compute: The per-step budget B K, an integer >= 1.
        target: The accuracy to reach.
        **values: The other constants (not B or K).

    Returns:
        The splits, sorted by total cost n B K (then larger B first).

    Raises:
        TheoryError: A bad ``compute``, or any error of ``iterations_to_reach``.
    """
    require_bound(bound, "compute_tradeoff")
    if isinstance(compute, bool) or not isinstance(compute, int | np.integer) or compute < 1:
        raise AssumptionViolation(f"compute must be an integer >= 1, got {compute!r}")
    splits = []
    for b in range(1, int(compute) + 1):
        if compute % b:
            continue
        kk = int(compute) // b
        its = iterations_to_reach(bound, target, B=b, K=kk, **values)
        splits.append(ComputeSplit(b, kk, its, its * int(compute)))
    return tuple(sorted(splits, key=lambda s: (s.total, -s.B)))


@dataclass(frozen=True)
class BudgetPoint:
    """The bound after n = floor(budget / (B K)) steps with batch B and K samples.

    Attributes:
        B: The batch size.
        K: The samples per example.
        n: The steps the budget allows.
        value: The bound there.
        C_gamma: The step constant tuned at this point (None when C_gamma was given).
    """

    B: int
    K: int
    n: int
    value: float
    C_gamma: float | None = None


@dataclass(frozen=True)
class BudgetTradeoff:
    """The bound at a fixed budget of B K n gradient evaluations.

    Attributes:
        budget: The budget B K n.
        expr: The bound with n = budget/(B K), a function of B and K.
        points: Every admissible grid point, sorted by value.
        best: The point with the smallest bound.
        tuned: C_gamma was set to its optimal value at each point.
    """

    budget: int
    expr: sp.Expr
    points: tuple[BudgetPoint, ...]
    best: BudgetPoint
    tuned: bool


def _powers_of_two(limit: int) -> list[int]:
    return [2**i for i in range(int(math.log2(limit)) + 1)]


def budget_tradeoff(
    bound: Bound, budget: int, batch_sizes=None, samples=None, *, tune_at=None, **values: float
) -> BudgetTradeoff:
    """The bound as a function of B and K when B K n = ``budget`` gradient evaluations are spent.

    Points with n < 1 or breaking an assumption are left out. When the bound depends on
    C_gamma and ``values`` do not give it, each point uses the optimal step constant at
    its n: min(C*, step limit).

    Args:
        bound: The bound.
        budget: The number of gradient evaluations B K n, an integer >= 1.
        batch_sizes: The values of B (default: powers of two up to the budget).
        samples: The values of K (default: powers of two up to the budget).
        tune_at: Values that replace some of ``values`` where C_gamma is tuned (e.g.
            ``{"L": 2 * L}``: a step rule that keeps a margin on L, as
            empirical.pipeline.pilot's does), while the bound is evaluated at ``values``.
        **values: The other constants (not B, K or n).

    Returns:
        The grid points sorted by value, the best one and the bound's expression.

    Raises:
        TheoryError: B, K or n given, ``tune_at`` with C_gamma given, a missing constant,
            or no admissible point.
    """
    require_bound(bound, "budget_tradeoff")
    total = checks.require_integer("budget", budget, minimum=1)
    for key in ("B", "K", "n"):
        if key in values or key in (tune_at or {}):
            raise TheoryError(f"budget_tradeoff sets {key}: do not pass it in values")
    clean = clean_values(values)
    tuned = "C_gamma" in bound.constants and "C_gamma" not in clean
    if tune_at is not None and not tuned:
        raise TheoryError("tune_at changes the values C_gamma is tuned at: leave C_gamma out of values")
    margin = clean_values(tune_at or {})
    base = at_optimal_step(bound) if tuned else bound.expr
    missing = sorted(
        c
        for c in bound.constants
        if c not in clean and c not in ("B", "K", "n") and not (tuned and c == "C_gamma")
    )
    if missing:
        raise MissingConstantError(f"{bound.name}: missing value for {', '.join(missing)}")
    bs = _sizes("batch_sizes", batch_sizes if batch_sizes is not None else _powers_of_two(total))
    ks = _sizes("samples", samples if samples is not None else _powers_of_two(total))
    points = []
    for b in bs:
        for kk in ks:
            steps = total // (b * kk)
            if steps < 1:
                continue
            point = {k: v for k, v in {**clean, "B": b, "K": kk, "n": steps}.items() if k in bound.constants}
            if tuned:
                at = {**point, **margin}
                point["C_gamma"] = float(
                    bound.optimal_step.xreplace({s: at[s.name] for s in bound.optimal_step.free_symbols})
                )
            if bound.check(point):
                continue
            step = point["C_gamma"] if tuned else None
            points.append(BudgetPoint(b, kk, steps, bound.evaluate(**point), step))
    if not points:
        raise TheoryError(f"{bound.name}: no admissible (B, K) with budget {total}")
    ordered = tuple(sorted(points, key=lambda p: (p.value, -p.B, p.K)))
    expr = base.subs(n, total / (B * K))
    return BudgetTradeoff(total, expr, ordered, ordered[0], tuned)
