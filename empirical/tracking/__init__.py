"""Following a user's own training loop.

:func:`track` returns a :class:`Tracker` (:mod:`empirical.tracking.tracker`); it finishes as the
run type of training (:class:`empirical.train.TrainRun`) and its ``verify()`` returns the same
:class:`empirical.conclusion.Result` as the CLI (:mod:`empirical.tracking.verify`, through
:func:`empirical.conclusion.conclude`). Public as ``empirical.track``.

- :mod:`empirical.tracking.accept`: what ``track()`` takes (rows, NumPy, DataLoader), checked.
- :mod:`empirical.tracking.plan`: when records, norm readings and snapshots are taken.
- :mod:`empirical.tracking.evaluate`: the user's loss at given parameters, isolated; the probe.
- :mod:`empirical.tracking.run`: what a tracker finishes as (a TrainRun).
- :mod:`empirical.tracking.live`: the records as they are taken (``callback=``);
  :mod:`empirical.tracking.tensorboard` and :mod:`empirical.tracking.lightning` (optional
  extras, imported only when used).
- :mod:`empirical.tracking.estimate`: L, sigma2, Delta, R at the snapshots.
- :mod:`empirical.tracking.verify`: :func:`verify_runs`, the tracker's front end.

Imports nothing of :mod:`empirical.pipeline` (the CLI's front end for the built-in models).

How the tracker records and what it measures: docs/architecture.md, "The tracker".
"""

from __future__ import annotations

from empirical.tracking.tracker import Tracker, track

__all__ = ["Tracker", "track", "verify_runs"]


def __getattr__(name: str):
    if name == "verify_runs":
        from empirical.tracking.verify import verify_runs

        return verify_runs
    raise AttributeError(name)
