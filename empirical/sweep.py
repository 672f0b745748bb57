"""Grids of verify runs over (B, K, beta, s, C_gamma, seed): local or on a Dask cluster, resumable.

Every point is validated before anything runs, each finished point's row is appended
to ``results.jsonl`` at once (one write, fsync), and a re-run skips the points already
there (docs/architecture.md, "Sweeps").
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from empirical import inputs
from empirical.errors import ConfigError, DivergenceError
from empirical.inputs.rules import shown, usable_path
from empirical.report.sweep_summary import diverged_row, write_summary
from empirical.settings import GRID_AXES, Settings, setting_names

RESULTS = "results.jsonl"
#: settings field -> grid name (the column names of summary.csv).
GRID_AXES_BY_FIELD = {t.field: name for name, t in GRID_AXES.items()}


def parse_axis(text: str) -> tuple[str, tuple[Any, ...]]:
    """One ``--grid`` axis, parsed: ``"B=8,32"`` -> ("batch_size", (8, 32)).

    Args:
        text: ``NAME=V1,V2,...`` with NAME a grid axis.

    Returns:
        (the settings field, its values), each value checked by the inventory's rule.

    Raises:
        ConfigError: An unknown axis, no values, a bad value, or a value given twice.
    """
    name, sep, values = str(text).partition("=")
    name = name.strip()
    if not sep or name not in GRID_AXES:
        raise ConfigError(
            f"--grid takes NAME=V1,V2,... with NAME in {', '.join(GRID_AXES)}; got {shown(text)}"
        )
    entry = inputs.setting(GRID_AXES[name].field)
    parsed = tuple(entry.rule.parse(f"--grid {name}", v) for v in values.split(",") if v.strip())
    if not parsed:
        raise ConfigError(f"--grid {name}: no values")
    if len(set(parsed)) != len(parsed):
        raise ConfigError(f"--grid {name}: repeated values in {shown(values)}; give each value once")
    return entry.name, parsed


def points(base: Settings, grid: Mapping[str, Sequence[Any]]) -> Iterator[Settings]:
    """The cartesian product of a grid over some settings, in grid order, built one at a time.

    Args:
        base: The settings every point starts from.
        grid: Settings field -> values.

    Yields:
        Each point's settings, validated by Settings itself.
    """
    names = list(grid)
    for combo in itertools.product(*grid.values()):
        yield replace(base, **dict(zip(names, combo, strict=True)))


def check_grid(base: Settings, grid: Mapping[str, Sequence[Any]]) -> int:
    """The number of points of a grid, counted without building them.

    Refuses more than :data:`~empirical.inputs.MAX_GRID_POINTS` and checks each axis's
    values once (``base`` with that one value replaced).

    Args:
        base: the settings every point starts from.
        grid: settings field -> values.

    Returns:
        The number of points.

    Raises:
        ConfigError: a grid too large, or an axis value the settings refuse.
    """
    count = math.prod(len(values) for values in grid.values())
    if count > inputs.MAX_GRID_POINTS:
        sizes = " x ".join(f"{GRID_AXES_BY_FIELD[f]}: {len(v)}" for f, v in grid.items())
        raise ConfigError(
            f"--grid has {count} points ({sizes}), above the limit of {inputs.MAX_GRID_POINTS}; "
            "split the study into several sweeps (each is resumable)"
        )
    for field, values in grid.items():
        for value in values:
            replace(base, **{field: value})
    return count


def largest(base: Settings, grid: Mapping[str, Sequence[Any]]) -> Settings:
    """The grid's point with every axis at its largest value: the most memory.

    Args:
        base: The settings every point starts from.
        grid: Settings field -> values.

    Returns:
        That point's settings.
    """
    return replace(base, **{field: max(values) for field, values in grid.items()})


def done_in_grid(
    base: Settings, grid: Mapping[str, Sequence[Any]], done: Mapping[str, Any], approximate_ok: bool = False
) -> set[str]:
    """The rows already done that are points of a grid (one point built per row).

    Args:
        base: The settings every point starts from.
        grid: Settings field -> values.
        done: Key -> row, read from results.jsonl.
        approximate_ok: Whether the sweep accepts approximate assumption rows (part of the key).

    Returns:
        The keys of ``done`` that are points of ``grid`` over ``base``.
    """
    out = set()
    for row_key in done:
        try:
            values = json.loads(row_key)
            combo = {f: values[setting_names(f).report] for f in grid}
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
        if all(combo[f] in grid[f] for f in grid) and key(replace(base, **combo), approximate_ok) == row_key:
            out.add(row_key)
    return out


def _values(row: Mapping[str, Any], fields: Sequence[str]) -> str:
    """A point's grid values, e.g. ``B=8, seed=3``."""
    return ", ".join(f"{GRID_AXES_BY_FIELD[f]}={row.get(setting_names(f).report)}" for f in fields)


