"""What a tracker keeps per step, held so that it costs the user's loop nothing later.

A 0-d tensor kept per step (the minibatch loss, ||g_k||^2) is a Python object the garbage
collector visits at every collection the user's loop triggers: 2,000 of them slowed the README's
forward and backward passes by 2 % (issue 24). :class:`Packed` stacks every :data:`CHUNK` of
them into one tensor as they come (no synchronisation: nothing is read back before the end).
"""

from __future__ import annotations

import numpy as np
import torch

#: Values stacked into one tensor at a time.
CHUNK = 64
#: The keys of a tracker's history kept as plain lists (floats, ints); ``sq_k``: the steps
#: whose ||g_k||^2 was read (``sq`` holds the readings, :func:`at_steps` spreads them over n);
#: ``user``: the user's own seconds of each step (:mod:`empirical.tracking.overhead`); ``rec_made``:
#: the step in whose ``tracker.step()`` records were taken (theta_0's: 1; none for the records
#: taken after the loop, :mod:`empirical.tracking.deferred`).
LISTS = ("lr", "rows", "rec_k", "rec", "rec_var", "rec_loss", "psup", "elapsed", "sq_k", "user", "rec_made")


class Packed:
    """A list of numbers, floats or 0-d tensors, the tensors stacked :data:`CHUNK` at a time."""

    def __init__(self) -> None:
        self.chunks: list[torch.Tensor | list] = []
        self.pending: list = []

    def append(self, value: float | torch.Tensor) -> None:
        """Keep ``value`` (a float or a 0-d tensor, read only by :meth:`array`).

        Args:
            value: The number.
        """
        self.pending.append(value)
        if len(self.pending) >= CHUNK:
            self._pack()

    def __iadd__(self, values: list) -> Packed:
        for value in values:
            self.append(value)
        return self

    def __len__(self) -> int:
        return sum(len(c) for c in self.chunks) + len(self.pending)

    def __bool__(self) -> bool:
        return len(self) > 0

    def _pack(self) -> None:
        values, self.pending = self.pending, []
        tensors = all(isinstance(v, torch.Tensor) for v in values)
        if tensors and len({v.device for v in values}) == 1:
            self.chunks.append(torch.stack(values))  # one tensor for CHUNK objects
        else:  # floats among them (a step without a loss), or several devices: kept as they are
            self.chunks.append(values)

    def array(self) -> np.ndarray:
        """Every value, in order, as a float64 array (the tensors moved in one stack each).

        Returns:
            A float64 array.
        """
        out: list[float] = []
        for chunk in [*self.chunks, self.pending]:
            if isinstance(chunk, torch.Tensor):
                out += chunk.double().cpu().tolist()
            else:
                out += [float(v.double().cpu()) if isinstance(v, torch.Tensor) else v for v in chunk]
        return np.asarray(out, dtype=float)


def history() -> dict[str, list | Packed]:
    """A new tracker's history: :data:`LISTS` as lists, the losses, ||g_k||^2, ||g_k||_inf packed.

    Returns:
        Key -> its values.
    """
    return {**{key: [] for key in LISTS}, **{key: Packed() for key in ("loss", "sq", "sup")}}


def at_steps(values: np.ndarray, steps: list[int], n: int) -> np.ndarray:
    """Readings taken at some steps, as one value per step 1..n (NaN where none was taken).

    Args:
        values: The readings, in the order taken.
        steps: The step k (1..n) of each.
        n: The steps.

    Returns:
        A float64 array of n values, ``values[i]`` at index ``steps[i] - 1``.
    """
    out = np.full(n, np.nan)
    out[np.asarray(steps, dtype=np.int64) - 1] = values
    return out
