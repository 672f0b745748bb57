"""The constants at every snapshot of every run.

L, sigma2_data, the Monte-Carlo part, M and ||theta||_inf (docs/theory.md, "Stressed constants":
the bound takes the largest).

At snapshot j of run i (theta_ij, the run's ``snapshots[i][j]``):

* ``L``: the top |eigenvalue| of the Hessian of the search problem's fixed-noise loss by
  Lanczos (:func:`empirical.estimators.curvature.top_pair`), started from the Ritz vector of
  snapshot j - 1 (the spectrum moves little between snapshots); interval ``[|theta|,
  |theta| + resid]`` as in :func:`empirical.estimators.smoothness.smoothness`.
* ``sigma2_data``, the Monte-Carlo part, ``M``: the problem's variance probe on its fixed
  sample (:class:`empirical.estimators.probes.VarianceProbe`; for the built-in VAEs the
  sample :func:`empirical.estimators.constants.estimate` uses).
* ``theta_sup``: ||theta_ij||_inf, exact.

The table is what :mod:`empirical.estimators.stress` screens before it searches (the Ritz
vectors are kept for its warm starts, never reported).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from empirical.errors import ConfigError, ConvergenceWarning, LossError
from empirical.estimators.curvature import top_pair
from empirical.estimators.hvp import HessianOperator
from empirical.estimators.probes import SearchProblem, VarianceAt
from empirical.estimators.results import Estimate, seeded, unflatten, warn_caller
from empirical.inputs.rules import Number, Whole

#: The columns of the table, in the order the report lists them (the MC part by its name).
COLUMNS = ("L", "sigma2_data", "mc", "M", "theta_sup")


def _interval(e: Estimate) -> dict[str, float]:
    return {"value": e.value, "lo": e.lo, "hi": e.hi}


@dataclass(frozen=True)
class AlongRunRow:
    """The constants at one snapshot of one run.

    Attributes:
        run: The run's index.
        label: The run's name (e.g. its seed).
        snapshot: The snapshot's index in the run.
        step: The step k of the snapshot.
        L: The top |eigenvalue| of the Hessian there (Lanczos; the interval's upper end widened
            by the residual).
        variance: sigma2_data, the Monte-Carlo part and M there (None without a variance probe).
        theta_sup: ||theta||_inf there.
    """

    run: int
    label: str
    snapshot: int
    step: int
    L: Estimate
    variance: VarianceAt | None
    theta_sup: float

    def value(self, column: str) -> float | None:
        """The point value of ``column`` at this snapshot.

        Args:
            column: One of :data:`COLUMNS`.

        Returns:
            The value; None for a variance column without a variance probe.
        """
        if column == "L":
            return self.L.value
        if column == "theta_sup":
            return self.theta_sup
        if self.variance is None:
            return None
        return {"sigma2_data": self.variance.data, "mc": self.variance.mc, "M": self.variance.M}[column].value

    def as_dict(self, mc_name: str = "sigma2_mc") -> dict[str, Any]:
        """JSON-ready row: run, label, snapshot, step, each constant's value/lo/hi, theta_sup.

        Args:
            mc_name: The Monte-Carlo part's key.

        Returns:
            The row (the variance keys only with a variance probe).
        """
        out: dict[str, Any] = {"run": self.run, "label": self.label, "snapshot": self.snapshot}
        out.update(step=self.step, L=_interval(self.L))
        if self.variance is not None:
            out.update(sigma2_data=_interval(self.variance.data), M=self.variance.M.value)
            out[mc_name] = _interval(self.variance.mc)
        out["theta_sup"] = self.theta_sup
        return out


@dataclass(frozen=True)
class AlongRun:
    """The table of the constants at every snapshot of every run.

    Attributes:
        rows: Every snapshot's row, run-major.
        mc_name: The Monte-Carlo part's theory name.
        methods: How each column was measured.
        n_evals: The evaluations spent.
        vectors: ``vectors[(run, snapshot)]``, the Ritz vector of L there (warm starts; not reported).
    """

    rows: tuple[AlongRunRow, ...]
    mc_name: str
    methods: dict[str, str]
    n_evals: int
    vectors: dict[tuple[int, int], torch.Tensor] = field(default_factory=dict, compare=False, repr=False)

    def columns(self) -> tuple[str, ...]:
        """The columns measured.

        Returns:
            L and theta_sup, and the variance columns when a probe measured them.
        """
        has = any(r.variance is not None for r in self.rows)
        return tuple(c for c in COLUMNS if has or c in ("L", "theta_sup"))

    def largest(self, column: str) -> AlongRunRow:
        """The row with the largest point value of ``column`` (first such row on ties).

        Args:
            column: A measured column (:meth:`columns`).

        Returns:
            That row: where the runs' largest value of the constant was seen.

        Raises:
            ConfigError: A column not measured.
        """
        if column not in self.columns():
            raise ConfigError(f"no column {column!r}; measured: {', '.join(self.columns())}")
        return max(self.rows, key=lambda r: r.value(column))  # type: ignore[arg-type, return-value]

    def series(self, column: str) -> np.ndarray:
        """The values of ``column`` along every run.

        Args:
            column: One of :data:`COLUMNS`.

        Returns:
            (R, S) array, NaN where a run has fewer snapshots or the column is not measured.
        """
        R = 1 + max(r.run for r in self.rows)
        S = 1 + max(r.snapshot for r in self.rows)
        out = np.full((R, S), np.nan)
        for r in self.rows:
            v = r.value(column)
            out[r.run, r.snapshot] = np.nan if v is None else v
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready table (report.json's ``constants_along_run``).

        Returns:
            The rows (value/lo/hi per constant), each column's method, where each column was
            largest (run, label, step, value), and n_evals.
        """
        name = {"mc": self.mc_name}
        largest = {}
        for c in self.columns():
            r = self.largest(c)
            largest[name.get(c, c)] = {"run": r.run, "label": r.label, "step": r.step, "value": r.value(c)}
        return {
            "rows": [r.as_dict(self.mc_name) for r in self.rows],
            "methods": {name.get(c, c): m for c, m in self.methods.items()},
            "largest": largest,
            "n_evals": self.n_evals,
        }


