"""Text of report.md's numbers and table cells, read from report.json's content.

report.json writes an infinite interval end as the string ``"inf"`` (``"-inf"``): JSON has no
infinity (:func:`empirical.report.content.json_number`). Every number report.md prints from that
content goes through :func:`number`, which reads such an end back, so an interval with an
infinite end (two runs of very different size, say) is printed as ``[-inf, 3.2]`` rather than
stopping the report.
"""

from __future__ import annotations


def number(x: float | str | None) -> str:
    """A number of report.json as report.md prints it (4 significant digits).

    Args:
        x: A number, ``"inf"`` / ``"-inf"`` (an infinite interval end in report.json), or None.

    Returns:
        ``x`` to 4 significant digits, ``"inf"`` / ``"-inf"`` for an infinite one, ``"—"`` for None.
    """
    return "—" if x is None else f"{float(x):.4g}"


def cell(text: object) -> str:
    """Text safe inside a Markdown table cell (no ``|``, no line break).

    Args:
        text: Anything; its ``str``.

    Returns:
        The text with ``|`` escaped and line breaks as spaces.
    """
    return str(text).replace("|", "\\|").replace("\n", " ")
