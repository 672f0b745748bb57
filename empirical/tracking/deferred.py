"""Records taken after the user's loop: theta_k kept at a record step, evaluated in ``finish()``.

A record at step k (:func:`empirical.tracking.evaluate.record`) is a function of theta_k, of
the module's training flags and buffers, and of the rows and noise the tracker's generator
draws for it. Taking it in ``tracker.step()`` costs the user's loop two to three of a small
model's steps, and leaves its next steps slower (:mod:`empirical.tracking.overhead`). So when
nothing needs a record while the loop runs, ``tracker.step()`` only copies theta_k (one flat
copy, as a snapshot) with the module's training flags, and ``finish()`` takes the kept records
in step order before the final one: the tracker's generator is drawn in the same order, at
parameters of the same values, so every record is the one the loop would have taken
(bit-identical; tests/empirical/tracking/test_deferred.py). Their time is the run's
``deferred records`` timing, not the loop's.

The loss is taken to be the same function of (theta, x, noise) throughout, as F is in the
theorems; a loss that changes during training (a KL weight annealed by the loop, say) is
evaluated as it stands in ``finish()``: pass ``defer_records=False`` to ``empirical.track`` for
records taken in the loop. Records are also taken in the loop (:func:`defers` is False) when

* a ``callback`` or ``tensorboard`` wants each record as it is taken;
* the module has buffers (e.g. BatchNorm's running statistics): a record reads them as they
  are at step k, and the tracker does not copy them;
* the module does not live on the CPU: keeping was measured on the CPU only (no GPU here), so
  a GPU run takes its records in the loop, as before.

The copies kept are capped at :data:`DEFER_BYTES`: past it, the kept records are taken in
that ``tracker.step()`` (counted in the loop's overhead), and keeping starts again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from empirical.validate import flag

#: The most bytes of parameter copies kept for records after the loop.
DEFER_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Kept:
    """A record kept for after the loop.

    Attributes:
        step: k, the record's step.
        flat: theta_k, flat, on the CPU (a copy).
        rows: Rows per gradient of the record, resolved at step k.
        elapsed: Seconds from the tracker's start to step k.
        modes: ``module.training`` of every module of ``model.modules()`` at step k.
    """

    step: int
    flat: torch.Tensor
    rows: int
    elapsed: float
    modes: tuple[bool, ...]


def defers(
    model: nn.Module, live_callbacks: Sequence[object], device: torch.device, wanted: bool = True
) -> bool:
    """Whether a tracker keeps its records for after the loop (module docstring).

    Args:
        model: The user's module.
        live_callbacks: The callbacks that get each record as it is taken.
        device: Where the module's parameters live.
        wanted: ``defer_records`` of :func:`empirical.track` (False: always in the loop).

    Returns:
        True when wanted, for a CPU module without buffers and no live callback.

    Raises:
        ConfigError: ``wanted`` is not a bool.
    """
    has_buffers = any(True for _ in model.buffers())
    return flag("defer_records", wanted) and not live_callbacks and not has_buffers and device.type == "cpu"


def modes_of(model: nn.Module) -> tuple[bool, ...]:
    """``training`` of every module of ``model.modules()``, in order."""
    return tuple(m.training for m in model.modules())


@contextmanager
def modes_as(model: nn.Module, modes: tuple[bool, ...]) -> Iterator[None]:
    """A block with the modules' training flags set to ``modes``, restored afterwards.

    Args:
        model: The user's module.
        modes: The flags, as :func:`modes_of` read them.

    Yields:
        Nothing.
    """
    modules, now = list(model.modules()), modes_of(model)
    if now == modes or len(modes) != len(modules):
        yield
        return
    try:
        for m, training in zip(modules, modes, strict=True):
            m.training = training
        yield
    finally:
        for m, training in zip(modules, now, strict=True):
            m.training = training


def kept_bytes(kept: Sequence[Kept]) -> int:
    """Bytes of the parameter copies ``kept`` holds."""
    return sum(k.flat.numel() * k.flat.element_size() for k in kept)
