"""The ``vaebounds`` command: verify | estimate | derive | sweep.

Exit codes (design.md): 0 the bound holds, 1 it is violated, 2 bad input (one
line on stderr, no traceback), 3 the bound's assumptions failed along the run
(the comparison is still reported, but it is no verdict).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

EXIT_HOLDS, EXIT_VIOLATED, EXIT_BAD_INPUT, EXIT_ASSUMPTIONS = 0, 1, 2, 3

MODEL_CHOICES = ("gaussian", "linear", "beta", "iwae")

OPTIMIZER_CHOICES = ("sgd", "adam")


class UsageError(ValueError):
    """Bad command-line usage (argparse's own errors are turned into this)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print usage and exit 2 itself
        raise UsageError(message)


def _positive_int():
    """argparse type: a whole number >= 1 (argparse names the option in its message)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {value}")
        return value

    return parse


def _positive_float(allow_zero: bool = False):
    """argparse type: a finite number > 0 (>= 0 with ``allow_zero``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if (
            not (value == value and abs(value) != float("inf"))
            or value < 0
            or (value == 0 and not allow_zero)
        ):
            raise argparse.ArgumentTypeError(
                f"must be a finite number {'>=' if allow_zero else '>'} 0, got {text}"
            )
        return value

    return parse


def _common(p: argparse.ArgumentParser, steps: int) -> None:
    p.add_argument(
        "--model", default="gaussian", help=f"one of {', '.join(MODEL_CHOICES)} (default gaussian)"
    )
    p.add_argument("--optimizer", default="sgd", help="sgd (default) or adam (the seed paper's setting)")
    p.add_argument("--data", default="digits", help="digits (default), ppca, or a .npy/.csv file")
    p.add_argument("--steps", type=_positive_int(), default=steps, help=f"iterations n (default {steps})")
    p.add_argument("--batch-size", type=_positive_int(), default=32, help="minibatch size B")
    p.add_argument("--samples", type=_positive_int(), default=None, help="variational samples K")
    p.add_argument("--beta", type=_positive_float(allow_zero=True), default=None, help="beta-VAE weight")
    p.add_argument(
        "--lr-constant",
        type=_positive_float(),
        default=None,
        help="step constant C_gamma (default: the optimal one from the estimated constants, clipped to 1/L)",
    )
    p.add_argument("--activation", default="softclip", help="softclip (default) or relu")
    p.add_argument(
        "--sharpness", dest="s", type=_positive_float(), default=None, help="soft-clip sharpness s"
    )
    p.add_argument("--box", type=_positive_float(), default=None, help="project onto ||theta||_inf <= a")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default="vaebounds-report", help="output folder (default ./vaebounds-report)")
    p.add_argument("--json", action="store_true", help="also print the report JSON on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vaebounds", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    verify = sub.add_parser("verify", help="train, estimate the constants, compare with the bound, report")
    _common(verify, steps=2000)
    estimate = sub.add_parser("estimate", help="estimate L, sigma2 parts, M, Delta and the gradient SNR")
    _common(estimate, steps=0)
    sweep = sub.add_parser("sweep", help="verify over a grid of (B, K, beta, s, C_gamma, seed); resumable")
    _common(sweep, steps=500)
    sweep.add_argument(
        "--grid",
        action="append",
        required=True,
        help="an axis NAME=V1,V2,... with NAME in B, K, beta, s, C_gamma, seed (repeat for more axes)",
    )
    sweep.add_argument("--executor", default="local", help="local (default) or dask (needs vaebounds[dist])")
    derive = sub.add_parser("derive", help="write derivations/*.md from the registered bounds")
    derive.add_argument("--out", default="derivations", help="output folder (default ./derivations)")
    return parser


def _progress(quiet: bool):
    """A message printer on stderr, or the silent one (no progress bar either)."""
    from empirical.verify import silent

    if quiet:
        return silent

    def say(message: str) -> None:
        print(f"vaebounds: {message}", file=sys.stderr, flush=True)

    return say


def _run(args: argparse.Namespace) -> int:
    if args.command == "derive":
        from theory.derive import write_derivations

        for path in write_derivations(args.out):
            print(path)
        return EXIT_HOLDS
    from empirical.verify import Settings, run_estimate, run_verify

    settings = Settings.from_cli(args)
    say = _progress(args.quiet)
    if args.command == "sweep":
        from empirical.sweep import exit_code, parse_axis, run_sweep

        grid = dict(parse_axis(text) for text in args.grid)
        rows = run_sweep(settings, grid, args.out, args.executor, say)
        if args.json:
            print(json.dumps(rows, indent=2))
        say(f"sweep results in {args.out}/results.jsonl, summary.csv, sweep.png")
        return exit_code(rows)
    if args.command == "estimate":
        result = run_estimate(settings, progress=say)
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            print(format_constants(result))
        return EXIT_HOLDS
    report = run_verify(settings, progress=say)
    if args.json:
        print(json.dumps(report.data, indent=2))
    say(f"report written to {report.folder}")
    return report.exit_code


def format_constants(result: dict) -> str:
    lines = [f"{'constant':14s} {'value':>12s} {'lo':>12s} {'hi':>12s}  method"]
    for name, est in result["constants"].items():
        lines.append(f"{name:14s} {est['value']:12.4g} {est['lo']:12.4g} {est['hi']:12.4g}  {est['method']}")
    for part, est in result.get("snr", {}).items():
        label = f"SNR {part}"
        lines.append(f"{label:14s} {est['value']:12.4g} {est['lo']:12.4g} {est['hi']:12.4g}  {est['method']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vaebounds`` console script."""
    try:
        args = build_parser().parse_args(argv)
        return _run(args)
    except ValueError as err:  # every user-caused error is a ValueError subclass
        message = " ".join(str(err).split())
        print(f"vaebounds: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("vaebounds: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
