"""The ``vaebounds`` command: verify | estimate | derive | sweep | advise. Its options
are the inventory of :mod:`empirical.inputs` (names, ranges, defaults, help);
the values are parsed into :class:`empirical.settings.Settings` and the
runner (:mod:`empirical.runner`) does the rest. Exit codes (docs/architecture.md, "Verdict";
the rule of :mod:`empirical.decision`): 0 the bound holds at the estimated constants, 1 it is
violated, 2 bad input (one line on stderr, no traceback), 3 not covered (an assumption of the
theorem fails on the run, or is only approximate without ``--approximate-ok``; the comparison
is still reported, for reference), 4 inconclusive (the bound lies inside the interval, or one
run: one run cannot estimate an expectation; the comparison is still reported), 130
interrupted (SIGINT), 143 terminated (SIGTERM). A sweep exits with the first of 1, 3, 4, 0
that any of its points has. An internal error keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from empirical import inputs
from empirical.errors import ConfigError
from empirical.settings import Settings

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
COMMANDS = {
    "verify": "train R runs, estimate the constants, compare with the bound, write a report",
    "estimate": "estimate L, sigma2 parts, M, R, Delta and the gradient SNR; write estimate.json",
    "sweep": "verify over a grid of (B, K, beta, s, C_gamma, seed); resumable",
    "derive": "print one derivation (MODEL OPTIMIZER [VARIANT]) or write derivations/*.md",
    "advise": "recommend C_gamma and the split of a budget between n, B and K from the SGD bound; "
    "--check runs the advice against the default",
}


class UsageError(ValueError):
    """Bad command-line usage (argparse's own errors are turned into this)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that cleanups run as on Ctrl-C."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print usage and exit 2 itself
        raise UsageError(message)


def version() -> str:
    """The installed vaebounds version."""
    import importlib.metadata as md

    try:
        return md.version("vaebounds")
    except md.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown (not installed)"


def _help(entry: inputs.Input, allowed: str, default: Any) -> str:
    text = f"{entry.meaning}; {allowed} (default: {entry.default_text(default)})"
    if entry.aliases:
        text += f"; {', '.join(entry.aliases)} is the same option under its former name"
    return text.replace("%", "%%")


def _add_settings(p: argparse.ArgumentParser, command: str) -> None:
    """One option per settings field; the value stays text until :func:`resolve`."""
    defaults = inputs.command_defaults(command)
    for entry in inputs.SETTINGS:
        rule = inputs.command_rule(command, entry.name)
        if isinstance(rule, inputs.Flag):  # given: the value it sets (e.g. --no-stress: False)
            p.add_argument(
                entry.flag, *entry.aliases, dest=entry.name, default=None, action="store_const",
                const=rule.when_given, help=_help(entry, rule.allowed(), defaults[entry.name]),
            )  # fmt: skip
            continue
        p.add_argument(
            entry.flag, *entry.aliases, dest=entry.name, default=None, metavar=entry.name.upper(),
            help=_help(entry, rule.allowed(), defaults[entry.name]),
        )  # fmt: skip


def _add_options(p: argparse.ArgumentParser, command: str) -> None:
    for entry in inputs.COMMAND_OPTIONS[command]:
        dest = "from_report" if entry.name == "from" else entry.name
        if isinstance(entry.rule, inputs.Flag):
            p.add_argument(entry.flag, dest=dest, action="store_true", help=_help(entry, "a switch", False))
        elif entry.name == "grid":
            p.add_argument(entry.flag, dest=dest, action="append", required=True, metavar="NAME=V1,V2",
                           help=_help(entry, entry.rule.allowed(), "none, give at least one"))  # fmt: skip
        else:
            p.add_argument(entry.flag, dest=dest, default=entry.default, metavar=entry.name.upper(),
                           help=_help(entry, entry.rule.allowed(), entry.default))  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vaebounds", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    for command, what in COMMANDS.items():
        p = sub.add_parser(command, help=what, description=what)
        if command != "derive":
            _add_settings(p, command)
        _add_options(p, command)
    derive = sub.choices["derive"]
    derive.description = (
        "With MODEL OPTIMIZER [VARIANT]: print that bound's derivation page, or write it alone into --out. "
        "Without: write every registered bound's page into --out (default ./derivations), as a whole."
    )
    derive.set_defaults(out=None)  # --out not given: print the one page / the default folder
    derive.add_argument("model", nargs="?", help="e.g. gaussian (with OPTIMIZER: one page)")
    derive.add_argument("optimizer", nargs="?", help="e.g. sgd, adam, adagrad")
    derive.add_argument("variant", nargs="?", help="e.g. defossez, schedule (default: the theorem's default)")
    return parser


def resolve(args: argparse.Namespace, base: dict[str, Any] | None = None) -> Settings:
    """The settings of parsed arguments: each option given is parsed by its rule
    (for its sub-command), every other value comes from ``base`` (a report's
    settings with ``--from``) or the sub-command's defaults."""
    values = dict(base) if base is not None else inputs.command_defaults(args.command)
    for entry in inputs.SETTINGS:
        text = getattr(args, entry.name)
        rule = inputs.command_rule(args.command, entry.name)
        if isinstance(rule, inputs.Flag) and text is not None:
            values[entry.name] = text  # the switch's value, already a bool
        elif text is not None:
            values[entry.name] = rule.parse(entry.label, text)
    if base is not None and args.optimizer is not None and args.variant is None:
        # another optimizer than the report's: its variant is the default, not the report's
        if values["optimizer"] != base.get("optimizer"):
            values.pop("adam_variant", None)  # a report of before the rename
            values["variant"] = inputs.setting("variant").default
    settings = Settings.from_mapping(values)  # steps, batch_size, runs left None: the model's defaults
    inputs.command_rule(args.command, "steps").check("steps (--steps)", settings.steps)
    return settings


def settings_from(args: argparse.Namespace) -> Settings:
    """The validated settings of parsed arguments (no ``--from``)."""
    return resolve(args)


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


def _run(args: argparse.Namespace, argv: Sequence[str]) -> int:
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
    startup = {"startup": time.perf_counter() - _STARTED}  # parsing, checks: a part of the timings
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
    """``advise``: the request checked (and --out) before any work, the pilot, the advice;
    with --check both sides run; the summary on stdout (--json: advice.json's content)."""
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
    lines = [f"{'constant':14s} {'value':>12s} {'lo':>12s} {'hi':>12s}  method"]
    for name, est in result["constants"].items():
        lines.append(f"{name:14s} {est['value']:12.4g} {est['lo']:12.4g} {est['hi']:12.4g}  {est['method']}")
    for part, est in result.get("snr", {}).items():
        label = f"SNR {part}"
        lines.append(f"{label:14s} {est['value']:12.4g} {est['lo']:12.4g} {est['hi']:12.4g}  {est['method']}")
    return "\n".join(lines)


def user_caused(err: ValueError) -> bool:
    """True for the typed errors of bad input: empirical.errors, theory.errors, usage."""
    from empirical.errors import EmpiricalError

    return isinstance(err, EmpiricalError | UsageError) or type(err).__module__ == "theory.errors"


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` while the command runs (main thread only),
    so partial outputs are removed and Dask clusters closed as on Ctrl-C. A signal
    whose exception Python had to drop (raised inside a weakref callback or a
    ``__del__``, where it is "ignored") is delivered again 10 ms later, so it is
    neither lost nor printed as a traceback."""

    def handler(signum, frame):
        raise Terminated()

    def unraisable(info) -> None:
        if info.exc_type is not None and issubclass(info.exc_type, KeyboardInterrupt):
            signum = signal.SIGTERM if issubclass(info.exc_type, Terminated) else signal.SIGINT
            main_id = threading.main_thread().ident

            def again() -> None:
                if sys.unraisablehook is unraisable:  # the command still runs
                    signal.pthread_kill(main_id, signum)

            threading.Timer(0.01, again).start()
            return
        hook(info)

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    hook, sys.unraisablehook = sys.unraisablehook, unraisable
    try:
        yield
    finally:
        sys.unraisablehook = hook
        signal.signal(signal.SIGTERM, previous)


#: When main() started (the report's ``startup`` part counts from it).
_STARTED = time.perf_counter()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vaebounds`` console script."""
    global _STARTED
    _STARTED = time.perf_counter()
    argv = list(sys.argv[1:] if argv is None else argv)
    with _sigterm_raises():
        try:
            args = build_parser().parse_args(argv)
            if args.version:
                print(f"vaebounds {version()}")
                return 0
            if args.command is None:
                raise UsageError(f"give a command: {', '.join(COMMANDS)} (or --help)")
            return _run(args, argv)
        except ValueError as err:
            if not user_caused(err):
                raise  # an internal error keeps its traceback
            message = " ".join(str(err).split())
            print(f"vaebounds: error: {message}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except Terminated:
            print("vaebounds: terminated", file=sys.stderr)
            return EXIT_TERMINATED
        except KeyboardInterrupt:
            print("vaebounds: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
