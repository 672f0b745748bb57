"""Measure the decision rule's error rates by simulation and write them into
docs/decision.md (between the ``decision-rates`` markers).

For each distribution of the per-run values (normal with a given coefficient
of variation, lognormal with a given sigma_log, exponential, chi-square with 1 dof, and a
mixture where a few runs sit far above the rest) and each number of runs R,
``--sims`` sets of R values are drawn; each set's interval
(:func:`empirical.mean_interval.interval_ends`) is compared by the rule
(:func:`empirical.decision.rule`, the function :func:`empirical.decide` uses)
with bounds at truth / bound = 0.5, 0.8, 1.0, 1.1, 1.3, 2.0, where the truth
is the distribution's mean. It also measures each end's one-sided error
(the upper end below the mean, the lower end above it) and, for comparison,
the errors of the Student-t interval alone and the upper end's error of
Cox's log-scale interval with a t quantile alone.

    python scripts/decision_rates.py            # about two minutes on one core
    python scripts/decision_rates.py --sims 2000 --no-write
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

import numpy as np
from scipy import special

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from empirical.decision import Verdict, rule  # noqa: E402
from empirical.mean_interval import interval_ends  # noqa: E402

DISTRIBUTIONS = (
    ("normal", 0.1), ("normal", 0.3), ("lognormal", 0.3), ("lognormal", 0.8), ("exponential", 1.0),
    ("chi-square", 1.0), ("mixture", 0.1),
)  # fmt: skip
RUNS = (2, 4, 8)
RATIOS = (0.5, 0.8, 1.0, 1.1, 1.3, 2.0)
CONFIDENCE = 0.95
START, END = "<!-- decision-rates:start -->", "<!-- decision-rates:end -->"


def draw(
    kind: str, spread: float, runs: int, sims: int, rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """(values (sims, runs), their mean): normal with mean 1 and CV ``spread``; lognormal
    with mu = 0 and sigma_log ``spread`` (mean exp(sigma^2 / 2)); exponential with mean 1;
    chi-square with 1 degree of freedom (mean 1); or a mixture: a fraction ``spread`` of the
    runs lognormal(log 10, 0.1), the others lognormal(0, 0.1) (a few runs far above the rest)."""
    shape = (sims, runs)
    if kind == "normal":
        return rng.normal(1.0, spread, shape), 1.0
    if kind == "exponential":
        return rng.exponential(1.0, shape), 1.0
    if kind == "chi-square":
        return rng.chisquare(1.0, shape), 1.0
    if kind == "mixture":
        high = rng.random(shape) < spread
        values = np.where(high, rng.lognormal(math.log(10.0), 0.1, shape), rng.lognormal(0.0, 0.1, shape))
        return values, (spread * 10.0 + 1.0 - spread) * math.exp(0.1**2 / 2)
    return rng.lognormal(0.0, spread, shape), math.exp(spread**2 / 2)


def label(kind: str, spread: float) -> str:
    return {
        "normal": f"normal, CV {spread:.0%}",
        "lognormal": f"lognormal, sigma_log {spread:g}",
        "exponential": "exponential",
        "chi-square": "chi-square, 1 dof",
        "mixture": f"mixture: {spread:.0%} of runs 10x the others",
    }[kind]


def alone(values: np.ndarray, mean: float) -> tuple[float, float, float, float]:
    """Errors of the Student-t interval alone (upper end, lower end), the upper end's
    error of Cox's log-scale interval with a t quantile, ybar + s^2/2 + t sqrt(s^2/R +
    s^4/(2(R-1))), and the Student-t interval's median upper end over the runs' mean."""
    runs = values.shape[1]
    t = special.stdtrit(runs - 1, 0.5 + CONFIDENCE / 2)
    t_half = t * values.std(1, ddof=1) / math.sqrt(runs)
    t_lo, t_hi = values.mean(1) - t_half, values.mean(1) + t_half
    t_width = float(np.median(t_hi / values.mean(1)))
    positive = np.all(values > 0, axis=1)
    y = np.log(values[positive])
    s2 = y.var(1, ddof=1)
    cox_hi = y.mean(1) + s2 / 2 + t * np.sqrt(s2 / runs + s2**2 / (2 * (runs - 1)))
    cox = float(np.mean(cox_hi < math.log(mean)))
    return float(np.mean(t_hi < mean)), float(np.mean(t_lo > mean)), cox, t_width


def simulate(sims: int, seed: int) -> list[dict]:
    """One row per (distribution, R): the verdict rates at each ratio and the ends' errors."""
    rows = []
    streams = np.random.SeedSequence(seed).spawn(len(DISTRIBUTIONS) * len(RUNS))
    for i, ((kind, spread), runs) in enumerate((d, r) for d in DISTRIBUTIONS for r in RUNS):
        values, mean = draw(kind, spread, runs, sims, np.random.default_rng(streams[i]))
        lo, hi, _, _ = interval_ends(values, values, CONFIDENCE)
        rates = {}
        for ratio in RATIOS:
            verdicts = rule(lo, hi, mean / ratio)
            rates[ratio] = {v: float(np.mean(verdicts == v)) for v in Verdict if v is not Verdict.NOT_COVERED}
        t_upper, t_lower, cox_upper, t_width = alone(values, mean)
        rows.append(
            {
                "label": label(kind, spread),
                "runs": runs,
                "rates": rates,
                "upper_miss": float(np.mean(hi < mean)),
                "lower_miss": float(np.mean(lo > mean)),
                "t_upper_miss": t_upper,
                "t_lower_miss": t_lower,
                "cox_upper_miss": cox_upper,
                "width": float(np.median(hi / values.mean(1))),
                "t_width": t_width,
            }
        )
    return rows


