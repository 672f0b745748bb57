"""benchmarks/symbolic.py's throughput loop calls every registered bound's checked Bound.numpy()
at admissible points: every constant the call needs is given and no condition is broken (the
loop once stopped at the first bound whose conditions take gamma_max)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np

import theory

ROOT = Path(__file__).resolve().parents[1]


def test_every_bound_is_timed_at_admissible_points():
    spec = importlib.util.spec_from_file_location(
        "vaebounds_bench_symbolic", ROOT / "benchmarks" / "symbolic.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.throughput(200, np.random.default_rng(0))
    assert len(rows) == len(theory.registered())
    assert all(math.isfinite(every) and every > 0 for _, _, every in rows)
    in_n = [label for label, n_varies, _ in rows if n_varies is not None]
    assert "generic/sgd" in in_n and "gaussian/sgd/schedule" not in in_n