def key(settings: Settings, approximate_ok: bool = False) -> str:
    """A stable identifier of a grid point.

    Args:
        settings: The point's settings.
        approximate_ok: Whether approximate rows are accepted (it changes the verdict).

    Returns:
        The settings (and ``approximate_ok`` when set) as sorted JSON.
    """
    values = settings.as_dict()
    if approximate_ok:
        values["approximate_ok"] = True
    return json.dumps(values, sort_keys=True)


def summarise(settings: Settings, approximate_ok: bool = False) -> dict[str, Any]:
    """Run the pipeline at one point (no files) and summarise it.

    Args:
        settings: The point's settings.
        approximate_ok: Accept approximate assumption rows.

    Returns:
        Its summary row (settings, bound, observed mean and interval, verdict, ...); an
        infinite end of the interval is written "inf" (:func:`empirical.report.content.json_number`);
        a point whose training diverges: :func:`empirical.report.sweep_summary.diverged_row`.
    """
    from empirical.conclusion.assumption_row import FAILS
    from empirical.report.content import json_number
    from empirical.runner import verify

    try:
        result = verify(settings, approximate_ok=approximate_ok)
    except DivergenceError as err:  # a step too large to train: a point the theorem does not cover
        return diverged_row(settings, err, key(settings, approximate_ok), approximate_ok)
    obs = result.observed
    row = settings.as_dict()
    row.update(
        C_gamma_used=result.fixed["C_gamma"],
        bound=result.bound_value,
        observed=obs.value,
        observed_lo=json_number(obs.lo),
        observed_hi=json_number(obs.hi),
        per_seed=list(obs.per_run),
        observable=obs.observable,
        ratio=result.ratio,
        verdict=result.verdict.value,
        exit_code=result.exit_code,
        fitted_exponent=result.rate.exponent,
        failed_assumptions=[r.id for r in result.assumptions if r.status == FAILS],
        approximate=list(result.approximate),
        approximate_ok=approximate_ok,
        key=key(settings, approximate_ok),
    )
    return row


# ------------------------------------------------------------ results.jsonl


def read_results(path: Path, progress: Callable[[str], None] = lambda _: None) -> dict[str, dict[str, Any]]:
    """The rows of a results.jsonl file, by key.

    An incomplete last line is reported and cut off the file (its point runs again).

    Args:
        path: The file (none yet: no rows).
        progress: Hears the report of an incomplete line.

    Returns:
        Key -> row.

    Raises:
        ConfigError: Any other bad line, naming the file and the line.
    """
    if not path.exists():
        return {}
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    complete, tail = lines[:-1], lines[-1]  # tail: text after the last newline
    rows: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(complete, 1):
        if line.strip():
            row = _row(line)
            if row is None:
                raise ConfigError(f"{path}, line {number}: not a sweep result row; remove the line to resume")
            rows[row["key"]] = row
    if tail.strip():
        row = _row(tail)
        if row is None:
            progress(
                f"sweep: {path}, line {len(complete) + 1}: incomplete (an interrupted write); "
                "dropped, its point runs again"
            )
            with path.open("r+b") as fh:
                fh.truncate(len(raw) - len(tail))
        else:  # a complete row without its newline: keep it, end the line
            rows[row["key"]] = row
            _append(path, b"\n")
    return rows


def _row(line: bytes) -> dict[str, Any] | None:
    try:
        row = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return row if isinstance(row, dict) and isinstance(row.get("key"), str) else None


