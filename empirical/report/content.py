"""The content of ``report.json``.

The keys of the public contract (model, optimizer, data, steps, batch_size, K, seed, constants,
bound, empirical, seeds, holds, ratio, assumptions, rate, versions), every setting needed to
re-run the verification, which constants are lower estimates of suprema, the records, the
bound's attribution term by term, its tightness (``tightness``: bound / observed = proof x
landscape x noise term, or why it was not computed) and, for Adam and Adagrad, every variant of
the theorem on the same run (``variants``) with the preconditioner's extremes measured along it.
The stress step: ``stress`` (searched or why not, each stressed constant, the verdicts at the
runs' and at the stressed constants side by side), ``constants.NAME.stressed`` and
``.stress_gain`` for L and the variance parts (the constant's ``value`` is the runs' own, the
largest at their snapshots), ``constants_along_run`` (every snapshot of every run) and
``growth`` (the growth-condition line). Everything is read from the
:class:`empirical.conclusion.Result`; nothing is decided here. ``settings`` holds every field of
the :class:`~empirical.settings.Settings` (``runs`` the number of runs, ``source`` where they
came from), so ``Settings.from_mapping`` rebuilds them; ``seeds`` is the list of the runs' seeds
and ``runs`` their number; ``data_set`` says where the rows came from (file path and sha256,
rows, training and held-out rows, the split's seed) and ``command`` the command line:
``vaebounds verify --from report.json`` re-runs it.

The verdict is the decision rule's (:mod:`empirical.decision`): ``empirical.lo`` and
``empirical.hi`` are its interval, unclipped, ``empirical.method`` names it;
``decision`` gives the comparison whatever the coverage and the reasons;
``approximate`` lists the rows only approximately met and ``approximate_ok`` whether
they were accepted ("approximately covered"). JSON has no infinity: an infinite end of
an interval is written as the string ``"inf"`` (``"-inf"``), which ``float()`` reads
back (:func:`json_number`).

The verdict it records: docs/decision.md; the constants: docs/estimators.md.
"""

from __future__ import annotations

import platform
from typing import Any

import numpy as np

FIGURES = ("convergence.png", "constants.png", "training.png", "constants_along_run.png")


