"""Stress-tested constants.

Search the region the runs visited for larger L, sigma2_data and Monte-Carlo part than the
snapshots showed (docs/theory.md, "Stressed constants").

Region: run i's box, per coordinate [min_j theta_ij, max_j theta_ij] over its snapshots,
widened by ``margin`` times its width on each side and, for a projected run, cut to its
projection's box ||theta||_inf <= ``radius`` (:func:`empirical.estimators.ascent.boxes`).
Every point evaluated lies in a box.

L (the top |eigenvalue| lambda of the Hessian of the fixed-noise loss):

1. screen: the snapshots (:func:`empirical.estimators.along_run.constants_along_run`) and
   ``segment_points`` points on each segment between consecutive snapshots that touches one
   of the run's ``screen_around`` largest snapshots (0: every segment; curvature is
   continuous, so a larger value between snapshots is most likely beside a large snapshot
   value), each valued by at most ``screen_products`` Lanczos products from the earlier
   snapshot's Ritz vector (a lower estimate there, enough to rank);
2. starts: the ``starts`` best screened points, the best of each run first;
3. ascent: projected gradient ascent in the box's own coordinates
   (:func:`empirical.estimators.ascent.box_ascent`: increases only, backtracking), grad |lambda| =
   s grad_theta(v^T H v) with v the top Ritz vector held fixed
   (:mod:`empirical.estimators.curvature`). A trial point is accepted only if its Rayleigh
   quotient s v^T H(trial) v exceeds |lambda| at the current point (then the top |eigenvalue|
   there, >= that quotient, rose too). The noise is the same fixed draw for every step;
4. fresh noise: the best end point is re-evaluated by Lanczos on ``fresh`` new noise draws;
   the stressed value is their mean with a Student-t interval over the draws, its upper end
   widened by the largest Lanczos residual.

Variance (sigma2_data + sigma2_mc_draw, B times the variance of a B-example step's gradient):
candidates are the snapshots and the L-ascents' end points, valued by the probe's fixed sample;
from the best, ``variance_steps`` projected ascent steps as above, the direction the gradient
of the estimator on a subsample of the fixed sample, a step accepted only when the full fixed
sample's value rises; the end point is re-evaluated on a fresh sample (the nested estimator's
t intervals over examples).

Never lowers a constant: when the fresh value is below the one used, the used one is kept
(gain 0); when it is above, no end of the stressed interval is below the used one's. Every
value remains a lower estimate of a supremum, not a proof.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from empirical.errors import ConvergenceWarning
from empirical.estimators.along_run import AlongRun, check_snapshots, constants_along_run
from empirical.estimators.ascent import (
    Box,
    Counter,
    CurvatureClimber,
    Point,
    VarianceClimber,
    box_ascent,
    boxes,
    pick_starts,
)
from empirical.estimators.curvature import top_pair
from empirical.estimators.hvp import HessianOperator
from empirical.estimators.probes import SearchProblem, VarianceAt
from empirical.estimators.results import Estimate, mean_interval, seeded, unflatten, warn_caller
from empirical.estimators.smoothness import smoothness_noted
from empirical.estimators.stress_results import Found, StressBudget, Stressed, StressResult
from empirical.inputs.rules import Number

__all__ = ["Found", "StressBudget", "StressResult", "Stressed", "stress"]


def stress(
    problem: SearchProblem,
    snapshots: Sequence[np.ndarray | torch.Tensor],
    *,
    used: Mapping[str, Estimate] | None = None,
    along: AlongRun | None = None,
    margin: float = 0.0,
    radius: float | None = None,
    budget: StressBudget | None = None,
    steps: Sequence[int] | None = None,
    labels: Sequence[str] | None = None,
    tol: float = 1e-3,
    max_iter: int = 100,
    confidence: float = 0.95,
    generator: torch.Generator | None = None,
    seed: int = 0,
) -> StressResult:
    """Search the runs' boxes for larger L and variance parts (module docstring).

    Args:
        problem: the losses and variance probe (:func:`empirical.estimators.probes.vae_problem`).
        snapshots: per run, its (S, d) flat snapshots (key order of ``problem.like``).
        used: the values the bound used, by name (``L``, ``sigma2_data``, the probe's
            ``mc_name``); default the largest of the table along the run.
        along: that table if already computed (same problem, snapshots, steps and labels).
        margin: widening of each box, a fraction of each coordinate's width (>= 0).
        radius: a projected run's box radius a: the boxes are cut to ||theta||_inf <= a.
        budget: :class:`StressBudget`.
        steps: Each snapshot's step, as for ``constants_along_run``.
        labels: Each run's label, as for ``constants_along_run``.
        tol: Lanczos's relative tolerance on the Ritz value.
        max_iter: Lanczos's largest number of products.
        confidence: The two-sided level of the fresh-draw intervals.
        generator: Every random draw (Lanczos starts, fresh noise).
        seed: The seed when no generator is given.

    Returns:
        :class:`StressResult`: each constant's used, found and stressed values (stressed >= used),
        the gain, where the value was found, the evaluations spent.

    Raises:
        ConfigError: A negative margin, a radius <= 0 or snapshots of the wrong size.
    """
    budget = StressBudget() if budget is None else budget
    margin = Number(0.0, float("inf"), closed=True).check("option margin", margin)
    gen = seeded(generator, seed)
    dim = sum(v.numel() for v in problem.like.values())
    runs = check_snapshots(snapshots, dim)
    if along is None:
        along = constants_along_run(
            problem, runs, steps=steps, labels=labels, tol=tol, max_iter=max_iter, generator=gen
        )
    if radius is not None:
        radius = Number(0.0, float("inf")).check("option radius", radius)
    box = boxes(runs, margin, radius)
    screen = Counter()
    cands = _screen(problem, runs, along, budget, tol, screen)
    count = Counter(budget.products)
    ends = []
    for start in pick_starts(cands, budget.starts):
        if not count.left:
            break
        climber = CurvatureClimber(problem, start, tol, max_iter, count)
        theta, taken = box_ascent(
            climber, start.theta, box[start.run], steps=budget.steps, backtracks=budget.backtracks,
            first_move=budget.first_move, left=lambda: count.left,
        )  # fmt: skip
        ends.append(Point(start.run, start.start, theta, climber.value, climber.v, taken))
    best = max([*ends, *cands], key=lambda p: p.value)
    labels_ = sorted({(r.run, r.label) for r in along.rows})
    name_of = dict(labels_)
    found_L, n_fresh = _fresh_L(problem, best, budget.fresh, tol, max_iter, confidence, gen, name_of)
    used = dict(used or {})
    n_evals = screen.spent + count.spent + n_fresh
    L = Stressed(
        "L", used.get("L") or _largest(along, "L"), found_L,
        Found(best.run, name_of[best.run], best.start, best.steps, best.theta), best.value,
        along.largest("L").L.value, n_evals,
    )  # fmt: skip
    data = mc = None
    mc_name = "sigma2_mc"
    if problem.variance is not None:
        mc_name = problem.variance.mc_name
        data, mc, n_var = _stress_variance(problem, runs, along, ends, box, budget, used, name_of)
        n_evals += n_var
    return StressResult(L, data, mc, mc_name, margin, budget, n_evals)


def _largest(along: AlongRun, column: str) -> Estimate:
    r = along.largest(column)
    e = r.L if column == "L" else getattr(r.variance, {"sigma2_data": "data"}.get(column, column))
    return Estimate(e.value, e.lo, e.hi, e.confidence, f"largest over the snapshots: {e.method}", e.n_evals)


def _screen(
    problem: SearchProblem, runs: list[torch.Tensor], along: AlongRun, budget: StressBudget, tol: float,
    count: Counter,
) -> list[Point]:  # fmt: skip
    """The snapshots and ``segment_points`` points per segment beside a run's largest snapshots."""
    per_segment = budget.segment_points
    out = [
        Point(
            r.run,
            f"snapshot {r.snapshot} (step {r.step})",
            runs[r.run][r.snapshot],
            r.L.value,
            along.vectors[(r.run, r.snapshot)],
        )  # fmt: skip
        for r in along.rows
    ]
    for i, snaps in enumerate(runs):
        for j in _segments(along, i, snaps.shape[0], budget.screen_around):
            for f in np.arange(1, per_segment + 1) / (per_segment + 1):
                theta = (1 - f) * snaps[j] + f * snaps[j + 1]
                op = HessianOperator(problem.loss, unflatten(theta, problem.like))
                run = top_pair(op, along.vectors[(i, j)], tol, budget.screen_products)
                count.add(op.n_evals)
                out.append(Point(i, f"segment {j}-{j + 1} at {f:.3g}", theta, abs(run.theta), run.vector))
    return out


