"""Every input a user types, as data (docs/inputs.md is generated from it).

Each :class:`Input` has a name, a rule (:class:`Whole`, :class:`Number`,
:class:`Choice`, :class:`Text`, :class:`Flag`) with its allowed range, a
default and a one-line meaning. The command-line options of every
sub-command (:data:`SETTINGS`, :data:`COMMAND_OPTIONS`), the sweep's grid
axes (:data:`GRID_NAMES`, each taking its setting's rule) and the files a
user gives (:data:`FILES`: data files, results.jsonl, report.json) are listed
in the sub-modules (:mod:`~empirical.inputs.names`, :mod:`~empirical.inputs.fields`,
:mod:`~empirical.inputs.commands`, :mod:`~empirical.inputs.files`, the bounds in
:mod:`~empirical.inputs.limits`) and re-exported here; the settings, the CLI's
``--help`` and docs/inputs.md read them, so they cannot disagree. The Python
functions keep their defaults in their signatures and check their arguments
with :mod:`empirical.validate`. A rule's ``check`` raises
:class:`~empirical.errors.ConfigError` naming the input, the value and what
is allowed. Names a user picks from (models, optimizers, data sets) are one
table each: adding a name is one line there.

Imports no torch: a bad input is refused before torch is loaded.
"""

from __future__ import annotations

from empirical.inputs.commands import COMMAND_OPTIONS, option
from empirical.inputs.fields import (
    COMMAND_DEFAULTS,
    COMMAND_RULES,
    SETTINGS,
    SETTINGS_BY_NAME,
    command_defaults,
    command_rule,
    setting,
)
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
from empirical.inputs.names import (
    ACTIVATIONS,
    ADAGRAD_VARIANTS,
    ADAM_VARIANTS,
    BUILTIN_DEFAULTS,
    CONV,
    DEVICES,
    EXECUTORS,
    GRID_FIELDS,
    GRID_NAMES,
    MODEL_FORMS,
    MODELS,
    OPTIMIZERS,
    USER_MODEL_DEFAULTS,
    is_user_model,
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
