"""Progress messages of a run: a callback taking one line of text, and the
silent one (which also turns off the training bar). Imports no torch."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], None]


def silent(_: str) -> None:
    """The progress callback that prints nothing (and turns off the training bar)."""
    return None
