"""The tracker's rows unchanged from track() to verify() (empirical/tracking/fingerprint.py): a
change in place is refused, at the next tracker.step() when torch's version counter saw it, at
finish() or verify() otherwise; an in-place operation that changed no byte is not."""

from __future__ import annotations

import pytest
import torch
from cases import user_loss, user_vae

import empirical
import empirical.tracking.fingerprint as fingerprint_module
from empirical.errors import TrackingError
from empirical.tracking.fingerprint import crc_of

CHANGED = "the data given to empirical.track\\(\\) changed in place"


def _loop(data, rows, steps, changes=(), **options):
    """SGD on the small user VAE over ``rows`` (a tensor; ``data``, given to track(), may be an array
    sharing its memory), B = 4; ``changes``: {k: change}, ``change(rows)`` after optimizer step k,
    before tracker.step()."""
    changes = dict(changes)
    torch.manual_seed(0)
    model = user_vae(rows.shape[1])
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    tracker = empirical.track(model, user_loss, data, opt, seed=0, batch_size=4, **options)
    for k in range(1, steps + 1):
        opt.zero_grad()
        user_loss(model, rows[torch.randint(len(rows), (4,))]).mean().backward()
        opt.step()
        if k in changes:
            changes[k](rows)
        tracker.step()
    return tracker


@pytest.mark.parametrize("defer", [True, False])
def test_rows_changed_in_place_by_torch_are_refused_at_the_next_tracker_step(defer):
    """Halved in place at step 7 (a view of them, under no_grad): refused at that tracker.step(),
    records kept for finish() or taken in the loop alike."""

    def halve(rows):
        with torch.no_grad():
            rows[:20].mul_(0.5)

    X = torch.rand(40, 6)
    with pytest.raises(TrackingError, match=f"{CHANGED} \\(seen at tracker.step\\(\\) of step 7\\).*copy"):
        _loop(X, X, 10, {7: halve}, defer_records=defer)


def test_an_in_place_operation_that_changed_no_byte_is_not_refused_a_later_change_is():
    """clamp_ within the rows' range bumps the version counter and leaves the bytes: the tracker
    goes on (the counter taken anew); halving them later is refused at that step."""
    X = torch.rand(40, 6)
    clamp = {3: lambda rows: rows.clamp_(0.0, 1.0)}
    assert _loop(X, X, 5, clamp).finish().steps == 5
    with pytest.raises(TrackingError, match=f"{CHANGED} \\(seen at tracker.step\\(\\) of step 9\\)"):
        _loop(X, X, 12, {**clamp, 9: lambda rows: rows.mul_(0.5)})


@pytest.mark.parametrize("defer", [True, False])
def test_a_change_the_version_counter_does_not_see_is_refused_at_finish(defer):
    """A NumPy array shares its memory with the tracker's rows and ``.data`` has a counter of its
    own: changed through them, the rows are refused at finish() (the hooks removed all the same)."""
    X = torch.rand(40, 6)
    tracker = _loop(X.numpy(), X, 8, {4: lambda rows: rows.numpy().__imul__(0.5)}, defer_records=defer)
    with pytest.raises(TrackingError, match=f"{CHANGED} \\(at finish\\(\\)\\)"):
        tracker.finish()
    assert not tracker.optimizer._optimizer_step_pre_hooks
    Y = torch.rand(40, 6)
    tracker = _loop(Y, Y, 8, {4: lambda rows: rows.data.mul_(0.5)}, defer_records=defer)
    with pytest.raises(TrackingError, match=f"{CHANGED} \\(at finish\\(\\)\\)"):
        tracker.verify()


def test_rows_changed_after_finish_are_refused_at_verify():
    """verify() estimates on the rows again: a change after finish() is refused there."""
    X = torch.rand(40, 6)
    tracker = _loop(X, X, 6)
    tracker.finish()
    X[0, 0] += 1.0
    with pytest.raises(TrackingError, match=f"{CHANGED} \\(at verify\\(\\)\\)"):
        tracker.verify()


def test_the_crc_reads_the_rows_in_blocks_and_sees_one_changed_byte(monkeypatch):
    """In blocks of rows (a strided view copied one block at a time) the CRC of the whole; one
    changed element, in the last block, changes it."""
    X = torch.rand(50, 12, dtype=torch.float64)
    view = X[:, ::2]
    whole = crc_of(view.contiguous())
    monkeypatch.setattr(fingerprint_module, "CHUNK_BYTES", 100)  # two rows of the view a block
    assert crc_of(view) == whole
    X[-1, 0] = -X[-1, 0]
    assert crc_of(view) != whole
