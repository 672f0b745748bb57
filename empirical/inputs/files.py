"""The files a user gives and what each must hold, and the check of a ``--data`` value before it is read.

Listed in docs/inputs.md, "Files". Imports no torch.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Any

from empirical.errors import ConfigError, DataError
from empirical.inputs.limits import (
    DATA_NAMES,
    DATA_SUFFIXES,
    MAX_DATA_VALUES,
    MAX_FILE_BYTES,
    MIN_TRAIN_ROWS,
)
from empirical.inputs.rules import shown, usable_path


@dataclass(frozen=True)
class FileRule:
    """A file a user gives, and what it must hold.

    Attributes:
        name: The file's name.
        given_by: Where it is given (the option or function).
        rules: What it must hold, one rule per entry.
    """

    name: str
    given_by: str
    rules: tuple[str, ...]


FILES: tuple[FileRule, ...] = (
    FileRule(
        "data file",
        "--data FILE.npy | FILE.csv; empirical.data.load",
        (
            "a regular file (not a folder, FIFO, device or socket: refused before it is opened) with "
            "suffix .npy (numpy, no pickles) or .csv (UTF-8 text, comma-separated; a UTF-8 byte-order "
            "mark is read as such)",
            "a .csv holds a number in every field and as many fields on every line as on the first data "
            "line; empty lines and text after # are skipped; its first line is a header when none of its "
            "fields is a number, and it must then name every column; a first line mixing numbers with "
            "text or empty fields is refused, as any other bad line is, with its line and column "
            "(1-based, counting the header)",
            f"at most {MAX_FILE_BYTES // 2**30} GiB and {MAX_DATA_VALUES} values (rows x columns), checked "
            "before it is read (a .npy by its header)",
            "numeric (int, float or bool), 2-D: rows are examples, columns features",
            "finite values with |x| <= 1e6 (MAX_ABS_DATA; standardise larger data)",
            f"at least {MIN_TRAIN_ROWS} rows left for training after the held-out split (--holdout)",
            "a model's data dimension: as many columns as the model's input (and at least "
            "--latent-dim when given; the built-in models' default latent dimension is min(8, columns))",
        ),
    ),
    FileRule(
        "results.jsonl",
        "sweep --out FOLDER (read on resume)",
        (
            "one JSON object per line, each with the key of its grid point",
            "an incomplete last line (an interrupted write) is reported with the file name and "
            "dropped; its point runs again",
            "any other line that is not a result row stops the sweep with its line number (exit 2)",
        ),
    ),
    FileRule(
        "report.json",
        "verify --from FILE",
        (
            "a report.json written by verify (its 'settings', 'bound' and 'verdict'); an "
            "estimate.json, a sweep's results.jsonl or any other JSON is refused, named",
            "a data file it names must still exist with the same sha256",
        ),
    ),
)


#: What a path that exists names, by its stat mode (symbolic links followed).
_KINDS = (
    (stat.S_ISREG, "regular file"),
    (stat.S_ISDIR, "folder"),
    (stat.S_ISFIFO, "FIFO (named pipe)"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISSOCK, "socket"),
)


def file_kind(path: os.PathLike | str) -> str:
    """What an existing path is ("regular file", "folder", "FIFO (named pipe)", ...).

    Read from its metadata without opening it.

    Args:
        path: an existing path.

    Returns:
        The kind, "special file" for any other.
    """
    mode = os.stat(path).st_mode
    return next((kind for test, kind in _KINDS if test(mode)), "special file")


def check_data_source(value: Any, label: str = "data (--data)") -> str:
    """A ``--data`` value, checked without reading the file.

    Args:
        value: A built-in data set's name or a file path.
        label: The input's name, for the message.

    Returns:
        ``value``.

    Raises:
        DataError: Not a built-in name, and not an existing, readable, regular .npy/.csv file of
            at most :data:`MAX_FILE_BYTES`.
    """
    allowed = f"one of {', '.join(DATA_NAMES)} or a {'/'.join(DATA_SUFFIXES)} file"
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise DataError(f"{label} must be {allowed}, got {shown(value)}")
    if value in DATA_NAMES:
        return value
    try:
        path = usable_path(label, value)
    except ConfigError as err:
        raise DataError(str(err)) from None
    if path.is_dir():
        raise DataError(f"{label} {value} is a folder; give {allowed}")
    if not path.exists():
        if path.suffix.lower() in DATA_SUFFIXES:
            raise DataError(f"{label} {value}: no such file")
        raise DataError(f"{label} {shown(value)} is neither a built-in data set nor a file; give {allowed}")
    kind = file_kind(path)
    if kind != "regular file":  # reading a FIFO waits for a writer; a device never ends
        raise DataError(f"{label} {value} is a {kind}, not a regular file; give {allowed}")
    if path.suffix.lower() not in DATA_SUFFIXES:
        raise DataError(f"{label} {value}: unsupported file type {path.suffix!r}; give {allowed}")
    if not os.access(path, os.R_OK):
        raise DataError(f"{label} {value}: not readable (permissions)")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise DataError(f"{label} {value} has {size} bytes, above the limit of {MAX_FILE_BYTES} (1 GiB)")
    return value
