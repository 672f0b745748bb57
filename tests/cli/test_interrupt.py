"""Interrupting ``verify`` (SIGINT, SIGTERM) at any moment, the report write
included, leaves either no report or one complete report; a previous complete
report stays intact unless a new complete one replaced it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import empirical.pipeline.pipeline as pipeline_module
import empirical.report.atomic as atomic
import empirical.report.markdown as markdown
import empirical.report.verify_figures as verify_figures
from empirical.cli import EXIT_INTERRUPTED, EXIT_TERMINATED, main
from empirical.progress import silent
from empirical.report import FILES
from empirical.settings import Settings

EXIT = {signal.SIGINT: EXIT_INTERRUPTED, signal.SIGTERM: EXIT_TERMINATED}
PNG = b"\x89PNG\r\n\x1a\n"


def _args(data, out):
    """A small verify; --no-stress: what is interrupted is the run and the report write, not the search."""
    argv = ["verify", "--data", str(data), "--steps", "12", "--seeds", "2", "--no-stress"]
    return [*argv, "--out", str(out), "--quiet"]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def assert_complete(folder: Path) -> dict:
    """A complete report: exactly its files, report.json parses, report.md and
    the figures are whole and agree with it."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
    data = json.loads((folder / "report.json").read_text())
    md = (folder / "report.md").read_text()
    assert data["headline"] in md and f"{data['bound']['value']:.4g}" in md
    for name in FILES:
        if name.endswith(".png"):
            raw = (folder / name).read_bytes()
            assert raw.startswith(PNG) and raw.rstrip().endswith(b"IEND\xaeB`\x82"), name
    return data


def assert_no_or_one_report(out: Path, previous: dict[str, bytes] | None) -> str:
    """The outcome: "none", "previous" (byte-identical) or "new" (complete); no temporary folder left."""
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".")) == []
    if not out.exists():
        assert previous is None, "the previous report was lost"
        return "none"
    if previous is not None and _snapshot(out) == previous:
        return "previous"
    assert_complete(out)
    return "new"


@pytest.fixture(scope="module")
def finished(small_npy, tmp_path_factory):
    """One finished result and a complete report of it (the 'previous' report)."""
    folder = tmp_path_factory.mktemp("previous") / "report"
    result = pipeline_module.verify(
        Settings(data=str(small_npy), steps=12, runs=2, stress=False), progress=silent
    )
    assert main(_args(small_npy, folder)) == result.exit_code  # the CLI exits with the result's verdict
    return result, _snapshot(folder)


#: Moments inside the report write: (module, function) to wrap, and whether the
#: signal comes before or after the wrapped call.
MOMENTS = [
    (pipeline_module, "train_runs", "before"),
    (verify_figures, "write_figures", "before"),  # report.json written in the temporary folder
    (markdown, "markdown", "before"),  # figures written
    (atomic, "_swap_in", "before"),  # everything written, not yet in place
    (atomic, "_swap_in", "after"),  # in place, before the old one is removed
]


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("moment", range(len(MOMENTS)))
@pytest.mark.parametrize("with_previous", [False, True])
def test_a_signal_during_verify_leaves_no_report_or_one_complete(
    small_npy, finished, tmp_path, monkeypatch, signum, moment, with_previous
):
    result, previous = finished
    module, name, when = MOMENTS[moment]
    if name != "train_runs":  # the report write: reuse the finished result
        monkeypatch.setattr(pipeline_module, "verify", lambda settings, progress=None, **_: result)
    original = getattr(module, name)

    def interrupted(*args, **kwargs):
        if when == "before":
            os.kill(os.getpid(), signum)
        out = original(*args, **kwargs)
        os.kill(os.getpid(), signum)
        return out

    monkeypatch.setattr(module, name, interrupted)
    out = tmp_path / "report"
    if with_previous:
        out.mkdir()
        for file, raw in previous.items():
            (out / file).write_bytes(raw)
    code = main(_args(small_npy, out))
    assert code == EXIT[signum]
    outcome = assert_no_or_one_report(out, previous if with_previous else None)
    assert outcome == ("new" if when == "after" else "previous" if with_previous else "none")


@pytest.mark.slow
def test_signals_at_random_moments_of_a_real_process(small_npy, finished, tmp_path):
    """The CLI in its own process, signalled at a random time of a whole run: SIGINT with no
    report before, SIGTERM over a previous one (every moment of the report write, each signal,
    with and without a previous report, is in the test above, in process)."""
    result, previous = finished
    rng = np.random.default_rng(11)

    def cmd(out):
        return [sys.executable, "-m", "empirical.cli", *_args(small_npy, out)]

    start = time.perf_counter()
    assert subprocess.run(cmd(tmp_path / "timing")).returncode == result.exit_code
    duration = time.perf_counter() - start
    outcomes = []
    for i, signum in enumerate([signal.SIGINT, signal.SIGTERM]):
        out = tmp_path / f"run{i}" / "report"
        out.mkdir(parents=True)
        with_previous = i % 2 == 1
        if with_previous:
            for file, raw in previous.items():
                (out / file).write_bytes(raw)
        else:
            out.rmdir()
        proc = subprocess.Popen(cmd(out), stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.3, 1.1) * duration)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
        # a run that finished before the signal exits with the finished run's verdict; -signum:
        # the signal came before the CLI installed its handlers (while Python imports) or after
        # it restored them; the report is then absent or complete
        assert proc.returncode in (result.exit_code, EXIT[signum], -signum), err.decode()
        assert b"Traceback" not in err, err.decode()
        outcomes.append(assert_no_or_one_report(out, previous if with_previous else None))
        if proc.returncode == EXIT[signum] and not with_previous:
            assert outcomes[-1] in ("none", "new")
    assert len(outcomes) == 2
