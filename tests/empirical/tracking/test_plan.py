"""When the tracker reads ||g_k||^2 (empirical/tracking/plan.py, reads_norm)."""

from __future__ import annotations

from empirical.tracking.plan import NORM_DENSE, reads_norm


def test_the_norm_is_read_at_every_step_up_to_norm_dense_then_norm_dense_times_per_doubling():
    read = [k for k in range(1, 4 * NORM_DENSE * 8 + 1) if reads_norm(k)]
    assert read[:NORM_DENSE] == list(range(1, NORM_DENSE + 1))
    for lo in (NORM_DENSE, 2 * NORM_DENSE, 4 * NORM_DENSE, 8 * NORM_DENSE, 16 * NORM_DENSE):
        assert sum(1 for k in read if lo <= k < 2 * lo) == NORM_DENSE
    assert reads_norm(2048) and not reads_norm(2049)
