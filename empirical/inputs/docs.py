"""docs/inputs.md, generated from the inventory.

``python -m empirical.inputs.docs`` rewrites it; a test checks the committed page is current.
"""

from __future__ import annotations

import sys
from pathlib import Path

from empirical import inputs
from empirical.inputs.limits import PART_INPUTS

INTRO = """\
# Inputs: every value a user gives, and what is allowed

Generated from `empirical/inputs` (`python -m empirical.inputs.docs`); the
command line's `--help`, the settings and this page read the same table, so
they agree. It lists what a user types: the command-line options, the sweep's
grid axes and the files a command reads. A value outside its range is refused
before anything runs: the command prints one line, `vaebounds: error: ...`
naming the input, the value and what is allowed, and exits 2. The Python
functions keep their defaults in their signatures and check their arguments
with the same rules (`empirical.validate`): a bad argument raises a
`ValueError` subclass (`empirical.errors.ConfigError` / `DataError`,
`theory.errors.TheoryError`) naming it, the value and what is allowed. Any
other exception is a bug and keeps its traceback.

Text on the command line is read strictly: an integer option takes digits
only (`1e3` or `2.0` is refused), a number option takes what Python's
`float` reads, and NaN, inf and values outside the range are refused; `-0`
is read as 0 where 0 is allowed and refused where the range excludes 0.
"""

EXIT_CODES = """\
## Exit codes

| code | meaning |
|---|---|
| 0 | the bound holds at the estimated constants: the upper end of the interval for the expectation \
over runs is at most the bound (`derive`, `estimate`, `advise`: done) |
| 1 | the bound is violated: the lower end of that interval is above the bound |
| 2 | bad input: one line on stderr, nothing written (an unwritable `--out` is found before any work; a \
step size whose training diverges, when it diverges: `verify` refuses it; a sweep records the point, \
see below) |
| 3 | not covered: an assumption of the theorem fails on the run, or is only approximate without \
`--approximate-ok` (the report is written, the comparison for reference) |
| 4 | inconclusive: the bound lies inside the interval, or one run (`--seeds 1`: one run cannot \
estimate an expectation; the report is written) |
| 130 | interrupted (SIGINT): no output folder, or the previous one intact |
| 143 | terminated (SIGTERM): as 130 |

A sweep exits with the first of 1, 3, 4, 0 that any of its points has: a violation
anywhere first, then a point without a verdict, then an inconclusive one (docs/decision.md).
A sweep point whose training diverges is a row without a comparison, not covered (3), its
message in `diverged`; the sweep goes on.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _row(entry: inputs.Input) -> str:
    where = f"`{entry.flag}`" if entry.flag else f"`{entry.name}`"
    if entry.aliases:
        where += " (former name: " + ", ".join(f"`{a}`" for a in entry.aliases) + ")"
    cells = (entry.meaning, entry.rule.allowed(), entry.default_text())
    return f"| {where} | " + " | ".join(_cell(c) for c in cells) + " |"


def _table(rows: list[str]) -> list[str]:
    return ["| input | meaning | allowed | default |", "|---|---|---|---|", *rows, ""]


def render() -> str:
    """The text of docs/inputs.md.

    Returns:
        The page: the settings, each sub-command's options, the grid axes, the files, the sizes
        and the exit codes, from the inventory.
    """
    out = [INTRO]
    out += ["## Settings of verify, estimate, sweep and advise", ""]
    out += [
        "The same options under every sub-command (the sweep's grid axes take the "
        "same values); defaults that differ: "
        + "; ".join(
            f"`{cmd}`: " + ", ".join(f"{inputs.setting(k).flag} {v}" for k, v in d.items())
            for cmd, d in inputs.COMMAND_DEFAULTS.items()
            if d
        )
        + ". `verify` and `sweep` need at least 2 steps.",
        "",
    ]
    out += _table([_row(e) for e in inputs.SETTINGS])
    out += [
        "Names a value is picked from are one table each in `empirical/inputs`: "
        f"models {', '.join(inputs.MODELS)}; optimizers {', '.join(inputs.OPTIMIZERS)}; data sets "
        f"{', '.join(inputs.DATA_NAMES)} or a {'/'.join(inputs.DATA_SUFFIXES)} file.",
        "",
        "**The held-out split.** `--holdout FRACTION` (default 0.2, 0 allowed) holds out "
        "round(FRACTION x N) of the N rows; the split's permutation has a fixed seed (0), so every "
        "`--seed` trains on the same rows. The runs and every estimate use the training rows only; "
        "report.json records the rows, the training and held-out counts and the split's seed "
        "(`data_set`).",
        "",
    ]
    for command, options in inputs.COMMAND_OPTIONS.items():
        out += [f"## Options of `vaebounds {command}`", ""]
        out += _table([_row(e) for e in options])
    out += ["`vaebounds --version` prints the version.", ""]
    out += ["## Sweep grids", ""]
    out += [
        "`vaebounds sweep --grid NAME=V1,V2,...` (repeat `--grid` for more axes; no axis and no value "
        "twice): each axis is a setting under its theory name, and each value follows that setting's rule.",
        "",
        "| axis | setting | allowed |",
        "|---|---|---|",
        *[
            f"| `{name}` | `{inputs.setting(field).flag}` | {_cell(inputs.setting(field).rule.allowed())} |"
            for name, field in inputs.GRID_FIELDS.items()
        ],
        "",
    ]
    out += ["## Files", ""]
    for rule in inputs.FILES:
        out += [f"**{rule.name}** ({rule.given_by}):", ""]
        out += [f"- {line}" for line in rule.rules]
        out.append("")
    out += [
        "## Sizes",
        "",
        f"Before anything large is allocated, a run's memory is estimated from its steps, runs, batch "
        f"size, K, model size and data size (`empirical/budget.py`) and refused above "
        f"{inputs.MAX_BYTES // 2**30} GiB, naming the largest part and the inputs it grows with:",
        "",
        *[f"- {part}: {grows}" for part, grows in PART_INPUTS.items()],
        "",
        f"A model has at most {inputs.MAX_PARAMS:.0e} parameters; data at most "
        f"{inputs.MAX_DATA_VALUES} values and {inputs.MAX_FILE_BYTES // 2**30} GiB on disk.",
        "",
        f"A sweep's grid has at most {inputs.MAX_GRID_POINTS} points (the product of its axes' sizes, "
        "counted before any point is built; each point is a verify run of seconds to minutes, so split "
        "a larger study into several sweeps, each resumable). Each axis value is checked once, the data, "
        "model and memory once, on the point with every axis at its largest value; the sweep then prints "
        "its point count at once and one line per finished point (`--quiet`: none).",
        "",
    ]
    out.append(EXIT_CODES)
    return "\n".join(out).rstrip() + "\n"


def main(path: str = "docs/inputs.md") -> None:
    """Write docs/inputs.md.

    Args:
        path: Where to write it.
    """
    Path(path).write_text(render())
    print(path)


if __name__ == "__main__":  # python -m empirical.inputs.docs [PATH]
    main(*sys.argv[1:2])
