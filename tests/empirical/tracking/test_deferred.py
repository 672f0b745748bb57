"""Records kept for after the loop (empirical/tracking/deferred.py): the same numbers as the records
taken in the loop, bit for bit, and taken in the loop when they must be."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cases import tiny_tracked_run, user_loss, user_vae
from torch import nn

import empirical
import empirical.tracking.tracker as tracker_module
from empirical.tracking.deferred import defers, modes_as, modes_of

RECORD_FIELDS = ("record_steps", "full_grad_norm_sq", "full_grad_norm_sq_var", "full_loss", "param_sup_norm")


def _live(k, record):  # a callback: records are then taken in the loop, as it wants them
    pass


def _same_records(a, b) -> None:
    for name in RECORD_FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.options["final_rows"] == b.options["final_rows"]


@pytest.mark.parametrize("seed", [0, 3])
def test_records_kept_for_finish_are_the_records_the_loop_would_take(seed):
    kept, _ = tiny_tracked_run(user_loss, 60, seed=seed)
    live, _ = tiny_tracked_run(user_loss, 60, seed=seed, callback=_live)
    assert kept.kept is not None and live.kept is None
    planned = [0, 1, 2, 3, 4, 6, 8, 11, 15, 20, 26, 34, 45, 59]  # growth 1.3; none taken yet
    assert [rec.step for rec in kept.kept] == planned and kept.h["rec_k"] == []
    a, b = kept.finish(), live.finish()
    assert a.record_steps.tolist() == [*planned, 60]  # and the final record at theta_60
    _same_records(a, b)
    np.testing.assert_array_equal(a.snapshots, b.snapshots)
    assert np.all(np.diff(a.elapsed) >= 0)  # each record's time is its step's, not finish()'s


def test_past_the_byte_cap_the_kept_records_are_taken_in_the_loop(monkeypatch):
    monkeypatch.setattr(tracker_module, "DEFER_BYTES", 1)  # every copy is over the cap
    capped, _ = tiny_tracked_run(user_loss, 30)
    assert capped.kept == [] and len(capped.h["rec_made"]) == len(capped.h["rec_k"]) > 10
    live, _ = tiny_tracked_run(user_loss, 30, callback=_live)
    _same_records(capped.finish(), live.finish())


def test_a_record_is_taken_in_the_flags_the_modules_had_at_its_step():
    def loss(model, x):  # depends on the mode, as dropout would
        return user_loss(model, x) * (1.0 if model.training else 3.0)

    finished = []
    for options in ({}, {"callback": _live}):
        tracker, _ = tiny_tracked_run(loss, 25, **options)
        tracker.model.eval()  # after the loop, before finish(): the final record is in eval mode
        finished.append(tracker.finish())
        assert not tracker.model.training  # restored after the kept records
    _same_records(*finished)


def test_modes_as_sets_and_restores_every_modules_flag():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    model.eval()
    at_step = (True, False, True)
    with modes_as(model, at_step):
        assert modes_of(model) == at_step
    assert modes_of(model) == (False, False, False)


def test_records_are_taken_in_the_loop_for_buffers_callbacks_or_another_device():
    cpu = torch.device("cpu")
    assert defers(user_vae(6), (), cpu)
    assert not defers(nn.Sequential(nn.Linear(6, 6), nn.BatchNorm1d(6)), (), cpu)
    assert not defers(user_vae(6), (_live,), cpu)
    assert not defers(user_vae(6), (), torch.device("meta"))
    model = nn.Sequential(nn.Linear(6, 6), nn.BatchNorm1d(6))

    def loss(m, x):
        return (m(x) - x).square().sum(1)

    tracker = empirical.track(model, loss, torch.rand(40, 6), torch.optim.SGD(model.parameters(), lr=0.01))
    assert tracker.kept is None


def test_defer_records_false_takes_them_in_the_loop_and_a_non_bool_is_refused():
    from empirical.errors import ConfigError

    live, _ = tiny_tracked_run(user_loss, 10, defer_records=False)
    assert live.kept is None and len(live.h["rec_k"]) == 7  # 0, 1, 2, 3, 4, 6, 8 taken already
    with pytest.raises(ConfigError, match="option defer_records must be True or False, got 'no'"):
        tiny_tracked_run(user_loss, 1, defer_records="no")
