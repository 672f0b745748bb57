"""The default ``vaebounds verify`` run, its time split into training,
estimation and theory (aim: the whole run within 60 s on 2 cores, estimation
no more than half of it).

Run: python benchmarks/verify.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

# benchmarks/theory.py would shadow the `theory` package that empirical imports.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from empirical.verify import Settings, run_verify  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        report = run_verify(Settings(out=out))
        total = time.perf_counter() - t
    tm = report.data["timings"]
    other = total - sum(tm.values())
    print(
        f"default verify ({report.data['steps']} steps, B = {report.data['batch_size']}): "
        f"{total:.1f} s in all (aim <= 60 s: {'met' if total <= 60 else 'NOT met'})"
    )
    for part in ("training", "estimation", "theory"):
        print(f"  {part:11s} {tm[part]:6.1f} s  ({tm[part] / total:5.1%})")
    print(f"  {'data+report':11s} {other:6.1f} s  ({other / total:5.1%})")
    share = tm["estimation"] / total
    print(
        f"estimation share {share:.1%} (aim <= 50%: {'met' if share <= 0.5 else 'NOT met'}); "
        f"verdict {report.data['verdict']}, bound/observed = {report.data['ratio']:.3g}"
    )


if __name__ == "__main__":
    main()
