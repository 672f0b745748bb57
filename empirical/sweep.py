"""Grids of verify runs over (B, K, beta, s, C_gamma, seed): local or with Dask,
resumable.

Grid axes use the theory's names (B, K, beta, s, C_gamma) and ``seed``; the
vocabulary table of :mod:`empirical.pipeline.settings` maps them to settings
fields. Every grid point is a :class:`~empirical.pipeline.Settings` with some
fields replaced (R runs each, ``--seeds``); its summary (bound, observed mean
over runs and its interval, ratio, verdict, exit code, fitted rate) is
appended as one JSON line to ``results.jsonl`` as soon as it finishes, so an
interrupted sweep resumes where it stopped (points already in the file are
skipped). ``summary.csv`` and ``sweep.png`` are written at the end.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from empirical.errors import ConfigError
from empirical.pipeline.result import FAILS
from empirical.pipeline.settings import GRID_AXES, Settings

_CASTS = {"batch_size": int, "K": int, "seed": int, "beta": float, "s": float, "C_gamma": float}
EXECUTORS = ("local", "dask")


def parse_axis(text: str) -> tuple[str, tuple[Any, ...]]:
    """``"B=8,32"`` -> ("batch_size", (8, 32)): the settings field and its values."""
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or name not in GRID_AXES:
        raise ConfigError(f"--grid takes NAME=V1,V2,... with NAME in {', '.join(GRID_AXES)}; got {text!r}")
    field = GRID_AXES[name].field
    try:
        parsed = tuple(_CASTS[field](v) for v in values.split(",") if v.strip())
    except ValueError:
        raise ConfigError(f"--grid {name}: values must be numbers, got {values!r}") from None
    if not parsed:
        raise ConfigError(f"--grid {name}: no values")
    if len(set(parsed)) != len(parsed):
        raise ConfigError(f"--grid {name}: repeated values in {values!r}")
    return field, parsed


def points(base: Settings, grid: Mapping[str, Sequence[Any]]) -> list[Settings]:
    """The cartesian product of ``grid`` (settings field -> values) over ``base``;
    each point is validated by Settings itself."""
    names = list(grid)
    return [
        replace(base, **dict(zip(names, combo, strict=True))) for combo in itertools.product(*grid.values())
    ]


def key(settings: Settings) -> str:
    """A stable identifier of a grid point: its settings."""
    return json.dumps(settings.as_dict(), sort_keys=True)


def summarise(settings: Settings) -> dict[str, Any]:
    """Run the pipeline at one point (no files) and return its summary row."""
    from empirical.pipeline import verify

    result = verify(settings)
    obs = result.observed
    row = settings.as_dict()
    row.update(
        C_gamma_used=result.fixed["C_gamma"],
        bound=result.bound_value,
        observed=obs.value,
        observed_lo=obs.lo,
        observed_hi=obs.hi,
        per_seed=list(obs.per_run),
        observable=obs.observable,
        ratio=result.ratio,
        verdict=result.verdict.value,
        exit_code=result.exit_code,
        fitted_exponent=result.rate.exponent,
        failed_assumptions=[r.id for r in result.assumptions if r.status == FAILS],
        key=key(settings),
    )
    return row


def _done(path: Path) -> dict[str, dict[str, Any]]:
    if not path.exists():
        return {}
    rows = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            rows[row["key"]] = row
        except (json.JSONDecodeError, KeyError, TypeError):
            raise ConfigError(
                f"{path}, line {number}: not a sweep result row; remove the line to resume"
            ) from None
    return rows


def run_sweep(
    base: Settings,
    grid: Mapping[str, Sequence[Any]],
    out: str | Path,
    executor: str = "local",
    progress: Callable[[str], None] = lambda _: None,
) -> list[dict[str, Any]]:
    """Run every grid point not already in ``out/results.jsonl``; return all rows
    in grid order. ``executor="dask"`` runs the points in parallel processes
    (needs the ``dist`` extra)."""
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}; valid: {', '.join(EXECUTORS)}")
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"sweep output folder (--out) {folder} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    results = folder / "results.jsonl"
    todo = points(base, grid)
    done = _done(results)
    pending = [p for p in todo if key(p) not in done]
    progress(f"sweep: {len(todo)} points, {len(todo) - len(pending)} already done")
    new_rows = _dask_map(pending) if executor == "dask" else (summarise(p) for p in pending)
    with results.open("a") as fh:
        for i, row in enumerate(new_rows, 1):
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            done[row["key"]] = row
            progress(f"sweep: {i}/{len(pending)} {row['verdict']} (ratio {row['ratio']:.3g})")
    rows = [done[key(p)] for p in todo]
    write_summary(rows, folder, [GRID_AXES_BY_FIELD[f] for f in grid])
    return rows


#: settings field -> grid name (the column names of summary.csv).
GRID_AXES_BY_FIELD = {t.field: name for name, t in GRID_AXES.items()}


def _dask_map(pending: list[Settings]):
    try:
        import dask
    except ImportError:
        raise ConfigError("executor 'dask' needs Dask: pip install 'vaebounds[dist]'") from None
    tasks = [dask.delayed(summarise)(p) for p in pending]
    return iter(dask.compute(*tasks, scheduler="processes"))


def write_summary(rows: list[dict[str, Any]], folder: Path, axes: list[str]) -> None:
    """``summary.csv`` (one row per point, columns named as the grid) and
    ``sweep.png`` (bound and observed mean per point), each written atomically."""
    from empirical.pipeline.settings import term
    from empirical.report.atomic import write_file
    from empirical.report.figures import plot_sweep

    columns = [*axes, "C_gamma_used", "bound", "observed", "observed_lo", "observed_hi", "ratio", "verdict"]
    named = [{**r, **{a: r[term(GRID_AXES[a].field).report] for a in axes}} for r in rows]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(named)
    write_file(folder / "summary.csv", buffer.getvalue())
    tmp = folder / ".sweep.png.tmp.png"
    plot_sweep(named, axes, tmp)
    tmp.replace(folder / "sweep.png")
