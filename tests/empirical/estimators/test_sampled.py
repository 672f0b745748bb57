"""Records over as many rows as their precision needs (empirical.estimators.sampled):
unbiased by simulation against a closed form (a pilot plans the rows, fresh draws make the
record), their jackknife variance on the wide side, the plans themselves."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from empirical.errors import ConfigError, LossError
from empirical.estimators.sampled import (
    draw_rows,
    next_rows,
    planned_rows,
    record_from,
    sampled_gradient_norm_sq,
    sampled_mean,
)

F64 = torch.float64

# loss(w, x, eps) = <x + S eps_{:D}, w> + (1 + eps_D) ||w||^2 / 2 with eps ~ N(0, I_{D+1}):
# grad F(w) = xbar + w exactly; a row's gradient x_i + S eps_{:D} + (1 + eps_D) w carries
# data noise (the rows scatter around MU) and Monte-Carlo noise.
D, N, S = 10, 1000, 2.0
MU = 0.5
X = MU + torch.randn(N, D, generator=torch.Generator().manual_seed(0), dtype=F64)
W = 0.1 * torch.randn(D, generator=torch.Generator().manual_seed(1), dtype=F64)
TRUTH = float(((X.mean(0) + W) ** 2).sum())
F_TRUE = float((X.mean(0) @ W) + 0.5 * (W**2).sum())


def gradients_with(gen: torch.Generator):
    """The Gradients callback of the toy loss, its noise drawn from ``gen``."""

    def gradients(rows: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.arange(N).expand(3, N) if rows is None else rows
        x = X[idx]  # (m, b, D)
        eps = torch.randn((*idx.shape, D + 1), generator=gen, dtype=F64)
        g = x + S * eps[..., :D] + (1.0 + eps[..., D:]) * W
        losses = (x + S * eps[..., :D]) @ W + 0.5 * (1.0 + eps[..., D]) * (W**2).sum()
        return losses.mean(-1), g.mean(-2)

    return gradients


@pytest.mark.slow
def test_planned_records_are_unbiased_and_their_variance_errs_wide():
    reps = 1500
    values, variances, losses, rows = [], [], [], []
    for seed in range(reps):
        gen = torch.Generator().manual_seed(seed)
        rec = sampled_gradient_norm_sq(gradients_with(gen), N, gen, precision=0.1, pilot_rows=16)
        values.append(rec.value)
        variances.append(rec.variance)
        losses.append(rec.loss)
        rows.append(rec.rows)
        assert rec.pilot_rows == 16 and rec.gradients == 3
    values, variances, losses = np.array(values), np.array(variances), np.array(losses)
    se = values.std(ddof=1) / math.sqrt(reps)
    assert abs(values.mean() - TRUTH) <= 4 * se, (values.mean(), se, TRUTH)
    assert abs(losses.mean() - F_TRUE) <= 4 * losses.std(ddof=1) / math.sqrt(reps)
    assert variances.mean() >= 0.8 * values.var()  # Efron-Stein: the jackknife errs wide
    # the plan did its job: more rows than the pilot, fewer than all, about the precision asked
    assert 16 < np.median(rows) < N
    assert 0.05 < np.median(np.sqrt(variances) / np.abs(values)) < 0.2


def losses_with(gen: torch.Generator):
    """The per-row losses of the toy loss, noise from ``gen``."""

    def losses(rows: torch.Tensor | None) -> torch.Tensor:
        x = X if rows is None else X[rows]
        eps = torch.randn((x.shape[0], D + 1), generator=gen, dtype=F64)
        return (x + S * eps[:, :D]) @ W + 0.5 * (1.0 + eps[:, D]) * (W**2).sum()

    return losses


@pytest.mark.slow
def test_planned_means_are_unbiased_and_their_intervals_cover():
    reps, reference = 1500, F_TRUE - 0.5  # precision relative to F - reference (like Delta)
    values, covered, rows = [], 0, []
    for seed in range(reps):
        gen = torch.Generator().manual_seed(seed)
        est = sampled_mean(losses_with(gen), N, gen, precision=0.05, reference=reference, pilot_rows=32)
        values.append(est.value)
        covered += est.lo <= F_TRUE <= est.hi
        rows.append(est.n_evals - 32)
    values = np.array(values)
    assert abs(values.mean() - F_TRUE) <= 4 * values.std(ddof=1) / math.sqrt(reps)
    assert 0.92 <= covered / reps <= 0.99
    assert 32 < np.median(rows) < N  # planned: more than the pilot, fewer than all rows
    assert 0.03 < np.median(np.abs(values - F_TRUE)) / 0.5 < 0.08  # about 5 % of F - reference
    everything = sampled_mean(losses_with(torch.Generator()), N, torch.Generator(), pilot_rows=N)
    assert everything.n_evals == N and "pilot" not in everything.method


def test_the_pilot_is_not_part_of_the_record():
    """A record's own draws come after the pilot's from the same generator: replaying the
    generator past the pilot reproduces the record from its rows alone."""
    gen = torch.Generator().manual_seed(7)
    rec = sampled_gradient_norm_sq(gradients_with(gen), N, gen, precision=0.1, pilot_rows=16)
    replay = torch.Generator().manual_seed(7)
    gradients = gradients_with(replay)
    gradients(draw_rows(N, 16, 3, replay))  # the pilot
    again = record_from(*gradients(draw_rows(N, rec.rows, 3, replay)), rec.rows, 16)
    assert again == rec


def test_all_rows_without_a_pilot_when_the_pilot_would_take_them():
    gen = torch.Generator().manual_seed(0)
    rec = sampled_gradient_norm_sq(gradients_with(gen), N, gen, pilot_rows=N)
    assert rec.rows == N and rec.pilot_rows == 0


def test_draw_rows_without_replacement():
    rows = draw_rows(10, 7, 3, torch.Generator().manual_seed(0))
    assert rows.shape == (3, 7)
    assert all(len(set(r.tolist())) == 7 and max(r.tolist()) < 10 for r in rows)
    assert draw_rows(10, 10, 3, torch.Generator()) is None


def test_plans():
    # v(b) = v0 (b0/b)^2: relative error 0.4 at 100 rows -> 0.1 at 400 rows
    assert planned_rows(1.0, 0.4**2, 100, 10_000, precision=0.1) == 400
    assert planned_rows(1.0, 0.01**2, 100, 10_000, precision=0.1, min_rows=128) == 128
    assert planned_rows(1.0, 0.4**2, 100, 300, precision=0.1) == 300  # capped at all rows
    assert planned_rows(-1.0, 0.1, 100, 500) == 500  # nothing to be relatively precise about
    assert planned_rows(math.nan, 0.1, 100, 500) == 500
    assert next_rows([], [], [], 1000, min_rows=128) == 128 and next_rows([], [], [], 50) == 50
    # the median of the last plans: one wild jackknife does not move it
    values, variances, rows = [1.0] * 5, [0.04, 0.04, 100.0, 0.04, 0.04], [100] * 5
    assert next_rows(values, variances, rows, 10_000, precision=0.1, min_rows=1) == 200


def test_bad_inputs_raise_typed_errors():
    gen = torch.Generator()
    with pytest.raises(ConfigError, match="m >= 3"):
        sampled_gradient_norm_sq(gradients_with(gen), N, gen, m=2)
    with pytest.raises(ConfigError, match="precision"):
        sampled_gradient_norm_sq(gradients_with(gen), N, gen, precision=0.0)
    with pytest.raises(ConfigError, match="pilot_rows"):
        sampled_gradient_norm_sq(gradients_with(gen), N, gen, pilot_rows=0)
    with pytest.raises(LossError, match="not finite"):
        record_from(torch.zeros(3), torch.full((3, 2), math.nan), 10)
    with pytest.raises(LossError, match="finite losses"):
        sampled_mean(lambda rows: torch.zeros(2), N, gen)
    with pytest.raises(ConfigError, match="precision"):
        sampled_mean(losses_with(gen), N, gen, precision=1.5)
