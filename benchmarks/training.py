"""Training throughput, the cost of the unbiased full-gradient records, and
how the cost grows with the number of runs R batched into one computation,
all measured in this one run of the script.

Trains the default Deep Gaussian VAE (empirical.models.DEFAULTS) on the digits
training split with SGD at B = 32, alternating runs with the default record
plan (empirical.train.record_plan: two full-data gradients per record) and
runs that record only theta_0 and theta_n; each figure is the fastest of the
repeats (the least disturbed by other processes on the machine). Then the
time of R = 1, 4, 8 runs batched, with records, relative to R = 1.

    python benchmarks/training.py [--steps 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# benchmarks/theory.py would shadow the `theory` package that empirical imports.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from empirical import data, models  # noqa: E402
from empirical.train import record_plan, train  # noqa: E402


def timed_run(model, X, steps: int, batch_size: int, records, seeds: int = 1) -> float:
    """Wall-clock seconds of one training run (progress bar off)."""
    t0 = time.perf_counter()
    train(model, None, X, steps=steps, batch_size=batch_size, C_gamma=0.01, records=records, runs=seeds,
          progress=False)  # fmt: skip
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    X, _ = data.split(data.load("digits"), held_out=0.2, seed=0)
    model = models.make("gaussian", X.shape[1])
    timed_run(model, X, 50, args.batch_size, ())  # warm-up
    plan = record_plan(args.steps)
    with_rec, without = [], []
    for _ in range(args.repeats):
        with_rec.append(timed_run(model, X, args.steps, args.batch_size, None))
        without.append(timed_run(model, X, args.steps, args.batch_size, ()))
    t_rec, t_plain = min(with_rec), min(without)
    per_step = t_plain / args.steps
    per_record = max(t_rec - t_plain, 0.0) / max(len(plan) - 2, 1)
    print(f"model: gaussian {models.DEFAULTS} ({model.n_params} parameters), digits N={X.shape[0]}")
    print(f"B = {args.batch_size}, {args.steps} steps, fastest of {args.repeats} runs each, one run (R = 1)")
    print(f"steps per second, records at theta_0 and theta_n only: {args.steps / t_plain:8.1f}")
    print(f"steps per second, default record plan ({len(plan)} records): {args.steps / t_rec:8.1f}")
    print(
        f"one record (two full-data gradients) = {per_record * 1e3:.1f} ms = "
        f"{per_record / per_step:.1f} steps; records add {100 * (t_rec / t_plain - 1):.1f}% to the run"
    )
    times = {R: min(timed_run(model, X, args.steps, args.batch_size, None, R) for _ in range(args.repeats))
             for R in (1, 4, 8)}  # fmt: skip
    print(
        "R runs batched (with records): "
        + ", ".join(f"R = {R}: {t:.2f} s ({t / times[1]:.2f}x)" for R, t in times.items())
    )
    return {"steps_per_second": args.steps / t_plain, "record_overhead": t_rec / t_plain - 1.0,
            **{f"R{R}_over_R1": t / times[1] for R, t in times.items()}}  # fmt: skip


if __name__ == "__main__":
    main()
