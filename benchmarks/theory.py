"""Theory benchmark: import + build every registered bound vs `import sympy`
alone (fresh interpreters, same run), and Bound.numpy() throughput.

Aims: every bound built in under 2 s; >= 1e7 points/s on 1e6 points.
Run: python benchmarks/theory.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

# This file is called theory.py: keep its folder off the path so `import theory`
# finds the package, not this script.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

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
            cwd=_HERE.parent,
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return float(np.median(times))


def main() -> None:
    sympy_only = _fresh("import sympy")
    build_all = _fresh("import theory; [theory.bound(m, o, v or None) for m, o, v in theory.registered()]")
    import theory

    count = len(theory.registered())
    print(f"import sympy alone:                      {sympy_only:.3f} s")
    print(
        f"import theory + build all {count:2d} bounds:     {build_all:.3f} s "
        f"({build_all / sympy_only:.2f}x import sympy; aim < 2 s: "
        f"{'met' if build_all < 2 else 'NOT met'})"
    )

    points = 10**6
    rng = np.random.default_rng(0)
    print(f"\nBound.numpy() on {points:.0e} points:")
    for model, optimizer, variant in theory.registered():
        b = theory.bound(model, optimizer, variant or None)
        f = b.numpy()
        values = {}
        for name in f.args:
            info = theory.symbols.REGISTRY[name]
            base = np.full(points, float(info.typical))
            values[name] = base * rng.uniform(0.9, 1.0, points) if info.domain != "unit" else base
        values["n"] = rng.uniform(10, 1e6, points)
        f(**values)  # warm-up
        t = time.perf_counter()
        f(**values)
        dt = time.perf_counter() - t
        label = "/".join(p for p in (model, optimizer, variant) if p)
        print(f"  {label:28s} {points / dt:12.3e} points/s  (aim >= 1e7)")


if __name__ == "__main__":
    main()
