"""The sub-commands of ``vaebounds``: each parses its own options, calls the library, prints.

verify (through :mod:`empirical.runner`), estimate, derive, advise and sweep; they hold no
logic beyond parsing and printing (docs/architecture.md, "How a question flows"). The parser is
:mod:`empirical.cli_parser`, the entry point :mod:`empirical.cli`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from empirical import inputs
from empirical.cli_parser import UsageError, resolve
from empirical.errors import ConfigError
from empirical.settings import Settings

__all__ = ["format_constants", "run"]


def _progress(quiet: bool):
    """A message printer on stderr, or the silent one (no progress bar either)."""
    from empirical.progress import silent

    if quiet:
        return silent

    def say(message: str) -> None:
        print(f"vaebounds: {message}", file=sys.stderr, flush=True)

    return say


def _out(text: str, own: Sequence[str]):
    """The output folder, checked before any work (it is written at the end)."""
    from empirical.report.atomic import check_target

    return check_target(text, own)


def run(args: argparse.Namespace, argv: Sequence[str], started: float) -> int:
    """Run the parsed sub-command.

    Args:
        args: The parsed arguments.
        argv: The command line (recorded in the report).
        started: When :func:`empirical.cli.main` started (the report's ``startup`` time).

    Returns:
        The exit code: verify's verdict, the sweep's combined code, 0 for the others.
    """
    if args.command == "derive":
        return _derive(args)
    base = None
    if getattr(args, "from_report", None) is not None:
        from empirical.report.rerun import settings_of_report

        base = settings_of_report(args.from_report)
    settings = resolve(args, base)
    say = _progress(args.quiet)
    if args.command == "sweep":
        return _sweep(args, settings, say)
    if args.command == "estimate":
        return _estimate(args, settings, say)
    if args.command == "advise":
        return _advise(args, settings, say, argv)
    from empirical.report import FILES, write_report

    target = _out(args.out, FILES)
    from empirical.runner import verify

    device = inputs.option("verify", "device")
    device = device.rule.parse(device.label, args.device)
    startup = {"startup": time.perf_counter() - started}  # parsing, checks: a part of the timings
    result = verify(
        settings, progress=say, device=device, timings=startup, approximate_ok=args.approximate_ok
    )
    report = write_report(result, target, command=["vaebounds", *argv])
    if args.json:
        print(json.dumps(report.data, indent=2))
    obs = result.observed
    verdict = result.verdict.value + (", approximately covered" if result.approximately_covered else "")
    over = f"interval over {obs.runs} runs" if obs.covers_runs else "one run's interval"
    summary = (
        f"{verdict} (exit {result.exit_code}): bound {result.bound_value:.4g}"
        + (" (at the stressed constants)" if result.stressed else "")
        + f", observed {obs.value:.4g} "
        f"[{obs.lo:.4g}, {obs.hi:.4g}] ({obs.confidence:.0%} {over}), ratio {result.ratio:.3g}",
        f"{result.headline} Report: {report.folder}",
    )
    print("\n".join(summary), file=sys.stderr if args.json else sys.stdout, flush=True)
    return result.exit_code


def _derive(args: argparse.Namespace) -> int:
    """``derive``: every page into --out, or one page (MODEL OPTIMIZER [VARIANT]) printed or written."""
    from empirical.report.atomic import write_derivation_folder

    if args.model is None:
        written = write_derivation_folder(args.out or "derivations")
    elif args.optimizer is None:
        raise UsageError(
            "derive takes MODEL OPTIMIZER [VARIANT] (e.g. derive gaussian adam defossez), or nothing"
        )
    elif args.out is None:
        from theory.derive import render_one

        print(render_one(args.model, args.optimizer, args.variant), end="")
        return 0
    else:
        written = write_derivation_folder(args.out, only=(args.model, args.optimizer, args.variant or ""))
    for path in written:
        print(path)
    return 0


def _estimate(args: argparse.Namespace, settings: Settings, say) -> int:
    """``estimate``: the constants at the start, estimate.json written, the table printed."""
    from empirical.pipeline import estimate_constants
    from empirical.report.atomic import ESTIMATE_FILES, write_folder

    target = _out(args.out, ESTIMATE_FILES)
    result = estimate_constants(settings, progress=say)
    text = json.dumps(result, indent=2)
    folder = write_folder(target, lambda tmp: (tmp / "estimate.json").write_text(text), ESTIMATE_FILES)
    print(text if args.json else format_constants(result))
    say(f"constants in {folder / 'estimate.json'}")
    return 0


def _advise(args: argparse.Namespace, settings: Settings, say, argv: Sequence[str]) -> int:
    """``advise``: the request and --out checked, the advice, with --check both sides run."""
    import time

    from empirical.advice import advise, request_of, run_check
    from empirical.advice.output import ADVICE_FILES, advice_json, summary, write_advice

    given = {}
    for name in ("budget", "max_steps"):
        text = getattr(args, name)
        entry = inputs.option("advise", name)
        given[name] = None if text is None else entry.rule.parse(entry.label, text)
    request = request_of(settings, **given, steps_given=args.steps is not None, check=args.check)
    target = _out(args.out, ADVICE_FILES) if args.out is not None else None
    started = time.perf_counter()
    advice = advise(request, progress=say)
    timings = {"advice": time.perf_counter() - started}
    check, skipped = None, None
    if args.check and advice.is_default:
        skipped = "the advice is the default run itself: nothing to compare"
    elif args.check:
        started = time.perf_counter()
        check = run_check(request, advice, progress=say)
        timings["check"] = time.perf_counter() - started
    data = advice_json(request, advice, check, skipped, ["vaebounds", *argv], timings)
    if target is not None:
        folder = write_advice(target, data, check)
        say(f"advice in {folder / 'advice.json'}")
    if args.json:
        print(json.dumps(data, indent=2))
    print(summary(request, advice, check, skipped), file=sys.stderr if args.json else sys.stdout, flush=True)
    return 0


def _sweep(args: argparse.Namespace, settings: Settings, say) -> int:
    """``sweep``: the axes parsed, clashes with options refused, then :func:`empirical.sweep.run_sweep`."""
    from empirical.sweep import parse_axis, run_sweep

    axes = [parse_axis(text) for text in args.grid]
    names = [name for name, _ in axes]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"--grid gives the axis {', '.join(repeated)} more than once; give each axis once")
    for field, text in zip(names, args.grid, strict=True):
        given = getattr(args, field)
        if given is not None:  # the axis would replace the option at every point
            flag = inputs.setting(field).flag
            raise ConfigError(
                f"--grid {text.strip()} and {flag} {given} both set {field}; give one of them "
                "(the grid's values, or the option for every point)"
            )
    rows = run_sweep(  # checks the executor, the folder, the grid (lazily), then runs the points
        settings, dict(axes), args.out, args.executor, say, approximate_ok=args.approximate_ok
    )
    if args.json:
        print(json.dumps(rows, indent=2))
    say(f"sweep results in {args.out}/results.jsonl, summary.csv, sweep.png")
    from empirical.conclusion.result import combined_exit_code

    return combined_exit_code(r["exit_code"] for r in rows)


def format_constants(result: dict) -> str:
    """The table ``vaebounds estimate`` prints.

    Args:
        result: estimate.json's content.

    Returns:
        One line per constant and per SNR part: value, lo, hi, method.
    """
    lines = [f"{'constant':14s} {'value':>12s} {'lo':>12s} {'hi':>12s}  method"]
    for name, est in result["constants"].items():
        lines.append(f"{name:14s} {est['value']:12.4g} {est['lo']:12.4g} {est['hi']:12.4g}  {est['method']}")
    for part, est in result.get("snr", {}).items():
        label = f"SNR {part}"
        lines.append(f"{label:14s} {est['value']:12.4g} {est['lo']:12.4g} {est['hi']:12.4g}  {est['method']}")
    return "\n".join(lines)
