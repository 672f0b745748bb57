"""The tracker's rows, unchanged from ``track()`` to ``verify()``: a fingerprint, not a copy.

The tracker holds the rows it was given (a tensor as it is, a NumPy array's memory, a
``TensorDataset``'s tensor), not a copy of them. A loop that changes them in place makes F
another function from that step on, and the records kept for ``finish()``
(:mod:`empirical.tracking.deferred`) and the estimation in ``verify()`` would read the changed
rows: no longer the numbers the loop would have had, nor its F. So :class:`Fingerprint` keeps

* torch's version counter of the rows' tensor, compared at every ``tracker.step()`` (O(1):
  an in-place torch operation on the tensor or on a view of it bumps it); a bumped counter
  is checked against the CRC below, and taken as the new one when the bytes are unchanged
  (an in-place operation that changed nothing, e.g. a ``clamp_`` within range);
* the CRC-32 of the rows' bytes (O(data), about 4 GB/s on a CPU), compared in ``finish()``
  and ``verify()``: it also sees changes the counter does not (through NumPy, ``.data``).

The docs: docs/architecture.md, "The tracker".
"""

from __future__ import annotations

import zlib

import torch

from empirical.errors import TrackingError

#: Bytes read (and copied to the CPU, from another device) at a time by :func:`crc_of`.
CHUNK_BYTES = 64 << 20


def crc_of(rows: torch.Tensor) -> int:
    """The CRC-32 of ``rows``' dtype, shape and bytes, read in blocks of rows (no full copy).

    Args:
        rows: The 2-D floating tensor, on any device.

    Returns:
        The CRC.
    """
    crc = zlib.crc32(f"{rows.dtype} {tuple(rows.shape)}".encode())
    row_bytes = max(1, rows.shape[1] * rows.element_size())
    for block in rows.detach().split(max(1, CHUNK_BYTES // row_bytes)):
        block = block.contiguous().cpu()  # a copy only off the CPU or for a strided view
        crc = zlib.crc32(block.view(torch.uint8).numpy(), crc)
    return crc


class Fingerprint:
    """The version counter and CRC of the tracker's rows at ``track()`` (module docstring).

    Args:
        rows: The rows the tracker reads.
    """

    def __init__(self, rows: torch.Tensor) -> None:
        self.rows, self.version, self.crc = rows, rows._version, crc_of(rows)

    def check_version(self, step: int) -> None:
        """O(1): the rows' version counter; when bumped, the bytes (:meth:`check`).

        Args:
            step: The step of the ``tracker.step()`` checking, for the message.

        Raises:
            TrackingError: The rows changed in place.
        """
        if self.rows._version != self.version:
            self.check(f"seen at tracker.step() of step {step}")

    def check(self, when: str) -> None:
        """O(data): the rows' bytes against those at ``track()``.

        Args:
            when: Where the check runs, for the message.

        Raises:
            TrackingError: The rows changed in place.
        """
        if crc_of(self.rows) != self.crc:
            raise TrackingError(
                f"the data given to empirical.track() changed in place ({when}): the tracker reads those "
                "rows until verify() and needs them unchanged; leave them as they are, or pass track() a "
                "copy if your loop must change its own"
            )
        self.version = self.rows._version