def versions() -> dict[str, str]:
    """The versions report.json records: python, vaebounds, torch, sympy, numpy, scipy."""
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("vaebounds", "torch", "sympy", "numpy", "scipy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def _finite_or_none(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def json_number(x: float) -> float | str:
    """A number for JSON.

    Args:
        x: The number.

    Returns:
        ``x``, or ``"inf"`` / ``"-inf"`` for an infinite one (``float()`` reads either back).

    Raises:
        ValueError: NaN (no reported end is ever NaN).
    """
    x = float(x)
    if np.isnan(x):
        raise ValueError("a NaN cannot be reported as an interval end")
    return x if np.isfinite(x) else ("inf" if x > 0 else "-inf")


def constants_entry(result) -> dict[str, dict[str, Any]]:
    """report.json's ``constants``: each measured constant.

    Args:
        result: The :class:`~empirical.conclusion.Result`.

    Returns:
        Per constant: the runs' value, interval and method, which end entered the bound, and
        whether it is a lower estimate of a supremum; for L and the variance parts, ``stressed``
        (None when not searched), ``stress_gain`` (stressed / runs' value - 1, >= 0) and
        ``bound_at`` ("stressed" or "runs").
    """
    stress = result.stress
    own = result.constants if stress is None else stress.run_constants
    searched = {} if stress is None or stress.search is None else stress.search.named()
    lower = set(own.lower_estimates)
    out = {}
    for name, est in own.named().items():
        entry = {"value": est.value, "lo": est.lo, "hi": est.hi, "method": est.method}
        entry.update(confidence=est.confidence, n_evals=est.n_evals, lower_estimate_of_supremum=name in lower)
        if name in result.binding.ends:
            entry["used"] = result.binding.ends[name]
            entry["bound_at"] = "stressed" if name in searched else "runs"
        if name in searched:
            entry["stressed"] = searched[name].stressed.as_dict()
            entry["stress_gain"] = searched[name].gain
        elif name in ("L", "sigma2_data", "sigma2_mc", "sigma2_mc_K"):
            entry["stressed"] = entry["stress_gain"] = None
        out[name] = entry
    return out


def stress_entry(result) -> dict[str, Any] | None:
    """report.json's ``stress`` (:meth:`empirical.conclusion.stressed.StressReport.as_dict`).

    Args:
        result: The :class:`~empirical.conclusion.Result`.

    Returns:
        Both verdicts side by side; None without a stress step.
    """
    if result.stress is None:
        return None
    return result.stress.as_dict(result.decision, result.bound_value)


def along_entry(result) -> dict[str, Any] | None:
    """report.json's ``constants_along_run``.

    Args:
        result: The :class:`~empirical.conclusion.Result`.

    Returns:
        Every snapshot of every run; None when not measured (the reason is in ``stress``).
    """
    along = None if result.stress is None else result.stress.along
    return None if along is None else along.as_dict()


def growth_entry(result) -> dict[str, Any] | None:
    """report.json's ``growth`` (:meth:`empirical.conclusion.growth_condition.GrowthReport.as_dict`).

    Args:
        result: The :class:`~empirical.conclusion.Result`.

    Returns:
        The growth-condition line, the observed interval's ends JSON-safe (:func:`json_number`);
        None without one.
    """
    if result.growth is None:
        return None
    out = result.growth.as_dict()
    if out.get("observed"):
        out["observed"] = {k: json_number(v) if k in ("lo", "hi") else v for k, v in out["observed"].items()}
    return out


def figures_of(result) -> list[str]:
    """The figures a report of ``result`` holds.

    Args:
        result: The :class:`~empirical.conclusion.Result`.

    Returns:
        Their file names (constants_along_run.png only with the table along the runs).
    """
    return [f for f in FIGURES if f != "constants_along_run.png" or along_entry(result) is not None]


def _attribution(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    """The attribution without its Markdown table (report.md shows that)."""
    return None if entry is None else {k: v for k, v in entry.items() if k != "table"}


def _variants(rows: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """The variants' rows with their observed interval's ends JSON-safe (:func:`json_number`)."""
    if rows is None:
        return None
    ends = ("observed_lo", "observed_hi")
    return [{k: json_number(v) if k in ends and v is not None else v for k, v in r.items()} for r in rows]


def report_json(result, command: list[str] | None = None) -> dict[str, Any]:
    """The report.json content (module docstring).

    Args:
        result: The :class:`~empirical.conclusion.Result`.
        command: The command line that made it.

    Returns:
        The JSON-ready dict.
    """
    s, b, obs, rate, d = result.settings, result.theorem, result.observed, result.rate, result.decision
    return {
        "model": s.model,
        "optimizer": s.optimizer,
        "data": s.data,
        "steps": s.steps,
        "batch_size": s.batch_size,
        "K": s.K,
        "seed": s.seed,
        "seeds": [int(seed) for seed in result.runs.seeds],
        "runs": s.runs,
        "constants": constants_entry(result),
        "lower_estimates": list(result.lower_estimates),
        "delta_lower_estimate": result.delta_lower_estimate,
        "bound": {
            "value": result.bound_value,
            "latex": b.latex(),
            "reference": b.reference,
            "name": b.name,
            "variant": b.variant or "default",
            "tight": b.tight,
            "lhs": b.lhs.text,
            "inputs": result.binding.values,
        },
        "empirical": {
            "mean_grad_norm_sq": obs.value,
            "lo": json_number(obs.lo),
            "hi": json_number(obs.hi),
            "per_seed": list(obs.per_run),
            "per_seed_lo": list(obs.per_run_lo),
            "per_seed_hi": list(obs.per_run_hi),
            "confidence": obs.confidence,
            "interval_over_runs": obs.covers_runs,
            "observable": b.lhs.observable,
            "method": obs.method,
        },
        "holds": result.holds,
        "ratio": _finite_or_none(result.ratio),
        "verdict": result.verdict.value,
        "headline": result.headline,
        "exit_code": result.exit_code,
        "decision": {
            "rule": "HOLDS if hi <= bound, VIOLATED if lo > bound, else INCONCLUSIVE (always with one run); "
            "NOT_COVERED if a row fails or is approximate without approximate_ok (docs/decision.md)",
            "comparison": d.comparison.value,
            "lo": json_number(d.lo),
            "hi": json_number(d.hi),
            "confidence": d.confidence,
            "runs": d.runs,
            "method": d.method,
            "reasons": list(d.reasons),
        },
        "approximate": list(result.approximate),
        "approximate_ok": result.approximate_ok,
        "approximately_covered": result.approximately_covered,
        "assumptions": [
            {"id": r.id, "name": r.name, "status": r.status, "evidence": r.evidence}
            for r in result.assumptions
        ],
        "records": [[k, v] for k, v in result.records],
        "attribution": _attribution(result.extras.get("attribution")),
        "tightness": result.extras.get("tightness"),
        "variants": _variants(result.extras.get("variants")),
        "preconditioner": result.extras.get("preconditioner"),
        "tracker": result.extras.get("tracker"),
        "stress": stress_entry(result),
        "constants_along_run": along_entry(result),
        "growth": growth_entry(result),
        "rate": {
            "theory": rate.theory,
            "theory_exponent": _finite_or_none(rate.theory_exponent),
            "fitted_exponent": _finite_or_none(rate.exponent),
            "lo": _finite_or_none(rate.lo),
            "hi": _finite_or_none(rate.hi),
            "points": rate.points,
            "fitted_on": "mean over runs of the running weighted average, n >= steps/10",
        },
        "settings": s.as_dict(),
        "C_gamma": result.fixed.get("C_gamma"),
        "step_constant_choice": result.extras.get("step_constant_choice"),
        "optimizer_options": result.extras.get("optimizer_options"),
        "model_options": result.extras.get("model_options"),
        "n_params": result.extras.get("n_params"),
        "rows": result.extras.get("rows"),
        "data_set": result.extras.get("data"),
        "snr": result.extras.get("snr"),
        "command": command,
        "timings": dict(result.timings),
        "figures": figures_of(result),
        "versions": versions(),
    }
