"""A Dask sweep loses nothing: ``kill -9`` of its driver midway, then a re-run,
gives every grid point exactly once with the numbers of an uninterrupted
sweep (printed in grid order, whatever order they finished in, with the
combined exit code), and leaves no worker process behind; SIGTERM closes the
cluster. Each of those tests starts one cluster, the costly part (workers import
torch). While the cluster is up an interrupt waits for the driver's next check
(never inside a Dask call); a closing worker's failed heartbeat is not logged, a
running one's is."""

from __future__ import annotations

import inspect
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import pytest

from empirical.conclusion import combined_exit_code
from empirical.settings import Settings
from empirical.sweep import RESULTS, run_sweep

pytest.importorskip("distributed", reason="the Dask executor needs dask[distributed] (vaebounds[dist])")
psutil = pytest.importorskip(
    "psutil", reason="finding worker processes needs psutil (installed with distributed)"
)

# after the importorskip above: these import distributed
from distributed.core import Status  # noqa: E402
from distributed.worker import Worker  # noqa: E402

from empirical.sweep_dask import (  # noqa: E402
    HEARTBEAT_FAILED,
    ClosingHeartbeat,
    QuietWhileClosing,
    _in_finish_order,
    interrupts_deferred,
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


class _Worker:
    def __init__(self, status):
        self.status = status


def _heartbeat_failure(message: str = HEARTBEAT_FAILED) -> logging.LogRecord:
    try:
        raise OSError("Stream is closed")
    except OSError:
        return logging.makeLogRecord(
            {
                "name": "distributed.worker",
                "levelno": logging.ERROR,
                "msg": message,
                "exc_info": sys.exc_info(),
            }
        )


def test_the_filtered_message_is_the_one_distributed_logs_on_a_failed_heartbeat():
    assert f'logger.exception("{HEARTBEAT_FAILED}")' in inspect.getsource(Worker.heartbeat)


@pytest.mark.parametrize(
    ("status", "logged"),
    [
        (Status.running, True),
        (Status.closing_gracefully, True),
        (Status.closing, False),
        (Status.closed, False),
    ],
)
def test_a_failed_heartbeat_is_dropped_only_while_the_worker_closes(status, logged):
    quiet = ClosingHeartbeat(_Worker(status))
    assert quiet.filter(_heartbeat_failure()) is logged
    assert quiet.filter(_heartbeat_failure("Unexpected exception during heartbeat. Closing worker."))


def test_the_plugin_filters_the_worker_log_in_its_process():
    worker = _Worker(Status.running)
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append
    logger = logging.getLogger("distributed.worker")
    logger.addHandler(handler)
    before = list(logger.filters)
    try:
        QuietWhileClosing().setup(worker)
        logger.handle(_heartbeat_failure())
        worker.status = Status.closing
        logger.handle(_heartbeat_failure())
    finally:
        logger.removeHandler(handler)
        logger.filters[:] = before
    assert [r.getMessage() for r in seen] == [HEARTBEAT_FAILED]  # the running worker's only


class _Stop(Exception):
    pass


@pytest.fixture
def raising_handlers():
    """SIGINT and SIGTERM raise _Stop(signum) (as the CLI's SIGTERM handler raises), restored after."""

    def handler(signum, frame):
        raise _Stop(signum)

    assert threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    yield handler
    for signum, old in previous.items():
        signal.signal(signum, old)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_inside_waits_for_deliver(raising_handlers, signum):
    reached = []
    with interrupts_deferred() as deliver:
        os.kill(os.getpid(), signum)
        reached.append("after the signal")
        with pytest.raises(_Stop) as stop:
            deliver()
        deliver()  # delivered once
    assert reached and stop.value.args == (signum,)
    assert signal.getsignal(signum) is raising_handlers


def test_a_second_interrupt_acts_at_once(raising_handlers):
    with interrupts_deferred() as deliver:
        os.kill(os.getpid(), signal.SIGTERM)
        with pytest.raises(_Stop):
            os.kill(os.getpid(), signal.SIGINT)
        with pytest.raises(_Stop) as stop:  # the first, still kept
            deliver()
    assert stop.value.args == (signal.SIGTERM,)


def test_an_interrupt_kept_to_the_end_is_delivered_there(raising_handlers):
    with pytest.raises(_Stop):
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
    with interrupts_deferred():  # nothing kept: nothing raised
        pass


def test_outside_the_main_thread_nothing_is_deferred(raising_handlers):
    seen = []

    def run():
        with interrupts_deferred() as deliver:
            seen.append(signal.getsignal(signal.SIGTERM))
            deliver()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [raising_handlers]


def test_futures_come_in_the_order_they_finish_and_interrupts_are_checked_while_waiting():
    futures = [Future() for _ in range(3)]
    checks = []

    def finish():
        for i in (2, 0, 1):
            time.sleep(0.25)
            futures[i].set_result(i)

    threading.Thread(target=finish).start()
    order = [f.result() for f in _in_finish_order(futures, lambda: checks.append(time.monotonic()))]
    assert order == [2, 0, 1]
    assert len(checks) >= 4


def test_an_interrupt_is_checked_every_poll_while_no_future_finishes():
    calls = []

    def deliver():
        calls.append(time.monotonic())
        if len(calls) == 3:
            raise _Stop()

    late = Future()
    timer = threading.Timer(10.0, late.set_result, (0,))  # a wait without checks ends here, failing
    timer.start()
    try:
        with pytest.raises(_Stop):
            next(_in_finish_order([late], deliver))
        assert not late.done()
    finally:
        timer.cancel()
