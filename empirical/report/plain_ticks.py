r"""Log-axis tick labels as plain Unicode text (10⁻¹, 2×10⁰) rather than mathtext.

matplotlib labels a log or symlog axis with :class:`~matplotlib.ticker.LogFormatterSciNotation`,
whose labels are mathtext (``$\mathdefault{10^{-1}}$``): the first one builds matplotlib's
mathtext parser and each is parsed, about a third of a second of a verify report (issue 24:
fixed costs). The same labels in Unicode superscripts say the same and are laid out as plain
text. The figures' own labels are written in Unicode too (``‖∇F(θₖ)‖²``), so a report parses
no mathtext at all.
"""

from __future__ import annotations

import re
from typing import Any

from matplotlib.ticker import LogFormatterSciNotation

#: Digits and the minus sign of an exponent, as superscripts.
SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_MATH = re.compile(r"^\$\\mathdefault\{(.*)\}\$$")
_POWER = re.compile(r"\^\{(-?\d+)\}")


def plain(label: str) -> str:
    r"""A log formatter's mathtext label in Unicode: ``$\mathdefault{-2\times10^{-3}}$`` -> −2×10⁻³.

    Args:
        label: The label (mathtext, or empty).

    Returns:
        The same number in plain text; ``label`` unchanged when it is not one of the forms
        matplotlib's log formatters write (sign, coefficient, ``\times``, base, integer power).
    """
    match = _MATH.match(label)
    if match is None:
        return label
    text = _POWER.sub(lambda m: m.group(1).translate(SUPERSCRIPT), match.group(1).replace(r"\times", "×"))
    if any(c in text for c in "\\^{}$"):
        return label
    return "−" + text[1:] if text.startswith("-") else text


class PlainLogFormatter(LogFormatterSciNotation):
    """matplotlib's log-axis formatter, its labels in plain text (:func:`plain`)."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        """The label of the tick at ``x``.

        Args:
            x: The tick's value.
            pos: Its position.

        Returns:
            The label matplotlib writes, in plain text.
        """
        return plain(super().__call__(x, pos))


def plain_log_ticks(fig: Any) -> None:
    """Label every log and symlog axis of ``fig`` in plain text (its formatters' own settings kept).

    Args:
        fig: A Figure, drawn but not yet laid out.
    """
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for fmt in (axis.get_major_formatter(), axis.get_minor_formatter()):
                if type(fmt) is LogFormatterSciNotation:  # the scales' default, mathtext
                    fmt.__class__ = PlainLogFormatter
