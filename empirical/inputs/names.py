"""The names a user picks from: models, optimizers and their variants, executors, devices, grid axes.

One table each, so that adding a name is one line; the settings inputs
(:mod:`empirical.inputs.fields`) and the sub-command options
(:mod:`empirical.inputs.commands`) take their choices from here. Imports no torch.

The generated list of every input: docs/inputs.md.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

__all__ = [
    "ACTIVATIONS", "ADAGRAD_VARIANTS", "ADAM_VARIANTS", "BUILTIN_DEFAULTS", "CONV", "DEVICES",
    "EXECUTORS", "GRID_FIELDS", "GRID_NAMES", "MODELS", "MODEL_FORMS", "OPTIMIZERS",
    "USER_MODEL_DEFAULTS", "is_user_model", "table",
]  # fmt: skip

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


def table(name: str) -> Any:
    """A table of this module as :mod:`empirical.inputs` holds it when a value is checked.

    The rules of the settings and options read their choices through this, at check time, so
    that a table replaced on the package (``empirical.inputs.OPTIMIZERS = ...``, as the tests
    do) is the one every rule, ``--help`` and docs/inputs.md see.

    Args:
        name: A table's name, e.g. ``"MODELS"``.

    Returns:
        The package's attribute of that name (this module's own before the package is loaded).
    """
    package = sys.modules.get("empirical.inputs")
    return getattr(package, name) if hasattr(package, name) else globals()[name]
