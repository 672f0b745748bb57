"""Re-run the README's ``vaebounds verify`` walkthrough: the default run, the
projected run (``--box 0.005``), ``--optimizer adam`` (with every Adam variant),
``--optimizer adagrad`` and the convolutional VAE on MNIST (``--model conv
--data mnist``); copy the default run's figures and the MNIST run's convergence
figure into docs/figures/ and print the numbers the README quotes.

    python scripts/readme_figures.py [--out docs/figures]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from empirical.pipeline import Settings, verify
from empirical.report import write_report

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "figures")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for name, options in RUNS:
            t = time.perf_counter()
            result = verify(Settings(**options))
            seconds = time.perf_counter() - t
            print(summary(name, result, seconds))
            print("\n".join(variants(result)))
            if name in FIGURES:
                report = write_report(result, Path(tmp) / name.replace(" ", "-"))
                for source, target in FIGURES[name].items():
                    shutil.copyfile(report.folder / source, args.out / target)
                    print(f"  wrote {args.out / target}")


if __name__ == "__main__":
    main()
