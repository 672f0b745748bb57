"""Every input a user types, as data (docs/inputs.md is generated from it).

Each :class:`Input` has a name, a rule (:class:`Whole`, :class:`Number`,
:class:`Choice`, :class:`Text`, :class:`Flag`) with its allowed range, a
default and a one-line meaning. The command-line options of every
sub-command (:data:`SETTINGS`, :data:`COMMAND_OPTIONS`), the sweep's grid
axes (:data:`GRID_NAMES`, each taking its setting's rule) and the files a
user gives (:data:`FILES`: data files, results.jsonl, report.json) are listed
here; the settings, the CLI's ``--help`` and docs/inputs.md read them, so they
cannot disagree. The Python functions keep their defaults in their signatures
and check their arguments with :mod:`empirical.validate`. A rule's ``check`` raises
:class:`~empirical.errors.ConfigError` naming the input, the value and what
is allowed. Names a user picks from (models, optimizers, data sets) are one
table each: adding a name is one line there.

Imports no torch: a bad input is refused before torch is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from empirical.inputs.files import FILES, FileRule, check_data_source
from empirical.inputs.limits import (
    DATA_NAMES,
    DATA_SUFFIXES,
    HIDDEN_DEFAULT,
    LATENT_DEFAULT,
    MAX_ABS_DATA,
    MAX_BATCH,
    MAX_BUDGET,
    MAX_BYTES,
    MAX_DATA_VALUES,
    MAX_FILE_BYTES,
    MAX_GRID_POINTS,
    MAX_PARAMS,
    MAX_REAL,
    MAX_SAMPLES,
    MAX_SEEDS,
    MAX_STEPS,
    MAX_STRESS_MARGIN,
    MAX_WIDTH,
    MIN_BOX,
    MIN_TRAIN_ROWS,
    SEED_MAX,
)
from empirical.inputs.rules import Choice, Flag, Input, Number, Rule, Text, Whole

__all__ = [
    "ACTIVATIONS", "ADAGRAD_VARIANTS", "ADAM_VARIANTS", "BUILTIN_DEFAULTS", "COMMAND_DEFAULTS",
    "COMMAND_OPTIONS", "COMMAND_RULES", "CONV", "DATA_NAMES", "DATA_SUFFIXES", "DEVICES", "EXECUTORS",
    "FILES",
    "GRID_FIELDS", "GRID_NAMES", "HIDDEN_DEFAULT", "LATENT_DEFAULT", "MAX_ABS_DATA", "MAX_BATCH",
    "MAX_BUDGET", "MAX_BYTES", "MAX_DATA_VALUES", "MAX_FILE_BYTES", "MAX_GRID_POINTS", "MAX_PARAMS",
    "MAX_REAL", "MAX_SAMPLES", "MAX_SEEDS", "MAX_STEPS", "MAX_STRESS_MARGIN", "MAX_WIDTH", "MIN_BOX",
    "MIN_TRAIN_ROWS",
    "MODELS", "MODEL_FORMS", "OPTIMIZERS", "SEED_MAX", "SETTINGS", "SETTINGS_BY_NAME",
    "USER_MODEL_DEFAULTS", "Choice", "FileRule", "Flag", "Input", "Number", "Rule", "Text", "Whole",
    "check_data_source", "command_defaults", "command_rule", "is_user_model", "option",
    "setting",
]  # fmt: skip

# ------------------------------------------------------------------ names

#: Models of ``--model``: name -> (kind of empirical.models.make, fixed options).
#: Every name is a model of the theorem catalogue (theory.MODELS).
MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "gaussian": ("gaussian", {}),
    "linear": ("linear", {}),
    "beta": ("gaussian", {}),
    "iwae": ("iwae", {}),
}
#: The built-in convolutional VAE, treated exactly as a user's module (empirical.conv).
CONV = "conv"


def is_user_model(name: object) -> bool:
    """True for ``"conv"`` and ``"path/to/file.py:function"`` (a user's module)."""
    if not isinstance(name, str):
        return False
    path, sep, function = name.rpartition(":")
    return name == CONV or bool(sep and path.endswith(".py") and function.isidentifier())


#: Other forms a ``--model`` value may take: (what it is, test of the text).
MODEL_FORMS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("conv (the built-in convolutional VAE)", lambda text: text == CONV),
    (
        "FILE.py:NAME (a function NAME(data_dim) -> (torch.nn.Module, loss(model, x) -> per-example losses))",
        lambda text: text != CONV and is_user_model(text),
    ),
)
#: Defaults of steps, batch_size and seeds left unset, for the built-in models and for a
#: user's module (``conv`` or ``FILE.py:NAME``: trained one run after the other; sized so
#: that ``verify --model conv --data mnist`` takes a few minutes on 2 cores).
BUILTIN_DEFAULTS: dict[str, int] = {"steps": 2000, "batch_size": 32, "runs": 4}
USER_MODEL_DEFAULTS: dict[str, int] = {"steps": 500, "batch_size": 32, "runs": 4}
#: Step rules of ``--optimizer`` (the training loop runs each; a subset of theory.OPTIMIZERS).
OPTIMIZERS = ("sgd", "adam", "adagrad")
ACTIVATIONS = ("softclip", "relu")
ADAM_VARIANTS = ("defossez", "torch", "delayed")
#: The variants Adagrad has (no delayed Adagrad is trained).
ADAGRAD_VARIANTS = ("defossez", "torch")
EXECUTORS = ("local", "dask")
#: Where a user's module (conv, FILE.py:make) trains and is measured (``verify --device``).
DEVICES = ("cpu", "cuda")
#: Sweep grid axes (theory names, and ``seed``) and the settings field of each.
GRID_FIELDS = {"B": "batch_size", "K": "K", "beta": "beta", "s": "s", "C_gamma": "C_gamma", "seed": "seed"}
GRID_NAMES = tuple(GRID_FIELDS)

