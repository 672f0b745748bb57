"""The default ``vaebounds verify`` (digits, soft-clip Deep Gaussian VAE, SGD, n = 2000,
B = 32, 4 runs) against R plain torch loops of the same model and steps, its fixed costs,
the time before its first training step, and one Hessian-vector product against one
gradient, all measured in this one run of the script (issue 24's targets).

Every command runs in a fresh process and is timed in CPU seconds (user + system: the
machine is shared, its wall seconds are printed beside). ``--rounds`` rounds alternate the
verify and the anchor, so a drifting load hits both alike; each figure is the median.

* **verify**: ``vaebounds verify`` end to end (imports, data, pilot, training, estimation,
  theory, report), its phases read from the progress lines it prints (each stamped with the
  process's CPU clock), the records and the estimation timed by wrapping their functions.
* **anchor**: R plain sequential torch loops of the same model and steps
  (``benchmarks/training.py``), as a user would write them (torch's defaults) and beside it
  with denormals flushed, as verify computes.
* **fixed costs**: what is neither training nor estimation: imports, data, theory, the pilot,
  the conclusion and the report (its figures drawn once each), i.e. verify minus its training
  and its estimation. The estimation is the constants along the runs, their estimate and the
  stress search (issue 22's stress step estimates constants: it is estimation, not a fixed
  cost, and its share is printed on its own below); the pilot is printed beside the fixed
  costs, and so is what a fresh process takes to import the libraries a verify cannot do
  without (:data:`NEEDED`). Each round also runs the same verify with its report written without
  figures (nor matplotlib's import): its fixed costs are the floor no figure renderer can go
  below, and the difference is what the figures cost.
* **before the first step**: the process's CPU when training starts, against ``import torch``
  alone; ``vaebounds --help`` and a bad-input refusal; ``import theory`` and the theory a
  default verify needs before training (issue 24 leaves theory's own imports to theory/).
* **HVP / gradient**: one Hessian-vector product (the gradient graph kept, as Lanczos uses it)
  against one gradient, on the default model and on a wide one (MNIST, 156,144 parameters,
  B = 256), beside the same network as a plain nn.Module.

* **stress step** (issue 22): the constants along the runs and the stress search, read from
  report.json's ``timings`` (``along_run`` + ``stress``, wall seconds), against the wall time of
  the same ``vaebounds verify`` command end to end (aim: at most 30 %), printed for the first
  round (one run) and the median over rounds.

Then, as before issue 24, the CPU-time ratio of ``--seeds 8`` to ``--seeds 1`` (aim: at most
3x; the runs share one computation per step), alternated, the fastest of ``--repeats``.

``--conv`` adds ``verify --model conv --data mnist --seeds 1 --steps 200`` and where its time
goes (the tracker's path).

Run: python benchmarks/verify.py [--rounds 3] [--repeats 1] [--conv]
"""

from __future__ import annotations

import argparse
import io
import json
import math
import statistics
import sys
import tempfile
from pathlib import Path

from _common import cpu_now, hvp_ratios, met, run_child

HERE = Path(__file__).resolve().parent

#: The libraries a default verify cannot do without: the model (torch), Lanczos's LAPACK and the
#: proof's sparse program (scipy), the bounds (SymPy), the figures (matplotlib).
NEEDED = ("torch", "scipy.linalg", "scipy.sparse", "sympy", "matplotlib.figure")
TARGETS = {"end_to_end": 1.5, "records": 0.20, "fixed": 3.0, "before_step": 1.0, "hvp": 1.2, "stress": 0.30}


# ----------------------------------------------------------------- children (fresh processes)


