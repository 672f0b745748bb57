"""The one conclusion of every source of runs.

Theorem -> (stressed constants) -> bind -> compare -> rows -> Result (docs/architecture.md, "How
a question flows"). The CLI's batched runs (:func:`empirical.pipeline.verify`) and tracked runs
(:func:`empirical.tracking.verify_runs`) both end here, with their runs, measured constants,
fixed values and settings; the batched runs also with the table of the constants along them and
the stress search (:mod:`empirical.conclusion.stressed`). Beside the verdict: the
growth-condition bound (:mod:`empirical.conclusion.growth_condition`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from empirical.compare import bind
from empirical.conclusion.coverage import OptimizerRun, choose_theorem
from empirical.conclusion.growth_condition import growth_report
from empirical.conclusion.observed import CONFIDENCE, compare_runs
from empirical.conclusion.result import FAILS, Result, Row, coverage
from empirical.conclusion.rows import Evidence, assumption_rows
from empirical.conclusion.stressed import bound_constants, stress_report, with_run_comparison
from empirical.conclusion.tightness import tightness_of
from empirical.conclusion.values import values_variance
from empirical.conclusion.variants import attribution_of, variant_extras
from empirical.decision import assess
from empirical.settings import Settings

if TYPE_CHECKING:
    from empirical.estimators.constants import Constants
    from empirical.estimators.stress_runs import RunsStress
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
    stress: RunsStress | None = None,
) -> Result:
    """The :class:`Result` of ``runs``.

    Args:
        settings: what was run; ``settings.theorem_model`` picks the catalogue's model
            (a user's module: ``generic``), ``settings.source`` the rows' words.
        runs: the R runs, batched or tracked (one :class:`~empirical.train.TrainRun`).
        constants: the constants measured along them (the largest values at their snapshots).
        fixed: the values that are not estimated (:func:`empirical.conclusion.values.fixed_values`).
        optimizer: the optimizer as the theorems see it; it picks the theorem
            (:func:`~empirical.conclusion.coverage.choose_theorem`), whose optimizer values
            (alpha_step, beta1, beta2, eps) join ``fixed``.
        timings: seconds spent so far, by part; the time spent here is added to ``theory``.
        extras: what the front end reports besides (step constant choice, data, tracker).
        approximate_ok: accept assumption rows that are only approximately met: the verdict is
            then HOLDS, VIOLATED or INCONCLUSIVE, marked approximately covered, instead of
            NOT_COVERED (:mod:`empirical.conclusion.result`).
        stress: the table of the constants along the runs and the stress search
            (:func:`empirical.estimators.stress_runs`); None: not measured (a user's module).

    Returns:
        The Result: the bound at the constants' ends that make it larger (empirical.compare.bind),
        the theorem's weighted average of the records per run and over runs, the rate, the
        assumption rows, for Adam and Adagrad every variant on the same runs, the bound's
        attribution and its tightness (``extras["tightness"]``: bound / observed = proof x
        landscape x noise term, :mod:`empirical.conclusion.tightness`; its time is
        ``timings["tightness"]``); its verdict is decided on construction
        (:func:`empirical.decision.assess`). When the search ran, the bound is at the stressed
        constants and ``stress.at_run`` holds the rule at the runs' constants; ``growth`` the
        growth-condition line.
    """
    started = time.perf_counter()
    choice = choose_theorem(settings.theorem_model, optimizer)
    theorem = choice.theorem
    values = {**fixed, **choice.values}
    needed = set(theorem.constants)
    stressing = stress_report(settings, constants, stress)
    at = bound_constants(stressing)
    binding = bind(theorem, at.named(), {k: v for k, v in values.items() if k in needed})
    observed, rate, curves = compare_runs(
        theorem, runs, binding.values, values, schedule_rate=optimizer.steps != "recorded"
    )
    adaptive = {}
    if optimizer.family in ("adam", "adagrad"):
        adaptive = variant_extras(settings.theorem_model, optimizer, at.named(), values, runs, CONFIDENCE)
    evidence = Evidence(
        settings, runs, optimizer, at, binding, theorem.variant == "projected", choice.algorithm_row,
        stressing.along, stressing.search,
    )  # fmt: skip
    rows = assumption_rows(theorem, evidence)
    if stressing.searched:
        own = bind(theorem, constants.named(), {k: v for k, v in values.items() if k in needed})
        own_rows = assumption_rows(theorem, replace(evidence, constants=constants, binding=own, search=None))
        own_observed = observed
        if set(theorem.lhs.constants) & set(binding.ends):  # weights that move with a constant
            own_observed = compare_runs(theorem, runs, own.values, values, optimizer.steps != "recorded")[0]
        covered, because = coverage(own_rows, approximate_ok)
        own_decision = assess(
            own.value, own_observed.brackets, confidence=own_observed.confidence, covered=covered,
            because=because,
        )  # fmt: skip
        stressing = with_run_comparison(stressing, own, own_decision, _failed(own_rows))
    at_values = {**values, **binding.values}
    growth = growth_report(
        settings.theorem_model, optimizer, runs, at_values, _failed(rows), values_variance(at_values)
    )
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
        settings, theorem, runs, at, binding, observed, rate, rows, values, spent, out,
        approximate_ok=approximate_ok, stress=stressing, growth=growth,
    )  # fmt: skip


def _failed(rows: tuple[Row, ...]) -> tuple[str, ...]:
    """The ids of the rows that fail."""
    return tuple(r.id for r in rows if r.status == FAILS)
