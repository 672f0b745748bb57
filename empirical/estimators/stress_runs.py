"""The constants along the runs and their stress test for the CLI's batched runs of a built-in VAE.

What ``verify`` calls around :func:`empirical.estimators.constants.estimate`.

:func:`table_of_runs` first (``estimate`` reads L, the variance parts and M at every snapshot
from it, ``along=``), then :func:`stress_runs` (the search, from the same table).

Reads of the runs (an ``empirical.train`` ``TrainRun``) only ``snapshots`` (R, S, d),
``snapshot_steps`` (S,), ``seeds`` and ``param_keys``; the losses and the variance sample are
those of ``estimate`` with the same ``seed`` and ``n_examples``
(:func:`empirical.estimators.probes.vae_problem`).

The search: docs/theory.md, "Stressed constants"; the estimators: docs/estimators.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from empirical.estimators.along_run import AlongRun, constants_along_run
from empirical.estimators.probes import SearchProblem, vae_problem
from empirical.estimators.results import seeded
from empirical.estimators.stress import StressBudget, StressResult, stress

#: Offset of the search's seed from the table's (its Lanczos starts and fresh noise draws).
SEARCH_SEED_OFFSET = 7


@dataclass(frozen=True)
class RunsStress:
    """The table along the runs (``along``) and the stress test (``stress``; None when skipped)."""

    along: AlongRun
    stress: StressResult | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: ``constants_along_run`` and ``stress`` (report.json's keys).

        Returns:
            The two keys; ``stress`` None when the search was skipped.
        """
        return {
            "constants_along_run": self.along.as_dict(),
            "stress": None if self.stress is None else self.stress.as_dict(),
        }


def runs_problem(
    model: Any, data: torch.Tensor, run: Any, *, n_examples: int = 256, mc_samples: int = 4, seed: int = 0,
    confidence: float = 0.95,
) -> SearchProblem:  # fmt: skip
    """The search problem of the runs: ``estimate``'s examples and noise, the runs' key order.

    Args:
        model: The VAE (``Problem.model``).
        data: Its training rows (``Problem.X``).
        run: The TrainRun of R runs (its snapshots, snapshot steps, seeds and key order).
        n_examples: The examples of the variance sample, as for ``estimate``.
        mc_samples: The draws per example, as for ``estimate``.
        seed: The seed of the examples and noise, as for ``estimate`` (same examples and noise).
        confidence: The intervals' two-sided level.

    Returns:
        :func:`empirical.estimators.probes.vae_problem` over the runs' parameter keys.
    """
    return vae_problem(
        model, data, n_examples=n_examples, mc_samples=mc_samples, seed=seed, confidence=confidence,
        keys=tuple(run.param_keys),
    )  # fmt: skip


def table_of_runs(
    model: Any,
    data: torch.Tensor,
    run: Any,
    *,
    n_examples: int = 256,
    mc_samples: int = 4,
    seed: int = 0,
    confidence: float = 0.95,
    tol: float = 1e-3,
    max_iter: int = 100,
) -> AlongRun:
    """L, sigma2_data, the Monte-Carlo part, M and ||theta||_inf at every snapshot of every run.

    Args:
        model: The VAE (``Problem.model``).
        data: Its training rows (``Problem.X``).
        run: The TrainRun of R runs (its snapshots, snapshot steps, seeds and key order).
        n_examples: The examples of the variance sample, as for ``estimate``.
        mc_samples: The draws per example, as for ``estimate``.
        seed: The seed of the examples and noise, as for ``estimate`` (same examples and noise).
        confidence: The intervals' two-sided level.
        tol: Lanczos's relative tolerance on the Ritz value.
        max_iter: Lanczos's largest number of products.

    Returns:
        :func:`empirical.estimators.along_run.constants_along_run` of the runs' snapshots, each
        run labelled by its seed, each snapshot by its step; Lanczos starts drawn with
        ``seeded(None, seed)``.
    """
    problem = runs_problem(
        model, data, run, n_examples=n_examples, mc_samples=mc_samples, seed=seed, confidence=confidence
    )
    return constants_along_run(
        problem, list(np.asarray(run.snapshots)), steps=[int(k) for k in np.asarray(run.snapshot_steps)],
        labels=[f"seed {s}" for s in run.seeds], tol=tol, max_iter=max_iter, generator=seeded(None, seed),
    )  # fmt: skip


def stress_runs(
    model: Any,
    data: torch.Tensor,
    run: Any,
    constants: Any = None,
    *,
    along: AlongRun | None = None,
    search: bool = True,
    margin: float = 0.0,
    radius: float | None = None,
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
        model: The VAE (``Problem.model``).
        data: Its training rows (``Problem.X``).
        run: The TrainRun of R runs (its snapshots, snapshot steps, seeds and key order).
        constants: ``estimate``'s :class:`~empirical.estimators.constants.Constants` (the values
            used; None: the largest along the runs).
        along: the table (:func:`table_of_runs` with the same arguments) if already measured.
        search: False skips the search (``--no-stress``): the table only.
        margin: The boxes' widening, as for :func:`empirical.estimators.stress.stress`.
        radius: A projected run's box radius a (the search stays in ||theta||_inf <= a).
        budget: The search's :class:`~empirical.estimators.stress.StressBudget`.
        n_examples: The examples of the variance sample, as for ``estimate``.
        mc_samples: The draws per example, as for ``estimate``.
        seed: The seed of the examples and noise, as for ``estimate`` (same examples and noise); the search
            draws with ``seeded(None, seed, SEARCH_SEED_OFFSET)``.
        confidence: The intervals' two-sided level.
        tol: Lanczos's relative tolerance on the Ritz value.
        max_iter: Lanczos's largest number of products.

    Returns:
        :class:`RunsStress`: the table, and the stressed constants (None without ``search``).
    """
    kw = dict(n_examples=n_examples, mc_samples=mc_samples, seed=seed, confidence=confidence)
    if along is None:
        along = table_of_runs(model, data, run, **kw, tol=tol, max_iter=max_iter)
    if not search:
        return RunsStress(along, None)
    used = None if constants is None else constants.named()
    result = stress(
        runs_problem(model, data, run, **kw), list(np.asarray(run.snapshots)), used=used, along=along,
        margin=margin, radius=radius, budget=budget, tol=tol, max_iter=max_iter, confidence=confidence,
        generator=seeded(None, seed, SEARCH_SEED_OFFSET),
    )  # fmt: skip
    return RunsStress(along, result)