def _segments(along: AlongRun, run: int, S: int, around: int) -> list[int]:
    """The segments j (snapshot j to j + 1) of a run beside its ``around`` largest-L snapshots (0: all)."""
    if around == 0:
        return list(range(S - 1))
    rows = sorted((r for r in along.rows if r.run == run), key=lambda r: -r.L.value)[:around]
    return sorted({j for r in rows for j in (r.snapshot - 1, r.snapshot) if 0 <= j < S - 1})


def _fresh_L(
    problem: SearchProblem, best: Point, draws: int, tol: float, max_iter: int, confidence: float,
    gen: torch.Generator, name_of: dict[int, str],
) -> tuple[Estimate, int]:  # fmt: skip
    """Lanczos at ``best`` on ``draws`` fresh noise draws: mean, t interval, + the largest residual.

    Draws where Lanczos stopped at ``max_iter`` are named in the method, with one ConvergenceWarning.
    """
    p = unflatten(best.theta, problem.like)
    noted = [
        smoothness_noted(
            problem.fresh_loss(gen), p, tol=tol, max_iter=max_iter, generator=gen, where="the found point"
        )
        for _ in range(draws)
    ]
    ests = [e for e, _ in noted]
    stopped = [i for i, (_, note) in enumerate(noted) if note]
    n = sum(e.n_evals for e in ests)
    where = f"{name_of[best.run]}, from {best.start} after {best.steps} ascent steps"
    m = mean_interval(
        np.array([e.value for e in ests]),
        f"top |eigenvalue| of the Hessian at the point the search found ({where}), re-evaluated on "
        f"{draws} fresh noise draws: mean, Student-t interval over the draws widened by the largest "
        "Lanczos residual; lower estimate of sup L",
        confidence, n, clip_at_zero=True,
    )  # fmt: skip
    resid = max(e.hi - e.value for e in ests)
    method = m.method
    if stopped:
        note = (
            f"not converged at draws {stopped} of {draws} (residual > tol |theta| after max_iter = "
            f"{max_iter} products): the residual then widens the interval by no upper value for max|lambda|"
        )
        method += f"; {note}"
        warn_caller(f"stress at the found point: Lanczos {note}", ConvergenceWarning)
    return Estimate(m.value, m.lo, m.hi + resid, m.confidence, method, n), n


