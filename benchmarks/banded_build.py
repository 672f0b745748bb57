"""Building the banded program: the row-wise numpy construction (theory.performance.chain) against
the dict-based one it replaced (the dict twin kept in tests/theory/performance/test_banded_build.py),
each up to the arrays handed to CLARABEL (q, A, b, cones; no solve), with CLARABEL's solve beside.

The default report's program is gradient descent at n = 2000 (steps k^(-1/2), uniform weights); the
other covered programs at the same horizon follow. Median of REPEATS wall times of each; the two
constructions' arrays are checked equal to the bit first.
Run: python benchmarks/banded_build.py  (needs the pep extra; one thread)
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from theory.performance import chain

N = 2000
REPEATS = 7
TWIN = Path(__file__).resolve().parent.parent / "tests" / "theory" / "performance" / "test_banded_build.py"


def load_twin():
    spec = importlib.util.spec_from_file_location("banded_build_twin", TWIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def median_seconds(call, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    twin = load_twin()
    h = np.arange(1, N + 1) ** -0.5
    w = np.full(N, 1 / N)
    programs = {
        "gradient descent (default report)": (
            lambda: chain.gradient_descent(h, w),
            lambda: twin.gradient_descent(h, w),
        ),
        "gradient descent with bias": (
            lambda: chain.gradient_descent(h, w, bias=0.3 * h),
            lambda: twin.gradient_descent(h, w, bias=0.3 * h),
        ),
        "projected gradient descent": (lambda: chain.projected(h, w), lambda: twin.projected(h, w)),
        "heavy ball, momentum 0.5": (lambda: chain.heavy_ball(h, w, 0.5), lambda: twin.heavy_ball(h, w, 0.5)),
    }
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; n = {N}, median of {REPEATS}")
    print(f"{'program':<36} {'old build':>10} {'new build':>10} {'old/new':>8} {'solve':>8}")
    for name, (new, old) in programs.items():
        twin.assert_same_arrays(new(), old())  # the same program to the bit
        old_seconds = median_seconds(lambda old=old: twin.twin_arrays(old()))
        new_seconds = median_seconds(lambda new=new: new().arrays())
        program = new()
        solve_seconds = statistics.median(program.solve().seconds for _ in range(REPEATS))
        print(
            f"{name:<36} {old_seconds * 1e3:8.1f}ms {new_seconds * 1e3:8.2f}ms "
            f"{old_seconds / new_seconds:8.1f} {solve_seconds * 1e3:6.0f}ms",
            flush=True,
        )
    print(
        "build: the program and the arrays handed to CLARABEL; solve: CLARABEL's own time (Solution.seconds)"
    )


if __name__ == "__main__":
    main()
