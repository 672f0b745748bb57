"""Every assumption of the theorem, checked on the runs, one row per assumption id
(docs/architecture.md, "Assumption ids").

Statuses: ``holds`` only for what is proved or checked exactly; ``estimated``
for what rests on estimated constants (a step condition against an estimated
L, a variance bound, Delta without a proven lower bound); ``approximate`` where
the algorithm run differs from the analysed one in named details; ``fails``
(the theorem does not cover the run); ``unchecked``.

A theorem with measured L keeps A1 and A2 out of its own assumptions; the
rows ``smooth-activations`` and ``box`` are added here, because the measured
constants are meaningful only under them.

A user's module (``Settings.source`` other than built-in) has its own words for
three rows: ``unbiased`` holds by construction only when the loop says how it
drew its minibatches (the CLI's loop does), ``bounded-variance`` names B, how it
was found and the per-example route, and its activations are not inspected.

``bounded-sup`` (||g_k||_inf <= R almost surely) is ``estimated`` only when the
noise the loss draws is bounded (the built-in models under Adam and Adagrad draw
it truncated, :data:`empirical.settings.ADAPTIVE_NOISE_BOUND`; a user's module may
declare ``noise_bound``, the largest |eps_j| its loss draws, 0 for none): R is then
a lower estimate of a finite supremum, like L. Under Gaussian noise no almost-sure
bound exists and the row is ``approximate``: R is a quantile, the largest value seen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from empirical.compare import Binding
from empirical.conclusion.coverage import OptimizerRun
from empirical.conclusion.result import APPROXIMATE, ESTIMATED, FAILS, HOLDS, UNCHECKED, Row
from empirical.settings import BUILT_IN, Settings

if TYPE_CHECKING:
    from empirical.estimators.along_run import AlongRun
    from empirical.estimators.constants import Constants
    from empirical.estimators.stress import StressResult
    from empirical.train.recording import TrainRun
    from theory.bound import Bound

#: Relative slack of the exact box check (float rounding of the clamp).
BOX_RTOL = 1e-6


@dataclass(frozen=True)
class Evidence:
    """What the checks look at: the settings, the runs (their model, the parameters'
    sup-norms, how the minibatches were drawn), the optimizer as the theorems see it, the
    estimated constants (stressed when the search ran), the binding, whether the theorem is the
    projected one, the ``algorithm`` row of the theorem choice
    (:mod:`empirical.conclusion.coverage`), the table of the constants along the runs
    (``along``; None when not measured) and the stress search (``search``; None when not run)."""

    settings: Settings
    runs: TrainRun
    optimizer: OptimizerRun
    constants: Constants
    binding: Binding
    projected_theorem: bool
    algorithm_row: Row | None = None
    along: AlongRun | None = None
    search: StressResult | None = None

    @property
    def model(self) -> Any:
        """The model trained: an :mod:`empirical.models` VAE or a user's ``torch.nn.Module``."""
        return self.runs.model

    @property
    def user_module(self) -> bool:
        """A user's module (``conv``, ``FILE.py:NAME``, an own loop): its rows say what is
        known of the user's loop."""
        return self.settings.source != BUILT_IN

    @property
    def relu(self) -> bool:
        return getattr(self.model, "activation", None) == "relu"

    @property
    def max_sup_norm(self) -> float:
        return float(np.max(self.runs.param_sup_norm))

    @property
    def noise_sup(self) -> float | None:
        """The largest |eps_j| the loss can draw: a built-in model's (None for Gaussian noise), or
        the ``noise_bound`` a user's module declares (None when it declares none)."""
        if not self.user_module:
            return getattr(self.model, "noise_sup", None)
        declared = getattr(self.model, "noise_bound", None)
        if isinstance(declared, int | float) and not isinstance(declared, bool) and 0 <= declared < np.inf:
            return float(declared)
        return None


def _stressed(ev: Evidence) -> dict[str, Any]:
    """The stressed constants by name (:class:`empirical.estimators.stress.Stressed`); none
    when the search did not run."""
    return {} if ev.search is None else ev.search.named()


def _show(expr: Any, values: Mapping[str, float]) -> str:
    """A SymPy expression at ``values``, or as text when some symbol is left."""
    import sympy as sp

    subs = {sym: values[sym.name] for sym in expr.free_symbols if sym.name in values}
    try:
        return f"{float(sp.sympify(expr).subs(subs)):.4g}"
    except TypeError:
        return sp.sstr(expr)