def _append(path: Path, data: bytes) -> None:
    """Append ``data`` with one write, then flush it to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, data)
        if written != len(data):  # pragma: no cover - a full disk
            raise OSError(f"{path}: wrote {written} of {len(data)} bytes")
        os.fsync(fd)
    finally:
        os.close(fd)


def append_row(path: Path, row: Mapping[str, Any]) -> None:
    """Append one result row as one line of a file (a single write, then fsync).

    Args:
        path: The results.jsonl file.
        row: The row.
    """
    _append(path, (json.dumps(row) + "\n").encode())


# ------------------------------------------------------------------ the sweep


def run_sweep(
    base: Settings,
    grid: Mapping[str, Sequence[Any]],
    out: str | Path,
    executor: str = "local",
    progress: Callable[[str], None] = lambda _: None,
    workers: int | None = None,
    approximate_ok: bool = False,
) -> list[dict[str, Any]]:
    """Run every grid point not already in ``out/results.jsonl``.

    Everything is checked before any progress line, point or write: the executor, the
    output folder (writable), the grid (:func:`check_grid`: each axis value once), the data,
    model and memory (:func:`largest`), Dask installed. The sweep's exit code combines the points'
    (:func:`empirical.conclusion.combined_exit_code`: 1 > 3 > 4 > 0).

    Args:
        base: The settings every point starts from.
        grid: Settings field -> values.
        out: The output folder (results.jsonl, summary.csv, sweep.png).
        executor: "local" or "dask".
        progress: Hears the point count once all is checked, then one line per finished point.
        workers: Dask worker processes (default: one per core, at most one per point).
        approximate_ok: Accept approximate assumption rows at every point (``--approximate-ok``).

    Returns:
        Every point's row, in grid order.

    Raises:
        ConfigError: A bad executor, folder, grid, data, model or memory, or Dask missing.
    """
    inputs.option("sweep", "executor").check(executor)
    folder = _check_folder(out)
    total = check_grid(base, grid)
    notes: list[str] = []  # said once every check has passed: a refused sweep prints its error alone
    done = read_results(folder / RESULTS, notes.append)
    skip = done_in_grid(base, grid, done, approximate_ok)
    todo = total - len(skip)
    if todo:
        _check_data(largest(base, grid))
    run = _rows_by(executor, workers, todo)
    for note in notes:
        progress(note)
    sizes = " x ".join(f"{GRID_AXES_BY_FIELD[f]}: {len(v)}" for f, v in grid.items())
    progress(f"sweep: {total} points ({sizes}), {len(skip)} already done, {todo} to run")
    folder.mkdir(parents=True, exist_ok=True)
    pending = (p for p in points(base, grid) if key(p, approximate_ok) not in skip)
    point = functools.partial(summarise, approximate_ok=True) if approximate_ok else summarise
    for i, row in enumerate(run(point, pending), 1):
        append_row(folder / RESULTS, row)
        done[row["key"]] = row
        what = f"{row['verdict']}, " + (
            f"ratio {row['ratio']:.3g}" if row.get("diverged") is None else "diverged"
        )
        progress(f"sweep: point {i}/{todo} done ({_values(row, list(grid))}): {what}")
    rows = [done[key(p, approximate_ok)] for p in points(base, grid)]
    write_summary(rows, folder, [GRID_AXES_BY_FIELD[f] for f in grid])
    return rows


def _check_data(point: Settings) -> None:
    """The data, model and memory checks at a point (only the data's for a user's module)."""
    from empirical.pipeline.pipeline import prepare, training_rows

    if point.is_user_model:
        training_rows(point)
    else:
        prepare(point)


def _check_folder(out: str | Path) -> Path:
    """The sweep's output folder: usable, not under a file, writable, its results.jsonl appendable."""
    from empirical.report.atomic import check_not_under_a_file, check_writable

    label = "sweep output folder (--out)"
    folder = usable_path(label, out).absolute()
    check_not_under_a_file(folder, label)
    check_writable(folder, label, beside=False)
    results = folder / RESULTS
    if results.exists():
        try:
            os.close(os.open(results, os.O_WRONLY | os.O_APPEND))  # opened for appending, nothing written
        except OSError as err:
            raise ConfigError(f"{label}: {results} cannot be appended to ({err.strerror})") from None
    return folder


def _rows_by(executor: str, workers: int | None, todo: int) -> Callable[..., Iterator[Any]]:
    """``run(point, pending)`` of the executor; Dask is checked installed when a point is left to run."""
    if not todo:
        return lambda point, pending: iter(())
    if executor != "dask":
        return lambda point, pending: (point(p) for p in pending)
    try:
        from empirical.sweep_dask import dask_rows
    except ImportError:
        raise ConfigError("executor 'dask' needs Dask's distributed: pip install 'vaebounds[dist]'") from None
    return lambda point, pending: dask_rows(point, list(pending), workers)
