"""When the tracker reads ||g_k||^2 (empirical/tracking/plan.py, reads_norm)."""

from __future__ import annotations

from empirical.tracking.plan import NORM_DENSE, NORM_SPARSE, reads_norm


def test_the_norm_is_read_at_every_step_below_twice_norm_dense_then_norm_sparse_times_per_doubling():
    read = [k for k in range(1, 64 * NORM_DENSE + 1) if reads_norm(k)]
    assert read[: 2 * NORM_DENSE - 1] == list(range(1, 2 * NORM_DENSE))  # a short run: every step
    for lo in (2 * NORM_DENSE, 4 * NORM_DENSE, 8 * NORM_DENSE, 16 * NORM_DENSE, 32 * NORM_DENSE):
        assert sum(1 for k in read if lo <= k < 2 * lo) == NORM_SPARSE
    assert NORM_SPARSE < NORM_DENSE and reads_norm(2048) and not reads_norm(2049)
    assert len(read) == 127 + 16 * 5 + 1  # up to n = 4096: 208 readings
