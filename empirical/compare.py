"""Bind estimated constants into a bound and compare it with a training run.

- Each constant is filled with the end of its interval that makes the bound
  larger, decided by the sign of d(bound)/d(constant) at the point estimate
  (:func:`theory.rates.derivative_sign`), never by hand.
- The observed side is the run's average of ||grad F(theta_k)||^2 over the
  recorded k < n (design.md: (1/n) sum_{k=0}^{n-1} E||grad F(theta_k)||^2).
- ``holds`` is one-sided: the upper end of the observed interval is at most
  the bound. ``ratio`` = bound / observed mean. The bound is on an expectation
  over runs; one comparison is about one trajectory (sweep over seeds for more).
- The observed rate exponent is fitted to the running average on log-log axes
  and set beside the theory's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from empirical.errors import ConfigError
from empirical.estimators.results import Estimate

HOLDS, FAILS, UNCHECKED = "holds", "fails", "unchecked"


@dataclass(frozen=True)
class Binding:
    """The values put into the bound, which interval end each came from, the
    result, and every assumption of the bound those values break."""

    values: dict[str, float]
    ends: dict[str, str]
    value: float
    violations: tuple = ()


def bind(bound, estimates: Mapping[str, Estimate], fixed: Mapping[str, float]) -> Binding:
    """Evaluate ``bound`` with ``fixed`` values and, for each estimated
    constant, the interval end (lo or hi) that makes the bound larger.

    Values that break the bound's own assumptions (e.g. C_gamma above the step
    limit) are not an error here: they are returned in ``violations`` and the
    bound is still evaluated, so the report can show the comparison with no verdict.
    """
    from theory.rates import derivative_sign

    needed = set(bound.constants)
    unknown = needed - set(estimates) - set(fixed)
    if unknown:
        raise ConfigError(f"no value for {', '.join(sorted(unknown))} of {bound.name}")
    # every fixed value is kept (also those only the assumptions use, e.g. beta2)
    point = {k: float(v) for k, v in fixed.items()}
    point.update({k: e.value for k, e in estimates.items() if k in needed})
    values, ends = dict(point), {}
    f = bound.numpy()
    for name, est in estimates.items():
        if name not in needed:
            continue
        # the sign at both ends of the interval (others at their point values):
        # when they agree the bound is monotone there and the sign decides; if
        # not, the end with the larger bound is taken
        signs = {derivative_sign(bound, name, values={**point, name: end}).sign for end in (est.lo, est.hi)}
        if signs == {-1}:
            values[name], ends[name] = est.lo, "lo"
        elif signs <= {1, 0}:
            values[name], ends[name] = est.hi, "hi"
        else:
            at = {
                side: float(f(**{a: (getattr(est, side) if a == name else point[a]) for a in f.args}))
                for side in ("lo", "hi")
            }
            side = "lo" if at["lo"] > at["hi"] else "hi"
            values[name], ends[name] = getattr(est, side), side
    violations = tuple(bound.check(values))
    if violations:
        value = float(f(**{a: values[a] for a in f.args}))
        if not math.isfinite(value):
            raise ConfigError(f"{bound.name} is not finite at {values}")
    else:
        value = bound.evaluate(**values)
    return Binding(values, ends, value, violations)


def bound_assumption_checks(bound, binding: Binding) -> list[AssumptionCheck]:
    """The bound's own assumptions that constrain its constants, checked at the
    values bound into it (one definition: the constraints live in ``theory``)."""
    out = []
    for assumption in bound.assumptions:
        if not assumption.constraints:
            continue
        broken = [v.message for v in binding.violations if v.assumption == assumption.name]
        missing = sorted(
            {sym.name for c in assumption.constraints for sym in c.lhs.free_symbols | c.rhs.free_symbols}
            - set(binding.values)
        )
        if broken:
            out.append(AssumptionCheck(assumption.name, FAILS, "; ".join(broken)))
        elif missing:
            out.append(AssumptionCheck(assumption.name, UNCHECKED, f"no value for {', '.join(missing)}"))
        else:
            shown = ", ".join(
                f"{c.description}: {_show(c.lhs, binding.values)} <= {_show(c.rhs, binding.values)}"
                for c in assumption.constraints
            )
            out.append(
                AssumptionCheck(assumption.name, HOLDS, f"at the values bound into the theorem: {shown}")
            )
    domain = [v.message for v in binding.violations if v.assumption == "domain"]
    if domain:
        out.append(AssumptionCheck("admissible constants", FAILS, "; ".join(domain)))
    return out


def _show(expr, values: Mapping[str, float]) -> str:
    import sympy as sp

    subs = {sym: values[sym.name] for sym in expr.free_symbols if sym.name in values}
    try:
        return f"{float(sp.sympify(expr).subs(subs)):.4g}"
    except TypeError:
        return sp.sstr(expr)


@dataclass(frozen=True)
class Observed:
    """The run's average ||grad F(theta_k)||^2 over recorded k < n, with an interval."""

    mean: float
    lo: float
    hi: float
    points: int
    method: str


def _segments(record_steps: np.ndarray, values: np.ndarray, steps: int):
    """Recorded (k_j, f_j) sorted and cut at n, as segments [k_j, k_{j+1}) with
    left and right values; n must be recorded (train records theta_n)."""
    ks = np.asarray(record_steps, dtype=np.int64)
    vals = np.asarray(values, dtype=float)
    order = np.argsort(ks)
    ks, vals = ks[order], vals[order]
    keep = ks <= steps
    ks, vals = ks[keep], vals[keep]
    if ks.size < 2 or ks[0] != 0 or ks[-1] != steps or not np.all(np.isfinite(vals)):
        raise ConfigError("the run must record finite ||grad F||^2 at theta_0 and theta_n")
    return ks, vals, np.diff(ks)


