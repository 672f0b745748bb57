"""The CSV reader of :func:`empirical.data.load`: comma-separated numbers, at most one header line.

The first line (empty lines and ``#`` comments aside) is a header when none of its fields is
a number, and it must then name every column of the first data line; a first line that mixes
numbers and other text, or has an empty field, is refused as a bad field of any other line
is. numpy reads the numbers; when it refuses the file, the lines are read again here to name
the first bad one. Every message names the file's line (1-based, counting the header, empty
and comment lines) and the column (1-based). Imports no torch.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from empirical.errors import DataError
from empirical.inputs.rules import shown

#: What a data field holds, for the messages.
NUMBER = "a number such as 3, -0.5 or 1e-3"

#: What the first line may be, for the messages.
FIRST_LINE = (
    "the first line is either a header (a name in every column, no numbers) "
    "or data (a number in every column)"
)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text before any '#') of the lines numpy reads as rows.

    Lines end at LF, CR LF or CR, as numpy's reader ends them; a line with no text before
    '#' is skipped, as numpy skips it (a line of spaces is not: it is one empty field).
    """
    number = 0
    with path.open("rb") as fh:
        for raw in fh:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise DataError(
                    f"{path}: line {number + 1} is not UTF-8 text (byte {err.start + 1} of the line); "
                    "save the CSV file as UTF-8"
                ) from None
            if number == 0:
                text = text.removeprefix("\ufeff")  # a byte-order mark
            for part in text.removesuffix("\n").removesuffix("\r").split("\r"):
                number += 1
                content = part.split("#", 1)[0]
                if content:
                    yield number, content


def _fields(text: str) -> Iterator[str]:
    """The comma-separated fields of a line, one at a time (a line may be long)."""
    start = 0
    while (end := text.find(",", start)) >= 0:
        yield text[start:end]
        start = end + 1
    yield text[start:]


def _is_number(field: str) -> bool:
    """Whether numpy reads the field as a float64 (ASCII, no '_', surrounding spaces allowed)."""
    text = field.strip()
    if not text.isascii() or "_" in text:
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


def _field_problem(number: int, column: int, field: str) -> str:
    """What is wrong with a field that is not a number."""
    if not field.strip():
        return f"line {number}, column {column} is empty"
    return f"line {number}, column {column}: {shown(field.strip())} is not a number"


def _is_header(path: Path, number: int, text: str) -> bool:
    """Whether the first line is a header (no field a number, none empty) rather than data.

    Raises:
        DataError: A line that is neither: numbers mixed with text or empty fields, or names
            with an empty field.
    """
    numbers, empty, name = 0, None, None
    for column, field in enumerate(_fields(text), 1):
        if _is_number(field):
            numbers += 1
        elif not field.strip():
            empty = empty or (column, field)
        else:
            name = name or (column, field)
    if empty is None and name is None:
        return False
    if numbers == 0 and empty is None:
        return True
    problem = min(p for p in (empty, name) if p is not None) if numbers else empty  # the first bad column
    also = ", but the line also holds numbers" if numbers else ""
    raise DataError(f"{path}: {_field_problem(number, *problem)}{also}; {FIRST_LINE}")


def _data_problem(number: int, text: str, first: int, width: int) -> str | None:
    """What is wrong with a data line (a field count other than ``width``, a field not a number)."""
    count, problem = 0, None
    for count, field in enumerate(_fields(text), 1):
        if problem is None and not _is_number(field):
            problem = _field_problem(number, count, field)
    if count != width:
        return (
            f"line {number} has {count} field{'s' * (count != 1)}, the first data line (line {first}) "
            f"has {width}; every data line needs one field per column"
        )
    return None if problem is None else f"{problem}; a data field holds {NUMBER}"


def _first_problem(path: Path, header: int) -> str | None:
    """The first bad data line's message (None if none is found), the lines after ``header`` read."""
    first = width = None
    for number, text in _lines(path):
        if number <= header:
            continue
        if first is None:
            first, width = number, sum(1 for _ in _fields(text))
        problem = _data_problem(number, text, first, width)
        if problem is not None:
            return problem
    return None


def _line_of(path: Path, header: int, row: int) -> int:
    """The line number of data row ``row`` (0-based), the lines after ``header`` read."""
    rows = (number for number, _ in _lines(path) if number > header)
    return next(number for index, number in enumerate(rows) if index == row)


def _header_line(path: Path) -> int:
    """The line number of the header, 0 for none.

    Raises:
        DataError: An empty file, a header alone, a first line neither header nor data, or a
            header not naming every column.
    """
    lines = _lines(path)
    try:
        first = next(lines, None)
        if first is None:
            raise DataError(f"{path}: the CSV file is empty")
        if not _is_header(path, *first):
            return 0
        data = next(lines, None)
    finally:
        lines.close()
    if data is None:
        raise DataError(f"{path}: the CSV file has no data rows (a header at most)")
    names, width = (sum(1 for _ in _fields(text)) for _, text in (first, data))
    if names != width:
        raise DataError(
            f"{path}: the header (line {first[0]}) has {names} name{'s' * (names != 1)}, the first data "
            f"line (line {data[0]}) has {width} field{'s' * (width != 1)}; give one name per column, "
            "or no header line"
        )
    return first[0]


def read_csv(path: Path) -> tuple[np.ndarray, Callable[[int, int], str]]:
    """A comma-separated file of numbers with at most one header line (module docstring).

    Args:
        path: The file (an existing regular file).

    Returns:
        The numbers as a float64 array (rows, columns), and ``where(row, column)``: the
        file's line and column of a (0-based) index of the array, for messages.

    Raises:
        DataError: An empty file or a header alone; a first line neither a header nor data; a
            header not naming every column; a line with an empty field, a field not a number
            or another number of fields than the first data line; text not UTF-8. The message
            names the line and column.
    """
    header = _header_line(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data": checked below
            table = np.loadtxt(
                path, delimiter=",", ndmin=2, skiprows=header, dtype=np.float64, encoding="utf-8-sig"
            )
    except ValueError as err:  # UnicodeDecodeError too
        problem = _first_problem(path, header)
        if problem is None:  # numpy refuses what the lines here accept: its own words
            problem = f"CSV is not numeric ({' '.join(str(err).split(';')[0].split())[:120]})"
        raise DataError(f"{path}: {problem}") from None
    if table.size == 0:
        raise DataError(f"{path}: the CSV file has no data rows")

    def where(row: int, column: int) -> str:
        return f"line {_line_of(path, header, int(row))}, column {int(column) + 1}"

    return table, where
