"""The tracker's per-step history: numbers kept in order, tensors stacked a chunk at a time."""

from __future__ import annotations

import math

import numpy as np
import torch

from empirical.tracking.history import CHUNK, Packed, history


def test_floats_and_tensors_come_back_in_order_as_float64():
    packed = Packed()
    values = [torch.tensor(float(i), dtype=torch.float32) for i in range(CHUNK + 5)]
    values[3] = math.nan  # a step without a loss: its chunk stays a list
    for v in values:
        packed.append(v)
    packed += [torch.tensor(0.5, dtype=torch.float16)] * (CHUNK + 1)
    out = packed.array()
    want = [float(v) for v in values] + [0.5] * (CHUNK + 1)
    assert out.dtype == np.float64 and len(packed) == len(want) == out.size
    np.testing.assert_array_equal(out, np.asarray(want))


def test_a_long_run_keeps_one_tensor_per_chunk_not_one_per_step():
    packed = Packed()
    for i in range(10 * CHUNK + 3):
        packed.append(torch.tensor(float(i)))
    assert len(packed.chunks) == 10 and all(isinstance(c, torch.Tensor) for c in packed.chunks)
    assert len(packed.pending) == 3
    np.testing.assert_array_equal(packed.array(), np.arange(10 * CHUNK + 3, dtype=float))


def test_a_new_history_is_empty():
    h = history()
    assert all(len(v) == 0 for v in h.values()) and not h["loss"] and h["lr"] == []
