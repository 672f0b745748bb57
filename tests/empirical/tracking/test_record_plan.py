"""Which steps the tracker records (empirical/tracking/plan.py, RecordPlan) and which ||g_k||^2 it
reads (the other steps NaN in the finished run)."""

from __future__ import annotations

import math

import numpy as np
from cases import tiny_tracked_run, user_loss

from empirical.tracking.plan import GROWTH, RecordPlan, reads_norm


def _steps(plan: RecordPlan, n: int) -> list[int]:
    return [k for k in range(n + 1) if plan.due(k)]


def test_records_every_step_at_first_then_geometrically_sparser():
    assert GROWTH == 1.3
    assert _steps(RecordPlan(), 60) == [0, 1, 2, 3, 4, 6, 8, 11, 15, 20, 26, 34, 45, 59]
    assert len(_steps(RecordPlan(), 500)) == 22 and len(_steps(RecordPlan(), 2000)) == 27
    n = 10**6
    assert len(_steps(RecordPlan(), n)) <= math.log(n) / math.log(GROWTH) + 5


def test_growth_1_records_every_step_growth_2_doubles():
    assert _steps(RecordPlan(1.0), 20) == list(range(21))
    assert _steps(RecordPlan(2.0), 40) == [0, 1, 2, 4, 8, 16, 32]


def test_the_finished_run_holds_the_reads_at_their_steps_nan_elsewhere():
    n = 70
    tracker, _ = tiny_tracked_run(user_loss, n)
    sq = tracker.finish().grad_norm_sq[0]
    assert sq.shape == (n,)
    read = [k for k in range(1, n + 1) if reads_norm(k)]
    assert np.flatnonzero(np.isfinite(sq)).tolist() == [k - 1 for k in read]
    assert (sq[np.isfinite(sq)] > 0).all()
