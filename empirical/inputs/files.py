"""The files a user gives and what each must hold (listed in docs/inputs.md), and
the check of a ``--data`` value before it is read. Imports no torch."""

from __future__ import annotations

import os
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
    """A file a user gives, and what it must hold."""

    name: str
    given_by: str
    rules: tuple[str, ...]


FILES: tuple[FileRule, ...] = (
    FileRule(
        "data file",
        "--data FILE.npy | FILE.csv; empirical.data.load",
        (
            "a file (not a folder) with suffix .npy (numpy, no pickles) or .csv (comma-separated, "
            "at most one header line)",
            f"at most {MAX_FILE_BYTES // 2**30} GiB and {MAX_DATA_VALUES} values (rows x columns), checked "
            "before it is read (a .npy by its header)",
            "numeric (int, float or bool), 2-D: rows are examples, columns features",
            "finite values with |x| <= 1e6 (MAX_ABS_DATA; standardise larger data)",
            f"at least {MIN_TRAIN_ROWS} rows left for training after the held-out split (--holdout)",
            "a model's data dimension: as many columns as the model's input (and at least its "
            "latent dimension, 8 by default)",
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
            "a report.json written by verify (its 'settings' object)",
            "a data file it names must still exist with the same sha256",
        ),
    ),
)


def check_data_source(value: Any, label: str = "data (--data)") -> str:
    """``value`` if it names a built-in data set or an existing, readable data file of
    at most :data:`MAX_FILE_BYTES` (checked without reading it)."""
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
    if path.suffix.lower() not in DATA_SUFFIXES:
        raise DataError(f"{label} {value}: unsupported file type {path.suffix!r}; give {allowed}")
    if not os.access(path, os.R_OK):
        raise DataError(f"{label} {value}: not readable (permissions)")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise DataError(f"{label} {value} has {size} bytes, above the limit of {MAX_FILE_BYTES} (1 GiB)")
    return value
