"""Writing an output folder as a whole or not at all.

Every output folder (a report, estimate.json, derivations) is built in a
temporary folder beside the target and swapped into place: on Linux by one
``renameat2(RENAME_EXCHANGE)`` of the two folders, elsewhere by two renames
with SIGINT and SIGTERM blocked between them. An interrupted or failed run
leaves either the previous complete folder or none, never a mixture. A
target folder that holds anything but that output's own files is refused
rather than replaced. Single files (a sweep's summary) go through a
temporary file renamed into place. Before any work, :func:`check_writable`
creates and removes a probe folder where the output will be written, so an
unwritable target is refused at once (exit 2), not after training.

Why outputs are written as a whole: docs/architecture.md, "Layout".
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

from empirical.errors import ConfigError
from empirical.inputs.rules import usable_path

#: The files of an estimate folder.
ESTIMATE_FILES = ("estimate.json",)
#: How messages name an output folder.
OUT = "output folder (--out)"
_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


def check_writable(target: Path, label: str = OUT, *, beside: bool = True) -> None:
    """Refuse a folder ``target`` that cannot be written, before any work.

    A probe folder is created and removed in it if it exists (its files are replaced or appended
    to) and, with ``beside``, in its parent (where a new folder is built and swapped in); else
    in the nearest existing folder above it (where the missing folders will be created). The
    probe asks the system itself, so read-only mounts, permissions, /proc and running as root
    are all answered truthfully.

    Args:
        target: An absolute folder path, not under a file (:func:`check_target`).
        label: How messages name it.
        beside: Whether the output is built beside ``target`` (a folder written as a whole).

    Raises:
        ConfigError: One line naming ``target``, the folder that cannot be written and why.
    """
    existing = next(p for p in [target, *target.parents] if p.exists())
    if existing == target:
        places = [target, target.parent] if beside and target.parent != target else [target]
    else:
        places = [existing]
    for place in places:
        try:
            os.rmdir(tempfile.mkdtemp(prefix=".vaebounds-probe.", dir=place))
        except OSError as err:
            where = "in it" if place == target else f"in {place}"
            reason = err.strerror or str(err)
            raise ConfigError(
                f"{label} {target}: cannot write {where} ({reason}); give a folder you can write"
            ) from None


def check_target(target: str | Path, own: Collection[str]) -> Path:
    """``target`` as an absolute folder path that may be (re)written.

    Args:
        target: The folder given.
        own: The files a previous output of the same kind holds (only those may be replaced).

    Returns:
        The absolute path: not empty, not a file, not under a file, holding only files of
        ``own`` if it exists, and writable (:func:`check_writable`).

    Raises:
        ConfigError: One line saying which of these fails.
    """
    target = usable_path(OUT, target).absolute()
    check_not_under_a_file(target)
    if target.is_dir():
        foreign = sorted(p.name for p in target.iterdir() if p.name not in own)
        if foreign:
            raise ConfigError(
                f"output folder (--out) {target} holds other files ({', '.join(foreign[:3])}"
                f"{', ...' if len(foreign) > 3 else ''}); give a new folder or a previous output's"
            )
    check_writable(target)
    return target


def check_not_under_a_file(target: Path, label: str = OUT) -> None:
    """Refuse a ``target`` that is, or is under, something that is not a folder.

    Args:
        target: The folder path.
        label: How messages name it.

    Raises:
        ConfigError: ``target`` or a folder above it exists and is not a folder.
    """
    for parent in [target, *target.parents]:
        if parent.exists() and not parent.is_dir():
            where = "exists and is not a folder" if parent == target else f"is under the file {parent}"
            raise ConfigError(f"{label} {target} {where}")


def write_folder(target: str | Path, fill: Callable[[Path], None], own: Collection[str]) -> Path:
    """Create folder ``target`` with the files ``fill(tmp)`` writes into an empty temporary folder.

    The temporary folder is swapped in only when ``fill`` has finished: a reader sees the old
    output or the new one, never a mixture.

    Args:
        target: The output folder.
        fill: Writes the files into the temporary folder it is given.
        own: The files a previous ``target`` may hold (it is replaced only then).

    Returns:
        The folder written.
    """
    target = check_target(target, own)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"output folder (--out) {target}: cannot create its parent ({err})") from None
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        fill(tmp)
        _swap_in(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # the new folder if it failed, else the old one
    return target


def _swap_in(tmp: Path, target: Path) -> None:
    """Move ``tmp`` to ``target``; a previous ``target`` ends up at ``tmp``."""
    if not target.exists():
        os.rename(tmp, target)
        return
    if _exchange(tmp, target):
        return
    old = tmp.with_name(tmp.name + ".old")
    with _signals_blocked():
        os.rename(target, old)
        os.rename(tmp, target)
    os.rename(old, tmp)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    done = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0
    return done


@contextmanager
def _signals_blocked() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    blocked = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def write_file(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed into place.

    Args:
        path: The file.
        text: Its new content.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_derivation_folder(out: str | Path, only: tuple[str, str, str] | None = None) -> list[Path]:
    """``vaebounds derive``: the derivation pages of the registered bounds.

    Args:
        out: The folder (derivations/): every page written as a whole, with README.md the
            generated table of theorems (a previous one is kept only if none is generated).
        only: (model, optimizer, variant): that one page written into the folder, the others left.

    Returns:
        The paths written.
    """
    from theory.catalog import registered
    from theory.derive import file_name, page
    from theory.derive import write_derivations as render_into

    names = {file_name(*key) for key in registered()}
    own = {*names, "README.md"}
    previous = check_target(out, own)
    if only is not None:
        name, text = page(*only)
        previous.mkdir(parents=True, exist_ok=True)
        path = previous / name
        write_file(path, text)
        return [path]

    def fill(tmp: Path) -> None:
        render_into(tmp)
        readme = previous / "README.md"
        if readme.is_file() and not (tmp / "README.md").exists():  # theory writes its own table there
            shutil.copy2(readme, tmp / "README.md")

    folder = write_folder(previous, fill, own)
    return sorted(folder / name for name in names)
