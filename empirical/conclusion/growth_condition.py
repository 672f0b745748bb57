"""The growth-condition bound beside the bounded-variance one: an additional line of the report.

The verdict stays on the theorem the dispatch picked; the mathematics is in docs/theory.md,
"SGD under a growth condition" and "The growth condition on a run".

The runs' records are fitted (:func:`empirical.estimators.growth.growth_fit_of`):
E||g_k - grad F||^2 <= A + G ||grad F||^2 with one-sided upper values A_upper, G_upper. The
growth theorem (``theory.bound("generic", "sgd", "growth")``) bounds the gamma-weighted average

    sum_k gamma_k E||grad F(theta_(k-1))||^2 / S1 <= (2 Delta + L A_growth S2) / S1

under gamma_max <= 1/(L (1 + G_growth)). It is evaluated at A_growth = A_upper,
G_growth = G_upper and the bound's own Delta, L (stressed when searched, the end bound into
the theorem) and step sums, whenever that step condition holds there. Beside it, the
bounded-variance form of the same left-hand side (the SGD theorem for the steps taken,
``"schedule"``: (2 Delta + L sigma2 S2) / S1) at the same constants, the observed
gamma-weighted average, and which bound is smaller.

Not applicable, with the reason and no number: a run of another optimizer than SGD; a
projected run (the growth theorem analyses unprojected SGD and bounds ||grad F||^2; a
projected run is bounded through the gradient mapping, and the catalogue has no projected
growth-condition theorem); a run whose records cannot be fitted; a run on which an assumption
the growth theorem shares with the dispatched one fails; the step condition failing at the
fit's upper G.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from empirical.errors import EmpiricalError

if TYPE_CHECKING:
    from empirical.compare import Observed
    from empirical.conclusion.coverage import OptimizerRun
    from empirical.estimators.growth import GrowthFit, StepCondition

#: The growth theorem of the catalogue.
GROWTH = ("generic", "sgd", "growth")
#: Assumptions the growth theorem shares with the SGD theorems (their rows decide for both).
SHARED = ("smooth", "lower-bounded", "unbiased", "algorithm", "smooth-activations")


@dataclass(frozen=True)
class GrowthReport:
    """The growth-condition line of a result (module docstring).

    Attributes:
        fit: The fitted A and G (None when the records cannot be fitted).
        why_no_fit: Why there is no fit.
        applies: Whether the growth bound is reported (SGD, unprojected, shared rows hold, the
            step condition holds).
        why_not: Why it is not.
        step: The step condition gamma_max <= 1/(L (1 + G_upper)) at the bound's L.
        bound: The growth bound (2 Delta + L A_upper S2) / S1.
        bounded_variance: The bounded-variance bound of the same left-hand side.
        sigma2: The variance of a step's minibatch gradient the bounded-variance form uses
            (compared with A_upper).
        observed: The observed gamma-weighted average of ||grad F||^2.
        theorem: The growth theorem's name.
        comparator: The bounded-variance theorem's name.
        comparator_note: How the comparator was evaluated.
    """

    fit: GrowthFit | None
    why_no_fit: str
    applies: bool
    why_not: str
    step: StepCondition | None = None
    bound: float | None = None
    bounded_variance: float | None = None
    sigma2: float | None = None
    observed: Observed | None = None
    theorem: str = ""
    comparator: str = ""
    comparator_note: str = ""

    @property
    def smaller(self) -> str | None:
        """Which bound is smaller: "growth condition", "bounded variance", "equal"; None without both."""
        if self.bound is None or self.bounded_variance is None:
            return None
        if self.bound == self.bounded_variance:
            return "equal"
        return "growth condition" if self.bound < self.bounded_variance else "bounded variance"

    def as_dict(self) -> dict[str, Any]:
        """report.json's ``growth``.

        Returns:
            Every attribute JSON-ready, with A, G and their upper values when fitted.
        """
        fit = None if self.fit is None else self.fit.as_dict()
        out: dict[str, Any] = {
            "fit": fit, "why_no_fit": self.why_no_fit or None, "applies": self.applies,
            "why_not": self.why_not or None,
            "step_condition": None if self.step is None else self.step.as_dict(),
            "bound": self.bound, "bounded_variance_bound": self.bounded_variance, "smaller": self.smaller,
            "sigma2": self.sigma2, "theorem": self.theorem or None, "comparator": self.comparator or None,
            "comparator_note": self.comparator_note or None,
        }  # fmt: skip
        if self.fit is not None:
            out.update(
                A=self.fit.A.value, G=self.fit.G.value, A_upper=self.fit.A_upper, G_upper=self.fit.G_upper
            )
        if self.observed is not None:
            o = self.observed
            out["observed"] = {"value": o.value, "lo": o.lo, "hi": o.hi, "confidence": o.confidence}
        return out


def growth_report(
    model: str,
    optimizer: OptimizerRun,
    runs: Any,
    values: Mapping[str, float],
    failed: tuple[str, ...],
    sigma2: float | None,
) -> GrowthReport:
    """The growth-condition line of ``runs`` (module docstring).

    Args:
        model: The catalogue's model of the runs' theorem (its ``"schedule"`` variant is the
            bounded-variance form compared with).
        optimizer: The optimizer as the theorems see it (SGD, unprojected: the theorem applies).
        runs: The TrainRun (``grad_norm_sq``, the records, ``step_sizes``).
        values: The values bound into the dispatched theorem (Delta, L, S1, S2, gamma_max, the
            variance parts, B, K).
        failed: The ids of the dispatched theorem's rows that fail (a shared one: not covered).
        sigma2: The variance of a step's minibatch gradient at those values.

    Returns:
        :class:`GrowthReport`: the bound when it applies, else why not.
    """
    from empirical.estimators.growth import growth_fit_of

    try:
        fit, why_no_fit = growth_fit_of(runs), ""
    except EmpiricalError as err:
        fit, why_no_fit = None, f"the records cannot be fitted: {err}"
    if optimizer.family != "sgd":
        why = "not applicable: the growth-condition theorem analyses SGD; this run is "
        why += optimizer.implementation
        return GrowthReport(fit, why_no_fit, False, why, sigma2=sigma2)
    if optimizer.box is not None:
        why = (
            "not applicable: the growth-condition theorem analyses unprojected SGD and bounds "
            "||grad F||^2; this run is projected onto ||theta||_inf <= "
            f"{optimizer.box:g}, bounded through the gradient mapping by the projected-SGD theorem, and the "
            "catalogue has no projected growth-condition theorem"
        )
        return GrowthReport(fit, why_no_fit, False, why, sigma2=sigma2)
    if fit is None:
        return GrowthReport(None, why_no_fit, False, f"not reported: {why_no_fit}", sigma2=sigma2)
    shared = [i for i in failed if i in SHARED]
    if shared:
        why = f"not covered: the assumptions it shares with the dispatched theorem fail ({', '.join(shared)})"
        return GrowthReport(fit, "", False, why, sigma2=sigma2)
    step = fit.step_condition(values["L"], runs.step_sizes)
    if not step.holds:
        why = (
            f"not reported: the step condition fails at the fit's upper G: gamma_max = {step.gamma_max:.4g} "
            f"> 1/(L (1 + G_upper)) = {step.limit:.4g} (L = {step.L:.4g}, G_upper = {step.G_upper:.4g})"
        )
        return GrowthReport(fit, "", False, why, step, sigma2=sigma2)
    return _bounds(model, runs, values, fit, step, sigma2)


def _bounds(
    model: str, runs: Any, values: Mapping[str, float], fit: GrowthFit, step: StepCondition,
    sigma2: float | None,
) -> GrowthReport:  # fmt: skip
    """Both bounds of the gamma-weighted average and its observed value."""
    import theory
    from empirical.compare import observe
    from empirical.conclusion.observed import CONFIDENCE, records_of

    growth = theory.bound(*GROWTH, expand=False)
    at = {**values, "A_growth": fit.A_upper, "G_growth": fit.G_upper}
    bound = float(growth.evaluate(**{c: at[c] for c in growth.constants}))
    other = theory.bound(model, "sgd", "schedule", expand=False)
    f = other.numpy()
    with np.errstate(all="ignore"):
        bv = float(f.raw(**{a: values[a] for a in f.args}))
    broken = [v.message for v in other.check({c: values[c] for c in other.constants if c in values})]
    note = f"outside its own conditions ({'; '.join(broken)}): for reference" if broken else ""
    lhs = growth.lhs
    index, records = records_of(growth, runs)
    noisy = runs.full_grad_norm_sq_var is not None
    observed = observe(
        index, records, lhs.weights(runs.steps, np.asarray(runs.step_sizes)), lhs.observable, CONFIDENCE,
        variances=runs.full_grad_norm_sq_var if noisy else None, dof=runs.record_dof if noisy else None,
    )  # fmt: skip
    return GrowthReport(
        fit, "", True, "", step, bound, bv if math.isfinite(bv) else None, sigma2, observed, growth.name,
        other.name, note,
    )  # fmt: skip