def check_snapshots(snapshots: Sequence[np.ndarray | torch.Tensor], dim: int) -> list[torch.Tensor]:
    """Each run's snapshots, checked.

    Args:
        snapshots: Per run, its flat snapshots.
        dim: d, the parameters' count.

    Returns:
        Each run's snapshots as a finite float64 (S_i, d) tensor, S_i >= 1.

    Raises:
        ConfigError: No run, or a run's array not (S, d).
        LossError: A snapshot with NaN or inf.
    """
    if len(snapshots) < 1:
        raise ConfigError("need the snapshots of at least one run")
    out = []
    for i, s in enumerate(snapshots):
        t = torch.as_tensor(np.asarray(s) if not isinstance(s, torch.Tensor) else s).to(torch.float64)
        if t.ndim != 2 or t.shape[0] < 1 or t.shape[1] != dim:
            raise ConfigError(f"snapshots of run {i} must be an (S, {dim}) array, got {tuple(t.shape)}")
        if not torch.isfinite(t).all():
            raise LossError(f"snapshots of run {i} contain NaN or inf")
        out.append(t)
    return out


def constants_along_run(
    problem: SearchProblem,
    snapshots: Sequence[np.ndarray | torch.Tensor],
    *,
    steps: Sequence[int] | None = None,
    labels: Sequence[str] | None = None,
    tol: float = 1e-3,
    max_iter: int = 100,
    generator: torch.Generator | None = None,
    seed: int = 0,
) -> AlongRun:
    """L, sigma2_data, the Monte-Carlo part, M and ||theta||_inf at every snapshot (module docstring).

    Args:
        problem: the losses and variance probe (e.g. :func:`empirical.estimators.probes.vae_problem`).
        snapshots: per run, its (S, d) flat snapshots in the key order of ``problem.like``.
        steps: The step k of each snapshot index (default 0..S-1).
        labels: Each run's name (default ``run i``).
        tol: Lanczos's stopping rule, the relative residual.
        max_iter: Lanczos's largest number of products.
        generator: Draws the first Lanczos start of each run (a standard normal vector).
        seed: The seed when no generator is given.

    Returns:
        :class:`AlongRun`: one row per (run, snapshot), run-major; ``largest(column)`` names the
        snapshot with the largest value (the bounded-variance row's "where"). A row where Lanczos
        stopped at ``max_iter`` says "not converged" in its L method, and one
        :class:`~empirical.errors.ConvergenceWarning` names them all.

    Raises:
        ConfigError: Bad snapshots, tol, max_iter, or steps/labels of the wrong length.
    """
    tol = Number(0.0, 1.0, hi_open=True).check("option tol", tol)
    max_iter = Whole(1, None).check("option max_iter", max_iter)
    dim = sum(v.numel() for v in problem.like.values())
    runs = check_snapshots(snapshots, dim)
    S = max(t.shape[0] for t in runs)
    steps = list(range(S)) if steps is None else [int(k) for k in steps]
    if len(steps) < S:
        raise ConfigError(f"steps has {len(steps)} entries, the runs have up to {S} snapshots")
    labels = [f"run {i}" for i in range(len(runs))] if labels is None else [str(x) for x in labels]
    if len(labels) != len(runs):
        raise ConfigError(f"labels has {len(labels)} entries for {len(runs)} runs")
    gen = seeded(generator, seed)
    rows, vectors, n_evals, stopped = [], {}, 0, []
    for i, snaps in enumerate(runs):
        v = torch.randn(dim, generator=gen, dtype=torch.float64)
        for j, theta in enumerate(snaps):
            p = unflatten(theta, problem.like)
            op = HessianOperator(problem.loss, p)
            run = top_pair(op, v, tol, max_iter)
            v = vectors[(i, j)] = run.vector
            n_evals += op.n_evals
            top = abs(run.theta)
            where = f"{labels[i]}, step {steps[j]}"
            note = run.shortfall(tol)
            stopped += [where] if note else []
            method = f"Lanczos ({run.steps} products) at {where}" + (f"; {note}" if note else "")
            L = Estimate(top, top, top + run.resid, 1.0, method, op.n_evals)
            var = None
            if problem.variance is not None:
                var = problem.variance.at(p, 0)
                n_evals += var.n_evals
            rows.append(AlongRunRow(i, labels[i], j, steps[j], L, var, float(theta.abs().max())))
    methods = {
        "L": f"Lanczos top |eigenvalue| of the Hessian of {problem.what} at each snapshot (relative "
        f"residual <= {tol:g}, started from the previous snapshot's Ritz vector); lower estimate of sup L",
        "theta_sup": "||theta||_inf of the snapshot, exact",
    }
    if problem.variance is not None:
        mc = problem.variance.mc_name
        nested = "nested estimator on the probe's fixed sample at each snapshot, t interval over examples"
        methods.update(
            sigma2_data=nested,
            mc=f"{mc}: {nested}",
            M="largest per-(example, draw) gradient norm of the fixed sample at each snapshot",
        )
    if stopped:
        note = (
            f"not converged (residual > tol |theta| after max_iter = {max_iter} products) at "
            f"{len(stopped)} of {len(rows)} snapshots ({'; '.join(stopped)}); their hi is then no upper "
            "value for max|lambda|"
        )
        methods["L"] += f"; {note}"
        warn_caller(f"constants_along_run: Lanczos {note}", ConvergenceWarning)
    mc_name = problem.variance.mc_name if problem.variance is not None else "sigma2_mc"
    return AlongRun(tuple(rows), mc_name, methods, n_evals, vectors)
