"""Measure whether each run's quadrature bracket holds its weighted average over every iterate,
and write the table into docs/decision.md (between the ``quadrature-brackets`` markers).

The observed side of a verdict is a weighted average over all iterates j < n of
||grad F(theta_j)||^2, from records at some of them; per run, each gap between records is
valued at its left or its right record (:func:`empirical.compare.brackets`). That pair brackets
the average when ||grad F||^2 is monotone between records, which nothing guarantees. Here every
step is recorded, the average over every iterate is taken from those records (the same records,
so the difference is the quadrature's alone), and the bracket is built from the subset the
default plan records:

* the README's tracked loop (its network, lr 0.01, B = 32, 500 steps; the tracker's schedule
  theorem, gamma-weighted), seeds 0..7, ``record_growth=1`` against the default plan;
* the default ``vaebounds verify`` runs (digits, Deep Gaussian VAE, SGD at the pilot's C_gamma,
  n = 2000, B = 32; uniform weights), seeds 0..7, every step recorded against
  :func:`empirical.train.recording.record_plan`.

    python scripts/quadrature_brackets.py           # about 3 minutes on one core
    python scripts/quadrature_brackets.py --no-write
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import theory  # noqa: E402
from empirical.compare import brackets  # noqa: E402
from empirical.tracking.plan import GROWTH, RecordPlan  # noqa: E402

PAGE = ROOT / "docs" / "decision.md"
START, END = "<!-- quadrature-brackets:start -->", "<!-- quadrature-brackets:end -->"
SEEDS = 8


def readme_runs(seeds: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]]:
    """The README's loop, a record at every step: (records, steps, weights, the default plan's steps)."""
    from torch import nn

    import empirical
    from empirical.data import load

    X = load("digits") / 16.0  # as the README's loop

    def loss(model, x):  # the README's loss, per example
        mean, logvar = model["enc"](x).chunk(2, dim=1)
        logvar = torch.tanh(logvar)
        z = mean + (0.5 * logvar).exp() * torch.randn_like(mean)
        kl = 0.5 * (logvar.exp() + mean**2 - 1 - logvar).sum(1)
        return 0.5 * (x - model["dec"](z)).square().sum(1) + kl

    lhs = theory.bound("generic", "sgd", "schedule").lhs
    out = []
    for seed in range(seeds):
        torch.manual_seed(seed)
        model = nn.ModuleDict(
            {"enc": nn.Linear(64, 16), "dec": nn.Sequential(nn.Linear(8, 64), nn.Tanh(), nn.Linear(64, 64))}
        )
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        tracker = empirical.track(model, loss, X, opt, seed=seed, record_growth=1)
        for _ in range(500):
            opt.zero_grad()
            batch = loss(model, X[torch.randint(len(X), (32,))]).mean()
            batch.backward()
            opt.step()
            tracker.step(batch)
        run = tracker.finish()
        n = int(run.steps)
        plan = RecordPlan(GROWTH)
        default = sorted({k for k in range(n + 1) if plan.due(k)} | {n})
        out.append((run.full_grad_norm_sq[0], run.record_steps, lhs.weights(n, run.step_sizes[:n]), default))
    return out


def cli_runs(seeds: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]]:
    """The default verify's runs with a record at every step (the pilot's C_gamma, seeds 0..seeds-1)."""
    from empirical.pipeline.pipeline import choose_step, prepare
    from empirical.progress import silent
    from empirical.settings import Settings
    from empirical.train import train
    from empirical.train.recording import record_plan

    settings = Settings(runs=seeds)
    problem = prepare(settings)
    step = choose_step(settings, problem, silent)
    n = settings.steps
    runs = train(
        problem.model, None, problem.X, optimizer="sgd", steps=n, batch_size=settings.batch_size,
        C_gamma=step.C_gamma, schedule=step.schedule, seed=settings.seed, runs=seeds, progress=False,
        records=list(range(n + 1)), **step.optimizer_options,
    )  # fmt: skip
    weights = theory.bound("gaussian", "sgd").lhs.weights(n, None)
    default = sorted(set(record_plan(n)) | {n})
    return [(runs.full_grad_norm_sq[i], runs.record_steps, weights, default) for i in range(seeds)]


def measure(runs) -> list[dict[str, float]]:
    """Per run: the average over every iterate, the default plan's bracket, where it sits in it."""
    rows = []
    for records, steps, weights, default in runs:
        records, steps = np.asarray(records, dtype=float), np.asarray(steps)
        n = weights.size
        assert np.array_equal(steps, np.arange(n + 1)), "a record at every step"
        dense = float(records[:n] @ weights)
        sub = np.asarray(default)
        left, right = brackets(sub, records[sub][None], weights)
        lo, hi = sorted((float(left[0]), float(right[0])))
        rows.append({"dense": dense, "lo": lo, "hi": hi, "records": sub.size, "n": n})
    return rows


def summary(name: str, rows: list[dict[str, float]]) -> str:
    inside = sum(r["lo"] <= r["dense"] <= r["hi"] for r in rows)
    width = [(r["hi"] - r["lo"]) / r["dense"] for r in rows]
    slack = [min(r["dense"] - r["lo"], r["hi"] - r["dense"]) / (r["hi"] - r["lo"]) for r in rows]
    return (
        f"| {name} | {len(rows)} | {rows[0]['records']} of {rows[0]['n'] + 1} | {inside} of {len(rows)} | "
        f"{100 * min(width):.1f}–{100 * max(width):.1f} % | {min(slack):.2f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--no-write", action="store_true", help="print the table, leave docs/decision.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    lines = [
        f"Measured by `python scripts/quadrature_brackets.py` (seeds 0..{args.seeds - 1}, every step "
        "recorded; the bracket from the records the default plan keeps). Slack: the smallest distance of "
        "the average over every iterate from the nearer end of its bracket, in bracket widths (below 0: "
        "outside).",
        "",
        "| runs | R | records kept | bracket holds the average over every iterate | bracket width / value "
        "| least slack |",
        "|---|---|---|---|---|---|",
        summary("the README's tracked loop (500 steps)", measure(readme_runs(args.seeds))),
        summary("the default verify (n = 2000)", measure(cli_runs(args.seeds))),
    ]
    block = "\n".join(lines)
    print(block)
    if not args.no_write:
        text = PAGE.read_text()
        new = re.sub(f"{re.escape(START)}.*?{re.escape(END)}", f"{START}\n{block}\n{END}", text, flags=re.S)
        if new == text and START not in text:
            raise SystemExit(f"{PAGE} has no {START} ... {END} markers")
        PAGE.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
