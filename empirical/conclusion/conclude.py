"""The one conclusion of every source of runs: theorem -> bind -> compare -> rows ->
Result (docs/architecture.md, "How a question flows"). The CLI's batched runs
(:func:`empirical.pipeline.verify`) and tracked runs (:func:`empirical.tracking.verify_runs`)
both end here, with their runs, measured constants, fixed values and settings."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from empirical.compare import bind
from empirical.conclusion.coverage import OptimizerRun, choose_theorem
from empirical.conclusion.observed import CONFIDENCE, compare_runs
from empirical.conclusion.result import Result
from empirical.conclusion.rows import Evidence, assumption_rows
from empirical.conclusion.tightness import tightness_of
from empirical.conclusion.variants import attribution_of, variant_extras
from empirical.settings import Settings

if TYPE_CHECKING:
    from empirical.estimators.constants import Constants
    from empirical.train.recording import TrainRun


def conclude(
    settings: Settings,
    runs: TrainRun,
    constants: Constants,
    fixed: Mapping[str, float],
    optimizer: OptimizerRun,
    *,
    timings: Mapping[str, float] | None = None,
    extras: Mapping[str, Any] | None = None,
    approximate_ok: bool = False,
) -> Result:
    """The :class:`Result` of ``runs``.

    Args:
        settings: what was run; ``settings.theorem_model`` picks the catalogue's model
            (a user's module: ``generic``), ``settings.source`` the rows' words.
        runs: the R runs, batched or tracked (one :class:`~empirical.train.TrainRun`).
        constants: the constants measured along them.
        fixed: the values that are not estimated (:func:`empirical.conclusion.values.fixed_values`).
        optimizer: the optimizer as the theorems see it; it picks the theorem
            (:func:`~empirical.conclusion.coverage.choose_theorem`), whose optimizer values
            (alpha_step, beta1, beta2, eps) join ``fixed``.
        timings: seconds spent so far, by part; the time spent here is added to ``theory``.
        extras: what the front end reports besides (step constant choice, data, tracker).
        approximate_ok: accept assumption rows that are only approximately met: the verdict is
            then HOLDS, VIOLATED or INCONCLUSIVE, marked approximately covered, instead of
            NOT_COVERED (:mod:`empirical.conclusion.result`).

    Returns:
        The Result: the bound at the constants' ends that make it larger (empirical.compare.bind),
        the theorem's weighted average of the records per run and over runs, the rate, the
        assumption rows, for Adam and Adagrad every variant on the same runs, the bound's
        attribution and its tightness (``extras["tightness"]``: bound / observed = proof x
        landscape x noise term, :mod:`empirical.conclusion.tightness`; its time is
        ``timings["tightness"]``); its verdict is decided on construction
        (:func:`empirical.decision.assess`).
    """
    started = time.perf_counter()
    choice = choose_theorem(settings.theorem_model, optimizer)
    theorem = choice.theorem
    values = {**fixed, **choice.values}
    needed = set(theorem.constants)
    binding = bind(theorem, constants.named(), {k: v for k, v in values.items() if k in needed})
    observed, rate, curves = compare_runs(
        theorem, runs, binding.values, values, schedule_rate=optimizer.steps != "recorded"
    )
    adaptive = {}
    if optimizer.family in ("adam", "adagrad"):
        adaptive = variant_extras(
            settings.theorem_model, optimizer, constants.named(), values, runs, CONFIDENCE
        )
    evidence = Evidence(
        settings, runs, optimizer, constants, binding, theorem.variant == "projected", choice.algorithm_row
    )
    rows = assumption_rows(theorem, evidence)
    tight = tightness_of(theorem, runs, binding.values, binding.value, observed)
    out = {
        **(extras or {}),
        "n_evals": constants.n_evals,
        "attribution": attribution_of(theorem, binding.values),
        **adaptive,
        **curves,
        "tightness": tight,
    }
    spent = dict(timings or {})
    spent["theory"] = spent.get("theory", 0.0) + time.perf_counter() - started - tight["seconds"]
    spent["tightness"] = tight["seconds"]
    return Result(
        settings, theorem, runs, constants, binding, observed, rate, rows, values, spent, out,
        approximate_ok=approximate_ok,
    )  # fmt: skip
