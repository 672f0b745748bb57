"""Following a user's own training loop: :func:`track` returns a :class:`Tracker`
(:mod:`empirical.tracking.tracker`); its ``verify()`` returns the same
:class:`empirical.pipeline.Result` as the CLI (:mod:`empirical.tracking.verify`).
Public as ``empirical.track``.

- :mod:`empirical.tracking.plan`: when records and snapshots are taken.
- :mod:`empirical.tracking.evaluate`: the user's loss at given parameters, isolated.
- :mod:`empirical.tracking.estimate`: L, sigma2, Delta, R at the snapshots.
- :mod:`empirical.tracking.verify`: theorem, binding, observed side, rows.
- :mod:`empirical.user_model`: the CLI's loop for a user's model.
"""

from __future__ import annotations

from empirical.tracking.run import TrackedRun
from empirical.tracking.tracker import Tracker, track

__all__ = ["TrackedRun", "Tracker", "track", "verify_runs"]


def __getattr__(name: str):
    if name == "verify_runs":
        from empirical.tracking.verify import verify_runs

        return verify_runs
    raise AttributeError(name)
