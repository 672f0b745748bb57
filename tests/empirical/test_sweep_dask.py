"""A Dask sweep loses nothing: ``kill -9`` of its driver midway, then a re-run,
gives every grid point exactly once with the numbers of an uninterrupted
sweep (printed in grid order, whatever order they finished in, with the
combined exit code), and leaves no worker process behind; SIGTERM closes the
cluster. Each test starts one cluster, the costly part (workers import torch)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from empirical.conclusion import combined_exit_code
from empirical.settings import Settings
from empirical.sweep import RESULTS, run_sweep

pytest.importorskip("distributed", reason="the Dask executor needs dask[distributed] (vaebounds[dist])")
psutil = pytest.importorskip(
    "psutil", reason="finding worker processes needs psutil (installed with distributed)"
)

GRID = ("B=4,8,16,32",)
NUMBERS = ("bound", "observed", "observed_lo", "observed_hi", "per_seed", "ratio", "verdict", "C_gamma_used")


def _command(data: Path, out: Path) -> list[str]:
    # --no-stress: the executor's resume and shutdown are tested here, not the stress search
    argv = ["sweep", "--data", str(data), "--steps", "60", "--seeds", "1", "--no-stress"]
    argv += ["--executor", "dask", "--json"]
    return [sys.executable, "-m", "empirical.cli", *argv, *(f"--grid={g}" for g in GRID), "--out", str(out)]


def _rows(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / RESULTS).read_text().splitlines() if line.strip()]


def _wait_for_rows(folder: Path, count: int, proc: subprocess.Popen, timeout: float = 240) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if (folder / RESULTS).exists() and len(_rows(folder)) >= count:
            return
        assert proc.poll() is None, "the sweep ended before it could be interrupted"
        time.sleep(0.2)
    raise AssertionError(f"no {count} rows within {timeout} s")


def _stop_midway(data: Path, out: Path, signum: int) -> tuple[subprocess.Popen, list, bytes]:
    """Start the Dask sweep, send ``signum`` once its first row is written; (the process,
    its worker processes at that moment, its stderr)."""
    proc = subprocess.Popen(_command(data, out), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        _wait_for_rows(out, 1, proc)
        workers = _descendants(proc.pid)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc, workers, err


def _descendants(pid: int) -> list:
    return psutil.Process(pid).children(recursive=True)


def _gone(processes, timeout: float = 20.0) -> list:
    """The processes still alive after ``timeout`` seconds (zombies count as gone)."""
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    return [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.slow
def test_kill_9_midway_then_resume_gives_every_point_once_with_the_same_numbers(small_npy, tmp_path):
    out = tmp_path / "sweep"
    proc, workers, _ = _stop_midway(small_npy, out, signal.SIGKILL)  # kill -9: no cleanup in the driver
    assert workers, "the driver started no worker process"
    assert _gone(workers) == [], "worker processes outlived their driver"
    before = _rows(out)
    assert 1 <= len(before) < 4
    rerun = subprocess.run(_command(small_npy, out), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 4, rerun.stderr  # one run per point (--seeds 1): each inconclusive
    assert f"{len(before)} already done" in rerun.stderr
    printed = json.loads(rerun.stdout)  # every row, the finished ones included, in grid order
    assert [r["batch_size"] for r in printed] == [4, 8, 16, 32]
    assert combined_exit_code(r["exit_code"] for r in printed) == rerun.returncode
    rows = _rows(out)
    assert sorted(r["batch_size"] for r in rows) == [4, 8, 16, 32]  # each point exactly once
    reference = run_sweep(
        Settings(data=str(small_npy), steps=60, runs=1, stress=False),
        {"batch_size": (4, 8, 16, 32)},
        tmp_path / "ref",
    )
    by_b = {r["batch_size"]: r for r in rows}
    for ref in reference:
        got = by_b[ref["batch_size"]]
        assert {k: got[k] for k in NUMBERS} == {k: ref[k] for k in NUMBERS}, ref["batch_size"]


@pytest.mark.slow
def test_sigterm_closes_the_cluster_and_keeps_finished_rows(small_npy, tmp_path):
    out = tmp_path / "sweep"
    proc, workers, err = _stop_midway(small_npy, out, signal.SIGTERM)
    assert proc.returncode == 143 and b"Traceback" not in err, err.decode()
    assert _gone(workers, timeout=5.0) == []
    assert 1 <= len(_rows(out)) <= 4