# --------------------------------------------------------- verify/estimate/sweep


def _by_model(name: str) -> str:
    builtin, user = BUILTIN_DEFAULTS[name], USER_MODEL_DEFAULTS[name]
    return (
        f"{builtin} for the built-in models, {user} for conv and FILE.py:NAME"
        if builtin != user
        else str(user)
    )


#: One input per field of :class:`empirical.settings.Settings` (but ``source``, derived), in its order.
SETTINGS: tuple[Input, ...] = (
    Input(
        "model",
        Choice(lambda: tuple(MODELS), lambda: MODEL_FORMS),
        "gaussian",
        "the VAE trained (conv and FILE.py:NAME are trained by a plain torch loop and tracked, "
        "empirical.track; their runs go one after the other)",
        "--model",
    ),
    Input(
        "optimizer",
        Choice(lambda: OPTIMIZERS),
        "sgd",
        "the step rule (adam: lr 1e-3, betas (0.9, 0.999), eps 1e-8; adagrad: lr 1e-2, eps 1e-8; "
        "both with a constant step)",
        "--optimizer",
    ),
    Input(
        "data",
        Text(f"one of {', '.join(DATA_NAMES)} or a {'/'.join(DATA_SUFFIXES)} file"),
        "digits",
        "data set name (mnist: 5000 28x28 images in [0, 1]) or file",
        "--data",
    ),
    Input(
        "steps",
        Whole(0, MAX_STEPS),
        None,
        "iterations n (verify and sweep: at least 2; estimate: 0 = at theta_0)",
        "--steps",
        optional=True,
        unset=_by_model("steps"),
    ),
    Input(
        "batch_size",
        Whole(1, MAX_BATCH),
        None,
        "batch size B (rows drawn with replacement)",
        "--batch-size",
        optional=True,
        unset=_by_model("batch_size"),
    ),
    Input("K", Whole(1, MAX_SAMPLES), 1, "variational samples K per row", "--samples"),
    Input(
        "C_gamma",
        Number(0.0, MAX_REAL),
        None,
        "step constant: SGD's gamma_k = C_gamma k^(-1/2); Adam, Adagrad: the constant lr",
        "--lr-constant",
        optional=True,
        unset="SGD: the optimum C* of the SGD bound from a pilot estimate, clipped to 1/(2L); "
        "adam: 1e-3, adagrad: 1e-2 (their constant lr)",
    ),
    Input(
        "beta",
        Number(0.0, MAX_REAL, closed=True),
        None,
        "KL weight",
        "--beta",
        optional=True,
        unset="1 (the beta model: 4)",
    ),
    Input("activation", Choice(lambda: ACTIVATIONS), "softclip", "hidden-layer activation", "--activation"),
    Input("s", Number(0.0, MAX_REAL), None, "soft-clip sharpness", "--sharpness", optional=True, unset="1"),
    Input(
        "box",
        Number(MIN_BOX, MAX_REAL, closed=True),
        None,
        "box radius a (A2): projected SGD onto ||theta||_inf <= a (below 1e-12 the float32 iterates "
        "underflow to 0)",
        "--box",
        optional=True,
        unset="no projection",
    ),
    Input("seed", Whole(0, SEED_MAX), 0, "seed of the first run", "--seed"),
    Input(
        "runs",
        Whole(1, MAX_SEEDS),
        None,
        "runs R: seeds seed..seed+R-1, compared through their mean",
        "--seeds",
        optional=True,
        unset=_by_model("runs"),
    ),
    Input(
        "holdout",
        Number(0.0, 1.0, closed=True, hi_open=True),
        0.2,
        "held-out fraction of the data rows (split with a fixed seed, the same for every --seed)",
        "--holdout",
    ),
    Input(
        "variant",
        Choice(lambda: ADAM_VARIANTS),
        "defossez",
        "the adaptive theorem's variant, for Adam and Adagrad alike: defossez trains the algorithm "
        "Défossez et al. analyse, torch trains torch.optim.Adam / Adagrad, delayed Adam's delayed "
        "preconditioner (built-in models; adagrad: defossez or torch; sgd has none: another value than "
        "the default is refused)",
        "--variant",
        aliases=("--adam-variant",),
    ),
    Input(
        "latent_dim",
        Whole(1, MAX_WIDTH),
        None,
        "latent dimension of the built-in models (at most the data's columns)",
        "--latent-dim",
        optional=True,
        unset=f"min({LATENT_DEFAULT}, the data's columns)",
    ),
    Input(
        "hidden",
        Whole(1, MAX_WIDTH),
        None,
        "width of the hidden layer of the encoder and of the decoder (gaussian, beta, iwae; the linear "
        "VAE has none)",
        "--hidden",
        optional=True,
        unset=str(HIDDEN_DEFAULT),
    ),
    Input(
        "stress",
        Flag(when_given=False),
        True,
        "search the region the runs visited for larger L and variance parts than their snapshots "
        "showed, and evaluate the bound at these stressed values (built-in models; a user's module is "
        "not searched); --no-stress skips the search (the bound at the runs' constants; the table of "
        "the constants along the runs stays)",
        "--no-stress",
    ),
    Input(
        "stress_margin",
        Number(0.0, MAX_STRESS_MARGIN, closed=True),
        0.0,
        "widening of the stress search's box (per run, the coordinate-wise range of its snapshots) by "
        "this fraction of each coordinate's width on each side (built-in models)",
        "--stress-margin",
    ),
)
SETTINGS_BY_NAME: dict[str, Input] = {i.name: i for i in SETTINGS}

