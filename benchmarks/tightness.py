"""Performance-estimation benchmark: wall time of one ``theory.tightness`` call
(building and solving) against the horizon n for every covered theorem and for
``theory.momentum_worst_case``, measured in this run; then PEPit's exact
program (every pair of points) against the banded one on gradient descent.

Aims: horizons of a few hundred steps in well under a second, the default cap
n_max = 2000 in a few seconds; beyond it the fit (5 horizons up to n_max).
Run: python benchmarks/tightness.py  (needs the pep extra; one thread)
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

import theory
from theory.performance import chain, full

HORIZONS = (1, 10, 50, 100, 200, 500, 1000, 2000, 5000)
PEPIT_HORIZONS = (5, 10, 20, 30)


def cases():
    schedule = theory.bound("generic", "sgd", "schedule")
    projected = theory.bound("generic", "sgd", "projected")
    default = theory.bound("generic", "sgd")
    biased = theory.bound("generic", "sgd", "biased")

    def steps(n):
        return np.arange(1, n + 1) ** -0.5

    return {
        "default": lambda n: theory.tightness(default, n, L=1.0, Delta=1.0, C_gamma=1.0),
        "schedule": lambda n: theory.tightness(schedule, n, L=1.0, Delta=1.0, steps=steps(n)),
        "projected": lambda n: theory.tightness(projected, n, L=1.0, Delta=1.0, steps=steps(n)),
        "biased": lambda n: theory.tightness(
            biased, n, L=1.0, Delta=1.0, C_gamma=0.25, C_alpha=0.3, alpha_bias=0.5
        ),
        "momentum": lambda n: theory.momentum_worst_case(n, 1.0, 1.0, 0.5, 0.5),
    }


def main() -> None:
    table = cases()
    for call in table.values():  # warm up: the first call imports cvxpy, PEPit and CLARABEL
        call(2)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("theory.tightness wall time (s) against n; steps k^(-1/2)/L; how: pepit | consecutive | fit")
    print(f"{'n':>6} " + " ".join(f"{name:>20}" for name in table))
    for n in HORIZONS:
        cells = []
        for name, call in table.items():
            if name == "momentum" and n > 2000:
                cells.append(f"{'-':>20}")
                continue
            start = time.perf_counter()
            result = call(n)
            seconds = time.perf_counter() - start
            cells.append(f"{seconds:8.3f} {result.method.formulation:>11}")
        print(f"{n:>6} " + " ".join(cells), flush=True)
    print()
    print("gradient descent, uniform weights, steps k^(-1/2): solver time (s), PEPit (every pair) vs banded")
    print(f"{'n':>6} {'PEPit':>10} {'banded':>10} {'rel. diff':>10}")
    for n in PEPIT_HORIZONS:
        h = np.arange(1, n + 1) ** -0.5
        w = np.full(n, 1 / n)
        exact = full.solve("gradient", h, w)
        banded = chain.gradient_descent(h, w).solve()
        gap = (banded.value - exact.value) / exact.value
        print(f"{n:>6} {exact.seconds:10.2f} {banded.seconds:10.3f} {gap:10.1e}", flush=True)


if __name__ == "__main__":
    main()