def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def table(rows: list[dict], sims: int, seed: int) -> str:
    """The Markdown block written between the markers."""
    head = " | ".join(f"{r:g}" for r in RATIOS)
    lines = [
        START,
        f"Measured by `python scripts/decision_rates.py` ({sims} simulated verifications per row, "
        f"seed {seed}, confidence {CONFIDENCE:.0%}). Each cell: % HOLDS / % VIOLATED / % INCONCLUSIVE "
        "at that truth / bound (truth = the mean of the per-run values' distribution).",
        "",
        f"| per-run values | R | {head} |",
        "|---|---|" + "---|" * len(RATIOS),
    ]
    for row in rows:
        cells = " | ".join(
            " / ".join(
                pct(row["rates"][r][v]) for v in (Verdict.HOLDS, Verdict.VIOLATED, Verdict.INCONCLUSIVE)
            )
            for r in RATIOS
        )
        lines.append(f"| {row['label']} | {row['runs']} | {cells} |")
    se = math.sqrt(0.025 * 0.975 / sims)
    lines += [
        "",
        f"One-sided errors of the interval's ends, % (nominal 2.5; Monte-Carlo standard error at 2.5 %: "
        f"{100 * se:.2f}), and those of each method alone on the same values (the Student-t "
        "interval's are exactly 2.5 on normal values: its spread about 2.5 here is the "
        "Monte-Carlo error of these draws, and the rule's lower end is never above the "
        "Student-t one):",
        "",
        "| per-run values | R | upper end below the mean | lower end above the mean "
        "| Student-t alone: upper / lower | Cox with a t quantile alone: upper "
        "| median upper end / the runs' mean: rule / Student-t |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['label']} | {row['runs']} | {pct(row['upper_miss'])} | {pct(row['lower_miss'])} "
            f"| {pct(row['t_upper_miss'])} / {pct(row['t_lower_miss'])} | {pct(row['cox_upper_miss'])} "
            f"| {row['width']:.3g} / {row['t_width']:.3g} |"
        )
    lines.append(END)
    return "\n".join(lines)


def write(page: Path, block: str) -> None:
    """Replace the block between the markers in ``page`` (it must hold them once each)."""
    text = page.read_text()
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    if len(pattern.findall(text)) != 1:
        raise SystemExit(f"{page} must hold the markers {START} and {END} once each")
    page.write_text(pattern.sub(lambda _: block, text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sims", type=int, default=20000, help="simulated verifications per row (default 20000)"
    )
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--page", type=Path, default=ROOT / "docs" / "decision.md")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    if args.sims < 100:
        parser.error(f"--sims must be at least 100, got {args.sims}")
    block = table(simulate(args.sims, args.seed), args.sims, args.seed)
    print(block)
    if not args.no_write:
        write(args.page, block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
