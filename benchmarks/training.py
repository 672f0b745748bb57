"""Training at loop speed: the R batched runs of ``vaebounds verify`` against R plain torch
loops of the same model and steps, and what the unbiased records add, measured in this one
run of the script.

The default Deep Gaussian VAE (empirical.models.DEFAULTS, 9,936 parameters) on the digits
training split, SGD at B = 32, gamma_k = C_gamma k^(-1/2), n steps, R runs (defaults: verify's
n = 2000, R = 4). Three things are timed, alternated round by round (so a drifting machine
load hits them alike), each figure the median over the rounds, in CPU seconds of this process
(the machine is shared; wall seconds are printed beside):

* **anchor**: R plain sequential torch loops, one run after the other: draw B rows and
  their noise, the model's loss, ``backward()``, ``torch.optim.SGD.step()``;
* **training**: ``empirical.train.train`` with ``records=()`` (theta_0 and theta_n only): the
  R runs batched into one computation per step;
* **recorded**: the same with the default record plan (about 45 unbiased records of
  ||grad F||^2, each over as many rows as its precision needs).

Ratios printed against their targets (issue 24): recorded / anchor <= 1 (training at loop
speed, records included) and the records' cost against the rest of the same recorded runs
<= 0.20, the records timed inside the runs (``empirical.train.loop``'s record step wrapped),
so the ratio does not ride on the drift between two separate runs; the difference of the
recorded and the unrecorded runs' medians is printed beside it.

    python benchmarks/training.py [--steps 2000] [--seeds 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable

import torch

from empirical import data, models
from empirical.train import train

#: verify's step constant for the default model on digits (its pilot's choice).
C_GAMMA = 0.005922578652001459


def plain_loops(model, X: torch.Tensor, steps: int, seeds: int, batch_size: int) -> None:
    """R plain torch loops, one after the other (the anchor)."""
    for seed in range(seeds):
        g = torch.Generator().manual_seed(seed)
        params = [p.requires_grad_(True) for p in model.init_params(g).values()]
        keys = list(model.param_shapes)
        opt = torch.optim.SGD(params, lr=C_GAMMA)
        for k in range(1, steps + 1):
            idx = torch.randint(X.shape[0], (batch_size,), generator=g)
            eps = model.sample_noise(g, batch_size)
            opt.param_groups[0]["lr"] = C_GAMMA / math.sqrt(k)
            opt.zero_grad()
            model.batch_loss(dict(zip(keys, params, strict=True)), X[idx], eps).backward()
            opt.step()


def met(value: float, target: float) -> str:
    return f"target <= {target:g}: {'met' if value <= target else 'NOT met'}"


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one call."""
    c, w = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c, time.perf_counter() - w


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    X, _ = data.split(data.load("digits"), held_out=0.2, seed=0)
    model = models.make("gaussian", X.shape[1])
    n, R, B = args.steps, args.seeds, args.batch_size
    kw = dict(steps=n, batch_size=B, C_gamma=C_GAMMA, runs=R, progress=False)
    spent = [0.0]
    loop = sys.modules.get("empirical.train.loop")
    runs_class = getattr(loop, "_Runs", None)
    if runs_class is not None:  # time the records inside the recorded runs
        record = runs_class.record

        def timed_record(self, *a, **k):
            start = time.process_time()
            try:
                return record(self, *a, **k)
            finally:
                spent[0] += time.process_time() - start

        runs_class.record = timed_record
    shares: list[float] = []

    def recorded() -> None:
        spent[0] = 0.0
        start = time.process_time()
        train(model, None, X, **kw)
        shares.append(spent[0] / (time.process_time() - start - spent[0]))

    runs: dict[str, Callable[[], object]] = {
        "anchor": lambda: plain_loops(model, X, n, R, B),
        "training": lambda: train(model, None, X, records=(), **kw),
        "recorded": recorded,
    }
    train(model, None, X, **{**kw, "steps": 20})  # warm-up
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    wall: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(args.rounds):
        for name, fn in runs.items():
            c, w = timed(fn)
            cpu[name].append(c)
            wall[name].append(w)
    med = {k: statistics.median(v) for k, v in cpu.items()}
    medw = {k: statistics.median(v) for k, v in wall.items()}
    run = train(model, None, X, **kw)  # the plan's rows, for the printout
    print(
        f"default Deep Gaussian VAE ({model.n_params} parameters), digits N = {X.shape[0]}, B = {B}, "
        f"n = {n}, R = {R}; median of {args.rounds} alternated rounds, CPU s (wall s)"
    )
    labels = {
        "anchor": f"anchor: {R} plain torch loops in sequence",
        "training": f"{R} runs batched, records at theta_0 and theta_n only",
        "recorded": f"{R} runs batched, default records ({run.record_steps.size})",
    }
    for name, label in labels.items():
        print(f"  {label:58s} {med[name]:7.2f} s ({medw[name]:.2f} s)")
    loop_ratio = med["recorded"] / med["anchor"]
    difference = med["recorded"] / med["training"] - 1.0
    record_share = statistics.median(shares) if runs_class is not None else difference
    rows = getattr(run, "record_rows", None)  # None: every record over all N rows
    rows_text = (
        f"median {int(statistics.median(rows.ravel().tolist()))}, mean {rows.mean():.0f}"
        if rows is not None
        else "all"
    )
    print(f"recorded runs / R plain loops: {loop_ratio:.2f} ({met(loop_ratio, 1.0)})")
    print(
        f"records / training: {record_share:.2f} ({met(record_share, 0.2)}; recorded / unrecorded runs - 1: "
        f"{difference:.2f}); rows per gradient of a record: {rows_text} of N = {X.shape[0]} "
        "(3 gradients per record)"
    )
    return {"recorded_over_anchor": loop_ratio, "records_over_training": record_share, **med}


if __name__ == "__main__":
    main()
