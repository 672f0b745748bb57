"""Projected ascent inside a box of parameters, accepting only increases.

The search engine of :mod:`empirical.estimators.stress`, for the top |eigenvalue| of the Hessian
and for the gradient variance.

Box: per run, [lo, hi] = the snapshots' coordinate-wise min and max widened by ``margin``
times the width max - min, cut to the projection's box for projected runs (:func:`boxes`);
w = hi - lo. The ascent works in the box's own coordinates u = (theta - lo)/w: a step is
theta + t w^2 * grad f (the gradient in u, mapped back), then the projection
min(max(., lo), hi). The first trial moves the coordinate of largest |w grad f| by
``first_move`` of its width; a trial is kept only if the climber says the objective rose
(then t doubles), else t halves, ``backtracks`` times before the ascent stops. A coordinate of
width 0 never moves: every point lies in the box.

Why the search never lowers a constant: docs/theory.md, "Stressed constants".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch

from empirical.estimators.curvature import CurvatureAt, top_pair
from empirical.estimators.probes import SearchProblem, VarianceAt
from empirical.estimators.results import flatten, unflatten

Box = tuple[torch.Tensor, torch.Tensor]


@dataclass
class Point:
    """A point of the search.

    Attributes:
        run: The run whose box holds it.
        start: Where its ascent started (a snapshot, a point of a segment).
        theta: The flat parameters.
        value: The objective there, on the search's fixed noise.
        vector: For the curvature, the top Ritz vector there.
        steps: The accepted ascent steps that reached it.
    """

    run: int
    start: str
    theta: torch.Tensor
    value: float
    vector: torch.Tensor | None = None
    steps: int = 0


class Counter:
    """Evaluations spent, against a cap (``left`` while below it).

    Args:
        cap: The most evaluations the search may spend (default: no cap).
    """

    def __init__(self, cap: float = float("inf")) -> None:
        self.cap, self.spent = cap, 0

    def add(self, n: int) -> None:
        """Count ``n`` more evaluations.

        Args:
            n: The evaluations just spent.
        """
        self.spent += int(n)

    @property
    def left(self) -> bool:
        """True while the spent evaluations are below the cap."""
        return self.spent < self.cap


class Climber(Protocol):
    """The objective seen from the current point.

    Its gradient there, and a trial that moves the climber (returning True) only if the
    objective rose.
    """

    def gradient(self) -> torch.Tensor:
        """The gradient of the objective at the current point, flat (d,)."""
        ...

    def attempt(self, theta: torch.Tensor) -> bool:
        """Move to ``theta`` if the objective rose there.

        Args:
            theta: The trial point, flat (d,).

        Returns:
            True if the climber moved (the objective at ``theta`` exceeds the current value).
        """
        ...


def boxes(runs: Sequence[torch.Tensor], margin: float, radius: float | None = None) -> list[Box]:
    """Each run's box of parameters (module docstring).

    Args:
        runs: Per run, its (S, d) flat snapshots.
        margin: The widening: lo = min - margin w, hi = max + margin w, w = max - min per coordinate.
        radius: A projected run's a: the box is cut to [-a, a] (the theorem's constants are
            about ||theta||_inf <= a).

    Returns:
        Per run, (lo, hi), each (d,).
    """
    out = []
    for snaps in runs:
        lo, hi = snaps.min(0).values, snaps.max(0).values
        w = hi - lo
        lo, hi = lo - margin * w, hi + margin * w
        if radius is not None:
            lo, hi = lo.clamp(-radius, radius), hi.clamp(-radius, radius)
        out.append((lo, hi))
    return out


def box_ascent(
    climber: Climber,
    theta: torch.Tensor,
    box: Box,
    *,
    steps: int,
    backtracks: int,
    first_move: float,
    left: Callable[[], bool] = lambda: True,
) -> tuple[torch.Tensor, int]:
    """Projected ascent from ``theta`` in ``box`` (module docstring) while ``left()``.

    Args:
        climber: The objective seen from the current point.
        theta: The start, flat (d,).
        box: (lo, hi) of the run.
        steps: Accepted steps, at most.
        backtracks: Halvings of t per trial before the ascent stops.
        first_move: The first trial's largest move, a fraction of the coordinate's width.
        left: False once the search's budget is spent.

    Returns:
        (the last accepted point, the number of accepted steps).
    """
    lo, hi = box
    w = hi - lo
    t, taken = None, 0
    while taken < steps and left():
        grad = climber.gradient()
        scale = float((w * grad).abs().max())
        if not scale > 0:
            break
        direction = w * w * grad
        t = first_move / scale if t is None else t
        moved = False
        for _ in range(backtracks + 1):
            trial = torch.minimum(torch.maximum(theta + t * direction, lo), hi)
            if torch.equal(trial, theta) or not left():
                break
            if climber.attempt(trial):
                theta, moved, t, taken = trial, True, 2 * t, taken + 1
                break
            t /= 2
        if not moved:
            break
    return theta, taken


class CurvatureClimber:
    """The climber of |lambda(theta)|, the top |eigenvalue| of the fixed-noise loss's Hessian.

    With v its Ritz vector and s the sign of lambda, the gradient is s grad_theta(v^T H v) (a
    third-order product); a trial is accepted when s v^T H(trial) v > |lambda| here (then the
    top |eigenvalue| there, at least that quotient, rose too), and Lanczos from v gives the
    new (lambda, v).

    Args:
        problem: The losses.
        start: The start, with its Ritz vector and value.
        tol: Lanczos's relative tolerance.
        max_iter: Lanczos's largest number of products.
        count: The search's evaluation counter.
    """

    def __init__(
        self, problem: SearchProblem, start: Point, tol: float, max_iter: int, count: Counter
    ) -> None:
        assert start.vector is not None
        self.problem, self.tol, self.max_iter, self.count = problem, tol, max_iter, count
        self.op = self._op(start.theta)
        self.v, self.value = start.vector, start.value
        self.sign = 1.0 if self.op.rayleigh(self.v) >= 0 else -1.0
        count.add(1)

    def _op(self, theta: torch.Tensor) -> CurvatureAt:
        op = CurvatureAt(self.problem.loss, unflatten(theta, self.problem.like))
        self.count.add(op.n_evals)
        return op

    def gradient(self) -> torch.Tensor:
        """The gradient s grad_theta(v^T H v) at the current point, v held fixed."""
        self.count.add(1)
        return self.sign * self.op.rayleigh_gradient(self.v)

    def attempt(self, theta: torch.Tensor) -> bool:
        """Move to ``theta`` if s v^T H(theta) v exceeds |lambda| here.

        Args:
            theta: The trial point, flat (d,).

        Returns:
            True if the climber moved (then lambda and v are Lanczos's at ``theta``).
        """
        op = self._op(theta)
        q = self.sign * op.rayleigh(self.v)
        self.count.add(1)
        if not q > self.value:
            return False
        before = op.n_evals
        run = top_pair(op, self.v, self.tol, self.max_iter)
        self.count.add(op.n_evals - before)
        assert run.vector is not None
        self.op, self.v, self.value = op, run.vector, abs(run.theta)
        self.sign = 1.0 if run.theta >= 0 else -1.0
        return True


class VarianceClimber:
    """The climber of sigma2_data + sigma2_mc_draw on the probe's fixed sample.

    Its gradient is that of the probe's differentiable subsample objective; a trial is accepted
    when the full fixed sample's value rises (``at`` is then the estimate there).

    Args:
        problem: The losses and the variance probe.
        theta: The start, flat (d,).
        at: The probe's estimate at the start.
        count: The search's evaluation counter.
    """

    def __init__(self, problem: SearchProblem, theta: torch.Tensor, at: VarianceAt, count: Counter) -> None:
        assert problem.variance is not None
        self.problem, self.probe, self.count = problem, problem.variance, count
        self.theta, self.at = theta, at

    def gradient(self) -> torch.Tensor:
        """The gradient of the probe's subsample objective at the current point, flat (d,)."""
        params = {
            k: v.detach().requires_grad_(True) for k, v in unflatten(self.theta, self.problem.like).items()
        }
        grads = torch.autograd.grad(self.probe.objective(params), list(params.values()), allow_unused=True)
        self.count.add(self.probe.objective_evals)
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params.values(), grads, strict=True)]
        return flatten(dict(zip(params, grads, strict=True)), list(self.problem.like)).to(torch.float64)

    def attempt(self, theta: torch.Tensor) -> bool:
        """Move to ``theta`` if the full fixed sample's objective rose there.

        Args:
            theta: The trial point, flat (d,).

        Returns:
            True if the climber moved.
        """
        at = self.probe.at(unflatten(theta, self.problem.like), 0)
        self.count.add(at.n_evals)
        if not at.objective > self.at.objective:
            return False
        self.theta, self.at = theta, at
        return True


def pick_starts(cands: list[Point], k: int) -> list[Point]:
    """The starts of the ascents.

    Args:
        cands: The screened points.
        k: How many starts.

    Returns:
        The ``k`` best candidates, the best of each run first (runs by their best value).
    """
    ranked = sorted(cands, key=lambda p: -p.value)
    firsts, seen = [], set()
    for p in ranked:
        if p.run not in seen:
            seen.add(p.run)
            firsts.append(p)
    rest = [p for p in ranked if all(p is not q for q in firsts)]
    return (firsts + rest)[:k]
