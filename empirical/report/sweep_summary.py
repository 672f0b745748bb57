"""A sweep's files besides its rows (``summary.csv``, ``sweep.png``), and a diverged point's row.

Sweeps: docs/architecture.md, "Sweeps"; the verdicts: docs/decision.md.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from empirical.decision import Verdict
from empirical.settings import GRID_AXES, Settings, setting_names

#: summary.csv's columns after the grid's axes (``diverged``: empty for a compared point).
SUMMARY_COLUMNS = (
    "C_gamma_used", "bound", "observed", "observed_lo", "observed_hi", "ratio", "verdict", "diverged",
)  # fmt: skip


def diverged_row(settings: Settings, err: Exception, key: str, approximate_ok: bool) -> dict[str, Any]:
    """The row of a point whose training diverged.

    Nothing is compared: the bound, the observed side and the ratio are None. The point is
    not covered (exit 3): a run that blows up is taken to have a step beyond the theorem's
    step condition, an inference from the run, not a check; ``diverged`` holds the message
    (the step and the run). ``vaebounds verify`` of the same settings refuses them (exit 2).

    Args:
        settings: The point's settings.
        err: The divergence (:class:`empirical.errors.DivergenceError`).
        key: The point's key in results.jsonl.
        approximate_ok: Whether approximate rows were accepted.

    Returns:
        The row, with the same keys as a compared point's and ``diverged``.
    """
    row = settings.as_dict()
    row.update(
        C_gamma_used=settings.C_gamma,
        bound=None,
        observed=None,
        observed_lo=None,
        observed_hi=None,
        per_seed=[],
        observable=None,
        ratio=None,
        verdict=Verdict.NOT_COVERED.value,
        exit_code=Verdict.NOT_COVERED.exit_code,
        fitted_exponent=None,
        failed_assumptions=[],
        approximate=[],
        approximate_ok=approximate_ok,
        key=key,
        diverged=f"{err}: a step this large is taken to be beyond the theorem's step condition; nothing "
        "is compared",
    )
    return row


def write_summary(rows: list[dict[str, Any]], folder: Path, axes: list[str]) -> None:
    """Write ``summary.csv`` and ``sweep.png``, each atomically.

    Args:
        rows: Every point's row.
        folder: The output folder.
        axes: The grid's axis names (the csv's first columns, named as the grid).
    """
    from empirical.report.atomic import write_file
    from empirical.report.sweep_figure import plot_sweep

    columns = [*axes, *SUMMARY_COLUMNS]
    named = [{**r, **{a: r[setting_names(GRID_AXES[a].field).report] for a in axes}} for r in rows]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(named)
    write_file(folder / "summary.csv", buffer.getvalue())
    tmp = folder / ".sweep.png.tmp.png"
    try:
        plot_sweep(named, axes, tmp)
        tmp.replace(folder / "sweep.png")
    finally:
        tmp.unlink(missing_ok=True)
