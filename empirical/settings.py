"""The settings of a verify / estimate run, validated, and the one vocabulary table.

The table translates between settings fields, theory symbols, command-line flags and
report.json keys (docs/architecture.md, "Vocabulary"). One type for every source of
runs; :attr:`Settings.source` says where they came from. Nothing here imports torch:
a bad setting is refused before any model is built.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from empirical import inputs
from empirical.errors import ConfigError
from empirical.inputs import SEED_MAX
from empirical.inputs.rules import Text, Whole, usable_path

# ------------------------------------------------------------------ vocabulary


@dataclass(frozen=True)
class SettingNames:
    """One setting under each of its names.

    Attributes:
        field: The field of :class:`Settings`.
        symbol: The symbol in :mod:`theory.symbols` (None when the theory has none).
        flag: The command-line flag.
        report: The key in report.json.
        meaning: What it is, in words.
    """

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

VOCABULARY: tuple[SettingNames, ...] = tuple(
    SettingNames(i.name, _SYMBOLS.get(i.name), i.flag or "", i.name, i.meaning) for i in inputs.SETTINGS
)
_BY_FIELD = {t.field: t for t in VOCABULARY}

#: The sweep's grid axes, by grid name.
GRID_AXES: dict[str, SettingNames] = {t.grid_name: t for t in VOCABULARY if t.grid_name in inputs.GRID_NAMES}


def setting_names(field: str) -> SettingNames:
    """The vocabulary entry of a settings field.

    Args:
        field: The field's name.

    Returns:
        Its names.
    """
    return _BY_FIELD[field]


def _named(field: str) -> str:
    """How messages name a setting: its inventory label, e.g. ``K (--samples)``."""
    return inputs.setting(field).label


# -------------------------------------------------------------------- choices

# The tables of names and the limits live in the inventory (empirical.inputs).
MODELS = inputs.MODELS
OPTIMIZERS = inputs.OPTIMIZERS
ADAGRAD_VARIANTS = inputs.ADAGRAD_VARIANTS
BUILTIN_DEFAULTS = inputs.BUILTIN_DEFAULTS
USER_MODEL_DEFAULTS = inputs.USER_MODEL_DEFAULTS
CONV = inputs.CONV
is_user_model = inputs.is_user_model
#: Options of the built-in models only: a user's module must leave them at their defaults.
BUILTIN_ONLY = ("K", "beta", "activation", "s", "box", "latent_dim", "hidden")
#: beta of the "beta" model when none is given.
BETA_VAE_DEFAULT = 4.0
#: t of the reparameterisation noise of the built-in models under Adam and Adagrad: N(0, 1)
#: truncated to |eps_j| <= t and scaled to variance 1 (empirical.vae.truncated_normal), so their
#: gradients are bounded, as Défossez et al. need (||g||_inf <= R almost surely); each coordinate
#: cuts the mass 2 Phi(-5) = 5.7e-7 (docs/theory.md, "Truncated reparameterisation noise"). SGD's
#: theorems need no such bound: its runs keep N(0, I).
ADAPTIVE_NOISE_BOUND = 5.0
#: Settings of the CLI's runs only: an own loop leaves them unset.
CLI_ONLY = ("C_gamma", "beta", "activation", "s", "box", "holdout", "variant", "latent_dim", "hidden")
#: Where the runs come from (module docstring).
BUILT_IN, USER_MODULE, OWN_LOOP = "built-in", "user module", "own loop"
SOURCES = (BUILT_IN, USER_MODULE, OWN_LOOP)
#: Names report.json files written before a rename used (settings field -> its name now).
FORMER_NAMES = {"seeds": "runs", "adam_variant": "variant"}


def _default(name: str) -> Any:
    return inputs.setting(name).default


@dataclass(frozen=True)
class Settings:
    """Everything a verify/estimate run depends on, validated on construction.

    The fields, their flags, allowed values and defaults: docs/inputs.md, "Settings of
    verify, estimate, sweep and advise". ``steps``, ``batch_size`` and ``runs`` left None
    take the model's defaults (:data:`BUILTIN_DEFAULTS`, or :data:`USER_MODEL_DEFAULTS` for
    ``conv`` and ``FILE.py:NAME``), resolved here; ``steps`` may be 0 only for estimation.

    Attributes:
        model: The VAE trained.
        optimizer: sgd, adam or adagrad.
        data: The data set's name or file.
        steps: The iterations n.
        batch_size: B.
        K: The variational samples per row.
        C_gamma: The step constant (None: from the pilot, or the optimizer's lr).
        beta: The KL weight (None: the model's).
        activation: The hidden-layer activation.
        s: The soft-clip's sharpness.
        box: The box radius a of projected SGD (None: no projection).
        seed: The seed of the first run.
        runs: R, the number of runs; their seeds are :attr:`seeds`.
        holdout: The held-out fraction of the data rows.
        variant: The adaptive theorem's variant.
        latent_dim: The latent dimension of the built-in models.
        hidden: The hidden width of the built-in models.
        source: Where the runs come from: ``built-in`` (a model of :mod:`empirical.models`,
            trained by the CLI's batched runs), ``user module`` (``conv`` or
            ``FILE.py:NAME``: the CLI's plain loop, tracked) or ``own loop`` (a module tracked
            in the user's own loop, :func:`empirical.track`; its model, optimizer and data
            are descriptions, and the CLI cannot re-run it). Derived from ``model`` unless it
            is ``own loop`` (:meth:`own_loop`).
        stress: Whether to run the stress search of the constants
            (:func:`empirical.estimators.stress_runs`; built-in models only).
        stress_margin: The fraction by which each run's box is widened for the search.

    Raises:
        ConfigError: A bad value, naming the field, its flag, the value and what is allowed.
    """

    model: str = _default("model")
    optimizer: str = _default("optimizer")
    data: str = _default("data")
    steps: int | None = _default("steps")
    batch_size: int | None = _default("batch_size")
    K: int | None = _default("K")
    C_gamma: float | None = _default("C_gamma")
    beta: float | None = _default("beta")
    activation: str | None = _default("activation")
    s: float | None = _default("s")
    box: float | None = _default("box")
    seed: int = _default("seed")
    runs: int | None = _default("runs")
    holdout: float | None = _default("holdout")
    variant: str | None = _default("variant")
    latent_dim: int | None = _default("latent_dim")
    hidden: int | None = _default("hidden")
    stress: bool = _default("stress")
    stress_margin: float = _default("stress_margin")
    source: str | None = None

    def __post_init__(self) -> None:
        if self.source == OWN_LOOP:
            self._check_own_loop()
            return
        inputs.setting("model").check(self.model)
        user = is_user_model(self.model)
        source = USER_MODULE if user else BUILT_IN
        if self.source not in (None, source):
            raise ConfigError(
                f"source must be {source!r} for the model {self.model!r} (one of {', '.join(SOURCES)}), "
                f"got {self.source!r}"
            )
        object.__setattr__(self, "source", source)
        for name, default in (USER_MODEL_DEFAULTS if user else BUILTIN_DEFAULTS).items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, default)
        for entry in inputs.SETTINGS:  # each value against its range in the inventory
            object.__setattr__(self, entry.name, entry.check(getattr(self, entry.name)))
        inputs.check_data_source(self.data)
        if user:
            self._check_user_model()
        if self.optimizer == "adagrad" and self.variant not in ADAGRAD_VARIANTS:
            raise ConfigError(
                f"{_named('variant')} must be one of {', '.join(ADAGRAD_VARIANTS)} with adagrad, "
                f"got {self.variant!r}"
            )
        if self.optimizer == "sgd" and self.variant != _default("variant"):
            raise ConfigError(
                f"{_named('variant')} {self.variant!r} picks a variant of --optimizer adam or "
                "adagrad; sgd has none: give --optimizer adam (or adagrad), or leave --variant out"
            )
        if self.K > 1 and self.model == "linear":
            raise ConfigError(f"{_named('K')} > 1 applies to the gaussian, beta and iwae models, not linear")
        if self.hidden is not None and self.model == "linear":
            raise ConfigError(
                f"{_named('hidden')} applies to the gaussian, beta and iwae models; the linear VAE has no "
                f"hidden layer (got {self.hidden})"
            )
        self._check_last_seed()

    def _check_last_seed(self) -> None:
        if self.seed + self.runs - 1 > SEED_MAX:
            raise ConfigError(
                f"{_named('seed')} + runs - 1 must be at most 2**63 - 1, got {self.seed} + {self.runs} - 1"
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
        if self.stress_margin != _default("stress_margin"):
            raise ConfigError(
                f"{_named('stress_margin')} widens the stress search of the built-in models; a user's module "
                f"({self.model}) is not searched (its report says so); got {self.stress_margin!r}"
            )
        if self.optimizer == "adam" and self.variant == "delayed":
            raise ConfigError(f"{_named('variant')} 'delayed' is trained for the built-in models only")

    def _check_own_loop(self) -> None:
        """A loop tracked in Python: descriptions, counts, and nothing of the built-in models."""
        for name in ("model", "optimizer", "data"):
            Text("a description").check(name, getattr(self, name))
        for name in ("steps", "batch_size", "seed", "runs", "stress", "stress_margin"):
            object.__setattr__(self, name, inputs.setting(name).rule.check(name, getattr(self, name)))
        if self.K is not None:
            Whole(1, None).check("K", self.K)
        given = [n for n in CLI_ONLY if getattr(self, n)]
        if given:
            raise ConfigError(f"settings of an own loop leave {', '.join(given)} unset (they are the CLI's)")
        self._check_last_seed()

    @classmethod
    def own_loop(
        cls, model: str, optimizer: str, data: str, steps: int, batch_size: int, seed: int, runs: int,
        K: int | None = None,
    ) -> Settings:  # fmt: skip
        """The settings of runs tracked in the user's own loop.

        Args:
            model: A description of the model.
            optimizer: A description of the optimizer.
            data: A description of the data.
            steps: The iterations tracked.
            batch_size: The minibatch's rows.
            seed: The first run's seed.
            runs: R.
            K: The samples per row the loss draws, if known.

        Returns:
            Settings with source ``own loop``.
        """
        return cls(
            model=model, optimizer=optimizer, data=data, steps=steps, batch_size=batch_size, K=K,
            activation=None, seed=seed, runs=runs, holdout=None, variant=None, source=OWN_LOOP,
        )  # fmt: skip

    @property
    def is_user_model(self) -> bool:
        """True for ``conv`` and ``FILE.py:NAME`` (and an own loop): a user's module, tracked."""
        return self.source != BUILT_IN

    @property
    def theorem_model(self) -> str:
        """The model of the theorem catalogue: the built-in model, or ``generic`` for a user's module."""
        return self.model if self.source == BUILT_IN else "generic"

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> Settings:
        """Settings from a mapping of field names.

        Args:
            values: Field name -> value; the names of :data:`FORMER_NAMES` are read as the
                fields they became.

        Returns:
            The settings.

        Raises:
            ConfigError: An unknown key, or a bad value.
        """
        values = dict(values)
        for old, new in FORMER_NAMES.items():
            if old in values and new not in values:
                values[new] = values.pop(old)
            values.pop(old, None)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        """Every field under its report.json key.

        Returns:
            Key -> value (``runs`` the count; the seeds are :attr:`seeds`), and ``source``.
        """
        out = {
            setting_names(f.name).report: getattr(self, f.name) for f in fields(self) if f.name != "source"
        }
        return {**out, "source": self.source}

    @property
    def seeds(self) -> list[int]:
        """The seeds of the R runs: seed, seed + 1, ..., seed + R - 1."""
        return list(range(self.seed, self.seed + self.runs))

    @property
    def beta_value(self) -> float | None:
        """The KL weight: beta given, or the beta-VAE default for the "beta" model."""
        if self.beta is None and self.model == "beta":
            return BETA_VAE_DEFAULT
        return self.beta

    def model_options(self) -> tuple[str, dict[str, Any]]:
        """The options of the built-in model for :func:`empirical.models.make`.

        Under Adam and Adagrad the noise is truncated (:data:`ADAPTIVE_NOISE_BOUND`).

        Returns:
            (kind, options).
        """
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
        if self.optimizer in ("adam", "adagrad"):
            opts["noise_bound"] = ADAPTIVE_NOISE_BOUND
        return kind, opts
