"""Every registered theorem for an adaptive optimizer on one run, side by side, and a bound's attribution.

The term-by-term attribution says where a bound's value comes from. The mathematics is in
docs/theory.md, "Adam and Adagrad (Défossez et al.)", "A-posteriori preconditioned SGD" and
"Where a bound's value comes from".

For Adam: the seed paper's preconditioned-SGD form, Défossez et al., their
horizon specialisation (only where the run's beta2 = 1 - 1/n), the
a-posteriori form with the preconditioner's extremes measured along the run,
and any other variant the catalogue registers (biased-gradient forms aside:
they need a bias the runs do not have). For Adagrad: Défossez et al. and the
a-posteriori form. Each is bound with the same estimated constants as the
run's own theorem, its observed side weighted as that theorem says, and marked
``covered``, ``approximate`` (the algorithm run differs in named details) or
``not covered`` with the reasons. A row reports exactly what its label says:
a bound evaluated on a run it does not cover is shown with ``not covered``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from empirical.compare import bind, observe
from empirical.conclusion.coverage import OptimizerRun

if TYPE_CHECKING:
    from empirical.train.recording import TrainRun
from empirical.errors import EmpiricalError
from empirical.estimators.results import Estimate

COVERED, APPROX, NOT_COVERED = "covered", "approximate", "not covered"
#: Variants that need a gradient bias the runs do not have.
SKIPPED = ("biased",)


def variant_names(model: str, optimizer: str) -> list[tuple[str, str]]:
    """The theorems of ``optimizer`` to evaluate on a run of ``model``.

    Args:
        model: The catalogue's model.
        optimizer: The optimizer family (adam, adagrad).

    Returns:
        (catalogue model, variant) of every theorem of ``optimizer`` for ``model``, plus the
        generic-only ones (e.g. Défossez's horizon form), biased forms aside.
    """
    import theory

    own = [(model, v) for m, o, v in theory.registered() if (m, o) == (model, optimizer)]
    generic = [("generic", v) for m, o, v in theory.registered() if (m, o) == ("generic", optimizer)]
    names = {v for _, v in own}
    out = own + [(m, v) for m, v in generic if v not in names]
    return [(m, v) for m, v in out if not any(v.startswith(s) for s in SKIPPED)]


def evaluate_variants(
    model: str,
    run: OptimizerRun,
    estimates: Mapping[str, Estimate],
    fixed: Mapping[str, float],
    records: tuple[np.ndarray, np.ndarray, np.ndarray | None, float],
    step_sizes: np.ndarray,
    lambdas: tuple[float, float] | None,
    confidence: float = 0.95,
) -> list[dict[str, Any]]:
    """One row per variant (module docstring).

    Args:
        model: The catalogue's model.
        run: The optimizer as the theorems see it.
        estimates: The estimated constants by name.
        fixed: The values not estimated (n, B, step sums, optimizer parameters).
        records: (record steps, records (R, T), their variances or None, their degrees of freedom).
        step_sizes: The steps gamma_k taken.
        lambdas: The preconditioner's smallest and largest factor along the run (None: not read).
        confidence: The observed intervals' level.

    Returns:
        Per variant: its bound at the estimated constants, the observed side with its own
        weights, the ratio and whether it covers the run (covered, approximate, not covered,
        with reasons).
    """
    import theory

    index, values, variances, dof = records
    n = int(fixed["n"])
    base = dict(fixed)
    base.setdefault("C_gamma", run.lr)
    if lambdas is not None:
        base.update(lambda_min=float(lambdas[0]), lambda_max=float(lambdas[1]))
    rows = []
    for catalogue_model, variant in variant_names(model, run.family):
        theorem = theory.bound(catalogue_model, run.family, variant or None, expand=False)
        row: dict[str, Any] = {
            "variant": variant or "default",
            "theorem": theorem.name,
            "reference": theorem.reference,
            "lhs": theorem.lhs.text,
            "bound": None,
            "observed": None,
            "observed_lo": None,
            "observed_hi": None,
            "ratio": None,
            "a_posteriori": "lambda_min" in theorem.constants,
        }
        values_here = dict(base)
        if variant == "defossez-horizon":
            beta2 = fixed.get("beta2", math.nan)
            if not math.isclose(beta2, 1 - 1 / n, rel_tol=1e-9):
                why = (
                    f"does not apply: it needs beta2 = 1 - 1/n = {1 - 1 / n:.6g} and alpha = "
                    f"C_gamma/sqrt(n); the run has beta2 = {beta2:.6g}"
                )
                row.update(status=NOT_COVERED, reasons=[why])
                rows.append(row)
                continue
            values_here["C_gamma"] = run.lr * math.sqrt(n)
        missing = sorted(set(theorem.constants) - set(values_here) - set(estimates))
        if missing:
            row.update(
                status=NOT_COVERED, reasons=[f"needs {', '.join(missing)}, which the run does not measure"]
            )
            rows.append(row)
            continue
        needed = set(theorem.constants)
        try:
            binding = bind(theorem, estimates, {k: v for k, v in values_here.items() if k in needed})
        except (EmpiricalError, ValueError) as err:
            row.update(status=NOT_COVERED, reasons=[f"cannot be evaluated: {err}"])
            rows.append(row)
            continue
        lhs = theorem.lhs
        weights = lhs.weights(
            n,
            np.asarray(step_sizes, dtype=float) if lhs.uses_steps else None,
            **{c: binding.values.get(c, values_here.get(c)) for c in lhs.constants},
        )
        obs = observe(index, values, weights, lhs.observable, confidence, variances=variances, dof=dof)
        status, reasons = _coverage(theorem, run, binding, values_here)
        row.update(
            bound=binding.value,
            observed=obs.value,
            observed_lo=obs.lo,
            observed_hi=obs.hi,
            ratio=binding.value / obs.value if obs.value > 0 else None,
            status=status,
            reasons=reasons,
        )
        if row["a_posteriori"]:
            row["reasons"] = [
                "A-POSTERIORI: lambda_min, lambda_max measured along the run "
                f"({values_here['lambda_min']:.4g}, {values_here['lambda_max']:.4g}), not known in advance",
                *reasons,
            ]
        rows.append(row)
    return rows


def variant_extras(
    model: str,
    run: OptimizerRun,
    estimates: Mapping[str, Estimate],
    fixed: Mapping[str, float],
    runs: TrainRun,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """The report's ``variants`` of an adaptive run and its ``preconditioner`` extremes.

    Args:
        model: The catalogue's model.
        run: The optimizer as the theorems see it.
        estimates: The estimated constants by name.
        fixed: The values not estimated.
        runs: The TrainRun (its records and, when read, ``precond_min`` and ``precond_max``).
        confidence: The observed intervals' level.

    Returns:
        ``variants`` (:func:`evaluate_variants`) and, when the runs read them, ``preconditioner``:
        the smallest and largest factor of the step over every step of every run.
    """
    lambdas = None
    if runs.precond_min is not None and runs.precond_min.size:
        lambdas = (float(np.min(runs.precond_min)), float(np.max(runs.precond_max)))
    records = (
        np.asarray(runs.record_steps), np.asarray(runs.full_grad_norm_sq), runs.full_grad_norm_sq_var,
        runs.record_dof,
    )  # fmt: skip
    out: dict[str, Any] = {
        "variants": evaluate_variants(
            model, run, estimates, fixed, records, runs.step_sizes, lambdas, confidence
        )
    }
    if lambdas is not None:
        out["preconditioner"] = {
            "lambda_min": lambdas[0],
            "lambda_max": lambdas[1],
            "method": "a-posteriori: the smallest and largest per-coordinate factor of the step "
            "(empirical.train.step_rules.preconditioner_factor) over every step of every run and every "
            "coordinate the run moved, read from the optimizer's second-moment state",
        }
    return out


def _coverage(theorem, run: OptimizerRun, binding, values: Mapping[str, float]) -> tuple[str, list[str]]:
    """(status, reasons) of one variant on the run."""
    from theory.algorithms import TORCH

    fails, approximate = [], []
    analysed = theorem.algorithm
    if analysed is not None and analysed.name != run.algorithm:
        if analysed.delayed and run.algorithm != analysed.name:
            fails.append(
                f"algorithm: the theorem analyses {analysed.title}, a preconditioner built from past "
                f"gradients only ({analysed.update_text}); the run is {run.implementation}"
            )
        elif run.algorithm == TORCH[run.family].name:
            approximate.append(
                f"algorithm: {run.implementation} is close to, not the same as, {analysed.title}"
            )
        else:
            fails.append(f"algorithm: the theorem analyses {analysed.title}; the run is {run.implementation}")
    if analysed is not None and not analysed.delayed and not run.constant_lr:
        fails.append("the step changed during the run; the theorem is for a constant step alpha")
    ids = {a.id for a in theorem.assumptions}
    beta1 = values.get("beta1", 0.0)
    if "momentum" in ids and beta1 > 0:
        fails.append(f"momentum: beta1 = {beta1:g}; only beta1 = 0 is proved (1/(1 - beta1) is an order)")
    fails += [f"{v.id}: {v.message}" for v in binding.violations]
    if fails:
        return NOT_COVERED, fails + approximate
    return (APPROX, approximate) if approximate else (COVERED, [])


def attribution_of(theorem, values: Mapping[str, float]) -> dict[str, Any] | None:
    """The term-by-term attribution of a bound (:func:`theory.attribution`), JSON-ready.

    Args:
        theorem: The :class:`theory.Bound`.
        values: The values bound into it.

    Returns:
        The attribution with its Markdown ``table`` and ``dominant`` term; None when the bound
        has nothing to attribute there.
    """
    import theory
    from theory.errors import TheoryError

    needed = {s.name for s in theorem.expr.free_symbols}
    try:
        a = theory.attribution(theorem, **{k: float(v) for k, v in values.items() if k in needed})
    except TheoryError:
        return None
    return {**a.as_dict(), "table": a.table(), "dominant": a.dominant.name}
