"""The constants along the runs and their stress test for the CLI's batched runs of a built-in
VAE: what ``verify`` calls after :func:`empirical.estimators.constants.estimate`.

Reads of the runs (an ``empirical.train`` ``TrainRun``) only ``snapshots`` (R, S, d),
``snapshot_steps`` (S,), ``seeds`` and ``param_keys``; the losses and the variance sample are
those of ``estimate`` with the same ``seed`` and ``n_examples``
(:func:`empirical.estimators.probes.vae_problem`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from empirical.estimators.along_run import AlongRun, constants_along_run
from empirical.estimators.probes import vae_problem
from empirical.estimators.stress import StressBudget, StressResult, stress


@dataclass(frozen=True)
class RunsStress:
    """The table along the runs (``along``) and the stress test (``stress``; None when skipped)."""

    along: AlongRun
    stress: StressResult | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: ``constants_along_run`` and ``stress`` (report.json's keys)."""
        return {
            "constants_along_run": self.along.as_dict(),
            "stress": None if self.stress is None else self.stress.as_dict(),
        }


def stress_runs(
    model: Any,
    data: torch.Tensor,
    run: Any,
    constants: Any = None,
    *,
    search: bool = True,
    margin: float = 0.0,
    budget: StressBudget | None = None,
    n_examples: int = 256,
    mc_samples: int = 4,
    seed: int = 0,
    confidence: float = 0.95,
    tol: float = 1e-3,
    max_iter: int = 100,
) -> RunsStress:
    """The constants at every snapshot of every run and, with ``search``, their stress test.

    Args:
        model, data: the VAE and its training rows (``Problem.model``, ``Problem.X``).
        run: the TrainRun of R runs.
        constants: ``estimate``'s :class:`~empirical.estimators.constants.Constants` (the values
            used; None: the largest along the runs).
        search: False skips the search (``--no-stress``): the table only.
        margin, budget: of :func:`empirical.estimators.stress.stress`.
        n_examples, mc_samples, seed, confidence: as for ``estimate`` (same examples and noise).
        tol, max_iter: Lanczos's stopping rule.

    Returns:
        :class:`RunsStress`.
    """
    problem = vae_problem(
        model, data, n_examples=n_examples, mc_samples=mc_samples, seed=seed, confidence=confidence,
        keys=tuple(run.param_keys),
    )  # fmt: skip
    snapshots = list(np.asarray(run.snapshots))
    steps = [int(k) for k in np.asarray(run.snapshot_steps)]
    labels = [f"seed {s}" for s in run.seeds]
    gen = torch.Generator().manual_seed(seed)
    along = constants_along_run(
        problem, snapshots, steps=steps, labels=labels, tol=tol, max_iter=max_iter, generator=gen
    )
    if not search:
        return RunsStress(along, None)
    used = None if constants is None else constants.named()
    result = stress(
        problem, snapshots, used=used, along=along, margin=margin, budget=budget, tol=tol,
        max_iter=max_iter, confidence=confidence, generator=gen,
    )  # fmt: skip
    return RunsStress(along, result)
