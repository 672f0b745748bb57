"""Which steps the tracker records (empirical/tracking/plan.py, RecordPlan) and which ||g_k||^2 it
reads (the other steps NaN in the finished run)."""

from __future__ import annotations

import math

import numpy as np
import torch
from cases import user_loss, user_vae

import empirical
from empirical.tracking.plan import FIRST_RECORD, GROWTH, RecordPlan, reads_norm


def _steps(plan: RecordPlan, n: int) -> list[int]:
    return [k for k in range(n + 1) if plan.due(k)]


def test_records_at_0_then_first_record_then_doubling():
    assert GROWTH == 2 and FIRST_RECORD == 4
    assert _steps(RecordPlan(), 500) == [0, 4, 8, 16, 32, 64, 128, 256]
    assert len(_steps(RecordPlan(), 2000)) == 10
    n = 10**6
    assert len(_steps(RecordPlan(), n)) <= math.log2(n) + 1


def test_growth_1_records_every_step_slow_growth_grows_from_the_first_record():
    assert _steps(RecordPlan(1.0), 20) == list(range(21))
    assert _steps(RecordPlan(1.1), 14) == [0, 4, 5, 6, 7, 8, 9, 10, 11, 13]  # ceil(1.1 * 11) = 13


def test_the_finished_run_holds_the_reads_at_their_steps_nan_elsewhere():
    torch.manual_seed(0)
    model, X = user_vae(6), torch.rand(40, 6)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    tracker = empirical.track(model, user_loss, X, opt, seed=0, batch_size=4)
    n = 70
    for _ in range(n):
        opt.zero_grad()
        user_loss(model, X[torch.randint(40, (4,))]).mean().backward()
        opt.step()
        tracker.step()
    sq = tracker.finish().grad_norm_sq[0]
    assert sq.shape == (n,)
    read = [k for k in range(1, n + 1) if reads_norm(k)]
    assert np.flatnonzero(np.isfinite(sq)).tolist() == [k - 1 for k in read]
    assert (sq[np.isfinite(sq)] > 0).all()
