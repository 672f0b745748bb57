"""Theory benchmark: `import theory`, its first bound and every registered bound,
each against `import sympy` alone (fresh interpreters, same run), and
Bound.numpy() throughput (values checked against their domains and the
theorem's constraints on every call).

Aims: `import theory` well below `import sympy` (it imports neither SymPy nor a
theorem: names load on first use, bounds build on first request); every bound
built in under 2 s; >= 1e7 points/s on 1e6 points.
Run: python benchmarks/symbolic.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

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
    rng = np.random.default_rng(0)
    print(f"\nBound.numpy() on {points:.0e} points (aim >= 1e7 points/s):")
    print(f"  {'bound':28s} {'n varies':>14s} {'all constants vary':>20s}")
    met = 0
    for model, optimizer, variant in theory.registered():
        b = theory.bound(model, optimizer, variant or None)
        f = b.numpy()
        typical = {name: float(theory.symbols.REGISTRY[name].typical) for name in f.args}
        n_only = {**typical, "n": rng.integers(10, 10**6, points).astype(float)}
        every = {}
        for name in f.args:
            info = theory.symbols.REGISTRY[name]
            jitter = rng.uniform(0.9, 1.0, points) if info.domain != "unit" else 1.0
            every[name] = np.full(points, typical[name]) * jitter
            if info.integer:  # integer symbols take integral values (Bound.numpy checks it)
                every[name] = np.maximum(1.0, np.round(every[name]))
        every["n"] = n_only["n"]
        rates = []
        for values in (n_only, every):
            with np.errstate(all="ignore"):
                f(**values)  # warm-up
                t = time.perf_counter()
                f(**values)
            rates.append(points / (time.perf_counter() - t))
        met += rates[0] >= 1e7
        label = "/".join(p for p in (model, optimizer, variant) if p)
        print(f"  {label:28s} {rates[0]:14.3e} {rates[1]:20.3e}")
    print(f"aim met with n varying for {met} of {len(theory.registered())} bounds")


if __name__ == "__main__":
    main()
