"""The ``vaebounds`` command: verify | estimate | derive | sweep | advise.

Its options are the inventory of :mod:`empirical.inputs` (names, ranges, defaults, help); the
values are parsed into :class:`empirical.settings.Settings` and the runner
(:mod:`empirical.runner`) does the rest. Exit codes (docs/architecture.md, "Verdict"; the rule
of :mod:`empirical.decision`): 0 the bound holds at the estimated constants, 1 it is violated, 2
bad input (one line on stderr, no traceback), 3 not covered (an assumption of the theorem fails
on the run, or is only approximate without ``--approximate-ok``; the comparison is still
reported, for reference), 4 inconclusive (the bound lies inside the interval, or one run: one
run cannot estimate an expectation; the comparison is still reported), 130 interrupted (SIGINT),
143 terminated (SIGTERM). A sweep exits with the first of 1, 3, 4, 0 that any of its points has.
An internal error keeps its traceback.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from empirical.cli_commands import format_constants
from empirical.cli_parser import COMMANDS, UsageError, build_parser, resolve, settings_from, version

__all__ = [
    "COMMANDS",
    "EXIT_BAD_INPUT",
    "EXIT_INTERRUPTED",
    "EXIT_TERMINATED",
    "Terminated",
    "UsageError",
    "build_parser",
    "format_constants",
    "main",
    "resolve",
    "settings_from",
    "user_caused",
    "version",
]

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that cleanups run as on Ctrl-C."""


def user_caused(err: ValueError) -> bool:
    """Whether an error is the user's: bad input, printed as one line with exit code 2.

    Args:
        err: The error raised.

    Returns:
        True for the typed errors of bad input (empirical.errors, theory.errors, usage); False
        for an internal error, which keeps its traceback.
    """
    from empirical.errors import EmpiricalError

    return isinstance(err, EmpiricalError | UsageError) or type(err).__module__ == "theory.errors"


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` while the command runs (main thread only).

    So partial outputs are removed and Dask clusters closed as on Ctrl-C. A signal whose
    exception Python had to drop (raised inside a weakref callback or a ``__del__``, where it
    is "ignored") is delivered again 10 ms later, so it is neither lost nor printed as a
    traceback.
    """

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
    """Entry point of the ``vaebounds`` console script.

    Args:
        argv: The arguments (default ``sys.argv[1:]``).

    Returns:
        The exit code (the module docstring): the verdict's, 2 for bad input (one line on
        stderr), 130 interrupted, 143 terminated.
    """
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
            from empirical.cli_commands import run

            return run(args, argv, _STARTED)
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
