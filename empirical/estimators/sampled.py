"""Unbiased estimates of ||grad F||^2 and F from as many rows as their precision needs.

Gradients over b rows drawn without replacement with fresh noise, the U-statistic of m of
them, and b planned from independent earlier draws for a relative standard error, so that
the estimate stays unbiased (docs/estimators.md, "Rows in proportion to need").
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
    """An unbiased record of ||grad F(theta)||^2 and of F(theta), with what it cost.

    Attributes:
        value: U, unbiased for ||grad F(theta)||^2.
        variance: Its jackknife variance, on ``gradients - 1`` degrees of freedom.
        loss: An unbiased estimate of F(theta).
        loss_variance: Its variance over the gradients.
        rows: The rows per gradient (N: the full data).
        pilot_rows: The rows per gradient spent planning (0: none).
        gradients: m.
    """

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
    """Row indices for m gradients, each a uniform draw of ``rows`` of the N rows without replacement.

    Args:
        N: The data rows.
        rows: The rows per gradient.
        m: The gradients (independent lines).
        generator: The source of randomness.

    Returns:
        (m, rows) indices; None when ``rows`` >= N (every gradient over all rows).
    """
    if rows >= N:
        return None
    return torch.stack([torch.randperm(N, generator=generator)[:rows] for _ in range(m)])


def planned_rows(
    value: float, variance: float, rows: int, N: int, precision: float = PRECISION, min_rows: int = MIN_ROWS
) -> int:
    """Rows per gradient for a relative standard error sqrt(v)/|U| of ``precision``.

    Planned from a record over ``rows`` rows per gradient with v(b) = variance (rows/b)^2:
    ceil(rows sqrt(variance) / (precision value)).

    Args:
        value: The record's U.
        variance: Its variance.
        rows: Its rows per gradient.
        N: The data rows.
        precision: The relative standard error aimed at.
        min_rows: The fewest rows.

    Returns:
        The rows, within [min(min_rows, N), N]; N when value <= 0 (no relative precision to
        plan for) or when the record is not finite.
    """
    if not (math.isfinite(value) and math.isfinite(variance)) or value <= 0:
        return N
    need = rows * math.sqrt(max(variance, 0.0)) / (precision * value)
    return N if need >= N else max(min(min_rows, N), math.ceil(need))


def record_from(losses: torch.Tensor, grads: torch.Tensor, rows: int, pilot_rows: int = 0) -> SampledRecord:
    """The record of m independent gradients and their mean losses.

    Args:
        losses: (m,) each gradient's mean loss.
        grads: (m, d) the gradients.
        rows: The rows per gradient.
        pilot_rows: The rows per gradient spent planning.

    Returns:
        U with its jackknife variance, F with its variance, and the cost.

    Raises:
        LossError: A value that is not finite.
    """
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
    """An unbiased record of ||grad F(theta)||^2 and F(theta) over as many rows as ``precision`` needs.

    A pilot of m gradients over ``pilot_rows`` rows each plans the rows b
    (:func:`planned_rows`); m fresh gradients over b rows each give the record, the pilot's
    draws discarded (so it stays unbiased). When the pilot would be all rows anyway, the
    record is over all N rows and no pilot is drawn.

    Args:
        gradients: ``gradients(rows)`` (:data:`Gradients`), drawing fresh noise each call.
        N: The data rows.
        generator: The source of the rows.
        m: The gradients, >= 3.
        precision: The relative standard error sqrt(v)/|U| aimed at.
        pilot_rows: The rows per gradient of the pilot.
        min_rows: The fewest rows of the record (default ``pilot_rows``).

    Returns:
        The record.

    Raises:
        ConfigError: m < 3, or a bad N, pilot_rows or precision.
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
    """An unbiased estimate of F over as many rows as a standard error of precision |F - reference| needs.

    A pilot of ``pilot_rows`` rows plans b = s^2 / (precision |F - reference|)^2 rows within
    [pilot_rows, N]; b fresh rows give the estimate, the pilot discarded (unbiased).

    Args:
        losses: ``losses(rows)``: rows (b,) of row indices, or None for all N rows -> the b
            losses, each with fresh noise.
        N: The data rows.
        generator: The source of the rows.
        precision: The standard error aimed at, relative to |F - reference|.
        reference: The value the precision is relative to (F*, for Delta).
        pilot_rows: The rows of the pilot.
        confidence: The interval's two-sided level.
        what: The quantity's name, for the method.

    Returns:
        The estimate with its Student-t interval over the rows; ``n_evals`` counts the pilot.

    Raises:
        ConfigError: A bad N, pilot_rows, precision or confidence.
        LossError: Losses of the wrong shape or not finite.
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
    """Rows per gradient of the next record along a run, planned from its earlier records.

    The median of the plans (:func:`planned_rows`) from the last ``lookback`` records (one
    jackknife on 2 degrees of freedom plans poorly). The next record's draws are independent
    of these, so it stays unbiased.

    Args:
        values: The earlier records' U, oldest first.
        variances: Their variances.
        rows: Their rows per gradient.
        N: The data rows.
        precision: The relative standard error aimed at.
        min_rows: The fewest rows.
        lookback: The records the plan looks at.

    Returns:
        The rows; min(min_rows, N) before the first record.
    """
    recent = list(zip(values, variances, rows, strict=True))[-lookback:]
    if not recent:
        return min(min_rows, N)
    plans = sorted(planned_rows(u, v, b, N, precision, min_rows) for u, v, b in recent)
    return plans[len(plans) // 2]
