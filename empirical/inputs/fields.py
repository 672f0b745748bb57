"""One input per field of the settings, and how a sub-command narrows them.

:data:`SETTINGS` lists every field of :class:`empirical.settings.Settings` (but ``source``,
derived) with its rule, default and meaning; :data:`COMMAND_DEFAULTS` and
:data:`COMMAND_RULES` are what a sub-command sets differently. docs/inputs.md is generated
from these (:mod:`empirical.inputs.docs`). Imports no torch.
"""

from __future__ import annotations

from typing import Any

from empirical.inputs.limits import (
    DATA_NAMES,
    DATA_SUFFIXES,
    HIDDEN_DEFAULT,
    LATENT_DEFAULT,
    MAX_BATCH,
    MAX_REAL,
    MAX_SAMPLES,
    MAX_SEEDS,
    MAX_STEPS,
    MAX_STRESS_MARGIN,
    MAX_WIDTH,
    MIN_BOX,
    SEED_MAX,
)
from empirical.inputs.names import BUILTIN_DEFAULTS, USER_MODEL_DEFAULTS, table
from empirical.inputs.rules import Choice, Flag, Input, Number, Rule, Text, Whole

__all__ = [
    "COMMAND_DEFAULTS", "COMMAND_RULES", "SETTINGS", "SETTINGS_BY_NAME", "command_defaults",
    "command_rule", "setting",
]  # fmt: skip


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
        Choice(lambda: tuple(table("MODELS")), lambda: table("MODEL_FORMS")),
        "gaussian",
        "the VAE trained (conv and FILE.py:NAME are trained by a plain torch loop and tracked, "
        "empirical.track; their runs go one after the other)",
        "--model",
    ),
    Input(
        "optimizer",
        Choice(lambda: table("OPTIMIZERS")),
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
        unset="SGD: the optimum C* of the SGD bound at twice a pilot's L, clipped to 1/(2L); "
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
    Input(
        "activation",
        Choice(lambda: table("ACTIVATIONS")),
        "softclip",
        "hidden-layer activation",
        "--activation",
    ),
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
        Choice(lambda: table("ADAM_VARIANTS")),
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
#: estimate measures the built-in models; a user's module is measured by verify.
ESTIMATE_ELSEWHERE = "conv and FILE.py:NAME are measured by verify, whose report holds their constants"
#: Rules a sub-command narrows (verify compares a trajectory: at least 2 steps; estimate measures
#: the built-in models).
COMMAND_RULES: dict[str, dict[str, Rule]] = {
    "verify": {"steps": Whole(2, MAX_STEPS)},
    "estimate": {"model": Choice(lambda: tuple(table("MODELS")), note=ESTIMATE_ELSEWHERE)},
    "sweep": {"steps": Whole(2, MAX_STEPS)},
    "advise": {"steps": Whole(2, MAX_STEPS)},
}


def setting(name: str) -> Input:
    """The inventory entry of a settings field."""
    return SETTINGS_BY_NAME[name]


def command_rule(command: str, name: str) -> Rule:
    """The rule of setting ``name`` under sub-command ``command``."""
    return COMMAND_RULES.get(command, {}).get(name, setting(name).rule)


def command_defaults(command: str) -> dict[str, Any]:
    """Every setting's default under ``command``."""
    return {i.name: COMMAND_DEFAULTS.get(command, {}).get(i.name, i.default) for i in SETTINGS}
