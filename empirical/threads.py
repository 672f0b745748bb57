"""The one control of torch's intra-op threads.

The default models are small: one thread is as fast as two for them, and on a
shared machine two threads contend with every other process (measured 20-200x
slower for small Hessian-vector products). Every entry point (training, the
pipeline, the sweep) runs inside :func:`torch_threads`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from empirical.errors import ConfigError

#: Threads used by every entry point unless told otherwise.
DEFAULT_THREADS = 1


@contextmanager
def torch_threads(count: int | None = DEFAULT_THREADS) -> Iterator[None]:
    """Run the block with ``count`` torch intra-op threads (restored afterwards);
    ``None`` keeps torch's current setting."""
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count <= 0):
        raise ConfigError(f"option threads must be an integer > 0 or None, got {count!r}")
    before = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
