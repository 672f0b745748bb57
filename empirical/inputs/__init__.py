"""Every input a user controls, as data (docs/inputs.md is generated from it).

Each :class:`Input` has a name, a rule (:class:`Whole`, :class:`Number`,
:class:`Choice`, :class:`Text`, :class:`Flag`) with its allowed range, a
default and a one-line meaning. The command-line options of every
sub-command (:data:`SETTINGS`, :data:`COMMAND_OPTIONS`), the files a user
gives (:data:`FILES`) and the arguments of the public functions
(:data:`API`) are listed here; the settings, the CLI's ``--help`` and
docs/inputs.md read them, so they cannot disagree. A rule's ``check`` raises
:class:`~empirical.errors.ConfigError` naming the input, the value and what
is allowed. Names a user picks from (models, optimizers, data sets) are one
table each: adding a name is one line there.

Imports no torch: a bad input is refused before torch is loaded.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from empirical.errors import ConfigError, DataError
from empirical.inputs import rules
from empirical.inputs.rules import Choice, Flag, Input, Number, Rule, Text, Whole, shown, usable_path

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
BUILTIN_DEFAULTS: dict[str, int] = {"steps": 2000, "batch_size": 32, "seeds": 4}
USER_MODEL_DEFAULTS: dict[str, int] = {"steps": 500, "batch_size": 32, "seeds": 4}
#: Step rules of ``--optimizer`` (the training loop runs each; a subset of theory.OPTIMIZERS).
OPTIMIZERS = ("sgd", "adam", "adagrad")
ACTIVATIONS = ("softclip", "relu")
ADAM_VARIANTS = ("defossez", "torch", "delayed")
#: The variants Adagrad has (no delayed Adagrad is trained).
ADAGRAD_VARIANTS = ("defossez", "torch")
#: Built-in data sets of ``--data``; any other value is a file with one of DATA_SUFFIXES.
DATA_NAMES = ("digits", "mnist", "ppca")
DATA_SUFFIXES = (".npy", ".csv")
EXECUTORS = ("local", "dask")
#: Sweep grid axes (theory names, and ``seed``).
GRID_NAMES = ("B", "K", "beta", "s", "C_gamma", "seed")

# ----------------------------------------------------------------- limits

#: Seeds are integers in [0, SEED_MAX] (torch.Generator.manual_seed takes 64-bit signed values).
SEED_MAX = rules.SEED_MAX
MAX_STEPS = 10**8
MAX_BATCH = 10**6
MAX_SAMPLES = 10**4
MAX_SEEDS = 1024
#: Largest value of a real-valued setting (beta, s, box, C_gamma).
MAX_REAL = 1e6
#: Largest data dimension, latent dimension and hidden width of a model.
MAX_WIDTH = 10**6
#: Largest number of parameters of one model (4 GB in float32).
MAX_PARAMS = 10**9
#: Largest |x| of a data value: the estimators sum squared per-example
#: gradients in float32, which overflow or lose all precision above this.
MAX_ABS_DATA = 1e6
#: Fewest training rows (after the held-out split): the constants' intervals are
#: Student-t intervals over rows and sigma2_data is a variance over rows.
MIN_TRAIN_ROWS = 10
#: Largest data file (bytes), checked before it is read.
MAX_FILE_BYTES = 2**30
#: Largest number of values (rows x columns) of a data set: 512 MiB in float32.
MAX_DATA_VALUES = 2**27
#: Largest memory a run may allocate by the estimate of empirical.budget (bytes).
MAX_BYTES = 8 * 2**30


# --------------------------------------------------------- verify/estimate/sweep


def _by_model(name: str) -> str:
    builtin, user = BUILTIN_DEFAULTS[name], USER_MODEL_DEFAULTS[name]
    return (
        f"{builtin} for the built-in models, {user} for conv and FILE.py:NAME"
        if builtin != user
        else str(user)
    )


#: One input per field of :class:`empirical.pipeline.Settings`, in its order.
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
        Number(0.0, MAX_REAL),
        None,
        "box radius a (A2): projected SGD onto ||theta||_inf <= a",
        "--box",
        optional=True,
        unset="no projection",
    ),
    Input("seed", Whole(0, SEED_MAX), 0, "seed of the first run", "--seed"),
    Input(
        "seeds",
        Whole(1, MAX_SEEDS),
        None,
        "runs R: seeds seed..seed+R-1, compared through their mean",
        "--seeds",
        optional=True,
        unset=_by_model("seeds"),
    ),
    Input(
        "holdout",
        Number(0.0, 1.0, closed=True, hi_open=True),
        0.2,
        "held-out fraction of the data rows (split with a fixed seed, the same for every --seed)",
        "--holdout",
    ),
    Input(
        "adam_variant",
        Choice(lambda: ADAM_VARIANTS),
        "defossez",
        "Adam/Adagrad: defossez trains the algorithm Défossez et al. analyse, torch trains "
        "torch.optim.Adam / Adagrad, delayed Adam's delayed preconditioner (built-in models; "
        "adagrad: defossez or torch)",
        "--adam-variant",
    ),
)
SETTINGS_BY_NAME: dict[str, Input] = {i.name: i for i in SETTINGS}

#: Defaults a sub-command sets differently from :data:`SETTINGS`.
COMMAND_DEFAULTS: dict[str, dict[str, Any]] = {
    "verify": {},
    "estimate": {"steps": 0, "seeds": 1},
    "sweep": {"steps": 500},
}
#: Rules a sub-command narrows (verify compares a trajectory: at least 2 steps).
COMMAND_RULES: dict[str, dict[str, Rule]] = {
    "verify": {"steps": Whole(2, MAX_STEPS)},
    "estimate": {},
    "sweep": {"steps": Whole(2, MAX_STEPS)},
}

#: Options of each sub-command beyond the settings (command -> inputs).
COMMAND_OPTIONS: dict[str, tuple[Input, ...]] = {
    "verify": (
        Input(
            "out",
            Text("a folder path (a new folder or a previous report's)"),
            "vaebounds-report",
            "output folder of the report, written as a whole",
            "--out",
        ),
        Input(
            "json",
            Flag(),
            False,
            "print the report JSON on stdout (the summary then goes to stderr)",
            "--json",
        ),
        Input("quiet", Flag(), False, "no progress on stderr", "--quiet"),
        Input(
            "from",
            Text("a report.json path"),
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
            Text("a folder path (a new folder or a previous estimate's)"),
            "vaebounds-estimate",
            "output folder of estimate.json, written as a whole",
            "--out",
        ),
        Input("json", Flag(), False, "print the constants as JSON on stdout", "--json"),
        Input("quiet", Flag(), False, "no progress on stderr", "--quiet"),
    ),
    "sweep": (
        Input(
            "grid",
            Text(f"NAME=V1,V2,... with NAME in {', '.join(GRID_NAMES)}, no value twice"),
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
            Text("a folder path"),
            "vaebounds-sweep",
            "output folder (results.jsonl appended per point; resumable)",
            "--out",
        ),
        Input("json", Flag(), False, "print the rows as JSON on stdout", "--json"),
        Input("quiet", Flag(), False, "no progress on stderr", "--quiet"),
    ),
    "derive": (
        Input(
            "out",
            Text("a folder path"),
            "derivations",
            "output folder of derivations/*.md, written as a whole",
            "--out",
        ),
    ),
}

# ------------------------------------------------------------------ files


@dataclass(frozen=True)
class FileRule:
    """A file a user gives, and what it must hold."""

    name: str
    given_by: str
    rules: tuple[str, ...]


FILES: tuple[FileRule, ...] = (
    FileRule(
        "data file",
        "--data FILE.npy | FILE.csv; empirical.data.load",
        (
            "a file (not a folder) with suffix .npy (numpy, no pickles) or .csv (comma-separated, "
            "at most one header line)",
            f"at most {MAX_FILE_BYTES // 2**30} GiB and {MAX_DATA_VALUES} values (rows x columns), checked "
            "before it is read (a .npy by its header)",
            "numeric (int, float or bool), 2-D: rows are examples, columns features",
            "finite values with |x| <= 1e6 (MAX_ABS_DATA; standardise larger data)",
            f"at least {MIN_TRAIN_ROWS} rows left for training after the held-out split (--holdout)",
            "a model's data dimension: as many columns as the model's input (and at least its "
            "latent dimension, 8 by default)",
        ),
    ),
    FileRule(
        "results.jsonl",
        "sweep --out FOLDER (read on resume)",
        (
            "one JSON object per line, each with the key of its grid point",
            "an incomplete last line (an interrupted write) is reported with the file name and "
            "dropped; its point runs again",
            "any other line that is not a result row stops the sweep with its line number (exit 2)",
        ),
    ),
    FileRule(
        "report.json",
        "verify --from FILE",
        (
            "a report.json written by verify (its 'settings' object)",
            "a data file it names must still exist with the same sha256",
        ),
    ),
)

# -------------------------------------------------------------- public API

#: Arguments of the public functions, by function: (argument, rule, meaning).
API: dict[str, tuple[Input, ...]] = {
    "empirical.models.make": (
        Input("kind", Choice(lambda: ("linear", "gaussian", "iwae")), None, "the model family"),
        Input("data_dim", Whole(1, MAX_WIDTH), None, "columns of the data"),
        Input("latent_dim", Whole(1, MAX_WIDTH), 8, "latent dimension (at most data_dim)"),
        Input("hidden", Whole(1, MAX_WIDTH), (64,), "width of each hidden layer"),
        Input("K", Whole(1, MAX_SAMPLES), 1, "variational samples"),
        Input("c", Number(0.0, MAX_REAL), 1.0, "decoder standard deviation"),
        Input("beta", Number(0.0, MAX_REAL, closed=True), 1.0, "KL weight"),
        Input("s", Number(0.0, MAX_REAL), 1.0, "soft-clip sharpness"),
        Input("n_params", Whole(1, MAX_PARAMS), None, "parameters of the model (checked before allocation)"),
    ),
    "empirical.train.train": (
        Input("steps", Whole(1, MAX_STEPS), None, "iterations"),
        Input("batch_size", Whole(1, MAX_BATCH), 128, "batch size"),
        Input("C_gamma", Number(0.0, math.inf), None, "step constant"),
        Input("box", Number(0.0, math.inf), None, "box radius", optional=True),
        Input("seed", Whole(0, SEED_MAX), 0, "seed of the first run"),
        Input("seeds", Whole(1, MAX_SEEDS), 1, "runs R"),
    ),
    "empirical.data.load": (
        Input(
            "name_or_path",
            Text("a data set name, a .npy/.csv path, or an array"),
            None,
            "the data (every file rule above; arrays: numeric, 2-D, finite, |x| <= 1e6)",
        ),
    ),
    "empirical.estimators (every public function)": (
        Input("confidence", Number(0.0, 1.0, hi_open=True), 0.95, "level of the interval"),
        Input("seed", Whole(0, SEED_MAX), 0, "seed of the draws"),
        Input("n_examples", Whole(1, MAX_BATCH), None, "rows used (default: all, or 256)", optional=True),
        Input("mc_samples", Whole(1, MAX_SAMPLES), 4, "noise draws per row"),
    ),
    "theory.Bound.evaluate / numpy, theory.rates": (
        Input(
            "each constant",
            Text("a real number (numpy: an array) in its symbol's domain"),
            None,
            "bools, strings, NaN, inf, values too large for a float and values outside the domain "
            "(n = -1, B = 2.5) raise theory.errors.AssumptionViolation; unknown names UnknownNameError",
        ),
    ),
}


def check_data_source(value: Any, label: str = "data (--data)") -> str:
    """``value`` if it names a built-in data set or an existing, readable data file of
    at most :data:`MAX_FILE_BYTES` (checked without reading it)."""
    allowed = f"one of {', '.join(DATA_NAMES)} or a {'/'.join(DATA_SUFFIXES)} file"
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise DataError(f"{label} must be {allowed}, got {shown(value)}")
    if value in DATA_NAMES:
        return value
    try:
        path = usable_path(label, value)
    except ConfigError as err:
        raise DataError(str(err)) from None
    if path.is_dir():
        raise DataError(f"{label} {value} is a folder; give {allowed}")
    if not path.exists():
        if path.suffix.lower() in DATA_SUFFIXES:
            raise DataError(f"{label} {value}: no such file")
        raise DataError(f"{label} {shown(value)} is neither a built-in data set nor a file; give {allowed}")
    if path.suffix.lower() not in DATA_SUFFIXES:
        raise DataError(f"{label} {value}: unsupported file type {path.suffix!r}; give {allowed}")
    if not os.access(path, os.R_OK):
        raise DataError(f"{label} {value}: not readable (permissions)")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise DataError(f"{label} {value} has {size} bytes, above the limit of {MAX_FILE_BYTES} (1 GiB)")
    return value


def setting(name: str) -> Input:
    """The inventory entry of a settings field."""
    return SETTINGS_BY_NAME[name]


def command_rule(command: str, name: str) -> Rule:
    """The rule of setting ``name`` under sub-command ``command``."""
    return COMMAND_RULES.get(command, {}).get(name, setting(name).rule)


def command_defaults(command: str) -> dict[str, Any]:
    """Every setting's default under ``command``."""
    return {i.name: COMMAND_DEFAULTS.get(command, {}).get(i.name, i.default) for i in SETTINGS}


def check_api(function: str, name: str, value: Any) -> Any:
    """``value`` checked against the inventory entry ``name`` of ``function``."""
    for entry in API[function]:
        if entry.name == name:
            return entry.check(value, f"option {name}")
    raise KeyError(f"{function} has no inventory entry {name!r}")
