"""The assumption rows about the algorithm run, the parameter box and the activations.

The algorithm as analysed, Adam's preconditioner and momentum, the projection box (A2) and the
smooth activations (A1), each checked on the runs (:data:`ALGORITHM_CHECKS`, by assumption id).
The assumptions are in docs/theory.md, "Assumptions"; the statuses in
:mod:`empirical.conclusion.rows`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from empirical.conclusion.assumption_row import FAILS, HOLDS, UNCHECKED, Row
from empirical.conclusion.evidence import Evidence

__all__ = ["ALGORITHM_CHECKS", "BOX_RTOL"]

#: Relative slack of the exact box check (float rounding of the clamp).
BOX_RTOL = 1e-6


def _algorithm(a, ev: Evidence) -> Row:
    """The algorithm row: the theorem choice's row, fails for a projected run under an unprojected theorem."""
    s = ev.settings
    if getattr(s, "box", None) is not None and not ev.projected_theorem:
        return Row(
            a.id,
            a.name,
            FAILS,
            f"the run is projected onto ||theta||_inf <= {s.box:g}; the theorem "
            "analyses the unprojected algorithm",
        )
    if ev.algorithm_row is None:
        return Row(a.id, a.name, UNCHECKED, "no description of the optimizer run")
    row = ev.algorithm_row
    return Row(a.id, a.name, row.status, row.evidence)


def _preconditioner(a, ev: Evidence) -> Row:
    """The preconditioner row: holds for the delayed v_{k-1}, fails for torch.optim.Adam's v_k."""
    if ev.optimizer.algorithm == "torch.optim.Adam":
        return Row(a.id, a.name, FAILS, "variant 'torch': torch.optim.Adam puts g_k into v_k before the step")
    return Row(a.id, a.name, HOLDS, "variant 'delayed': the preconditioner is built from v_{k-1}")


def _momentum(a, ev: Evidence) -> Row:
    """The momentum row: only beta1 = 0 is proved."""
    b1 = ev.optimizer.option("betas", (0.0, 0.0))[0]
    if b1 > 0:
        return Row(
            a.id,
            a.name,
            FAILS,
            f"beta1 = {b1:g}: only beta1 = 0 is proved (the 1/(1 - beta1) factor is order only)",
        )
    return Row(a.id, a.name, HOLDS, "beta1 = 0")


def _box(a, ev: Evidence) -> Row:
    """The parameter-box row (A2): the projection radius against the largest ||theta_k||_inf recorded."""
    sup = ev.max_sup_norm
    box = ev.settings.box
    if box is None:
        return Row(
            a.id,
            a.name,
            UNCHECKED,
            f"no projection requested; max ||theta_k||_inf = {sup:.4g} at the "
            "records (L and sigma2 are measured along the runs, not over a box)",
        )
    ok = sup <= box * (1 + BOX_RTOL)
    return Row(
        a.id,
        a.name,
        HOLDS if ok else FAILS,
        f"projection onto a = {box:g} at every step, theta_0 "
        f"included; max ||theta_k||_inf at the records = {sup:.4g}",
    )


def _smooth_activations(a, ev: Evidence) -> Row:
    """The smooth-activations row (A1): soft-clip holds, ReLU fails, a user's module is unchecked."""
    if ev.user_module:
        return Row(a.id, a.name, UNCHECKED, "a user's module: its activations are not inspected")
    if ev.relu:
        return Row(a.id, a.name, FAILS, "ReLU: f'' is undefined at 0 (A1 needs bounded f', f'')")
    s = getattr(ev.model, "s", None)
    return Row(
        a.id,
        a.name,
        HOLDS,
        f"soft-clip activations and heads: 0 < f' < 1, |f''| <= s/4 = {s / 4:g} (theory.models.softclip)",
    )


#: Assumption id -> its check, for the assumptions on the algorithm, the box and the activations.
ALGORITHM_CHECKS: dict[str, Callable[[Any, Evidence], Row]] = {
    "algorithm": _algorithm,
    "preconditioner": _preconditioner,
    "momentum": _momentum,
    "box": _box,
    "smooth-activations": _smooth_activations,
}
