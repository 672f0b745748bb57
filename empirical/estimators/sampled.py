"""Unbiased estimates of ||grad F||^2 and F from as many rows as their precision needs.

F(theta) = (1/N) sum_i E_eps l(theta, x_i, eps) over the N rows of the data. A gradient over
b rows S drawn uniformly *without* replacement, each with fresh noise,

    g = (1/b) sum_{i in S} grad l(theta, x_i, eps_i),

is unbiased for grad F (at b = N it is the full-data gradient), and the mean of its b losses
is unbiased for F. For m >= 3 such gradients drawn independently, the U-statistic
U = (||sum_a g_a||^2 - sum_a ||g_a||^2) / (m(m-1)) is unbiased for ||grad F||^2, with its
delete-one jackknife variance v on m - 1 degrees of freedom
(:func:`empirical.estimators.gradnorm.u_statistic`, the one definition).

How many rows. With Sigma the covariance of one row's gradient, g_a = grad F + e_a with
Cov e_a = Sigma_b = Sigma / b (the data part times (N - b)/(N - 1), without replacement), so

    Var U = (4/m) grad F^T Sigma_b grad F + 2/(m(m-1)) tr(Sigma_b^2)
          = A / b + B / b^2.

Both terms fall at least like 1/b and at most like 1/b^2. The second, the noise-noise term,
dominates exactly where rows cost: when ||grad F||^2 is small against the gradient noise (late
in training; there a record over 128 rows has a relative error of 30 % where the full-data
gradient, free of data variance, has 3 %). Where the first dominates (early, ||grad F||^2
large), the fewest rows already give far more precision than asked. So a record over b0 rows
with variance v0 plans with v(b) = v0 (b0/b)^2: the relative standard error sqrt(v)/|U|
reaches ``precision`` at

    b = b0 sqrt(v0) / (precision U0)                                 (:func:`planned_rows`),

kept within [min_rows, N] (a plan of N or more rows is the full-data gradient). The plan errs
on the side of fewer rows where the first term still matters; the variance reported is always
the record's own jackknife, whatever the plan.

F alone (:func:`sampled_mean`, for Delta = F(theta_0) - F*): the mean of b losses over rows drawn
without replacement, each with fresh noise, has variance s^2 / b (s^2 the variance of one
row's loss; less by the finite-population factor): b = s^2 / (precision |F - reference|)^2,
planned from a pilot the same way, with ``reference`` the value the precision is relative to
(F*, so that it is Delta's).

Why the plan keeps the estimate unbiased. The rows of a record are planned from draws that
are *independent of the record's own*: a pilot whose gradients are then discarded
(:func:`sampled_gradient_norm_sq`), or the earlier records of a training run
(empirical.train). Given the plan, the record's rows and noise are fresh, so
E[U | plan] = ||grad F||^2 and hence E U = ||grad F||^2. Sampling "until the record's own
error is small" would not be unbiased (the stopping rule would favour some draws): nothing
here does that, and the reported variance is always the record's own jackknife, whether or
not the plan met its target.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from empirical.errors import ConfigError, LossError
from empirical.estimators.gradnorm import u_statistic
from empirical.estimators.results import Estimate, check_confidence, mean_interval

#: Default relative standard error sqrt(v)/|U| a planned record aims at.
PRECISION = 0.05
#: Default rows per gradient of a pilot, and the fewest a planned record uses.
MIN_ROWS = 128

#: ``gradients(rows)``: rows (m, b) of row indices (one draw per gradient) or None (all N rows
#: for every gradient) -> (losses (m,), gradients (m, d)): each gradient's mean loss and flat
#: gradient over its rows, every call with fresh noise.
Gradients = Callable[[torch.Tensor | None], tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class SampledRecord:
    """An unbiased record of ||grad F(theta)||^2 (``value``) with its jackknife ``variance`` on
    ``gradients - 1`` degrees of freedom, an unbiased estimate of F(theta) (``loss``) with its
    variance over the gradients (``loss_variance``), and what it cost: ``rows`` per gradient
    (N: the full data) and ``pilot_rows`` per gradient spent planning (0: none)."""

    value: float
    variance: float
    loss: float
    loss_variance: float
    rows: int
    pilot_rows: int
    gradients: int

    @property
    def relative_error(self) -> float:
        """sqrt(variance) / |value| (inf when value = 0)."""
        return math.sqrt(self.variance) / abs(self.value) if self.value != 0 else math.inf


def draw_rows(N: int, rows: int, m: int, generator: torch.Generator) -> torch.Tensor | None:
    """(m, rows) row indices, each line a uniform draw of ``rows`` of the N rows without
    replacement (independent lines); None when ``rows`` >= N (every gradient over all rows)."""
    if rows >= N:
        return None
    return torch.stack([torch.randperm(N, generator=generator)[:rows] for _ in range(m)])


def planned_rows(
    value: float, variance: float, rows: int, N: int, precision: float = PRECISION, min_rows: int = MIN_ROWS
) -> int:
    """Rows per gradient for a relative standard error sqrt(v)/|U| of ``precision``, planned
    from a record (``value``, ``variance``) over ``rows`` rows per gradient with
    v(b) = variance (rows/b)^2: ceil(rows sqrt(variance) / (precision value)) (module
    docstring), within [min(min_rows, N), N]; N when value <= 0 (no relative precision to plan
    for) or when the record is not finite."""
    if not (math.isfinite(value) and math.isfinite(variance)) or value <= 0:
        return N
    need = rows * math.sqrt(max(variance, 0.0)) / (precision * value)
    return N if need >= N else max(min(min_rows, N), math.ceil(need))


def record_from(losses: torch.Tensor, grads: torch.Tensor, rows: int, pilot_rows: int = 0) -> SampledRecord:
    """The :class:`SampledRecord` of m independent gradients ``grads`` (m, d) and their mean
    losses ``losses`` (m,), each over ``rows`` rows."""
    m = int(grads.shape[0])
    value, var = u_statistic(grads)
    losses = losses.to(torch.float64)
    out = SampledRecord(
        float(value), float(var), float(losses.mean()), float(losses.var() / m), rows, pilot_rows, m
    )
    if not all(math.isfinite(x) for x in (out.value, out.variance, out.loss)):
        raise LossError(f"record not finite: ||grad F||^2 {out.value}, variance {out.variance}, F {out.loss}")
    return out


def _check(N: int, pilot_rows: int, precision: float) -> None:
    if not (isinstance(precision, int | float) and not isinstance(precision, bool) and 0 < precision < 1):
        raise ConfigError(f"precision must be a number in (0, 1), got {precision!r}")
    for name, value in (("N", N), ("pilot_rows", pilot_rows)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")


def sampled_gradient_norm_sq(
    gradients: Gradients,
    N: int,
    generator: torch.Generator,
    *,
    m: int = 3,
    precision: float = PRECISION,
    pilot_rows: int = MIN_ROWS,
    min_rows: int | None = None,
) -> SampledRecord:
    """An unbiased record of ||grad F(theta)||^2 and F(theta) over as many rows as ``precision``
    (the relative standard error sqrt(v)/|U| aimed at) needs, all N at most.

    A pilot of m gradients over ``pilot_rows`` rows each plans the rows b
    (:func:`planned_rows`, at least ``min_rows``, default ``pilot_rows``); m fresh gradients
    over b rows each (:func:`draw_rows` from ``generator``; ``gradients`` draws their noise)
    give the record, the pilot's draws discarded (module docstring: unbiased). When the pilot
    would be all rows anyway, the record is over all N rows and no pilot is drawn.
    ``gradients`` is called as ``gradients(rows)`` (:data:`Gradients`).
    """
    if isinstance(m, bool) or not isinstance(m, int) or m < 3:
        raise ConfigError(f"need m >= 3 gradients for a jackknife variance, got {m!r}")
    _check(N, pilot_rows, precision)
    min_rows = pilot_rows if min_rows is None else min_rows
    if pilot_rows >= N:
        losses, grads = gradients(None)
        return record_from(losses, grads, N)
    pilot = record_from(*gradients(draw_rows(N, pilot_rows, m, generator)), pilot_rows)
    rows = planned_rows(pilot.value, pilot.variance, pilot_rows, N, precision, min_rows)
    losses, grads = gradients(draw_rows(N, rows, m, generator))
    return record_from(losses, grads, rows, pilot_rows)


def sampled_mean(
    losses: Callable[[torch.Tensor | None], torch.Tensor],
    N: int,
    generator: torch.Generator,
    *,
    precision: float = PRECISION,
    reference: float = 0.0,
    pilot_rows: int = MIN_ROWS,
    confidence: float = 0.95,
    what: str = "F",
) -> Estimate:
    """An unbiased estimate of F (the mean loss over the N rows) over as many rows as a
    standard error of ``precision`` |F - ``reference``| needs (module docstring), with its
    Student-t interval over the rows.

    ``losses(rows)``: rows (b,) of row indices, or None for all N rows -> the b losses (b,),
    each with fresh noise. A pilot of ``pilot_rows`` rows plans b rows, s^2 / (precision
    |F - reference|)^2 within [pilot_rows, N]; b fresh rows (drawn from ``generator``) give the
    estimate, the pilot discarded (unbiased). ``n_evals`` counts both.
    """
    _check(N, pilot_rows, precision)
    confidence = check_confidence(confidence)

    def drawn(rows: int) -> torch.Tensor:
        picked = draw_rows(N, rows, 1, generator)
        out = losses(None if picked is None else picked[0]).detach().to(torch.float64).reshape(-1)
        if out.numel() != rows or not bool(torch.isfinite(out).all()):
            raise LossError(f"losses(rows) must return {rows} finite losses, got {tuple(out.shape)}")
        return out

    spent = 0
    rows = N
    if pilot_rows < N:
        pilot = drawn(pilot_rows)
        spent = pilot_rows
        gap = abs(float(pilot.mean()) - reference)
        need = float(pilot.var()) / (precision * gap) ** 2 if gap > 0 else math.inf
        rows = N if need >= N else max(pilot_rows, math.ceil(need))
    sample = drawn(rows)
    method = (
        f"{what} over {rows} rows drawn without replacement"
        + (
            f" (planned from a {spent}-row pilot for {precision:.0%} of |{what} - {reference:.6g}|)"
            if spent
            else ""
        )
        + ", t interval over rows"
    )
    return mean_interval(sample, method, confidence, n_evals=spent + rows)


def next_rows(
    values: list[float],
    variances: list[float],
    rows: list[int],
    N: int,
    precision: float = PRECISION,
    min_rows: int = MIN_ROWS,
    lookback: int = 5,
) -> int:
    """Rows per gradient of the next record along a run, planned from its earlier records
    (``values``, ``variances``, ``rows``, oldest first) for a relative standard error of
    ``precision`` (:func:`planned_rows`): the median of the plans from the last ``lookback`` of
    them (one jackknife on 2 degrees of freedom plans poorly); min(min_rows, N) before the
    first. The next record's draws are independent of these, so it stays unbiased (module
    docstring)."""
    recent = list(zip(values, variances, rows, strict=True))[-lookback:]
    if not recent:
        return min(min_rows, N)
    plans = sorted(planned_rows(u, v, b, N, precision, min_rows) for u, v, b in recent)
    return plans[len(plans) // 2]
