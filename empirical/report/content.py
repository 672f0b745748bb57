"""The content of ``report.json``: the keys of the public contract (model,
optimizer, data, steps, batch_size, K, seed, constants, bound, empirical,
seeds, holds, ratio, assumptions, rate, versions), every setting needed to
re-run the verification, which constants are lower estimates of suprema, the
records, the bound's attribution term by term, its tightness (``tightness``: bound /
observed = proof x landscape x noise term, or why it was not computed) and, for Adam and Adagrad, every
variant of the theorem on the same run (``variants``) with the
preconditioner's extremes measured along it.
Everything is read from the :class:`empirical.conclusion.Result`; nothing is
decided here. ``settings`` holds every field of the
:class:`~empirical.settings.Settings` (``runs`` the number of runs, ``source`` where
they came from), so ``Settings.from_mapping`` rebuilds them; ``seeds`` is the list of
the runs' seeds and ``runs`` their number;
``data_set`` says where the rows came from (file path and sha256, rows,
training and held-out rows, the split's seed) and ``command`` the command line:
``vaebounds verify --from report.json`` re-runs it."""

from __future__ import annotations

import platform
from typing import Any

import numpy as np

FIGURES = ("convergence.png", "constants.png", "training.png")


def versions() -> dict[str, str]:
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


def constants_entry(result) -> dict[str, dict[str, Any]]:
    """Each measured constant: value, interval, method, which end entered the
    bound, and whether it is a lower estimate of a supremum."""
    lower = set(result.constants.lower_estimates)
    out = {}
    for name, est in result.constants.named().items():
        entry = {"value": est.value, "lo": est.lo, "hi": est.hi, "method": est.method}
        entry.update(confidence=est.confidence, n_evals=est.n_evals, lower_estimate_of_supremum=name in lower)
        if name in result.binding.ends:
            entry["used"] = result.binding.ends[name]
        out[name] = entry
    return out


def _attribution(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    """The attribution without its Markdown table (report.md shows that)."""
    return None if entry is None else {k: v for k, v in entry.items() if k != "table"}


def report_json(result, command: list[str] | None = None) -> dict[str, Any]:
    """The report.json content (module docstring)."""
    s, b, obs, rate = result.settings, result.theorem, result.observed, result.rate
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
            "lo": obs.lo,
            "hi": obs.hi,
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
        "assumptions": [
            {"id": r.id, "name": r.name, "status": r.status, "evidence": r.evidence}
            for r in result.assumptions
        ],
        "records": [[k, v] for k, v in result.records],
        "attribution": _attribution(result.extras.get("attribution")),
        "tightness": result.extras.get("tightness"),
        "variants": result.extras.get("variants"),
        "preconditioner": result.extras.get("preconditioner"),
        "tracker": result.extras.get("tracker"),
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
        "figures": list(FIGURES),
        "versions": versions(),
    }
