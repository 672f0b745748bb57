"""The one control of torch's intra-op threads (and of denormal numbers).

The default models are small: one thread is as fast as two for them, and on a
shared machine two threads contend with every other process (measured 20-200x
slower for small Hessian-vector products). Every entry point (training, the
pipeline, the sweep) runs inside :func:`torch_threads`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import torch

from empirical.errors import ConfigError

#: Threads used by every entry point unless told otherwise.
DEFAULT_THREADS = 1
#: How many torch_threads blocks enclose the running code (the outermost restores denormals).
_DEPTH: ContextVar[int] = ContextVar("torch_threads_depth", default=0)


@contextmanager
def torch_threads(count: int | None = DEFAULT_THREADS) -> Iterator[None]:
    """Run a block with a number of torch intra-op threads and denormals flushed to zero.

    Inside it the CPU flushes denormal numbers to zero (``torch.set_flush_denormal``,
    FTZ/DAZ). The soft-clip's upper softplus, log(1 + e^{s(x - s2)}) at x - s2 around -50,
    passes through denormal intermediates that cost about ten times a normal operation: a
    third of the time of a batched gradient over many rows. Only magnitudes below 1.2e-38
    (float32) change, to 0, far below what any loss, gradient or record here resolves (the
    training trajectories are bit for bit the same; tested). The thread count is restored
    afterwards, and so is torch's default of not flushing (torch cannot report the setting
    it had).

    Args:
        count: The number of threads (None keeps torch's current setting).

    Yields:
        Nothing; the block runs with the settings.

    Raises:
        ConfigError: ``count`` is not an integer > 0 or None.
    """
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count <= 0):
        raise ConfigError(f"option threads must be an integer > 0 or None, got {count!r}")
    before = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    outermost = _DEPTH.get() == 0
    token = _DEPTH.set(_DEPTH.get() + 1)
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        _DEPTH.reset(token)
        if outermost:
            torch.set_flush_denormal(False)
        torch.set_num_threads(before)
