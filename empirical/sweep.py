"""Grids of verify runs over (B, K, beta, s, C_gamma, seed): local or with Dask,
resumable.

Every grid point is a :class:`empirical.verify.Settings` with some fields
replaced; its summary (bound, observed average, ratio, verdict, fitted rate)
is appended as one JSON line to ``results.jsonl`` as soon as it finishes, so
an interrupted sweep resumes where it stopped (points already in the file are
skipped). ``summary.csv`` and ``sweep.png`` are written at the end.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from empirical.errors import ConfigError
from empirical.verify import Settings, one_thread, silent, verify

#: Grid axes and the Settings field each sets.
AXES = {
    "B": "batch_size",
    "batch_size": "batch_size",
    "K": "samples",
    "samples": "samples",
    "beta": "beta",
    "s": "s",
    "C_gamma": "lr_constant",
    "lr_constant": "lr_constant",
    "seed": "seed",
}
_CASTS = {"batch_size": int, "samples": int, "seed": int, "beta": float, "s": float, "lr_constant": float}
EXECUTORS = ("local", "dask")


def parse_axis(text: str) -> tuple[str, tuple[Any, ...]]:
    """``"B=8,32"`` -> ("batch_size", (8, 32))."""
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or name not in AXES:
        raise ConfigError(f"--grid takes NAME=V1,V2,... with NAME in {', '.join(sorted(AXES))}; got {text!r}")
    field = AXES[name]
    try:
        parsed = tuple(_CASTS[field](v) for v in values.split(",") if v.strip())
    except ValueError:
        raise ConfigError(f"--grid {name}: values must be numbers, got {values!r}") from None
    if not parsed:
        raise ConfigError(f"--grid {name}: no values")
    return field, parsed


def points(base: Settings, grid: Mapping[str, Sequence[Any]]) -> list[Settings]:
    """The cartesian product of ``grid`` (Settings field -> values) over ``base``;
    each point is validated by Settings itself."""
    fields = list(grid)
    return [
        replace(base, **dict(zip(fields, combo, strict=True))) for combo in itertools.product(*grid.values())
    ]


def key(settings: Settings) -> str:
    """A stable identifier of a grid point (its settings, output folder excluded)."""
    d = asdict(settings)
    d.pop("out")
    return json.dumps(d, sort_keys=True)


def summarise(settings: Settings) -> dict[str, Any]:
    """Run verify at one point (no files) and return its summary row."""
    with one_thread():
        result = verify(settings, silent)
    c = result.comparison
    row = {k: v for k, v in asdict(settings).items() if k != "out"}
    row.update(
        K=settings.K,
        C_gamma=result.fixed["C_gamma"],
        bound=c.bound_value,
        observed=c.observed.mean,
        observed_lo=c.observed.lo,
        observed_hi=c.observed.hi,
        ratio=c.ratio,
        verdict=c.verdict,
        fitted_exponent=c.rate.exponent,
        failed_assumptions=[a.name for a in c.assumptions if a.status == "fails"],
        key=key(settings),
    )
    return row


def _done(path: Path) -> dict[str, dict[str, Any]]:
    if not path.exists():
        return {}
    rows = {}
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            rows[row["key"]] = row
    return rows


def run_sweep(
    base: Settings,
    grid: Mapping[str, Sequence[Any]],
    out: str | Path,
    executor: str = "local",
    progress: Callable[[str], None] = silent,
) -> list[dict[str, Any]]:
    """Run every grid point not already in ``out/results.jsonl``; return all rows
    in grid order. ``executor="dask"`` runs the points on a local Dask cluster
    (needs the ``dist`` extra)."""
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}; valid: {', '.join(EXECUTORS)}")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    results = folder / "results.jsonl"
    todo = points(base, grid)
    done = _done(results)
    pending = [p for p in todo if key(p) not in done]
    progress(f"sweep: {len(todo)} points, {len(todo) - len(pending)} already done")
    if executor == "dask":
        new_rows = _dask_map(pending)
    else:
        new_rows = (summarise(p) for p in pending)
    with results.open("a") as fh:
        for i, row in enumerate(new_rows, 1):
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            done[row["key"]] = row
            progress(f"sweep: {i}/{len(pending)} {row['verdict']} (ratio {row['ratio']:.3g})")
    rows = [done[key(p)] for p in todo]
    write_summary(rows, folder, list(grid))
    return rows


def _dask_map(pending: list[Settings]):
    try:
        import dask
    except ImportError:
        raise ConfigError("executor 'dask' needs Dask: pip install 'vaebounds[dist]'") from None
    tasks = [dask.delayed(summarise)(p) for p in pending]
    return iter(dask.compute(*tasks, scheduler="processes"))


def write_summary(rows: list[dict[str, Any]], folder: Path, axes: list[str]) -> None:
    """``summary.csv`` (one row per point) and ``sweep.png`` (bound and observed
    average per point, log scale)."""
    columns = [*axes, "C_gamma", "bound", "observed", "observed_lo", "observed_hi", "ratio", "verdict"]
    with (folder / "summary.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [", ".join(f"{a}={r[a]}" for a in axes) for r in rows]
    x = range(len(rows))
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(rows) + 2), 4))
    ax.semilogy(x, [r["bound"] for r in rows], "s", color="tab:red", label="bound")
    ax.errorbar(
        x,
        [r["observed"] for r in rows],
        yerr=[
            [r["observed"] - r["observed_lo"] for r in rows],
            [r["observed_hi"] - r["observed"] for r in rows],
        ],
        fmt="o",
        color="tab:blue",
        label="observed (1/n) sum ||grad F||^2",
    )
    ax.set_xticks(list(x), labels, rotation=45, ha="right", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("sweep: bound vs observed at each grid point")
    fig.tight_layout()
    fig.savefig(folder / "sweep.png", dpi=110)
    plt.close(fig)


def exit_code(rows: list[dict[str, Any]]) -> int:
    """1 if any point violates its bound, else 3 if any point's assumptions failed, else 0."""
    verdicts = {r["verdict"] for r in rows}
    if "violated" in verdicts:
        return 1
    return 3 if "assumptions failed" in verdicts else 0
