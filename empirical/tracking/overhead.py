"""What a tracker's records cost the user's own steps after them.

The tracker times itself: its hooks, ``tracker.step()``, its records and snapshots. A record
also leaves the user's next few steps slower (its pass over m x B rows leaves the caches and
the allocator's free memory to the user's next steps to win back: in the README's loop about
0.35 ms over the 5 steps after a record, against 1.2 ms for the record itself, and nothing
measurable after the 5th), which no timer inside the tracker sees. :func:`after_records`
measures it from the user's own step times, so that the tracker's overhead
(``extras["tracker"]["overhead"]``) is the one measured from outside (benchmarks/tracking.py:
the same loop with and without the tracker).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Steps after a record whose slowdown is counted.
AFTER = 5


def after_records(intervals: Sequence[float], made_at: Sequence[int], span: int = AFTER) -> float:
    """Seconds the records added to the user's steps after them.

    With u_s the user's own time of step s (``intervals[s - 1]``: from one ``tracker.step()``
    to the next, the tracker's own time taken out), u~ their median over the steps no record
    precedes by ``span`` or fewer, and for a record made in step s_r the excess
    e_r = sum_{j=1..span} (u_{s_r + j} - u~): the number of records times the median of e_r
    over the records followed by ``span`` steps (a median: a step the user's loop slows for
    its own reasons, an evaluation every 64 steps, moves it little), at least 0.

    Args:
        intervals: u_1, u_2, ... in seconds.
        made_at: The step in whose ``tracker.step()`` each record was made (theta_0's: 1).
        span: The steps after a record counted.

    Returns:
        The seconds; 0 when no record is followed by ``span`` steps.
    """
    u = np.asarray(intervals, dtype=float)
    made = [s for s in made_at if s + span <= u.size]
    if not made:
        return 0.0
    after = np.zeros(u.size, dtype=bool)
    for s in made_at:
        after[s : s + span] = True  # steps s + 1 .. s + span, at indices s .. s + span - 1
    if after.all():
        return 0.0
    typical = float(np.median(u[~after]))
    excess = [float((u[s : s + span] - typical).sum()) for s in made]
    return max(0.0, len(made_at) * float(np.median(excess)))
