"""The Dask executor of a sweep: a ``distributed.LocalCluster`` the driver starts.

One single-threaded worker process per point (at most one per core), each point's row
handed back as soon as it finishes. The cluster is closed when the iteration ends,
fails or is interrupted; :class:`ExitWithDriver` makes a worker exit by itself when its
driver is gone, so no worker outlives the sweep (docs/architecture.md, "Sweeps").
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from distributed import Client, LocalCluster, as_completed
from distributed.diagnostics.plugin import WorkerPlugin

#: Seconds between a worker's checks that its driver is still alive.
ORPHAN_POLL = 0.5


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
        LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        client.register_plugin(ExitWithDriver(os.getpid()))
        futures = client.map(summarise, list(pending), pure=False)
        for future in as_completed(futures):
            yield future.result()


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
