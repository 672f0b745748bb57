"""The figures' computations (intervals, pooling, axis choices) against closed
forms, and the sweep figure drawn from rows alone."""

import numpy as np
import pytest
from scipy import stats

from empirical.report import figures

HOLDS, VIOLATED, NOT_COVERED = "holds at the estimated constants", "violated", "not covered"


def test_t_band_is_the_student_interval_of_the_mean_at_every_index():
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(5, 7))
    mean, lo, hi = figures.t_band(samples, 0.9)
    for j in range(7):
        a, b = stats.t.interval(0.9, 4, loc=samples[:, j].mean(), scale=stats.sem(samples[:, j]))
        assert mean[j] == pytest.approx(samples[:, j].mean()) and (lo[j], hi[j]) == pytest.approx((a, b))
    one = figures.t_band(samples[:1])
    assert np.array_equal(one[0], one[1]) and np.array_equal(one[0], one[2])


@pytest.mark.parametrize(
    "values, log",
    [
        ((8, 32, 128), True),
        ((1, 10, 100, 1000), True),
        ((0.5, 1, 4), False),
        ((1, 5, 10), False),
        ((1, 2), False),
        ((1, 8), True),
        ((0, 1, 10), False),
        ((3,), False),
    ],  # fmt: skip
)
def test_log_axis_only_for_geometric_grids(values, log):
    assert figures.is_geometric(values) is log


def _row(B, seed, per_seed, bound, verdict):
    mean, lo, hi = (float(v[0]) for v in figures.t_band(np.asarray(per_seed)[:, None]))
    return {"B": B, "seed": seed, "per_seed": per_seed, "observed": mean, "observed_lo": lo - 0.01,
            "observed_hi": hi + 0.01, "bound": bound, "verdict": verdict}  # fmt: skip


def test_seeds_are_pooled_over_every_run_and_the_worst_verdict_wins():
    rows = [
        _row(8, 0, [1.0, 2.0], 10.0, HOLDS),
        _row(8, 1, [3.0, 4.0], 14.0, NOT_COVERED),
        _row(32, 0, [1.0, 1.5], 9.0, HOLDS),
        _row(32, 1, [2.0, 2.5], 9.5, VIOLATED),
    ]
    pooled = {r["B"]: r for r in figures.pool_seeds(rows, ["B", "seed"])}
    a, b = stats.t.interval(0.95, 3, loc=2.5, scale=stats.sem([1.0, 2.0, 3.0, 4.0]))
    assert pooled[8]["observed"] == pytest.approx(2.5) and pooled[8]["runs"] == 4
    assert (pooled[8]["observed_lo"], pooled[8]["observed_hi"]) == pytest.approx((a, b))
    assert (pooled[8]["bound"], pooled[8]["bound_lo"], pooled[8]["bound_hi"]) == (12.0, 10.0, 14.0)
    assert pooled[8]["verdict"] == NOT_COVERED and pooled[32]["verdict"] == VIOLATED
    # without a seed axis a point keeps its own reported interval
    alone = figures.pool_seeds(rows[:1], ["B"])[0]
    assert (alone["observed_lo"], alone["observed_hi"]) == (rows[0]["observed_lo"], rows[0]["observed_hi"])


def test_a_bound_far_above_the_data_is_detected():
    data = np.array([[10.0, 5.0, -1.0], [12.0, 4.0, 2.0]])
    assert figures.far_above(np.array([1e4, 1e3, 500.0]), data)
    assert not figures.far_above(np.array([1e4, 1e3, 100.0]), data)  # 100 < 30 x 12
    assert not figures.far_above(np.array([np.nan, np.inf, -1.0]), data)


def test_only_the_constants_the_bound_uses_are_drawn():
    named = {"L": 1, "sigma2_data": 2, "sigma2_mc": 3, "M": 4, "R": 5, "Delta": 6}
    assert figures.constants_used(named, {"Delta": "hi", "L": "hi", "sigma2_mc": "lo"}) == [
        "L",
        "sigma2_mc",
        "Delta",
    ]


def test_sweep_figure_from_rows(tmp_path):
    rows = [_row(B, seed, [1.0 + seed, 2.0], 50.0 / B, HOLDS if B < 128 else VIOLATED)
            for B in (8, 32, 128) for seed in (0, 1)]  # fmt: skip
    for r in rows:
        r["K"] = 1 if r["seed"] == 0 else 2
    figures.plot_sweep(rows, ["B", "K"], tmp_path / "sweep.png")
    assert (tmp_path / "sweep.png").stat().st_size > 10_000
