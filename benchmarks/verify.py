"""The default ``vaebounds verify`` run (digits, soft-clip Deep Gaussian VAE,
SGD, n = 2000, B = 32, 4 seeds): its wall time and its split into training,
estimation, theory and report (aim: within 60 s on 2 cores), and the
wall-time ratio of ``--seeds 8`` to ``--seeds 1`` (aim: at most 3x; the runs
share one computation per step), all measured in this one run of the script.

Run: python benchmarks/verify.py [--repeats 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

# benchmarks/theory.py would shadow the `theory` package that empirical imports.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from empirical.report import write_report  # noqa: E402
from empirical.runner import verify  # noqa: E402
from empirical.settings import Settings  # noqa: E402


def timed(settings: Settings) -> tuple[float, dict[str, float], object]:
    """(wall seconds of verify + report, the pipeline's own timings, the result)."""
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        result = verify(settings)
        pipeline = time.perf_counter() - t
        write_report(result, Path(out) / "report")
        total = time.perf_counter() - t
    parts = dict(result.timings)
    parts["report"] = total - pipeline
    return total, parts, result


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=1, help="repeats of the seeds-1 / seeds-8 pair")
    args = parser.parse_args(argv)

    default = Settings()
    total, parts, result = timed(default)
    other = total - sum(parts.values())
    print(
        f"default verify ({default.steps} steps, B = {default.batch_size}, {default.runs} seeds): "
        f"{total:.1f} s in all (aim <= 60 s: {'met' if total <= 60 else 'NOT met'})"
    )
    for part in ("training", "estimation", "theory", "report"):
        print(f"  {part:11s} {parts[part]:6.1f} s  ({parts[part] / total:5.1%})")
    print(f"  {'data+other':11s} {other:6.1f} s  ({other / total:5.1%})")
    obs = result.observed
    print(
        f"verdict: {result.verdict.value} (exit {result.exit_code}); bound {result.bound_value:.4g}, "
        f"observed {obs.value:.4g} [{obs.lo:.4g}, {obs.hi:.4g}] over {obs.runs} runs, "
        f"ratio {result.ratio:.3g}, fitted exponent {result.rate.exponent:.3f} "
        f"[{result.rate.lo:.3f}, {result.rate.hi:.3f}]"
    )
    one, eight = [], []
    for _ in range(args.repeats):  # alternate, so drifting load affects both alike
        one.append(timed(replace(default, runs=1))[0])
        eight.append(timed(replace(default, runs=8))[0])
    ratio = min(eight) / min(one)
    print(
        f"--seeds 1: {min(one):.1f} s, --seeds 8: {min(eight):.1f} s (fastest of {args.repeats}); "
        f"ratio {ratio:.2f}x (aim <= 3x: {'met' if ratio <= 3 else 'NOT met'})"
    )
    return {"total": total, **parts, "seeds8_over_seeds1": ratio}


if __name__ == "__main__":
    main()