def _stress_variance(
    problem: SearchProblem, runs: list[torch.Tensor], along: AlongRun, ends: list[Point],
    box: list[Box], budget: StressBudget, used: dict[str, Estimate],
    name_of: dict[int, str],
) -> tuple[Stressed, Stressed, int]:  # fmt: skip
    """Variance: the best of the snapshots and the L-ascents' ends, ascent from it, a fresh sample."""
    probe = problem.variance
    assert probe is not None
    n_evals = 0
    cands: list[tuple[Point, VarianceAt]] = []
    for r in along.rows:
        assert r.variance is not None
        theta = runs[r.run][r.snapshot]
        start = f"snapshot {r.snapshot} (step {r.step})"
        cands.append((Point(r.run, start, theta, r.variance.objective), r.variance))
    for e in ends:
        at = probe.at(unflatten(e.theta, problem.like), 0)
        n_evals += at.n_evals
        start = f"{e.start}, after {e.steps} L-ascent steps"
        cands.append((Point(e.run, start, e.theta, at.objective, e.vector), at))
    point, at = max(cands, key=lambda c: c[1].objective)
    count = Counter()
    climber = VarianceClimber(problem, point.theta, at, count)
    theta, taken = box_ascent(
        climber, point.theta, box[point.run], steps=budget.variance_steps, backtracks=budget.backtracks,
        first_move=budget.first_move,
    )  # fmt: skip
    at = climber.at
    n_evals += count.spent
    fresh = probe.at(unflatten(theta, problem.like), 1)
    n_evals += fresh.n_evals
    where = Found(point.run, name_of[point.run], point.start, taken, theta)
    note = (
        f"at the point the variance search found ({name_of[point.run]}, from {point.start}, {taken} ascent "
        "steps), re-evaluated on a fresh sample of examples and noise"
    )
    data = Stressed(
        "sigma2_data", used.get("sigma2_data") or _largest(along, "sigma2_data"), _noted(fresh.data, note),
        where, at.data.value, along.largest("sigma2_data").value("sigma2_data") or 0.0, n_evals,
    )  # fmt: skip
    mc = Stressed(
        probe.mc_name, used.get(probe.mc_name) or _largest(along, "mc"), _noted(fresh.mc, note),
        where, at.mc.value, along.largest("mc").value("mc") or 0.0, n_evals,
    )  # fmt: skip
    return data, mc, n_evals


def _noted(e: Estimate, note: str) -> Estimate:
    return Estimate(e.value, e.lo, e.hi, e.confidence, f"{note}: {e.method}", e.n_evals)
