"""The figure of a sweep (``sweep.png``).

Bound and observed mean with its interval at every grid point, in the one style of
:mod:`empirical.report.figures`.

Sweeps: docs/architecture.md, "Sweeps"; the verdicts: docs/decision.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from empirical.report.figures import (
    COLOURS,
    CONFIDENCE,
    figure,
    figure_of,
    interval_bars,
    legend_outside,
    mark_verdicts,
    observable_label,
    t_band,
)
from empirical.report.names import run_name

#: Most panels drawn (one per combination of the grid axes besides the first and seed);
#: every point is in summary.csv and results.jsonl.
MAX_PANELS = 12


def is_geometric(values: Sequence[float]) -> bool:
    """Whether a log axis fits an axis's values.

    Args:
        values: The grid values.

    Returns:
        True when they are positive and grow by a roughly constant factor.
    """
    v = np.sort(np.asarray(values, dtype=float))
    if v.size < 2 or v[0] <= 0:
        return False
    ratios = v[1:] / v[:-1]
    return bool(v[-1] / v[0] >= 4 and np.all(ratios > 1.5) and ratios.max() / ratios.min() <= 1.5)


def pool_seeds(rows: Sequence[dict[str, Any]], axes: Sequence[str]) -> list[dict[str, Any]]:
    """Rows of the same grid point apart from ``seed``, pooled.

    Args:
        rows: The sweep's rows.
        axes: The grid's axis names.

    Returns:
        One row per pool: the observed mean and t-interval over every run of every seed point,
        the bound's mean and range, and the pool's verdict (violated if one is, else not covered
        if one is, else inconclusive if one is, else holds: the combined exit code's order).
    """
    keys = [a for a in axes if a != "seed"]
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(r[a] for a in keys), []).append(r)
    out = []
    for point, members in groups.items():
        runs = np.concatenate([np.asarray(r["per_seed"], dtype=float) for r in members])
        if len(members) == 1:  # the point's own interval, exactly as reported
            mean, lo, hi = ([members[0][k]] for k in ("observed", "observed_lo", "observed_hi"))
        else:
            mean, lo, hi = t_band(runs[:, None])
        bounds = np.array([r["bound"] for r in members], dtype=float)
        verdicts = {r["verdict"] for r in members}
        verdict = next(
            v
            for v in ("violated", "not covered", "inconclusive", "holds at the estimated constants")
            if v in verdicts
        )
        out.append(
            {
                **dict(zip(keys, point, strict=True)),
                "observed": float(mean[0]),
                "observed_lo": float(lo[0]),
                "observed_hi": float(hi[0]),
                "bound": float(bounds.mean()),
                "bound_lo": float(bounds.min()),
                "bound_hi": float(bounds.max()),
                "verdict": verdict,
                "runs": int(runs.size),
            }
        )
    return out


def plot_sweep(rows: Sequence[dict[str, Any]], axes: Sequence[str], path: Path):
    """sweep.png: bound and observed mean with its interval against the first numeric grid axis.

    The axis is logarithmic where the grid is geometric; one panel per combination of the other
    axes (the first :data:`MAX_PANELS`, said in the title), seeds pooled (:func:`pool_seeds`),
    each point marked by verdict.

    Args:
        rows: The sweep's rows.
        axes: The grid's axis names.
        path: Where the figure is saved.

    Returns:
        The Figure.
    """
    keys = [a for a in axes if a != "seed"]
    x_axis = keys[0] if keys else None
    panels: dict[tuple, list[dict[str, Any]]] = {}
    compared = [r for r in rows if r.get("diverged") is None]  # a diverged point has nothing to draw
    for r in pool_seeds(compared, axes):
        panels.setdefault(tuple((a, r[a]) for a in keys[1:]), []).append(r)
    shown = f"; the first {MAX_PANELS} of {len(panels)} panels" if len(panels) > MAX_PANELS else ""
    if len(compared) < len(rows):
        k = len(rows) - len(compared)
        shown += f"; {k} diverged point{'s' if k > 1 else ''} not drawn (not covered, summary.csv)"
    panels = panels or {(): []}  # every point diverged: one empty panel under the title
    panels = dict(list(panels.items())[:MAX_PANELS])
    observable = compared[0].get("observable", "grad_norm_sq") if compared else "grad_norm_sq"
    cols = min(len(panels), 3)
    seeds = f"; seeds pooled over {len({r['seed'] for r in rows})} seed points" if "seed" in axes else ""
    name = run_name({k: v for k, v in rows[0].items() if k not in axes}) + ": " if rows else ""
    title = f"sweep, {name}bound and observed at each grid point{seeds}{shown}"
    size = (4.6 * cols, 3.8 * math.ceil(len(panels) / cols))
    with figure(
        path, math.ceil(len(panels) / cols), cols, size=size, squeeze=False, sharey=True, title=title
    ) as grid:
        for ax, (fixed, members) in zip(grid.flat, panels.items(), strict=False):
            members.sort(key=lambda r: r[x_axis] if x_axis else 0)
            x = [r[x_axis] if x_axis else 0 for r in members]
            interval_bars(
                ax, x, members, "bound", fmt="s--", color=COLOURS["bound"], label="bound (range over seeds)"
            )
            label = f"observed mean, {CONFIDENCE:.0%} t-interval over runs"
            interval_bars(ax, x, members, "observed", fmt="-", color=COLOURS["observed"], label=label)
            mark_verdicts(ax, x, [r["observed"] for r in members], [r["verdict"] for r in members])
            ax.set_yscale("log")
            if x_axis and is_geometric(x):
                ax.set_xscale("log")
            if x_axis:
                ax.set_xticks(x, [f"{v:g}" for v in x])
            ax.set_xlabel(x_axis or "all grid points pooled")
            ax.set_title(", ".join(f"{a} = {v:g}" for a, v in fixed) or "bound vs observed")
        for ax in grid[:, 0]:
            ax.set_ylabel(observable_label(observable))
        for ax in list(grid.flat)[len(panels) :]:
            ax.set_visible(False)
        legend_outside(grid[0, -1], handles=grid.flat[0].get_legend_handles_labels())
    return figure_of(grid)
