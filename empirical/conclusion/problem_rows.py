"""The assumption rows about the objective and its stochastic gradient.

Smoothness, the lower bound, unbiasedness, bounded variance, the almost-sure bound R and the
variance split, each checked on the runs (:data:`PROBLEM_CHECKS`, by assumption id). The
assumptions are in docs/theory.md, "Assumptions"; the statuses in
:mod:`empirical.conclusion.rows`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from empirical.conclusion.assumption_row import APPROXIMATE, ESTIMATED, FAILS, HOLDS, UNCHECKED, Row
from empirical.conclusion.evidence import Evidence, stressed_constants

__all__ = ["PROBLEM_CHECKS"]


def _smooth(a, ev: Evidence) -> Row:
    """The L-smoothness row: estimated (stressed when the search ran), fails under ReLU."""
    if ev.relu:
        return Row(
            a.id,
            a.name,
            FAILS,
            "ReLU: f'' is undefined at 0, so F is not L-smooth; the measured L is a local curvature only",
        )
    L = ev.constants.L
    text = f"L = {L.value:.4g} [{L.lo:.4g}, {L.hi:.4g}]: {L.method}"
    s = stressed_constants(ev).get("L")
    if s is not None:
        where = ""
        if ev.along is not None:
            r = ev.along.largest("L")
            where = f" at {r.label}, step {r.step}"
        text = (
            f"L = {L.value:.4g} [{L.lo:.4g}, {L.hi:.4g}] stressed, gain {s.gain:.1%} over the runs' largest "
            f"{s.used.value:.4g}{where}; found: {s.found.method}"
        )
    return Row(a.id, a.name, ESTIMATED, text)


def _lower_bounded(a, ev: Evidence) -> Row:
    """The lower-bound row: holds with a proven loss_lower_bound, else Delta is estimated."""
    if ev.constants.delta_is_upper:
        low = getattr(ev.model, "loss_lower_bound", None)
        return Row(a.id, a.name, HOLDS, f"proven lower bound F >= {low:.6g} (the model's loss_lower_bound)")
    D = ev.constants.Delta
    return Row(
        a.id,
        a.name,
        ESTIMATED,
        f"no proven lower bound of F (a loss_lower_bound gives one): Delta = {D.value:.4g} [{D.lo:.4g}, "
        f"{D.hi:.4g}] is a lower estimate of F(theta_0) - F*: {D.method}",
    )


def _unbiased(a, ev: Evidence) -> Row:
    """The unbiased-gradient row: by construction for the built-in loop, as the user's loop says otherwise."""
    if not ev.user_module:
        return Row(
            a.id,
            a.name,
            HOLDS,
            "by construction: B rows drawn uniformly with replacement and fresh "
            "independent reparameterised noise at every step",
        )
    sampling = ev.runs.options.get("sampling")
    status = ev.runs.options.get("sampling_status", HOLDS)  # a DataLoader's sampler says which
    if sampling and status != HOLDS:
        return Row(a.id, a.name, status, sampling)
    if sampling:
        return Row(
            a.id, a.name, HOLDS, f"by construction: {sampling}, so E[g_k | past] = grad F(theta_(k-1))"
        )
    return Row(
        a.id,
        a.name,
        UNCHECKED,
        "the minibatches and the noise come from your loop: rows drawn uniformly (with replacement) and "
        "fresh noise at every step make E[g_k | past] = grad F(theta_(k-1)); shuffled epochs are close, "
        "not the same",
    )


def _bounded_variance(a, ev: Evidence) -> Row:
    """The bounded-variance row: the sigma2 estimates, their largest along the runs, the stress search's."""
    c = ev.constants
    stressed = stressed_constants(ev)
    names = [name for name in c.named() if "sigma2" in name]
    evidence = ", ".join(
        f"{n} = {c.named()[n].value:.4g} [{c.named()[n].lo:.4g}, {c.named()[n].hi:.4g}]" for n in names
    )
    if any(n in stressed for n in names):
        evidence += " (stressed)"
    if ev.along is not None and "sigma2_data" in ev.along.columns():
        seen = []
        for column in ("sigma2_data", "mc"):
            r = ev.along.largest(column)
            name = ev.along.mc_name if column == "mc" else column
            seen.append(f"{name} {r.value(column):.4g} at {r.label}, step {r.step}")
        evidence += f"; the runs' largest over every snapshot of every run: {', '.join(seen)}"
    else:
        evidence += f"; the largest over the points {c.where}"
    found = [s for n, s in stressed.items() if n in names]
    if found:
        w = found[0].where
        evidence += (
            f"; the stress search's point (in the box of {w.label}, from {w.start}, {w.steps} ascent steps) "
            "re-evaluated on a fresh sample: "
            + ", ".join(f"{s.name} {s.found.value:.4g} (gain {s.gain:.1%})" for s in found)
        )
    evidence += "; a lower estimate of the supremum over the parameters"
    if ev.user_module:
        how = ev.runs.options.get("batch_how", "")
        evidence += f"; B = {int(ev.settings.batch_size)} ({how}); per-example gradients by {c.route_summary}"
    return Row(a.id, a.name, ESTIMATED, evidence)


def _bounded_sup(a, ev: Evidence) -> Row:
    """The ||g_k||_inf <= R row: estimated under bounded noise, approximate (a quantile) under Gaussian."""
    R = ev.constants.R
    sups = ev.runs.grad_sup_norm
    seen = ""
    if sups is not None and np.all(np.isfinite(sups)):
        seen = (
            f"; the largest ||g_k||_inf over the {sups.size} minibatch gradients the runs used: "
            f"{float(np.max(sups)):.4g}"
        )
    bound = ev.noise_sup
    if bound is None:
        return Row(
            a.id,
            a.name,
            APPROXIMATE,
            f"R = {R.value:.4g} ({R.method}){seen}. The reparameterisation noise is not declared bounded "
            "(Gaussian noise is unbounded), so ||g||_inf has no almost-sure bound: R is the largest value "
            "seen, a quantile of its distribution, not the almost-sure bound the theorem needs",
        )
    why = (
        "the loss draws no noise"
        if bound == 0
        else f"the reparameterisation noise is bounded (|eps_j| <= {bound:.6g})"
    )
    return Row(
        a.id,
        a.name,
        ESTIMATED,
        f"R = {R.value:.4g} ({R.method}){seen}. {why.capitalize()}, so the gradients are bounded on the "
        "region the runs visit: R is a lower estimate of that finite supremum",
    )


def _variance_split(a, ev: Evidence) -> Row:
    """The variance-split row: sigma2_data/B + sigma2_mc/(B K), exact when the loss averages its K draws."""
    s = ev.settings
    if getattr(ev.model, "averages_draws", True):
        how = f"each loss averages its K = {s.K} draws: the split sigma2_data/B + sigma2_mc/(B K) is exact"
    else:
        how = f"sigma2_mc_K measured at the K = {s.K} used (no extrapolation in K)"
    return Row(
        a.id,
        a.name,
        HOLDS,
        f"by construction: B = {s.batch_size} rows with replacement, independent draws per row; {how}",
    )


#: Assumption id -> its check, for the assumptions on F and its gradient oracle.
PROBLEM_CHECKS: dict[str, Callable[[Any, Evidence], Row]] = {
    "smooth": _smooth,
    "lower-bounded": _lower_bounded,
    "unbiased": _unbiased,
    "bounded-variance": _bounded_variance,
    "bounded-sup": _bounded_sup,
    "variance-split": _variance_split,
}