class _Stamps(io.TextIOBase):
    """stderr that stamps every ``vaebounds:`` progress line with the CPU clock."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, float]] = []

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.startswith("vaebounds:"):
                self.marks.append((line, cpu_now()))
        return len(text)


def child_verify(argv: list[str], figures: bool = True) -> dict:
    """``vaebounds verify ARGV`` in this process, phases stamped (module docstring); with
    ``figures`` False the report is written without its figures (nor matplotlib's import)."""
    stamps = _Stamps()
    sys.stderr = stamps
    import empirical.estimators as estimators
    import empirical.report as report
    import empirical.report.verify_figures as verify_figures
    import empirical.train.loop as loop

    if not figures:
        verify_figures.write_figures = lambda result, folder: ()

    spent = {"records": 0.0, "estimate": 0.0, "stress": 0.0, "report": 0.0}

    def timed(fn, key):
        def wrapper(*args, **kwargs):
            start = cpu_now()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[key] += cpu_now() - start

        return wrapper

    loop._Runs.record = timed(loop._Runs.record, "records")
    estimators.estimate = timed(estimators.estimate, "estimate")
    estimators.table_of_runs = timed(estimators.table_of_runs, "stress")
    estimators.stress_runs = timed(estimators.stress_runs, "stress")
    report.write_report = timed(report.write_report, "report")
    from empirical.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        code = main(["verify", "--out", str(Path(tmp) / "report"), *argv])
        data = json.loads((Path(tmp) / "report" / "report.json").read_text())
    total = cpu_now()
    at = {}
    for line, when in stamps.marks:
        for key, start in (("pilot", "pilot estimates"), ("step", "C_gamma ="), ("train", "training "),
                           ("trained", "estimating the constants")):  # fmt: skip
            if line.startswith(f"vaebounds: {start}") and key not in at:
                at[key] = when
    return {
        "total": total,
        "exit": code,
        "marks": at,
        **spent,
        "bound": data["bound"]["value"],
        "observed": [data["empirical"][k] for k in ("mean_grad_norm_sq", "lo", "hi")],
        "C_gamma": data["C_gamma"],
        "timings": data["timings"],
    }


def child_anchor(seeds: int, steps: int) -> dict:
    """CPU seconds of R plain torch loops (benchmarks/training.py), torch's defaults, then
    with denormals flushed to zero as verify runs."""
    import torch

    from empirical import data, models

    sys.path.insert(0, str(HERE))
    from training import plain_loops

    torch.set_num_threads(1)
    X, _ = data.split(data.load("digits"), held_out=0.2, seed=0)
    model = models.make("gaussian", X.shape[1])
    out = {}
    for name, flush in (("plain", False), ("flushed", True)):
        torch.set_flush_denormal(flush)
        start = cpu_now()
        plain_loops(model, X, steps, seeds, 32)
        out[name] = cpu_now() - start
    return out


def child_theory() -> dict:
    """CPU seconds of importing theory (after torch) and of the theory a default verify needs
    before its first step (the pilot's step constant and variance split, the theorem)."""
    import torch  # noqa: F401

    start = cpu_now()
    import theory

    imported = cpu_now()
    from theory.models.common import variance_split
    from theory.rates import optimal_step_constant_of  # as the pilot: C* from theory.rates.step_cache

    optimal_step_constant_of("generic", "sgd", None, {"L": 100.0, "sigma2": 10.0, "Delta": 15.0, "n": 2000})
    variance_split.subs({s: 1.0 for s in variance_split.free_symbols})
    theory.bound("gaussian", "sgd", expand=False)
    return {"import": imported - start, "before_step": cpu_now() - start}


def me(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *args]


# ----------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternated verify / anchor rounds")
    parser.add_argument("--repeats", type=int, default=1, help="repeats of the seeds-1 / seeds-8 pair")
    parser.add_argument("--conv", action="store_true", help="also the conv VAE on MNIST (the tracker's path)")
    parser.add_argument("--child-verify", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.add_argument("--child-bare", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.add_argument("--child-anchor", nargs=2, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-theory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_verify is not None:
        print(json.dumps(child_verify(args.child_verify)))
        return {}
    if args.child_bare is not None:
        print(json.dumps(child_verify(args.child_bare, figures=False)))
        return {}
    if args.child_anchor is not None:
        print(json.dumps(child_anchor(*args.child_anchor)))
        return {}
    if args.child_theory:
        print(json.dumps(child_theory()))
        return {}

    R, n = 4, 2000
    runs, bare, anchors, walls = [], [], [], []
    for _ in range(args.rounds):  # alternated: a drifting load hits both alike
        result, _, wall = run_child(me("--child-verify"))
        runs.append(result)
        walls.append(wall)
        bare.append(run_child(me("--child-bare"))[0])
        anchors.append(run_child(me("--child-anchor", str(R), str(n)))[0])
    small = {}
    for name, cmd in {
        "import torch": [sys.executable, "-c", "import torch"],
        "imports": [sys.executable, "-c", f"import {', '.join(NEEDED)}"],
        "vaebounds --help": [sys.executable, "-m", "empirical.cli", "--help"],
        "refusal (--steps 0)": [sys.executable, "-m", "empirical.cli", "verify", "--steps", "0"],
    }.items():
        small[name] = statistics.median(run_child(cmd)[1] for _ in range(3))
    theory = [run_child(me("--child-theory"))[0] for _ in range(3)]
    theory_import = statistics.median(t["import"] for t in theory)
    theory_pre = statistics.median(t["before_step"] for t in theory)

    def med(fn) -> float:
        return statistics.median(fn(r) for r in runs)

    total = med(lambda r: r["total"])
    training = med(lambda r: r["marks"]["trained"] - r["marks"]["train"])
    records = med(lambda r: r["records"])
    pilot = med(lambda r: r["marks"]["step"] - r["marks"]["pilot"])
    estimation = med(lambda r: r["estimate"] + r["stress"])  # along the runs, estimate, stress search
    stress_cpu = med(lambda r: r["stress"])
    report = med(lambda r: r["report"])
    before = med(lambda r: r["marks"]["train"])

    def fixed_of(r) -> float:
        return r["total"] - (r["marks"]["trained"] - r["marks"]["train"]) - r["estimate"] - r["stress"]

    fixed = med(fixed_of)
    fixed_bare = statistics.median(fixed_of(r) for r in bare)
    anchor = statistics.median(a["plain"] for a in anchors)
    anchor_flushed = statistics.median(a["flushed"] for a in anchors)
    last = runs[-1]

    print(
        f"default verify (n = {n}, B = 32, R = {R}); CPU seconds, median of {args.rounds} alternated rounds"
    )
    wall = statistics.median(walls)
    print(
        f"  verify end to end          {total:6.2f} s  (wall {wall:.2f} s; aim <= 60 s), exit {last['exit']}"
    )
    print(f"    before the first step    {before:6.2f} s  (of which the pilot {pilot:.2f} s)")
    print(f"    training                 {training:6.2f} s  (of which the records {records:.2f} s)")
    print(f"    estimation               {estimation:6.2f} s  (along the runs, estimate, stress search; of "
          f"which the stress step {stress_cpu:.2f} s)")  # fmt: skip
    print(f"    report                   {report:6.2f} s")
    shares = [
        (r["timings"].get("along_run", 0.0) + r["timings"].get("stress", 0.0)) / w
        for r, w in zip(runs, walls, strict=True)
    ]
    first = runs[0]["timings"]
    print(
        f"  stress step / verify wall        {shares[0]:6.1%}  (first round: table along the runs "
        f"{first.get('along_run', 0.0):.2f} s + search {first.get('stress', 0.0):.2f} s of {walls[0]:.2f} s; "
        f"median of {len(shares)} rounds {statistics.median(shares):.1%}; CPU {stress_cpu / total:.1%} of "
        f"verify's; {met(shares[0], 0.30)})"
    )
    print(f"  anchor: {R} plain torch loops {anchor:6.2f} s  (denormals flushed: {anchor_flushed:.2f} s)")
    obs = last["observed"]
    print(
        f"  numbers: bound {last['bound']:.4g}, observed {obs[0]:.4g} [{obs[1]:.4g}, {obs[2]:.4g}], "
        f"C_gamma {last['C_gamma']:.10g}"
    )
    ratios = {
        "end_to_end": total / anchor,
        "records": records / (training - records),
        "fixed": fixed,
        "fixed_without_figures": fixed_bare,
        "before_step": before - small["import torch"],
        "stress": shares[0],
    }
    print("ratios against their anchors (issue 24):")
    e2e, loops = ratios["end_to_end"], training / anchor
    print(f"  verify / {R} plain loops            {e2e:6.2f}  ({met(e2e, 1.5)}; flushed loops "
          f"{total / anchor_flushed:.2f})")  # fmt: skip
    print(f"  training / {R} plain loops          {loops:6.2f}  ({met(loops, 1.0)}; flushed loops "
          f"{training / anchor_flushed:.2f})")  # fmt: skip
    print(f"  records / training without them   {ratios['records']:6.2f}  ({met(ratios['records'], 0.2)})")
    print(f"  fixed costs                       {fixed:6.2f} s ({met(fixed, 3.0)}; "
          f"verify - training - estimation; the pilot {pilot:.2f} s, the report {report:.2f} s)")  # fmt: skip
    print(f"    with no figure drawn            {fixed_bare:6.2f} s (the same verify, its report written "
          f"without figures nor matplotlib, alternated: the figures cost {fixed - fixed_bare:.2f} s; "
          f"{met(fixed_bare, 3.0)} even with figures free)")  # fmt: skip
    libraries = ", ".join(NEEDED)
    print(f"    of which the libraries' imports {small['imports']:6.2f} s (a fresh `import {libraries}`; "
          f"import torch alone {small['import torch']:.2f} s)")  # fmt: skip
    pre = ratios["before_step"]
    print(f"  before first step - import torch  {pre:6.2f} s ({met(pre, 1.0)}; "
          f"import torch {small['import torch']:.2f} s)")  # fmt: skip
    print(
        f"    of which theory's share          {theory_pre:6.2f} s (import theory {theory_import:.2f} s, "
        "left to theory/)"
    )
    for name in ("vaebounds --help", "refusal (--steps 0)"):
        print(f"  {name:32s}  {small[name]:6.2f} s")
    hvp = hvp_ratios(max(15, 5 * args.rounds))
    for name, (ours, module, grad) in hvp.items():
        print(f"  HVP / gradient, {name:34s} {ours:5.2f} ({met(ours, 1.2)}; nn.Module twin {module:.2f}; "
              f"gradient {grad * 1e3:.1f} ms)")  # fmt: skip
    ratios["hvp"] = max(ours for ours, _, _ in hvp.values())
    one, eight = [], []
    for _ in range(args.repeats):  # alternate, so drifting load affects both alike
        one.append(run_child(me("--child-verify", "--seeds", "1"))[1])
        eight.append(run_child(me("--child-verify", "--seeds", "8"))[1])
    seeds = ratios["seeds8_over_seeds1"] = min(eight) / min(one)
    print(
        f"--seeds 1: {min(one):.1f} s, --seeds 8: {min(eight):.1f} s CPU (fastest of {args.repeats}); "
        f"ratio {seeds:.2f}x (aim <= 3x: {'met' if seeds <= 3 else 'NOT met'})"
    )
    if args.conv:
        conv(args.rounds)
    return ratios


def conv(rounds: int) -> None:
    """verify --model conv --data mnist --seeds 1 --steps 200: where its time goes."""
    argv = ["--model", "conv", "--data", "mnist", "--seeds", "1", "--steps", "200"]
    results = [run_child(me("--child-verify", *argv), timeout=1800) for _ in range(max(1, rounds - 1))]
    result, cpu, wall = results[-1]
    t = result["timings"]
    rest = sum(t.get(k, 0.0) for k in ("tracking", "deferred records", "final record", "estimation"))
    print(f"conv VAE on MNIST, --seeds 1 --steps 200: CPU {cpu:.1f} s (wall {wall:.1f} s), "
          f"exit {result['exit']}")  # fmt: skip
    print("  its own clock (wall s): " + ", ".join(f"{k} {v:.2f}" for k, v in t.items()))
    ratio = rest / t["training"] if t.get("training") else math.nan
    print(f"  (recording + final record + estimation) / training = {ratio:.2f} (target <= 1; the "
          f"tracker's path); the pilot {t.get('pilot', math.nan):.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
