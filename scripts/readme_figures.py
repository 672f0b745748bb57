"""Re-run the README's ``vaebounds verify`` walkthrough: the default run and
the projected run (``--box 0.005``), copy the default run's figures into
docs/figures/ and print the numbers the README quotes.

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

FIGURES = {"convergence.png": "verify-convergence.png", "constants.png": "verify-constants.png",
           "training.png": "verify-training.png"}  # fmt: skip


def summary(name: str, result, seconds: float) -> str:
    obs, rate = result.observed, result.rate
    return (
        f"{name}: {result.verdict.value} (exit {result.exit_code}); theorem {result.theorem.name}; "
        f"bound {result.bound_value:.4g}; observed mean over {obs.runs} runs {obs.value:.4g} "
        f"[{obs.lo:.4g}, {obs.hi:.4g}], per run {', '.join(f'{v:.3g}' for v in obs.per_run)}; "
        f"ratio {result.ratio:.3g}; fitted exponent {rate.exponent:.3f} [{rate.lo:.3f}, {rate.hi:.3f}] "
        f"(theory {rate.theory}); C_gamma {result.fixed['C_gamma']:.4g}; lower estimates "
        f"{', '.join(result.lower_estimates)}; {seconds:.1f} s"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "figures")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for name, settings in (("default", Settings()), ("box 0.005", Settings(box=0.005))):
            t = time.perf_counter()
            result = verify(settings)
            seconds = time.perf_counter() - t
            print(summary(name, result, seconds))
            if name == "default":
                report = write_report(result, Path(tmp) / "report")
                for source, target in FIGURES.items():
                    shutil.copyfile(report.folder / source, args.out / target)
                    print(f"  wrote {args.out / target}")


if __name__ == "__main__":
    main()
