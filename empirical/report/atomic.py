"""Writing a report as a whole or not at all.

The report is built in a temporary folder beside the target and renamed into
place: an interrupted or failed run leaves either the previous complete
report or none, never a mixture. A target folder that holds anything but a
report's own files is refused rather than replaced.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Collection
from pathlib import Path

from empirical.errors import ConfigError


def write_folder(target: str | Path, fill: Callable[[Path], None], own: Collection[str]) -> Path:
    """Create folder ``target`` with the files ``fill(tmp)`` writes into an empty
    temporary folder; replace a previous ``target`` whose files are all in ``own``."""
    if str(target).strip() == "":
        raise ConfigError("output folder (--out) must be a path, got an empty string")
    target = Path(target).expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise ConfigError(f"output folder (--out) {target} exists and is not a folder")
    if target.is_dir():
        foreign = sorted(p.name for p in target.iterdir() if p.name not in own)
        if foreign:
            raise ConfigError(
                f"output folder (--out) {target} holds other files ({', '.join(foreign[:3])}"
                f"{', ...' if len(foreign) > 3 else ''}); give a new folder or a previous report's"
            )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as err:
        raise ConfigError(f"output folder (--out) {target}: a parent is not a folder ({err})") from None
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        fill(tmp)
        if target.exists():
            old = tmp.with_name(tmp.name + ".old")
            os.rename(target, old)
            os.rename(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def write_file(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