def constraint_row(assumption, ev: Evidence) -> Row:
    """An assumption with constraints, at the values bound into the theorem:
    fails when broken, estimated when it involves an estimated constant, else holds."""
    broken = [v.message for v in ev.binding.violations if v.id == assumption.id]
    if broken:
        return Row(assumption.id, assumption.name, FAILS, "; ".join(broken))
    values = ev.binding.values
    used = {s.name for c in assumption.constraints for s in c.lhs.free_symbols | c.rhs.free_symbols}
    missing = sorted(used - set(values))
    if missing:
        return Row(assumption.id, assumption.name, UNCHECKED, f"no value for {', '.join(missing)}")
    shown = "; ".join(
        f"{c.description}: {_show(c.lhs, values)} <= {_show(c.rhs, values)}" for c in assumption.constraints
    )
    estimated = sorted(used & set(ev.binding.ends))
    if estimated:
        stressed = _stressed(ev)
        which = ", ".join(f"{'stressed' if n in stressed else 'estimated'} {n}" for n in estimated)
        return Row(
            assumption.id,
            assumption.name,
            ESTIMATED,
            f"{shown} at the {which} (lower estimates of suprema where they are "
            "L, sigma2, M or R: the condition is checked at the estimate, not proved)",
        )
    return Row(assumption.id, assumption.name, HOLDS, f"checked exactly: {shown}")


def _smooth(a, ev: Evidence) -> Row:
    if ev.relu:
        return Row(
            a.id,
            a.name,
            FAILS,
            "ReLU: f'' is undefined at 0, so F is not L-smooth; the measured L is a local curvature only",
        )
    L = ev.constants.L
    text = f"L = {L.value:.4g} [{L.lo:.4g}, {L.hi:.4g}]: {L.method}"
    s = _stressed(ev).get("L")
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
    c = ev.constants
    stressed = _stressed(ev)
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


def _algorithm(a, ev: Evidence) -> Row:
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
    if ev.optimizer.algorithm == "torch.optim.Adam":
        return Row(a.id, a.name, FAILS, "variant 'torch': torch.optim.Adam puts g_k into v_k before the step")
    return Row(a.id, a.name, HOLDS, "variant 'delayed': the preconditioner is built from v_{k-1}")


def _momentum(a, ev: Evidence) -> Row:
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


CHECKS: dict[str, Callable[[Any, Evidence], Row]] = {
    "smooth": _smooth,
    "lower-bounded": _lower_bounded,
    "unbiased": _unbiased,
    "bounded-variance": _bounded_variance,
    "bounded-sup": _bounded_sup,
    "variance-split": _variance_split,
    "algorithm": _algorithm,
    "preconditioner": _preconditioner,
    "momentum": _momentum,
    "box": _box,
    "smooth-activations": _smooth_activations,
}


@dataclass(frozen=True)
class _Extra:
    """A row the pipeline adds for an assumption the theorem does not carry."""

    id: str
    name: str
    constraints: tuple = ()


def assumption_rows(theorem: Bound, ev: Evidence) -> tuple[Row, ...]:
    """One row per assumption of ``theorem`` (by id), then A1 and A2 when the
    theorem leaves them out, then any inadmissible value of a constant."""
    checks = CHECKS
    rows = []
    for a in theorem.assumptions:
        check = constraint_row if a.constraints else checks.get(a.id)
        if check is None:
            rows.append(Row(a.id, a.name, UNCHECKED, "no empirical check of this assumption"))
        else:
            rows.append(check(a, ev))
    ids = {a.id for a in theorem.assumptions}
    if "smooth-activations" not in ids and hasattr(ev.model, "activation"):
        rows.append(checks["smooth-activations"](_Extra("smooth-activations", "smooth activations (A1)"), ev))
    if "box" not in ids:
        rows.append(checks["box"](_Extra("box", "parameter box (A2)"), ev))
    domain = [v.message for v in ev.binding.violations if v.id == "domain"]
    if domain:
        rows.append(Row("domain", "admissible constants", FAILS, "; ".join(domain)))
    return tuple(rows)
