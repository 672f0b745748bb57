"""The settings of a verify / estimate run, validated, and the one vocabulary
table that translates between settings fields, theory symbols, command-line
flags and report.json keys (docs/design.md, "Vocabulary").

Nothing here imports torch: a bad setting is refused before any model is built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from empirical import validate
from empirical.errors import ConfigError
from empirical.validate import SEED_MAX

# ------------------------------------------------------------------ vocabulary


@dataclass(frozen=True)
class Term:
    """One setting under each of its names: ``field`` of :class:`Settings`,
    ``symbol`` in :mod:`theory.symbols` (None when the theory has none),
    ``flag`` on the command line and ``report`` key in report.json."""

    field: str
    symbol: str | None
    flag: str
    report: str
    meaning: str

    @property
    def grid_name(self) -> str:
        """The name a sweep grid uses: the theory symbol where there is one."""
        return self.symbol or self.field


VOCABULARY: tuple[Term, ...] = (
    Term("model", None, "--model", "model", "the VAE trained"),
    Term("optimizer", None, "--optimizer", "optimizer", "the step rule"),
    Term("data", None, "--data", "data", "data set name or file"),
    Term("steps", "n", "--steps", "steps", "iterations"),
    Term("batch_size", "B", "--batch-size", "batch_size", "batch size"),
    Term("K", "K", "--samples", "K", "variational samples"),
    Term("C_gamma", "C_gamma", "--lr-constant", "C_gamma", "step constant, gamma_k = C_gamma k^(-1/2)"),
    Term("beta", "beta", "--beta", "beta", "KL weight"),
    Term("activation", None, "--activation", "activation", "hidden-layer activation"),
    Term("s", "s", "--sharpness", "s", "soft-clip sharpness"),
    Term("box", "a", "--box", "box", "box radius (A2): projection onto ||theta||_inf <= a"),
    Term("seed", None, "--seed", "seed", "seed of the first run"),
    Term("seeds", None, "--seeds", "seeds", "number of runs R (report: the list of seeds)"),
    Term("holdout", None, "--holdout", "holdout", "held-out fraction of the data rows"),
    Term(
        "adam_variant",
        None,
        "--adam-variant",
        "adam_variant",
        "Adam/Adagrad: the analysed algorithm (defossez), torch's, or Adam's delayed preconditioner",
    ),  # fmt: skip
)
_BY_FIELD = {t.field: t for t in VOCABULARY}

#: The sweep's grid axes, by grid name.
GRID_AXES: dict[str, Term] = {
    t.grid_name: t for t in VOCABULARY if t.grid_name in ("B", "K", "beta", "s", "C_gamma", "seed")
}


def term(field: str) -> Term:
    """The vocabulary entry of a settings field."""
    return _BY_FIELD[field]


def _named(field: str) -> str:
    t = _BY_FIELD[field]
    return f"{field} ({t.flag})"


# -------------------------------------------------------------------- choices

#: Settings model name -> (kind of empirical.models.make, fixed options). Every
#: name is a model of the theorem catalogue (theory.MODELS).
MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "gaussian": ("gaussian", {}),
    "linear": ("linear", {}),
    "beta": ("gaussian", {}),
    "iwae": ("iwae", {}),
}
#: Defaults of the fields left None, for the built-in models and for a user's module
#: (``--model conv`` or ``--model FILE.py:make``: trained one run after the other, a few
#: minutes on 2 cores for the convolutional VAE on MNIST).
BUILTIN_DEFAULTS: dict[str, int] = {"steps": 2000, "batch_size": 32, "seeds": 4}
USER_MODEL_DEFAULTS: dict[str, int] = {"steps": 1000, "batch_size": 32, "seeds": 1}
#: The built-in convolutional VAE, treated exactly as a user's module (empirical.conv).
CONV = "conv"


def is_user_model(name: object) -> bool:
    """True for ``"conv"`` and ``"path/to/file.py:function"`` (a user's module)."""
    if not isinstance(name, str):
        return False
    path, sep, function = name.rpartition(":")
    return name == CONV or bool(sep and path.endswith(".py") and function.isidentifier())


#: Optimizers the training loop runs (a subset of theory.OPTIMIZERS).
OPTIMIZERS = ("sgd", "adam", "adagrad")
ACTIVATIONS = ("softclip", "relu")
ADAM_VARIANTS = ("defossez", "torch", "delayed")
#: The variants Adagrad has (no delayed Adagrad is trained).
ADAGRAD_VARIANTS = ("defossez", "torch")
#: beta of the "beta" model when none is given.
BETA_VAE_DEFAULT = 4.0
#: Largest sizes accepted (checked before anything is allocated).
MAX_STEPS = 10**8
MAX_BATCH = 10**6
MAX_SAMPLES = 10**4
MAX_SEEDS = 1024


def _integer(field: str, value: Any, lo: int, hi: int) -> int:
    return validate.integer(_named(field), value, lo, hi)


def _number(field: str, value: Any, *, allow_zero: bool = False, hi: float = math.inf) -> float:
    return validate.number(_named(field), value, allow_zero=allow_zero, hi=hi)


def _choice(field: str, value: Any, allowed: tuple[str, ...]) -> str:
    return validate.choice(_named(field), value, allowed)


@dataclass(frozen=True)
class Settings:
    """Everything a verify/estimate run depends on, validated on construction
    (a :class:`~empirical.errors.ConfigError` names the field, its flag, the
    value and what is allowed). ``steps`` may be 0 only for estimation.
    ``steps``, ``batch_size`` and ``seeds`` left None take the model's defaults
    (:data:`BUILTIN_DEFAULTS`, or :data:`USER_MODEL_DEFAULTS` for ``conv`` and
    ``FILE.py:NAME``), resolved here."""

    model: str = "gaussian"
    optimizer: str = "sgd"
    data: str = "digits"
    steps: int | None = None
    batch_size: int | None = None
    K: int = 1
    C_gamma: float | None = None
    beta: float | None = None
    activation: str = "softclip"
    s: float | None = None
    box: float | None = None
    seed: int = 0
    seeds: int | None = None
    holdout: float = 0.2
    adam_variant: str = "defossez"

    def __post_init__(self) -> None:
        user = is_user_model(self.model)
        if not user and self.model not in MODELS:
            raise ConfigError(
                f"{_named('model')} must be one of {', '.join(MODELS)}, {CONV}, or FILE.py:NAME (a function "
                f"make(data_dim) -> (module, loss)), got {self.model!r}"
            )
        for name, default in (USER_MODEL_DEFAULTS if user else BUILTIN_DEFAULTS).items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, default)
        if user:
            self._check_user_model()
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("adam_variant", self.adam_variant, ADAM_VARIANTS)
        if self.optimizer == "adagrad":
            _choice("adam_variant", self.adam_variant, ADAGRAD_VARIANTS)
        if not isinstance(self.data, str) or not self.data:
            raise ConfigError(f"{_named('data')} must be a data set name or a file path, got {self.data!r}")
        _integer("steps", self.steps, 0, MAX_STEPS)
        _integer("batch_size", self.batch_size, 1, MAX_BATCH)
        _integer("K", self.K, 1, MAX_SAMPLES)
        if self.K > 1 and self.model == "linear":
            raise ConfigError(f"{_named('K')} > 1 applies to the gaussian, beta and iwae models, not linear")
        _integer("seed", self.seed, 0, SEED_MAX)
        _integer("seeds", self.seeds, 1, MAX_SEEDS)
        if self.seed + self.seeds - 1 > SEED_MAX:
            raise ConfigError(f"{_named('seed')} + seeds - 1 must be at most 2**63 - 1, got {self.seed}")
        for name in ("C_gamma", "s", "box"):
            if getattr(self, name) is not None:
                _number(name, getattr(self, name), hi=1e6)
        if self.beta is not None:
            _number("beta", self.beta, allow_zero=True, hi=1e6)
        if not (isinstance(self.holdout, int | float) and not isinstance(self.holdout, bool)) or not (
            0.0 <= self.holdout < 1.0
        ):
            raise ConfigError(f"{_named('holdout')} must be a fraction in [0, 1), got {self.holdout!r}")

    def _check_user_model(self) -> None:
        """A user's module: its file exists; the built-in models' options are refused."""
        from pathlib import Path

        if self.model != CONV:
            path = Path(self.model.rpartition(":")[0]).expanduser()
            if not path.is_file():
                raise ConfigError(f"{_named('model')}: no file {path} (give FILE.py:NAME)")
        for name, default in (
            ("K", 1),
            ("beta", None),
            ("activation", "softclip"),
            ("s", None),
            ("box", None),
        ):
            if getattr(self, name) != default:
                raise ConfigError(
                    f"{_named(name)} applies to the built-in models, not to a user's module ({self.model}): "
                    f"its loss draws its own samples and its options are its own; got {getattr(self, name)!r}"
                )
        if self.optimizer == "adam" and self.adam_variant == "delayed":
            raise ConfigError(f"{_named('adam_variant')} 'delayed' is trained for the built-in models only")

    @property
    def is_user_model(self) -> bool:
        """True for ``conv`` and ``FILE.py:NAME``: trained by a plain loop and tracked."""
        return is_user_model(self.model)

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> Settings:
        """Settings from a mapping of field names (unknown keys are refused)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        """Every field under its report.json key (``seeds`` as the count here)."""
        return {term(f.name).report: getattr(self, f.name) for f in fields(self)}

    @property
    def seed_list(self) -> list[int]:
        """The seeds of the R runs: seed, seed + 1, ..., seed + R - 1."""
        return list(range(self.seed, self.seed + self.seeds))

    @property
    def beta_value(self) -> float | None:
        """beta given, or the beta-VAE default for the "beta" model."""
        if self.beta is None and self.model == "beta":
            return BETA_VAE_DEFAULT
        return self.beta

    def model_options(self) -> tuple[str, dict[str, Any]]:
        """(kind for empirical.models.make, options)."""
        kind, fixed = MODELS[self.model]
        opts: dict[str, Any] = dict(fixed)
        if self.beta_value is not None:
            opts["beta"] = self.beta_value
        if kind != "linear":
            opts.update(activation=self.activation, K=self.K)
            if self.s is not None:
                opts["s"] = self.s
        return kind, opts