#: Defaults a sub-command sets differently from :data:`SETTINGS`.
COMMAND_DEFAULTS: dict[str, dict[str, Any]] = {
    "verify": {},
    "estimate": {"steps": 0, "runs": 1},
    "sweep": {"steps": 500},
    "advise": {},
}
#: Rules a sub-command narrows (verify compares a trajectory: at least 2 steps).
COMMAND_RULES: dict[str, dict[str, Rule]] = {
    "verify": {"steps": Whole(2, MAX_STEPS)},
    "estimate": {},
    "sweep": {"steps": Whole(2, MAX_STEPS)},
    "advise": {"steps": Whole(2, MAX_STEPS)},
}

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
            Choice(lambda: DEVICES),
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
            Choice(lambda: EXECUTORS),
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


def setting(name: str) -> Input:
    """The inventory entry of a settings field."""
    return SETTINGS_BY_NAME[name]


def option(command: str, name: str) -> Input:
    """The inventory entry of ``command``'s option ``name`` (beyond the settings)."""
    return next(i for i in COMMAND_OPTIONS[command] if i.name == name)


def command_rule(command: str, name: str) -> Rule:
    """The rule of setting ``name`` under sub-command ``command``."""
    return COMMAND_RULES.get(command, {}).get(name, setting(name).rule)


def command_defaults(command: str) -> dict[str, Any]:
    """Every setting's default under ``command``."""
    return {i.name: COMMAND_DEFAULTS.get(command, {}).get(i.name, i.default) for i in SETTINGS}
