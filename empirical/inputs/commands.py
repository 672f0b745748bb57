"""The options of each sub-command beyond the settings (``--out``, ``--json``, ``--quiet``, ...).

:data:`COMMAND_OPTIONS` maps a sub-command to its inputs; the CLI's parser and
docs/inputs.md read it. Imports no torch.
"""

from __future__ import annotations

from empirical.inputs.limits import MAX_BUDGET, MAX_GRID_POINTS, MAX_STEPS
from empirical.inputs.names import GRID_NAMES, table
from empirical.inputs.rules import Choice, Flag, Input, Text, Whole

__all__ = ["APPROXIMATE_OK", "COMMAND_OPTIONS", "QUIET", "option"]

#: ``--quiet``, the same under every sub-command that runs.
QUIET = Input("quiet", Flag(), False, "no progress on stderr", "--quiet")
#: ``--approximate-ok``: verify and sweep accept assumption rows that are only approximately met.
APPROXIMATE_OK = Input(
    "approximate_ok",
    Flag(),
    False,
    "accept assumption rows that are only approximately met (e.g. --variant torch under Défossez et "
    "al.'s theorem): the verdict is then holds, violated or inconclusive, marked approximately covered, "
    "instead of not covered (exit 3)",
    "--approximate-ok",
)


def _json(what: str, note: str = "") -> Input:
    """``--json``: print ``what`` as JSON on stdout."""
    return Input("json", Flag(), False, f"print {what} as JSON on stdout{note}", "--json")


#: Options of each sub-command beyond the settings (command -> inputs).
COMMAND_OPTIONS: dict[str, tuple[Input, ...]] = {
    "verify": (
        Input(
            "out",
            Text("a folder path you can write (a new folder or a previous report's)"),
            "vaebounds-report",
            "output folder of the report, written as a whole",
            "--out",
        ),
        _json("the report", " (the summary then goes to stderr)"),
        QUIET,
        APPROXIMATE_OK,
        Input(
            "device",
            Choice(lambda: table("DEVICES")),
            "cpu",
            "where a user's module (--model conv or FILE.py:make) trains and is measured; cuda is refused "
            "when no CUDA device is present, and for the built-in models (they train on the CPU)",
            "--device",
        ),
        Input(
            "from",
            Text("the report.json of a verify run (not an estimate.json or a sweep's file)"),
            None,
            "re-run the settings of a report.json (options given too replace its values)",
            "--from",
            optional=True,
            unset="none",
        ),
    ),
    "estimate": (
        Input(
            "out",
            Text("a folder path you can write (a new folder or a previous estimate's)"),
            "vaebounds-estimate",
            "output folder of estimate.json, written as a whole",
            "--out",
        ),
        _json("the constants"),
        QUIET,
    ),
    "sweep": (
        Input(
            "grid",
            Text(
                f"NAME=V1,V2,... with NAME in {', '.join(GRID_NAMES)}, no value twice, not also given as "
                f"its option (e.g. B and --batch-size); at most {MAX_GRID_POINTS} points in all"
            ),
            None,
            "a grid axis (repeat for more axes; required)",
            "--grid",
        ),
        Input(
            "executor",
            Choice(lambda: table("EXECUTORS")),
            "local",
            "local, or dask (a local Dask cluster, needs vaebounds[dist])",
            "--executor",
        ),
        Input(
            "out",
            Text("a folder path you can write"),
            "vaebounds-sweep",
            "output folder (results.jsonl appended per point; resumable)",
            "--out",
        ),
        _json("the rows"),
        QUIET,
        APPROXIMATE_OK,
    ),
    "advise": (
        Input(
            "budget",
            Whole(2, MAX_BUDGET),
            None,
            "gradient evaluations to spend, n B K (a step costs B rows x K draws); the default run is "
            "n = floor(budget / (B K)) steps at the given B and K",
            "--budget",
            optional=True,
            unset="the default run's, --steps x --batch-size x --samples",
        ),
        Input(
            "max_steps",
            Whole(2, MAX_STEPS),
            None,
            "the most steps n the advice may propose (a step costs wall time besides its B K gradient "
            "evaluations); the bound's best split without it is reported too",
            "--max-steps",
            optional=True,
            unset="4 x the default's n",
        ),
        Input(
            "check",
            Flag(),
            False,
            "also run the advice and the default side by side (--seeds runs each, the same budget) and say "
            "whether the advice helped (Welch t, 95%)",
            "--check",
        ),
        Input(
            "out",
            Text("a folder path you can write (a new folder or a previous advice's)"),
            None,
            "output folder of advice.json (and, with --check, advice.png), written as a whole",
            "--out",
            optional=True,
            unset="nothing written",
        ),
        _json("the advice", " (the summary then goes to stderr)"),
        QUIET,
    ),
    "derive": (
        Input(
            "out",
            Text("a folder path you can write"),
            "derivations",
            "output folder of derivations/*.md, written as a whole",
            "--out",
        ),
    ),
}


def option(command: str, name: str) -> Input:
    """The inventory entry of ``command``'s option ``name`` (beyond the settings)."""
    return next(i for i in COMMAND_OPTIONS[command] if i.name == name)