def observed_average(
    record_steps: np.ndarray, grad_norm_sq: np.ndarray, steps: int, bias: float = 0.0
) -> Observed:
    """(1/n) sum_{k=0}^{n-1} ||grad F(theta_k)||^2 from values recorded at some k.

    Between two recorded steps k_j < k_{j+1} the w_j = k_{j+1} - k_j terms are
    valued at the left end f(k_j) or at the right end f(k_{j+1}); the two sums
    bracket the average whenever f is monotone between records, and their mean
    is the point estimate. ``bias`` (the Monte-Carlo inflation of a noisy full
    gradient, E||g_hat||^2 = ||grad F||^2 + bias) is subtracted first."""
    ks, vals, w = _segments(record_steps, np.asarray(grad_norm_sq, dtype=float) - bias, steps)
    left = float(np.sum(w * vals[:-1]) / steps)
    right = float(np.sum(w * vals[1:]) / steps)
    lo, hi = min(left, right), max(left, right)
    method = (
        f"sum over k < n of ||grad F(theta_k)||^2 recorded at {ks.size} steps, each gap valued at its "
        "left or right record (the interval brackets the average where ||grad F||^2 is monotone between "
        "records)" + (f", minus the Monte-Carlo inflation {bias:.3g}" if bias else "")
    )
    return Observed((left + right) / 2, max(lo, 0.0), hi, int(ks.size), method)


@dataclass(frozen=True)
class RateFit:
    """Slope of log(running average) against log(n), with a confidence interval."""

    exponent: float
    lo: float
    hi: float
    theory: str
    theory_exponent: float
    points: int
    intercept: float = float("nan")  # log A(n) ~ intercept + exponent log n


def running_average(
    record_steps: np.ndarray, grad_norm_sq: np.ndarray, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """(n_j, A(n_j)) at every recorded n_j > 0: A(n_j) = (1/n_j) sum_{k < n_j}
    ||grad F(theta_k)||^2 with each gap valued at the mean of its two ends."""
    ks, vals, w = _segments(record_steps, grad_norm_sq, steps)
    partial = np.cumsum(w * (vals[:-1] + vals[1:]) / 2)
    return ks[1:].astype(float), partial / ks[1:]


def fit_rate(
    record_steps: np.ndarray,
    grad_norm_sq: np.ndarray,
    steps: int,
    theory_rate: str,
    theory_exponent: float,
    confidence: float = 0.95,
    skip_fraction: float = 0.1,
) -> RateFit:
    """OLS fit of log A(n) = c + p log n over n >= ``skip_fraction`` * steps,
    with a t-interval for p (points of a running average are correlated, so
    the interval is optimistic)."""
    ns, avg = running_average(record_steps, grad_norm_sq, steps)
    keep = (ns >= skip_fraction * steps) & (avg > 0)
    if keep.sum() < 3:
        return RateFit(
            float("nan"), float("nan"), float("nan"), theory_rate, theory_exponent, int(keep.sum())
        )
    fit = stats.linregress(np.log(ns[keep]), np.log(avg[keep]))
    half = float(stats.t.ppf(0.5 + confidence / 2, keep.sum() - 2) * fit.stderr)
    return RateFit(
        float(fit.slope),
        float(fit.slope - half),
        float(fit.slope + half),
        theory_rate,
        theory_exponent,
        int(keep.sum()),
        float(fit.intercept),
    )


@dataclass(frozen=True)
class AssumptionCheck:
    """One assumption checked along the run: holds | fails | unchecked, and why."""

    name: str
    status: str
    evidence: str

    def __post_init__(self) -> None:
        if self.status not in (HOLDS, FAILS, UNCHECKED):
            raise ValueError(f"status must be holds, fails or unchecked, got {self.status!r}")


@dataclass(frozen=True)
class Comparison:
    """Bound vs observed, the fitted rate, and the assumptions checked."""

    binding: Binding
    observed: Observed
    rate: RateFit
    assumptions: tuple[AssumptionCheck, ...]

    @property
    def bound_value(self) -> float:
        return self.binding.value

    @property
    def holds(self) -> bool:
        """One-sided: the observed upper end is at most the bound."""
        return self.observed.hi <= self.binding.value

    @property
    def ratio(self) -> float:
        return self.binding.value / self.observed.mean if self.observed.mean > 0 else float("inf")

    @property
    def assumptions_hold(self) -> bool:
        return all(a.status != FAILS for a in self.assumptions)

    @property
    def verdict(self) -> str:
        if not self.assumptions_hold:
            return "assumptions failed"
        return "holds" if self.holds else "violated"


def compare(
    bound,
    estimates: Mapping[str, Estimate],
    fixed: Mapping[str, float],
    record_steps: np.ndarray,
    full_grad_norm_sq: np.ndarray,
    steps: int,
    assumptions: Sequence[AssumptionCheck] = (),
    bias: float = 0.0,
) -> Comparison:
    """Bind, observe, fit the rate; see the module docstring."""
    from theory.rates import rate_exponent

    binding = bind(bound, estimates, {**fixed, "n": steps})
    observed = observed_average(record_steps, full_grad_norm_sq, steps, bias)
    p, _q = rate_exponent(bound.expr)
    rate = fit_rate(record_steps, full_grad_norm_sq - bias, steps, str(bound.rate()), float(p))
    checks = (*bound_assumption_checks(bound, binding), *assumptions)
    return Comparison(binding, observed, rate, checks)
