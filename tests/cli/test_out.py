"""An output folder that cannot be written is refused by every sub-command before
any work starts: exit 2, one line naming the folder and why, nothing created
(it used to raise PermissionError or FileNotFoundError after training).

The check creates and removes a probe where the output goes, so it answers as the
system does. Tests may run as root, whom ``chmod`` does not stop: a read-only
folder is then writable, and the expected outcome is taken from the system too
(the command must refuse exactly when a write there fails). A path under /proc
is unwritable for every user, so that case is refused either way.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

import empirical.pipeline.pipeline as pipeline_module
import theory.derive
from empirical import sweep
from empirical.cli import main

PROC = Path("/proc/vaebounds-never/out")


class Reached(BaseException):
    """The command got past its checks to the work (stubbed out here)."""


@pytest.fixture
def no_work(monkeypatch):
    """Every sub-command's work raises Reached instead of running."""

    def stop(*args, **kwargs):
        raise Reached()

    for name in ("verify", "estimate_constants", "prepare"):
        monkeypatch.setattr(pipeline_module, name, stop)
    monkeypatch.setattr(sweep, "summarise", stop)
    monkeypatch.setattr(theory.derive, "write_derivations", stop)
    monkeypatch.setattr(theory.derive, "page", stop)


def _argv(command: str, data: Path, out: Path) -> list[str]:
    return {
        "verify": ["verify", "--data", str(data)],
        "estimate": ["estimate", "--data", str(data)],
        "sweep": ["sweep", "--data", str(data), "--grid", "B=4"],
        "derive": ["derive"],
        "derive one": ["derive", "gaussian", "sgd"],
    }[command] + ["--out", str(out)]


def _label(command: str) -> str:
    return "sweep output folder (--out)" if command == "sweep" else "output folder (--out)"


def _writable(folder: Path) -> bool:
    """Whether the system lets this process create a folder in ``folder``."""
    try:
        os.rmdir(tempfile.mkdtemp(dir=folder))
    except OSError:
        return False
    return True


@pytest.fixture
def read_only(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


COMMANDS = ["verify", "estimate", "sweep", "derive", "derive one"]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_folder_under_proc_is_refused_before_any_work(command, small_npy, no_work, capsys):
    assert main(_argv(command, small_npy, PROC)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{_label(command)} {PROC}: cannot write in /proc (" in err
    assert not PROC.parent.exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_new_folder_in_a_read_only_folder_is_refused_exactly_when_writes_fail(
    command, small_npy, no_work, read_only, capsys
):
    out = read_only / "report"
    if _writable(read_only):  # root: chmod does not stop writes, so the run goes on
        with pytest.raises(Reached):
            main(_argv(command, small_npy, out))
        return
    assert main(_argv(command, small_npy, out)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{_label(command)} {out}: cannot write in {read_only} (" in err
    assert not out.exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_an_existing_read_only_output_folder_is_refused_exactly_when_writes_fail(
    command, small_npy, no_work, read_only, capsys
):
    """Its files would be replaced (or appended to, by a sweep): the folder itself must be writable."""
    if _writable(read_only):
        with pytest.raises(Reached):
            main(_argv(command, small_npy, read_only))
        return
    assert main(_argv(command, small_npy, read_only)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{_label(command)} {read_only}: cannot write in it (" in err


def test_a_read_only_results_file_stops_a_sweep_before_any_point(small_npy, no_work, tmp_path, capsys):
    results = tmp_path / "s" / sweep.RESULTS
    results.parent.mkdir()
    results.write_text("")
    results.chmod(0o444)
    try:
        os.close(os.open(results, os.O_WRONLY | os.O_APPEND))
        appendable = True
    except OSError:
        appendable = False
    argv = _argv("sweep", small_npy, results.parent)
    if appendable:  # root
        with pytest.raises(Reached):
            main(argv)
        return
    assert main(argv) == 2
    assert f"{results} cannot be appended to (" in capsys.readouterr().err
