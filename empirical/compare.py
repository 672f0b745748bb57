"""Estimate against theory: bind the constants into the bound, evaluate the observed side, fit the rate.

The observed side is the theorem's own left-hand side (docs/architecture.md, "Observed side").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from empirical.decision import interval
from empirical.errors import ConfigError
from empirical.estimators.results import Estimate
from empirical.student import t_quantile

# ------------------------------------------------------------------ binding


@dataclass(frozen=True)
class Binding:
    """The constants put into a bound and the bound's value there.

    Attributes:
        values: Constant name -> the value put in.
        ends: Estimated constant name -> the end of its interval it came from ("lo" or "hi").
        value: The bound at ``values``.
        violations: Every assumption of the bound the values break.
    """

    values: dict[str, float]
    ends: dict[str, str]
    value: float
    violations: tuple = ()


def bind(bound, estimates: Mapping[str, Estimate], fixed: Mapping[str, float]) -> Binding:
    """Evaluate a bound at its fixed values and, for each estimated constant, the end that makes it larger.

    The others stay at their point values meanwhile. Values that break the bound's own
    assumptions (e.g. C_gamma above the step limit) are returned in ``violations``, the bound
    still evaluated, so a report can show the comparison.

    Args:
        bound: The :class:`theory.Bound`.
        estimates: Constant name -> its estimate with an interval.
        fixed: Constant name -> a known value (n, B, K, C_gamma, ...).

    Returns:
        The values, the end each estimate came from, the bound's value and the violations.

    Raises:
        ConfigError: A constant of the bound has no value, or the bound is not finite there.
    """
    needed = set(bound.constants)
    unknown = needed - set(estimates) - set(fixed)
    if unknown:
        raise ConfigError(f"no value for {', '.join(sorted(unknown))} of {bound.name}")
    point = {k: float(v) for k, v in fixed.items()}  # every fixed value is kept (assumptions use some)
    point.update({k: e.value for k, e in estimates.items() if k in needed})
    f = bound.numpy()

    def at(values: Mapping[str, float]) -> float:  # the theorem's conditions are checked below
        with np.errstate(all="ignore"):
            return float(f.raw(**{a: values[a] for a in f.args}))

    values, ends = dict(point), {}
    for name, est in estimates.items():
        if name not in needed:
            continue
        if name not in f.args:  # only in the step limit: the end that makes the limit binding is checked
            values[name], ends[name] = est.hi, "hi"
            continue
        lo, hi = at({**point, name: est.lo}), at({**point, name: est.hi})
        side = "lo" if lo > hi else "hi"
        values[name], ends[name] = getattr(est, side), side
    violations = tuple(bound.check(values))
    value = at(values) if violations else bound.evaluate(**values)
    if not math.isfinite(value):
        raise ConfigError(f"{bound.name} is not finite at {values}")
    return Binding(values, ends, value, violations)


# ------------------------------------------------------------ observed side


@dataclass(frozen=True)
class Observed(Estimate):
    """The theorem's left-hand side estimated from R runs (docs/architecture.md, "Observed side").

    An :class:`~empirical.estimators.results.Estimate`: ``value`` the mean over runs of each run's
    weighted average, ``[lo, hi]`` the rule's interval over runs (R >= 2) or one run's bracket
    (widened by its records' noise when their variances are known); unclipped.

    Attributes:
        per_run: Each run's point value (the mean of its left and right quadrature).
        per_run_lo: Each run's lower quadrature.
        per_run_hi: Each run's upper quadrature.
        observable: The name of what was recorded.
        widened: One run whose bracket was widened by its records' noise.
    """

    per_run: tuple[float, ...] = ()
    per_run_lo: tuple[float, ...] = ()
    per_run_hi: tuple[float, ...] = ()
    observable: str = ""
    widened: bool = False

    @property
    def runs(self) -> int:
        """R, the number of runs."""
        return len(self.per_run)

    @property
    def covers_runs(self) -> bool:
        """True when the interval is over runs (R >= 2), not a single run's."""
        return self.runs >= 2

    @property
    def brackets(self) -> tuple[tuple[float, float], ...]:
        """What the decision rule takes (``per_run``): each run's bracket (R >= 2), or one run's, widened."""
        if self.covers_runs:
            return tuple(zip(self.per_run_lo, self.per_run_hi, strict=True))
        return ((self.lo, self.hi),)


def _gap_weights(index: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """W_t = sum of weights[j] for j in [index[t], index[t+1]) (the last gap ends at n)."""
    n = weights.shape[0]
    edges = np.minimum(np.append(index, n), n)
    cum = np.concatenate([[0.0], np.cumsum(weights)])
    return cum[edges[1:]] - cum[edges[:-1]]


def quadrature_weights(index: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The coefficients of the left and right quadratures of a weighted sum over records.

    Args:
        index: (T,) the recorded indices, from 0, increasing, the last at least n - 1.
        weights: (n,) the weights over j = 0..n-1.

    Returns:
        (a, b), each (T,): the left quadrature of sum_j weights[j] f(j) is
        sum_t a_t f(index[t]) and the right one sum_t b_t f(index[t]) (see :func:`brackets`).

    Raises:
        ConfigError: Indices that do not start at 0, do not increase, or end before n - 1.
    """
    index = np.asarray(index, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.float64)
    n = weights.shape[0]
    if index.ndim != 1 or index.size < 1 or index[0] != 0 or np.any(np.diff(index) <= 0):
        raise ConfigError("records must start at index 0 and increase")
    if int(index[-1]) < n - 1:
        raise ConfigError(f"records end at {int(index[-1])} before the last index n - 1 = {n - 1}")
    W = _gap_weights(index, weights)
    width = np.diff(np.append(index, max(n, int(index[-1]) + 1)))
    # a gap holding one index is valued exactly by its left record; a gap of more by its right
    # record (the last gap, without one, by its left record)
    b = np.where(width > 1, 0.0, W)
    wide = np.flatnonzero(width > 1)
    target = np.minimum(wide + 1, index.size - 1)
    np.add.at(b, target, W[wide])
    return W, b


def brackets(index: np.ndarray, values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The left and right quadratures of sum_j weights[j] f(j), j = 0..n-1, per run.

    The gap from index[t] to the next record is valued at its left record or at its right
    record; a gap holding a single index, and a last gap without a right record, take
    their left value in both.

    Args:
        index: (T,) the recorded indices.
        values: (R, T) f at those indices, for each run.
        weights: (n,) the weights over j = 0..n-1.

    Returns:
        (left, right), each (R,).

    Raises:
        ConfigError: Bad indices, or a record that is not finite.
    """
    a, b = quadrature_weights(index, weights)
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    if values.shape[1] != a.size or not np.all(np.isfinite(values)):
        raise ConfigError("every record must be a finite number, one per recorded index")
    return values @ a, values @ b


def noise_half_width(coefficients: np.ndarray, variances: np.ndarray, dof: float, confidence: float) -> float:
    """The half-width of the interval of sum_t c_t X_t for independent records X_t.

    Args:
        coefficients: c_t.
        variances: The records' estimated variances v_t.
        dof: The degrees of freedom of each v_t.
        confidence: The two-sided level.

    Returns:
        t_nu sqrt(sum_t a_t), a_t = c_t^2 v_t, nu = (sum a_t)^2 / sum (a_t^2 / dof) by
        Welch-Satterthwaite; 0 when every a_t is 0.
    """
    a = np.square(coefficients) * variances
    total = float(a.sum())
    if total <= 0.0:
        return 0.0
    nu = total**2 / float(np.sum(np.square(a)) / dof)
    return t_quantile(confidence, nu) * math.sqrt(total)


def observe(
    index: np.ndarray,
    values: np.ndarray,
    weights: np.ndarray,
    observable: str,
    confidence: float = 0.95,
    variances: np.ndarray | None = None,
    dof: float | None = None,
) -> Observed:
    """The weighted average per run, and its mean and interval.

    Args:
        index: (T,) the recorded indices j, from 0, increasing, the last at least n - 1.
        values: (R, T) the records of each run.
        weights: (n,) the theorem's weights over j = 0..n-1.
        observable: the name of what was recorded.
        confidence: two-sided level of the interval.
        variances: (R, T) each record's estimated Monte-Carlo variance (e.g. the jackknife
            of its U-statistic), on ``dof`` degrees of freedom, the records independent
            given the run; used with one run only (over runs the interval holds that noise).
        dof: the degrees of freedom of ``variances``.

    Returns:
        The :class:`Observed`; with one run its bracket widened by :func:`noise_half_width`
        for each quadrature, or the bare bracket when the variances are unknown.

    Raises:
        ConfigError: Bad records, variances or degrees of freedom.
    """
    a, b = quadrature_weights(index, weights)
    left, right = brackets(index, values, weights)
    lower, upper = np.minimum(left, right), np.maximum(left, right)
    point = (left + right) / 2
    R = point.size
    index = np.asarray(index)
    if R >= 2:
        box = interval(list(zip(lower.tolist(), upper.tolist(), strict=True)), confidence=confidence)
        lo, hi, spread = box.lo, box.hi, box.method
    elif variances is not None:
        v = np.atleast_2d(np.asarray(variances, dtype=np.float64))
        if v.shape != (1, a.size) or not np.all(np.isfinite(v)) or np.any(v < 0):
            raise ConfigError(f"record variances must be {a.size} finite numbers >= 0, one per record")
        if dof is None or not dof > 0:
            raise ConfigError(f"record variances need their degrees of freedom > 0, got {dof!r}")
        lo = min(left[0] - noise_half_width(a, v[0], dof, confidence),
                 right[0] - noise_half_width(b, v[0], dof, confidence))  # fmt: skip
        hi = max(left[0] + noise_half_width(a, v[0], dof, confidence),
                 right[0] + noise_half_width(b, v[0], dof, confidence))  # fmt: skip
        spread = (
            f"one run: its quadrature bracket widened by the records' Monte-Carlo noise ({confidence:.0%}, "
            "Student-t with Welch-Satterthwaite degrees of freedom from each record's variance), unclipped; "
            "it covers this run's weighted average, not run-to-run spread"
        )
    else:
        lo, hi = float(lower[0]), float(upper[0])
        spread = "one run: the interval is its quadrature bracket only, not run-to-run spread"
    mean = float(point.mean())
    exact = np.all(np.diff(index) == 1) and index[-1] >= weights.shape[0] - 1
    quadrature = (
        f"every index recorded ({index.size} records): exact weighted sum"
        if exact
        else f"{index.size} records, each gap valued at its left or right record"
    )
    method = (
        f"per run, the theorem's weighted average over j = 0..n-1 of the {observable} records: "
        f"{quadrature}; {spread}"
    )
    return Observed(
        value=mean,
        lo=float(lo),
        hi=float(hi),
        confidence=confidence,
        method=method,
        per_run=tuple(float(v) for v in point),
        per_run_lo=tuple(float(v) for v in lower),
        per_run_hi=tuple(float(v) for v in upper),
        observable=observable,
        widened=R == 1 and variances is not None,
    )


def running_averages(
    index: np.ndarray, values: np.ndarray, weights_at: Callable[[int], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Each run's weighted average at every recorded horizon m > 0.

    Args:
        index: (T,) the recorded indices.
        values: (R, T) the records of each run.
        weights_at: m -> the theorem's weights for m iterations.

    Returns:
        (horizons m, A (R, len(m))): each average valued at the mean of the gap ends.
    """
    index = np.asarray(index, dtype=np.int64)
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    horizons = index[index > 0]
    out = np.empty((values.shape[0], horizons.size))
    for t, m in enumerate(horizons):
        keep = index <= m
        left, right = brackets(index[keep], values[:, keep], np.asarray(weights_at(int(m)), dtype=float))
        out[:, t] = (left + right) / 2
    return horizons.astype(float), out


# ---------------------------------------------------------------- rate fit


@dataclass(frozen=True)
class RateFit:
    """The slope ``exponent`` p of log(mean running average) against log(n), with its interval.

    ``[lo, hi]`` is the interval of p, ``theory`` and ``theory_exponent`` the theorem's rate as
    text and its exponent of n, ``points`` the points fitted, ``intercept`` c in log A(n) ~ c + p log n.
    """

    exponent: float
    lo: float
    hi: float
    theory: str
    theory_exponent: float
    points: int
    intercept: float = float("nan")  # log A(n) ~ intercept + exponent log n


def fit_rate(
    horizons: np.ndarray,
    average: np.ndarray,
    steps: int,
    theory_rate: str,
    theory_exponent: float,
    confidence: float = 0.95,
    skip_fraction: float = 0.1,
) -> RateFit:
    """An OLS fit of log A(n) = c + p log n over n >= ``skip_fraction`` * steps.

    Args:
        horizons: The horizons n.
        average: The mean running average A(n) at each.
        steps: The run's steps.
        theory_rate: The theorem's rate, as text.
        theory_exponent: The theorem's exponent of n.
        confidence: The two-sided level of the interval for p.
        skip_fraction: The share of the first steps left out.

    Returns:
        The fit, its t-interval optimistic (a running average's points are correlated); NaN
        with fewer than 3 points.
    """
    ns, avg = np.asarray(horizons, dtype=float), np.asarray(average, dtype=float)
    keep = (ns >= skip_fraction * steps) & (avg > 0)
    if keep.sum() < 3:
        nan = float("nan")
        return RateFit(nan, nan, nan, theory_rate, theory_exponent, int(keep.sum()))
    slope, intercept, stderr = least_squares(np.log(ns[keep]), np.log(avg[keep]))
    half = t_quantile(confidence, int(keep.sum()) - 2) * stderr
    return RateFit(
        slope, slope - half, slope + half, theory_rate, theory_exponent, int(keep.sum()), intercept
    )


def least_squares(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """The OLS line y = a + b x through n >= 3 points.

    b = s_xy / s_xx, a = ybar - b xbar, se(b) = sqrt((1 - r^2) s_yy / s_xx / (n - 2)) with the
    biased (1/n) moments and r = s_xy / sqrt(s_xx s_yy) clipped to [-1, 1] (the arithmetic of
    ``scipy.stats.linregress``, without importing scipy.stats).

    Args:
        x: The abscissas.
        y: The ordinates.

    Returns:
        (slope, intercept, standard error of the slope).
    """
    n = x.size
    xmean, ymean = np.mean(x, None), np.mean(y, None)
    sxx, sxy, _, syy = np.cov(x, y, bias=1).flat
    if sxx == 0.0 or syy == 0.0:
        r = np.nan if sxy == 0 else 0.0
    else:
        r = min(max(sxy / np.sqrt(sxx * syy), -1.0), 1.0)
    slope = sxy / sxx
    intercept = ymean - slope * xmean
    stderr = np.sqrt((1 - r**2) * syy / sxx / (n - 2))
    return float(slope), float(intercept), float(stderr)
