"""The ``vaebounds`` command: verify | estimate | derive | sweep. It parses
arguments into :class:`empirical.pipeline.Settings` (through the vocabulary
table) and calls the pipeline; the exit code is the result's
(docs/design.md, "Verdict"): 0 the bound holds at the estimated constants,
1 it is violated, 2 bad input (one line on stderr, no traceback), 3 not
covered (an assumption of the theorem fails on the run; the comparison is
still reported, but it is no verdict).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import fields

from empirical.pipeline.settings import (
    ACTIVATIONS,
    ADAM_VARIANTS,
    BUILTIN_DEFAULTS,
    MODELS,
    OPTIMIZERS,
    USER_MODEL_DEFAULTS,
    Settings,
    term,
)

EXIT_BAD_INPUT = 2


class UsageError(ValueError):
    """Bad command-line usage (argparse's own errors are turned into this)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print usage and exit 2 itself
        raise UsageError(message)


def _whole(text: str) -> int:
    """argparse type: a whole number (its range is checked by Settings)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None


def _number(text: str) -> float:
    """argparse type: a number (its range is checked by Settings)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None


_TYPES = {int: _whole, float: _number, "int": _whole, "float": _number}
_HELP = {
    "model": f"one of {', '.join(MODELS)}; or your own module: conv (the built-in convolutional VAE) or "
    "FILE.py:NAME, a function NAME(data_dim) -> (torch.nn.Module, loss(model, x) -> per-example losses), "
    "trained by a plain torch loop and tracked (empirical.track); its runs go one after the other",
    "optimizer": f"one of {', '.join(OPTIMIZERS)} (adam: lr 1e-3, betas (0.9, 0.999), eps 1e-8; adagrad: "
    "lr 1e-2, eps 1e-8; both with a constant step)",
    "data": "digits, mnist (5000 28x28 images in [0, 1]), ppca, or a .npy/.csv file",
    "C_gamma": "SGD: the step constant C_gamma of gamma_k = C_gamma k^(-1/2) (default: the optimal one from "
    "a pilot estimate, clipped to 1/(2L)); Adam, Adagrad: the constant lr",
    "activation": f"one of {', '.join(ACTIVATIONS)}",
    "seeds": "runs R: seeds seed..seed+R-1, compared through their mean",
    "adam_variant": f"one of {', '.join(ADAM_VARIANTS)}: defossez trains the algorithm Défossez et al. "
    "analyse "
    "(Adam or Adagrad), torch trains torch.optim.Adam / Adagrad, delayed Adam's delayed preconditioner "
    "(built-in models)",
}
#: Defaults that depend on the model (Settings resolves None).
_MODEL_DEFAULTS = {
    name: f"{BUILTIN_DEFAULTS[name]}; {USER_MODEL_DEFAULTS[name]} for conv and FILE.py:NAME, chosen so that "
    "`verify --model conv --data mnist` takes a few minutes on 2 cores"
    for name in BUILTIN_DEFAULTS
}


def _add_settings(p: argparse.ArgumentParser, **defaults: object) -> None:
    """One option per settings field, named by the vocabulary table."""
    for f in fields(Settings):
        t = term(f.name)
        default = defaults.get(f.name, f.default)
        kind = f.type.split(" | ")[0] if isinstance(f.type, str) else f.type
        shown = _MODEL_DEFAULTS.get(f.name, "none") if default is None else default
        p.add_argument(
            t.flag,
            dest=f.name,
            type=_TYPES.get(kind, str),
            default=default,
            help=f"{_HELP.get(f.name, t.meaning)} (default {shown})",
        )


def _outputs(p: argparse.ArgumentParser, out: str) -> None:
    p.add_argument("--out", default=out, help=f"output folder (default ./{out})")
    p.add_argument("--json", action="store_true", help="also print the result as JSON on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vaebounds", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    verify = sub.add_parser(
        "verify", help="train R runs, estimate the constants, compare with the bound, report"
    )
    _add_settings(verify)
    _outputs(verify, "vaebounds-report")
    estimate = sub.add_parser("estimate", help="estimate L, sigma2 parts, M, R, Delta and the gradient SNR")
    _add_settings(estimate, steps=0, seeds=1)
    _outputs(estimate, "vaebounds-report")
    sweep = sub.add_parser("sweep", help="verify over a grid of (B, K, beta, s, C_gamma, seed); resumable")
    _add_settings(sweep, steps=500)
    _outputs(sweep, "vaebounds-sweep")
    sweep.add_argument(
        "--grid",
        action="append",
        required=True,
        help="an axis NAME=V1,V2,... with NAME in B, K, beta, s, C_gamma, seed (repeat for more axes)",
    )
    sweep.add_argument("--executor", default="local", help="local (default) or dask (needs vaebounds[dist])")
    derive = sub.add_parser(
        "derive",
        help="print one derivation (MODEL OPTIMIZER [VARIANT]) or write derivations/*.md",
        description="With MODEL OPTIMIZER [VARIANT]: print that bound's derivation page, or write it "
        "alone into --out. Without: write every registered bound's page into --out (default ./derivations).",
    )
    derive.add_argument("model", nargs="?", help="e.g. gaussian (with OPTIMIZER: one page)")
    derive.add_argument("optimizer", nargs="?", help="e.g. sgd, adam, adagrad")
    derive.add_argument("variant", nargs="?", help="e.g. defossez, schedule (default: the theorem's default)")
    derive.add_argument(
        "--out", default=None, help="output folder (default: print one page; every page: ./derivations)"
    )
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    """The validated settings of parsed arguments."""
    return Settings.from_mapping({f.name: getattr(args, f.name) for f in fields(Settings)})


def _progress(quiet: bool):
    """A message printer on stderr, or the silent one (no progress bar either)."""
    from empirical.pipeline import silent

    if quiet:
        return silent

    def say(message: str) -> None:
        print(f"vaebounds: {message}", file=sys.stderr, flush=True)

    return say


def _run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    if args.command == "derive":
        return _derive(args)
    settings = settings_from(args)
    say = _progress(args.quiet)
    if args.command == "sweep":
        from empirical.pipeline import combined_exit_code
        from empirical.sweep import parse_axis, run_sweep

        grid = dict(parse_axis(text) for text in args.grid)
        rows = run_sweep(settings, grid, args.out, args.executor, say)
        if args.json:
            print(json.dumps(rows, indent=2))
        say(f"sweep results in {args.out}/results.jsonl, summary.csv, sweep.png")
        return combined_exit_code(r["exit_code"] for r in rows)
    if args.command == "estimate":
        from empirical.pipeline import estimate_constants

        result = estimate_constants(settings, progress=say)
        print(json.dumps(result, indent=2) if args.json else format_constants(result))
        return 0
    from empirical.pipeline import verify
    from empirical.report import write_report

    result = verify(settings, progress=say)
    report = write_report(result, args.out, command=["vaebounds", *argv])
    if args.json:
        print(json.dumps(report.data, indent=2))
    else:
        obs = result.observed
        print(result.headline)
        print(
            f"bound {result.bound_value:.4g}, observed {obs.value:.4g} [{obs.lo:.4g}, {obs.hi:.4g}] over "
            f"{obs.runs} run(s), ratio {result.ratio:.3g}; report in {report.folder}"
        )
    return result.exit_code


def _derive(args: argparse.Namespace) -> int:
    """``derive``: every page into --out, or one page (MODEL OPTIMIZER [VARIANT]) printed or written."""
    from theory.derive import render_one, write_derivations

    if args.model is None:
        written = write_derivations(args.out or "derivations")
    elif args.optimizer is None:
        raise UsageError(
            "derive takes MODEL OPTIMIZER [VARIANT] (e.g. derive gaussian adam defossez), or nothing"
        )
    elif args.out is None:
        print(render_one(args.model, args.optimizer, args.variant), end="")
        return 0
    else:
        written = write_derivations(args.out, only=(args.model, args.optimizer, args.variant or ""))
    for path in written:
        print(path)
    return 0


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
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        return _run(args, argv)
    except ValueError as err:  # every user-caused error is a ValueError subclass
        message = " ".join(str(err).split())
        print(f"vaebounds: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("vaebounds: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
