"""Training throughput and the cost of recording full-data gradients, in one run.

Trains the default Deep Gaussian VAE (empirical.models.DEFAULTS) on the digits
training split with SGD at B = 128, alternating runs that record
||grad F(theta_k)||^2 every DEFAULT_RECORD_EVERY steps with runs that record it
only at theta_0 and theta_n, and prints the median steps per second of each and
the relative overhead (aim: <= 20%). Each figure is the fastest of the repeats
(the least disturbed by other processes on the machine); the overhead is also
given from its parts: the time of one full-gradient record over
DEFAULT_RECORD_EVERY times the time of one step.

    python benchmarks/training.py [--steps 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

# benchmarks/theory.py would shadow the `theory` package that empirical imports.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from empirical import data, models  # noqa: E402
from empirical.train import DEFAULT_RECORD_EVERY, train  # noqa: E402


def timed_run(model, X, steps: int, batch_size: int, record_every: int | None) -> float:
    """Wall-clock seconds of one training run (progress bar off)."""
    t0 = time.perf_counter()
    train(model, None, X, steps=steps, batch_size=batch_size, lr_constant=0.05,
          record_every=record_every, progress=False)  # fmt: skip
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    X, _ = data.split(data.load("digits"), held_out=0.2, seed=0)
    model = models.make("gaussian", X.shape[1])
    timed_run(model, X, 50, args.batch_size, None)  # warm-up
    with_rec, without = [], []
    for _ in range(args.repeats):
        with_rec.append(timed_run(model, X, args.steps, args.batch_size, DEFAULT_RECORD_EVERY))
        without.append(timed_run(model, X, args.steps, args.batch_size, None))
    t_rec, t_plain = min(with_rec), min(without)
    # parts: n records cost (t(n + extra records) - t(plain)); compare with a step
    n_records = args.steps // DEFAULT_RECORD_EVERY - 1
    t_record = max(statistics.median(a - b for a, b in zip(with_rec, without, strict=True)), 0.0)
    result = {
        "steps_per_second": args.steps / t_plain,
        "steps_per_second_recording": args.steps / t_rec,
        "record_overhead": t_rec / t_plain - 1.0,
        "seconds_per_record": t_record / max(n_records, 1),
    }
    print(f"model: gaussian {models.DEFAULTS} ({model.n_params} parameters), digits N={X.shape[0]}")
    print(f"B = {args.batch_size}, {args.steps} steps, fastest of {args.repeats} runs each")
    print(f"steps per second (no intermediate records):          {result['steps_per_second']:8.1f}")
    print(
        f"steps per second (full gradient every {DEFAULT_RECORD_EVERY:>3} steps):   "
        f"{result['steps_per_second_recording']:8.1f}"
    )
    verdict = "ok" if result["record_overhead"] <= 0.20 else "ABOVE the 20% aim"
    print(f"overhead of full-gradient recording: {100 * result['record_overhead']:.1f}% ({verdict})")
    per_step = 1.0 / result["steps_per_second"]
    print(
        f"one full-gradient record = {result['seconds_per_record'] * 1e3:.1f} ms "
        f"= {result['seconds_per_record'] / per_step:.1f} steps, i.e. an overhead of "
        f"{100 * result['seconds_per_record'] / per_step / DEFAULT_RECORD_EVERY:.1f}% from its parts"
    )
    return result


if __name__ == "__main__":
    main()
