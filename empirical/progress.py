"""Progress of a run.

A callback taking one line of text (and the silent one, which also turns off the bars), one bar
per phase (:func:`bar`), and the seconds spent per part (:class:`Timings`, the report's
``timings``). Imports no torch.

A bar is drawn (tqdm, carriage returns) only when stderr is a terminal; otherwise it prints a
plain line at most every :data:`PLAIN_EVERY` seconds (no carriage-return floods in logs).

Where progress is reported in the flow: docs/architecture.md, "How a question flows".
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

Progress = Callable[[str], None]

#: Seconds between two plain progress lines when stderr is not a terminal.
PLAIN_EVERY = 30.0


def silent(_: str) -> None:
    """The progress callback that prints nothing (and turns off the bars).

    Args:
        _: The line, dropped.
    """
    return None


def interactive(stream: TextIO | None = None) -> bool:
    """Whether bars may redraw in place.

    Args:
        stream: The stream (default stderr).

    Returns:
        True when it is a terminal.
    """
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _Plain:
    """A bar's stand-in off a terminal: ``name: done/total unit`` at most every PLAIN_EVERY s."""

    def __init__(self, name: str, total: int, unit: str, stream: TextIO) -> None:
        self.name, self.total, self.unit, self.stream = name, total, unit, stream
        self.n, self.last = 0, time.monotonic()

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self.last >= PLAIN_EVERY and self.n < self.total:
            self.last = now
            print(f"vaebounds: {self.name}: {self.n}/{self.total} {self.unit}", file=self.stream, flush=True)

    def close(self) -> None:
        return None


class _Off:
    """The bar under :func:`silent`: draws nothing."""

    def update(self, n: int = 1) -> None:
        return None

    def close(self) -> None:
        return None


@contextmanager
def bar(
    progress: Progress, name: str, total: int, unit: str = "step", stream: TextIO | None = None
) -> Iterator[Any]:
    """One phase's bar (``update(n)``).

    Nothing under :func:`silent`, tqdm on a terminal, plain lines at a low rate otherwise.

    Args:
        progress: The run's progress callback.
        name: The phase and, for runs trained one after the other, which run (``training run
            2/4``): one bar per run counts that run's steps, so its rate and ETA are the run's.
        total: The units of the phase.
        unit: Their name.
        stream: Where the bar goes (default stderr).

    Yields:
        The bar; ``update(n)`` counts n more units.
    """
    stream = sys.stderr if stream is None else stream
    if progress is silent:
        shown: Any = _Off()
    elif interactive(stream):
        from tqdm.auto import tqdm

        shown = tqdm(total=total, desc=name, unit=unit, file=stream, leave=False)
    else:
        shown = _Plain(name, total, unit, stream)
    try:
        yield shown
    finally:
        shown.close()


class Timings(dict):
    """Seconds spent per part (part -> seconds), added up with :meth:`part`."""

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        """Add the seconds the block takes to part ``name``.

        Args:
            name: The part (the report's ``timings`` key).

        Yields:
            Nothing; the block's wall time is added when it ends.
        """
        started = time.perf_counter()
        try:
            yield
        finally:
            self[name] = self.get(name, 0.0) + time.perf_counter() - started
