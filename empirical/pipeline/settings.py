"""The settings of a verify / estimate run, validated, and the one vocabulary
table that translates between settings fields, theory symbols, command-line
flags and report.json keys (docs/architecture.md, "Vocabulary").

Nothing here imports torch: a bad setting is refused before any model is built.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from empirical import inputs
from empirical.errors import ConfigError
from empirical.inputs import SEED_MAX
from empirical.inputs.rules import usable_path

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


#: Theory symbol of each setting that has one (docs/architecture.md, "Vocabulary").
_SYMBOLS = {"steps": "n", "batch_size": "B", "K": "K", "C_gamma": "C_gamma", "beta": "beta", "s": "s"}
_SYMBOLS.update(box="a", latent_dim="d_z", hidden="width")

VOCABULARY: tuple[Term, ...] = tuple(
    Term(i.name, _SYMBOLS.get(i.name), i.flag or "", i.name, i.meaning) for i in inputs.SETTINGS
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
    """How messages name a setting: its inventory label, e.g. ``K (--samples)``."""
    return inputs.setting(field).label


# -------------------------------------------------------------------- choices

# The tables of names and the limits live in the inventory (empirical.inputs).
MODELS = inputs.MODELS
OPTIMIZERS = inputs.OPTIMIZERS
ACTIVATIONS = inputs.ACTIVATIONS
ADAM_VARIANTS = inputs.ADAM_VARIANTS
ADAGRAD_VARIANTS = inputs.ADAGRAD_VARIANTS
BUILTIN_DEFAULTS = inputs.BUILTIN_DEFAULTS
USER_MODEL_DEFAULTS = inputs.USER_MODEL_DEFAULTS
CONV = inputs.CONV
is_user_model = inputs.is_user_model
MAX_STEPS, MAX_BATCH, MAX_SAMPLES, MAX_SEEDS = (
    inputs.MAX_STEPS, inputs.MAX_BATCH, inputs.MAX_SAMPLES, inputs.MAX_SEEDS,
)  # fmt: skip
#: Options of the built-in models only: a user's module must leave them at their defaults.
BUILTIN_ONLY = ("K", "beta", "activation", "s", "box", "latent_dim", "hidden")
#: beta of the "beta" model when none is given.
BETA_VAE_DEFAULT = 4.0


def _default(name: str) -> Any:
    return inputs.setting(name).default


@dataclass(frozen=True)
class Settings:
    """Everything a verify/estimate run depends on, validated on construction
    (a :class:`~empirical.errors.ConfigError` names the field, its flag, the
    value and what is allowed). ``steps`` may be 0 only for estimation.
    ``steps``, ``batch_size`` and ``seeds`` left None take the model's defaults
    (:data:`BUILTIN_DEFAULTS`, or :data:`USER_MODEL_DEFAULTS` for ``conv`` and
    ``FILE.py:NAME``), resolved here."""

    model: str = _default("model")
    optimizer: str = _default("optimizer")
    data: str = _default("data")
    steps: int | None = _default("steps")
    batch_size: int | None = _default("batch_size")
    K: int = _default("K")
    C_gamma: float | None = _default("C_gamma")
    beta: float | None = _default("beta")
    activation: str = _default("activation")
    s: float | None = _default("s")
    box: float | None = _default("box")
    seed: int = _default("seed")
    seeds: int | None = _default("seeds")
    holdout: float = _default("holdout")
    adam_variant: str = _default("adam_variant")
    latent_dim: int | None = _default("latent_dim")
    hidden: int | None = _default("hidden")

    def __post_init__(self) -> None:
        inputs.setting("model").check(self.model)
        user = is_user_model(self.model)
        for name, default in (USER_MODEL_DEFAULTS if user else BUILTIN_DEFAULTS).items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, default)
        for entry in inputs.SETTINGS:  # each value against its range in the inventory
            object.__setattr__(self, entry.name, entry.check(getattr(self, entry.name)))
        inputs.check_data_source(self.data)
        if user:
            self._check_user_model()
        if self.optimizer == "adagrad" and self.adam_variant not in ADAGRAD_VARIANTS:
            raise ConfigError(
                f"{_named('adam_variant')} must be one of {', '.join(ADAGRAD_VARIANTS)} with adagrad, "
                f"got {self.adam_variant!r}"
            )
        if self.optimizer == "sgd" and self.adam_variant != _default("adam_variant"):
            raise ConfigError(
                f"{_named('adam_variant')} {self.adam_variant!r} picks a variant of --optimizer adam or "
                "adagrad; sgd has none: give --optimizer adam (or adagrad), or leave --adam-variant out"
            )
        if self.K > 1 and self.model == "linear":
            raise ConfigError(f"{_named('K')} > 1 applies to the gaussian, beta and iwae models, not linear")
        if self.hidden is not None and self.model == "linear":
            raise ConfigError(
                f"{_named('hidden')} applies to the gaussian, beta and iwae models; the linear VAE has no "
                f"hidden layer (got {self.hidden})"
            )
        if self.seed + self.seeds - 1 > SEED_MAX:
            raise ConfigError(
                f"{_named('seed')} + seeds - 1 must be at most 2**63 - 1, got {self.seed} + {self.seeds} - 1"
            )

    def _check_user_model(self) -> None:
        """A user's module: its file exists; the built-in models' options are refused."""
        if self.model != CONV:
            path = usable_path(_named("model"), self.model.rpartition(":")[0])
            if not path.is_file():
                raise ConfigError(f"{_named('model')}: no file {path} (give FILE.py:NAME)")
        for name in BUILTIN_ONLY:
            if getattr(self, name) != _default(name):
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
        if self.latent_dim is not None:  # else empirical.models.make's default, min(8, D)
            opts["latent_dim"] = self.latent_dim
        if self.hidden is not None and kind != "linear":
            opts["hidden"] = (self.hidden,)
        if self.beta_value is not None:
            opts["beta"] = self.beta_value
        if kind != "linear":
            opts.update(activation=self.activation, K=self.K)
            if self.s is not None:
                opts["s"] = self.s
        return kind, opts
