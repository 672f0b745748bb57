"""Theory benchmark: `import theory`, its first bound and every registered bound,
each against `import sympy` alone (fresh interpreters, same run), and
Bound.numpy() throughput (values checked against their domains and the
theorem's constraints on every call) at admissible points
(theory.rates.signs.sample_points: every step constant below its limit), with n
varying over one admissible point of the other constants, and with every constant varying.

Aims: `import theory` well below `import sympy` (it imports neither SymPy nor a
theorem: names load on first use, bounds build on first request); every bound
built in under 2 s; >= 1e7 points/s on 1e6 points with n varying (the bounds whose
steps enter as S1, S2 and gamma_max have no n: printed with every constant varying).
Run: python benchmarks/symbolic.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from theory.rates.signs import sample_points

REPEATS = 3


def _fresh(code: str) -> float:
    """Median wall time of ``code`` in a fresh interpreter (seconds)."""
    times = []
    for _ in range(REPEATS):
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)",
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return float(np.median(times))


def main() -> None:
    sympy_only = _fresh("import sympy")
    cold = _fresh("import theory")
    first = _fresh("import theory; theory.bound('generic', 'sgd')")
    build_all = _fresh("import theory; [theory.bound(m, o, v or None) for m, o, v in theory.registered()]")
    import theory

    count = len(theory.registered())
    print(f"import sympy alone:                      {sympy_only:.3f} s")
    for label, seconds in (
        ("import theory", cold),
        ("import theory + theory.bound()", first),
        (f"import theory + build all {count:2d} bounds", build_all),
    ):
        print(f"{label + ':':40s} {seconds:.3f} s ({seconds / sympy_only:.2f}x import sympy)")
    print(f"every bound built in under 2 s: {'met' if build_all < 2 else 'NOT met'}")

    points = 10**6
    print(f"\nBound.numpy() on {points:.0e} points (aim >= 1e7 points/s):")
    print(f"  {'bound':28s} {'n varies':>14s} {'all constants vary':>20s}")
    rows = throughput(points, np.random.default_rng(0))
    for label, n_varies, every in rows:
        n_rate = f"{'(no n)':>14s}" if n_varies is None else f"{n_varies:14.3e}"
        print(f"  {label:28s} {n_rate} {every:20.3e}")
    in_n = [r for r in rows if r[1] is not None]
    met = sum(r[1] >= 1e7 for r in in_n)
    print(
        f"aim met for {met} of the {len(in_n)} bounds in n; the {len(rows) - len(in_n)} others "
        "(steps given as S1, S2, gamma_max) are shown with every constant varying"
    )


def throughput(points: int, rng: np.random.Generator) -> list[tuple[str, float | None, float]]:
    """Points per second of every registered bound's checked Bound.numpy() call.

    Args:
        points: How many points each call gets.
        rng: Draws the admissible points (theory.rates.signs.sample_points: every constant the
            call needs, its expression's and its conditions' such as gamma_max, each step
            constant below its limit).

    Returns:
        Per bound: its label, the rate with n varying over one admissible point of the other
        constants (None when n is not one of its constants), the rate with every constant varying.
    """
    import theory

    rows = []
    for model, optimizer, variant in theory.registered():
        b = theory.bound(model, optimizer, variant or None)
        f = b.numpy()
        drawn = sample_points(b, points, rng)
        every = {name: drawn[name] for name in f.constants}
        one = {name: values[0] for name, values in every.items()}
        cases = (
            [every]
            if "n" not in one
            else [{**one, "n": rng.integers(10, 10**6, points).astype(float)}, every]
        )
        rates = []
        for values in cases:
            size = max(np.size(v) for v in values.values())
            with np.errstate(all="ignore"):
                f(**values)  # warm-up
                t = time.perf_counter()
                f(**values)
            rates.append(size / (time.perf_counter() - t))
        label = "/".join(p for p in (model, optimizer, variant) if p)
        rows.append((label, rates[0] if len(rates) == 2 else None, rates[-1]))
    return rows


if __name__ == "__main__":
    main()
