"""Plain-language names of models, optimizers and theorems, for figure titles and legends.

The one naming table ("Gaussian VAE, SGD", not ``gaussian/sgd``).

A name added to a table of :mod:`empirical.inputs` gets its plain name here; a
value no table knows (a tracker's ``"VAE (user module)"``, ``torch.optim.SGD``)
is shown as given.

The names follow docs/architecture.md, "Vocabulary (one name per thing)".
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

#: ``--model`` name -> plain name.
MODEL_NAMES: dict[str, str] = {
    "gaussian": "Gaussian VAE",
    "linear": "linear VAE",
    "beta": "β-VAE",
    "iwae": "IWAE",
    "conv": "convolutional VAE",
    "generic": "any model",
    "bbvi": "black-box VI",
}
#: (``--optimizer``, ``--variant``) -> plain name; SGD has no variant (None).
OPTIMIZER_NAMES: dict[tuple[str, str | None], str] = {
    ("sgd", None): "SGD",
    ("adam", "defossez"): "Adam (Défossez et al.'s form)",
    ("adam", "torch"): "Adam (torch.optim.Adam)",
    ("adam", "delayed"): "Adam, delayed preconditioner",
    ("adagrad", "defossez"): "Adagrad (Défossez et al.'s form)",
    ("adagrad", "torch"): "Adagrad (torch.optim.Adagrad)",
}
#: (optimizer, theorem variant) -> what the theorem is, in words ("" is the default variant).
THEOREM_NAMES: dict[tuple[str, str], str] = {
    ("sgd", ""): "SGD theorem",
    ("sgd", "schedule"): "SGD theorem for the steps taken",
    ("sgd", "projected"): "projected-SGD theorem",
    ("sgd", "biased"): "biased-gradient SGD theorem",
    ("sgd", "growth"): "SGD theorem under a growth condition",
    ("adam", ""): "Adam theorem, constant beta2",
    ("adam", "defossez"): "Adam theorem",
    ("adam", "defossez-horizon"): "Adam theorem, beta2 tuned to n",
    ("adam", "aposteriori"): "a-posteriori Adam bound",
    ("adam", "biased"): "biased-gradient Adam theorem",
    ("adagrad", ""): "Adagrad theorem",
    ("adagrad", "aposteriori"): "a-posteriori Adagrad bound",
}


#: Constant (a report.json name, or a column of the table along the runs) -> plain name.
CONSTANT_NAMES: dict[str, str] = {
    "L": "L: largest |eigenvalue| of the Hessian",
    "sigma2_data": "σ²_data: gradient variance over rows",
    "sigma2_mc": "σ²_MC: Monte-Carlo gradient variance per sample",
    "sigma2_mc_K": "σ²_MC,K: Monte-Carlo gradient variance at the K used",
    "M": "M: largest per-example gradient norm",
    "theta_sup": "‖θ‖∞: largest parameter magnitude",
}


def constant_name(name: str) -> str:
    """The plain name of a constant, e.g. "L, largest |eigenvalue| of the Hessian".

    Args:
        name: The theory symbol.

    Returns:
        Its plain name (``name`` itself when no table knows it).
    """
    return CONSTANT_NAMES.get(name, name)


def model_name(model: str, activation: str | None = None, beta: float | None = None) -> str:
    """The plain name of ``--model``, e.g. "Gaussian VAE (ReLU)", "β-VAE (β = 4)".

    Args:
        model: a ``--model`` value, a user's ``FILE.py:NAME`` or a tracker's description.
        activation: the hidden activation (named when it is ReLU).
        beta: the KL weight (named for the β-VAE).

    Returns:
        The name.
    """
    if model in MODEL_NAMES:
        name = MODEL_NAMES[model]
    elif model.partition(":")[0].endswith(".py"):
        path, _, function = model.rpartition(":")
        name = f"your model {PurePath(path).name}:{function}"
    else:
        name = model
    notes = []
    if model == "beta" and beta is not None:
        notes.append(f"β = {beta:g}")
    if activation == "relu" and model in ("gaussian", "beta", "iwae"):
        notes.append("ReLU")
    return f"{name} ({', '.join(notes)})" if notes else name


def optimizer_name(optimizer: str, variant: str | None = None, box: float | None = None) -> str:
    """The plain name of ``--optimizer`` with its variant, e.g. "projected SGD (a = 0.5)".

    Args:
        optimizer: sgd, adam, adagrad, or a tracker's description of a torch optimizer.
        variant: ``--variant`` (ignored for SGD).
        box: the box radius of projected SGD.

    Returns:
        The name.
    """
    if optimizer == "sgd":
        return "SGD" if box is None else f"projected SGD (a = {box:g})"
    return OPTIMIZER_NAMES.get((optimizer, variant), optimizer)


def run_name(settings: Any) -> str:
    """The model and optimizer of a run in words, e.g. "Gaussian VAE, SGD".

    Args:
        settings: A :class:`~empirical.settings.Settings` of any source, or a sweep row.

    Returns:
        The name.
    """
    get = settings.get if isinstance(settings, dict) else lambda k: getattr(settings, k, None)
    beta = get("beta")
    if beta is None and get("model") == "beta":
        beta = getattr(settings, "beta_value", None)
    model = model_name(str(get("model")), get("activation"), beta)
    return f"{model}, {optimizer_name(str(get('optimizer')), get('variant'), get('box'))}"


def theorem_name(theorem: Any) -> str:
    """The bound's theorem in words with its first author, e.g. "SGD theorem (Surendran et al.)".

    Args:
        theorem: a :class:`theory.Bound` (its optimizer, variant and reference).

    Returns:
        The name.
    """
    key = theorem_key(theorem.optimizer, getattr(theorem, "variant", ""))
    what = THEOREM_NAMES.get(key, f"{key[0]} theorem {key[1]}".strip())
    return f"{what} ({authors(str(getattr(theorem, 'reference', '') or ''))})"


def theorem_key(optimizer: str, variant: str | None) -> tuple[str, str]:
    """The key of :data:`THEOREM_NAMES`.

    Args:
        optimizer: The theorem's optimizer.
        variant: Its variant ("default" is the default variant "").

    Returns:
        (optimizer, variant); black-box VI's "-nonlinear" forms share their linear form's key.
    """
    base = (variant or "").removesuffix("nonlinear").rstrip("-")
    return optimizer, "" if base == "default" else base


def authors(reference: str) -> str:
    """The first author of a reference, e.g. "Surendran et al." or "Ghadimi and Lan".

    Args:
        reference: "Surendran, Godichon-Baggioni, Le Corff, 'Title', venue".

    Returns:
        The authors in short; "derived here" for the project's own derivations.
    """
    if reference.startswith("derived here"):
        return "derived here"
    names = [a.strip() for a in reference.split("'")[0].split(",") if a.strip()]
    if len(names) <= 1:
        return names[0] if names else "no reference"
    return f"{names[0]} and {names[1]}" if len(names) == 2 else f"{names[0]} et al."
