"""The records' cost to the user's next steps (empirical/tracking/overhead.py) and the overhead
figure it enters."""

from __future__ import annotations

import numpy as np
import pytest
from cases import tiny_tracked_run, user_loss

from empirical.tracking.overhead import AFTER, after_records


def test_the_excess_after_each_record_is_counted_once_per_record():
    u = np.full(200, 1.0)
    made = [1, 4, 8, 16, 32, 64, 128]
    for s in made:
        u[s : s + 3] += [0.3, 0.2, 0.1]  # steps s+1 .. s+3 slowed by 0.6 in all
    assert after_records(u, made) == pytest.approx(0.6 * len(made))


def test_a_slow_step_of_the_users_own_moves_the_median_little():
    u = np.full(200, 1.0)
    made = [1, 4, 8, 16, 32, 64, 128]
    for s in made:
        u[s] += 0.5
    u[129:131] += 50.0  # the user's evaluation right after the record at 128
    assert after_records(u, made) == pytest.approx(0.5 * len(made))


def test_no_slowdown_no_complete_span_no_count():
    assert after_records(np.full(100, 2.0), [1, 4, 8]) == 0.0
    assert after_records([1.0] * 3, [1]) == 0.0  # fewer than AFTER steps after it
    rng = np.random.default_rng(0)
    assert after_records(rng.normal(1.0, 0.01, 500).clip(0), [1, 4, 8, 16]) <= 4 * AFTER * 0.05


def test_the_runs_timings_move_the_records_excess_from_the_loop_to_the_tracker():
    tracker, _ = tiny_tracked_run(user_loss, 40, callback=lambda k, record: None)  # records in the loop
    run = tracker.finish()
    assert len(tracker.h["user"]) == 40 and min(tracker.h["user"]) > 0
    made = [max(k, 1) for k in run.record_steps[:-1].tolist()]
    assert tracker.h["rec_made"] == made
    excess = after_records(tracker.h["user"], made)
    t = run.timings
    moved = t["tracking"] - tracker.tracking
    # the excess moves whole, unless it exceeds the loop's own time (a loaded machine's tiny run):
    # then the loop's time moves whole (run.finished_run caps it) and training is 0
    assert moved == pytest.approx(excess) or (moved < excess and t["training"] == pytest.approx(0.0))
    assert t["deferred records"] == 0.0
    # the loop's time before the move holds every step's own time (disjoint intervals of it)
    assert t["training"] + moved >= sum(tracker.h["user"]) - 1e-9 and t["training"] >= 0


def test_records_taken_after_the_loop_leave_it_no_excess_and_are_timed_apart():
    tracker, _ = tiny_tracked_run(user_loss, 40)  # no callback, no buffers, CPU: kept for finish()
    run = tracker.finish()
    assert tracker.h["rec_made"] == [] and run.record_steps.size >= 10
    t = run.timings
    assert t["tracking"] == pytest.approx(tracker.tracking) and t["deferred records"] > 0
