"""Regenerate every figure the README shows, from real runs, and print the
numbers it quotes: the ``vaebounds verify`` walkthrough (the default run, the
projected run ``--box 0.005``, ``--optimizer adam`` with every Adam variant,
``--optimizer adagrad`` and the convolutional VAE on MNIST ``--model conv
--data mnist``), the README's sweep example, and the notebooks at their full
size (``VAEBOUNDS_FULL=1``).

    python scripts/readme_figures.py [--out docs/figures] [--skip verify,sweep,notebooks]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from empirical.report import write_report
from empirical.runner import verify
from empirical.settings import Settings
from empirical.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[1]
#: The README's sweep example: vaebounds sweep --grid B=8,32,128 --grid K=1,5 --model iwae --steps 500.
SWEEP = (Settings(model="iwae", steps=500), {"batch_size": (8, 32, 128), "K": (1, 5)})
PARTS = ("verify", "sweep", "notebooks")
FIGURES = {
    "default": {
        "convergence.png": "verify-convergence.png",
        "constants.png": "verify-constants.png",
        "training.png": "verify-training.png",
    },
    "conv mnist": {
        "convergence.png": "mnist-conv-convergence.png",
        "training.png": "mnist-conv-training.png",
    },
}
RUNS = (
    ("default", {}),
    ("box 0.005", {"box": 0.005}),
    ("adam", {"optimizer": "adam"}),
    ("adagrad", {"optimizer": "adagrad"}),
    ("conv mnist", {"model": "conv", "data": "mnist"}),
)


def summary(name: str, result, seconds: float) -> str:
    obs, rate = result.observed, result.rate
    return (
        f"{name}: {result.verdict.value} (exit {result.exit_code}); theorem {result.theorem.name}; "
        f"bound {result.bound_value:.4g}; observed mean over {obs.runs} runs {obs.value:.4g} "
        f"[{obs.lo:.4g}, {obs.hi:.4g}], per run {', '.join(f'{v:.3g}' for v in obs.per_run)}; "
        f"ratio {result.ratio:.3g}; fitted exponent {rate.exponent:.3f} [{rate.lo:.3f}, {rate.hi:.3f}] "
        f"(theory {rate.theory}); C_gamma {result.fixed['C_gamma']:.4g}; lower estimates "
        f"{', '.join(result.lower_estimates)}; timings "
        + ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
        + f"; {seconds:.1f} s"
    )


def variants(result) -> list[str]:
    """The variants table of an adaptive run, one line each."""
    out = []
    for v in result.extras.get("variants") or []:
        numbers = (
            "—"
            if v["bound"] is None
            else f"bound {v['bound']:.3g}, observed {v['observed']:.4g}, ratio {v['ratio']:.3g}"
        )
        out.append(f"  {v['variant']}: {v['status']}; {numbers}; {'; '.join(v['reasons'])[:160]}")
    attribution = result.extras.get("attribution")
    if attribution:
        shares = ", ".join(f"{t['name']} {t['share']:.1%}" for t in attribution["terms"][:3])
        out.append(f"  attribution: {shares}")
    return out


def verify_figures(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, options in RUNS:
            t = time.perf_counter()
            result = verify(Settings(**options))
            print(summary(name, result, time.perf_counter() - t))
            print("\n".join(variants(result)))
            if name in FIGURES:
                report = write_report(result, Path(tmp) / name.replace(" ", "-"))
                for source, target in FIGURES[name].items():
                    shutil.copyfile(report.folder / source, out / target)
                    print(f"  wrote {out / target}")


def sweep_figure(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        rows = run_sweep(*SWEEP, tmp)
        for r in rows:
            observed = f"{r['observed']:.4g} [{r['observed_lo']:.4g}, {r['observed_hi']:.4g}]"
            point = f"B={r['batch_size']} K={r['K']}"
            print(f"sweep {point}: bound {r['bound']:.4g}, observed {observed}, {r['verdict']}")
        shutil.copyfile(Path(tmp) / "sweep.png", out / "sweep.png")
        print(f"  wrote {out / 'sweep.png'} ({time.perf_counter() - t:.0f} s)")


def notebook_figures(out: Path) -> None:
    """Run every notebook at its full size with its figures written into ``out``."""
    env = {**os.environ, "VAEBOUNDS_FULL": "1", "VAEBOUNDS_FIGURES": str(out), "MPLBACKEND": "Agg"}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        t = time.perf_counter()
        subprocess.run([sys.executable, str(path)], env=env, check=True, cwd=path.parent)
        print(f"ran {path.name} at the full size in {time.perf_counter() - t:.0f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures")
    parser.add_argument("--skip", default="", help=f"comma-separated parts to skip, of {', '.join(PARTS)}")
    args = parser.parse_args(argv)
    skip = {p for p in args.skip.split(",") if p}
    if skip - set(PARTS):
        parser.error(f"--skip takes parts of {', '.join(PARTS)}, got {args.skip!r}")
    args.out.mkdir(parents=True, exist_ok=True)
    for part, run in (("verify", verify_figures), ("sweep", sweep_figure), ("notebooks", notebook_figures)):
        if part not in skip:
            run(args.out)


if __name__ == "__main__":
    main()
