"""Projected ascent inside a box of parameters, accepting only increases: the search engine of
:mod:`empirical.estimators.stress`, for the top |eigenvalue| of the Hessian and for the
gradient variance.

Box: per run, [lo, hi] = the snapshots' coordinate-wise min and max widened by ``margin``
times the width max - min, cut to the projection's box for projected runs (:func:`boxes`);
w = hi - lo. The ascent works in the box's own coordinates u = (theta - lo)/w: a step is
theta + t w^2 * grad f (the gradient in u, mapped back), then the projection
min(max(., lo), hi). The first trial moves the coordinate of largest |w grad f| by
``first_move`` of its width; a trial is kept only if the climber says the objective rose
(then t doubles), else t halves, ``backtracks`` times before the ascent stops. A coordinate of
width 0 never moves: every point lies in the box.
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
    """A point of the search: its run, how it was reached (``start``, accepted ``steps``), the
    flat parameters, the objective's value there (on the search's fixed noise) and, for the
    curvature, its top Ritz vector."""

    run: int
    start: str
    theta: torch.Tensor
    value: float
    vector: torch.Tensor | None = None
    steps: int = 0


class Counter:
    """Evaluations spent, against a cap (``left`` while below it)."""

    def __init__(self, cap: float = float("inf")) -> None:
        self.cap, self.spent = cap, 0

    def add(self, n: int) -> None:
        self.spent += int(n)

    @property
    def left(self) -> bool:
        return self.spent < self.cap


class Climber(Protocol):
    """The objective seen from the current point: its gradient there, and a trial that moves
    the climber (returning True) only if the objective rose."""

    def gradient(self) -> torch.Tensor: ...

    def attempt(self, theta: torch.Tensor) -> bool: ...


def boxes(runs: Sequence[torch.Tensor], margin: float, radius: float | None = None) -> list[Box]:
    """Per run, (lo, hi): the snapshots' coordinate-wise min and max, each widened by
    ``margin`` times the coordinate's width (max - min), and cut to [-radius, radius] when
    ``radius`` is given (projected runs: the theorem's constants are about ||theta||_inf <= a)."""
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
    """|lambda(theta)|, the top |eigenvalue| of the Hessian of the fixed-noise loss, with v its
    Ritz vector: gradient s grad_theta(v^T H v) (third-order product); a trial is accepted when
    s v^T H(trial) v > |lambda| here, and Lanczos from v then gives the new (lambda, v)."""

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
        self.count.add(1)
        return self.sign * self.op.rayleigh_gradient(self.v)

    def attempt(self, theta: torch.Tensor) -> bool:
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
    """sigma2_data + sigma2_mc_draw on the probe's fixed sample: gradient of the probe's
    differentiable subsample objective; a trial is accepted when the full fixed sample's value
    rises (``at`` is then the estimate there)."""

    def __init__(self, problem: SearchProblem, theta: torch.Tensor, at: VarianceAt, count: Counter) -> None:
        assert problem.variance is not None
        self.problem, self.probe, self.count = problem, problem.variance, count
        self.theta, self.at = theta, at

    def gradient(self) -> torch.Tensor:
        params = {
            k: v.detach().requires_grad_(True) for k, v in unflatten(self.theta, self.problem.like).items()
        }
        grads = torch.autograd.grad(self.probe.objective(params), list(params.values()), allow_unused=True)
        self.count.add(self.probe.objective_evals)
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params.values(), grads, strict=True)]
        return flatten(dict(zip(params, grads, strict=True)), list(self.problem.like)).to(torch.float64)

    def attempt(self, theta: torch.Tensor) -> bool:
        at = self.probe.at(unflatten(theta, self.problem.like), 0)
        self.count.add(at.n_evals)
        if not at.objective > self.at.objective:
            return False
        self.theta, self.at = theta, at
        return True


def pick_starts(cands: list[Point], k: int) -> list[Point]:
    """The ``k`` best candidates, the best of each run first (runs by their best value)."""
    ranked = sorted(cands, key=lambda p: -p.value)
    firsts, seen = [], set()
    for p in ranked:
        if p.run not in seen:
            seen.add(p.run)
            firsts.append(p)
    rest = [p for p in ranked if all(p is not q for q in firsts)]
    return (firsts + rest)[:k]
