"""The one way vaebounds gives a user's loss its own random stream.

A user's ``loss(model, x)`` draws its noise from torch's *global* generators (the contract of
``empirical.track`` and of ``--model FILE.py:make``): the CPU one and, for a module on a GPU,
that device's. Every evaluation of such a loss runs inside :func:`forked`: the generators of
the CPU and of the CUDA devices the module lives on are saved, seeded with the evaluation's
seed, and restored afterwards, so the user's streams are untouched (on every device) and our
numbers are reproducible. Only those generators are touched: not ``torch.manual_seed``,
which seeds every CUDA device (and costs about 0.7 ms a call). Whatever vaebounds draws
itself (rows, seeds) comes from a local ``torch.Generator`` passed as an argument.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


def cuda_devices(model: nn.Module) -> list[int]:
    """Indices of the CUDA devices holding a parameter or a buffer of ``model`` (sorted)."""
    found = {t.device.index or 0 for t in (*model.parameters(), *model.buffers()) if t.device.type == "cuda"}
    return sorted(found)


@contextmanager
def forked(seed: int, devices: list[int] | tuple[int, ...] = ()) -> Iterator[None]:
    """Seed torch's global CPU generator and those of the CUDA ``devices`` for the block.

    They are restored afterwards (module docstring).

    Args:
        seed: the block's seed (0 <= seed < 2**63).
        devices: CUDA device indices whose generators the block may draw from
            (:func:`cuda_devices` of the module).

    Yields:
        Nothing: the block runs with the seeded generators.
    """
    with torch.random.fork_rng(devices=list(devices)):
        torch.default_generator.manual_seed(seed)
        for index in devices:
            torch.cuda.default_generators[index].manual_seed(seed)
        yield
