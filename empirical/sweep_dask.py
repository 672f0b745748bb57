"""The Dask executor of a sweep: a ``distributed.LocalCluster`` the driver starts.

One single-threaded worker process per point (at most one per core), each point's row
handed back as soon as it finishes. The cluster is closed when the iteration ends,
fails or is interrupted; :class:`ExitWithDriver` makes a worker exit by itself when its
driver is gone, so no worker outlives the sweep (docs/architecture.md, "Sweeps").

An interrupt (SIGINT, SIGTERM) acts between Dask's calls, never inside one: while the
cluster is up, :func:`interrupts_deferred` notes the signal and the driver raises it again
at its next check (every :data:`POLL` seconds while it waits for a point; once started, when
the signal came during the cluster's start), then closes the cluster. A signal
landing inside ``distributed``'s ``sync()`` or an in-flight gather made the closing cluster
log errors with tracebacks; :class:`QuietWhileClosing` silences the one race left, inside
``distributed.Worker.close`` itself.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from distributed import Client, Future, LocalCluster
from distributed.core import Status
from distributed.diagnostics.plugin import WorkerPlugin

#: Seconds between a worker's checks that its driver is still alive.
ORPHAN_POLL = 0.5
#: Seconds between the driver's checks for a deferred interrupt while no point finishes.
POLL = 0.1
#: The signals :func:`interrupts_deferred` defers.
INTERRUPTS = (signal.SIGINT, signal.SIGTERM)
#: What ``distributed.Worker.heartbeat`` logs (at ERROR, with a traceback) when its call to
#: the scheduler fails with an ``OSError``.
HEARTBEAT_FAILED = "Failed to communicate with scheduler during heartbeat."
#: The states of a worker that has begun to close its connections.
CLOSING = frozenset({Status.closing, Status.closed})


def dask_rows(
    summarise: Callable[[Any], dict[str, Any]], pending: Sequence[Any], workers: int | None = None
) -> Iterator[dict[str, Any]]:
    """Every point's summary, computed on a local cluster.

    Args:
        summarise: The function of one point.
        pending: The points.
        workers: The worker processes (default one per core), at most one per point.

    Yields:
        ``summarise(point)`` of every point, in the order they finish.
    """
    n = min(len(pending), workers or os.cpu_count() or 1)
    with (
        interrupts_deferred() as deliver,
        LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        deliver()
        client.register_plugin(ExitWithDriver(os.getpid()))
        client.register_plugin(QuietWhileClosing())
        futures = client.map(summarise, list(pending), pure=False)
        for future in _in_finish_order(futures, deliver):
            row = future.result()  # a task's error is raised here, with its traceback
            deliver()
            yield row


def _in_finish_order(futures: list[Future], deliver: Callable[[], None]) -> Iterator[Future]:
    """The futures as they finish, calling ``deliver()`` at least every :data:`POLL` seconds."""
    finished = threading.Event()
    for future in futures:
        future.add_done_callback(lambda _: finished.set())
    left = list(futures)
    while left:
        deliver()
        finished.clear()
        done = [f for f in left if f.done()]
        if not done:
            finished.wait(POLL)
        for future in done:
            left.remove(future)
            yield future


@contextmanager
def interrupts_deferred() -> Iterator[Callable[[], None]]:
    """SIGINT and SIGTERM are noted inside, and acted on where the body calls ``deliver()``.

    The first such signal is kept; the previous handlers are restored at once, so a second
    signal acts immediately (an impatient Ctrl-C is not ignored). ``deliver()`` raises the
    kept signal again (``signal.raise_signal``), so its own handler runs there: the CLI's
    SIGTERM handler, Python's KeyboardInterrupt. A signal still kept when the body ends
    normally is delivered then (a body ending with an error keeps that error). Outside the
    main thread, or when a handler was not set from Python, nothing is deferred and
    ``deliver()`` does nothing.

    Yields:
        ``deliver``, the function that acts on a kept signal.
    """
    previous = {s: signal.getsignal(s) for s in INTERRUPTS}
    if threading.current_thread() is not threading.main_thread() or None in previous.values():
        yield lambda: None
        return
    kept: list[int] = []

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    def keep(signum: int, frame: Any) -> None:
        kept.append(signum)
        restore()

    def deliver() -> None:
        if kept:
            signal.raise_signal(kept.pop())

    for signum in INTERRUPTS:
        signal.signal(signum, keep)
    try:
        yield deliver
    finally:
        restore()
    deliver()


class ExitWithDriver(WorkerPlugin):
    """A worker plugin: the worker process exits when the process that started it is gone.

    The sweep's driver is that process; the worker polls its parent pid every
    :data:`ORPHAN_POLL` seconds (a driver killed with ``kill -9`` leaves no worker).

    Args:
        driver: The driver's pid.
    """

    name = "vaebounds-exit-with-driver"

    def __init__(self, driver: int):
        self.driver = driver

    def setup(self, worker: Any) -> None:
        """Start the watch in a worker process this driver started.

        Args:
            worker: The Dask worker.
        """
        if os.getppid() == self.driver:  # a worker process this driver started
            threading.Thread(target=_watch, args=(self.driver,), daemon=True, name=self.name).start()


def _watch(driver: int) -> None:
    while os.getppid() == driver:
        time.sleep(ORPHAN_POLL)
    os._exit(1)


class QuietWhileClosing(WorkerPlugin):
    """A worker plugin: a closing worker's failed heartbeat is not logged.

    ``distributed.Worker.close`` sets the worker's status to closing, then closes its
    connections while a heartbeat to the scheduler may still be under way; that heartbeat
    fails with ``CommClosedError`` and is logged at ERROR with a traceback (dask/distributed
    issues 7105, 9032). A sweep closes its cluster on every exit, SIGTERM included, so without
    this plugin about one SIGTERM in twenty on a loaded machine printed that traceback. The
    same message from a worker still running (the scheduler unreachable) is kept.
    """

    name = "vaebounds-quiet-while-closing"

    def setup(self, worker: Any) -> None:
        """Filter the worker's log in this worker process.

        Args:
            worker: The Dask worker.
        """
        logging.getLogger("distributed.worker").addFilter(ClosingHeartbeat(worker))


class ClosingHeartbeat(logging.Filter):
    """Drops :data:`HEARTBEAT_FAILED` while ``worker`` is closing (:data:`CLOSING`).

    Args:
        worker: The worker whose status decides (anything with a ``status``).
    """

    def __init__(self, worker: Any):
        super().__init__()
        self.worker = worker

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` is logged.

        Args:
            record: A record of the ``distributed.worker`` logger.

        Returns:
            False for :data:`HEARTBEAT_FAILED` while the worker is closing, else True.
        """
        return not (record.getMessage() == HEARTBEAT_FAILED and self.worker.status in CLOSING)
