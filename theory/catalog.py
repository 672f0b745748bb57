"""The theorem catalogue: every (model, optimizer, variant) and the function that builds its bound.

Generic theorems are built in :mod:`theory.theorems`; a model's bound is a generic
theorem specialised to the model's explicit constants and variance
(:func:`theory.models.common.specialise`). The model and optimizer names below are
the only list of them in the package (docs/theory.md, "The theorems").
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from functools import lru_cache
from types import ModuleType
from typing import TYPE_CHECKING

from theory.errors import TheoryError, UnknownNameError

if TYPE_CHECKING:
    from theory.bound import Bound

MODELS = ("generic", "linear", "gaussian", "beta", "iwae", "bbvi")
OPTIMIZERS = ("sgd", "adam", "adagrad")

Builder = Callable[..., "Bound"]


def _theorem_module(name: str) -> ModuleType:
    """The module ``name`` of :mod:`theory.theorems`, imported on the first request for its bounds.

    Only that one: ``import theory`` builds nothing and imports no SymPy, and a bound imports the
    modules it is built from, not the whole catalogue.
    """
    return importlib.import_module(f"theory.theorems.{name}")


def _model_module(name: str) -> ModuleType:
    """The module ``name`` of :mod:`theory.models`, imported on the first request for its bound."""
    return importlib.import_module(f"theory.models.{name}")


def _theorem(path: str) -> Callable[..., Bound]:
    """The function ``module.name`` of :mod:`theory.theorems`."""
    module, name = path.split(".")
    return getattr(_theorem_module(module), name)


def _expand_flag(expand: object) -> bool:
    if not isinstance(expand, bool):
        raise TheoryError(f"expand must be True or False, got {expand!r}")
    return expand


# Generic theorems: (optimizer, variant) -> builder. ``expand`` is accepted and has no effect
# (a generic bound has no model constants to substitute).
def _sgd(alpha: object = "1/2", expand: bool = True) -> Bound:
    _expand_flag(expand)
    return _theorem("sgd.sgd_bound")(alpha)


def _biased(optimizer: str) -> Builder:
    def build(alpha_bias: object = None, expand: bool = True) -> Bound:
        _expand_flag(expand)
        return _theorem("biased.biased_bound")(alpha_bias, optimizer)

    return build


def _plain(path: str) -> Builder:
    def build(expand: bool = True) -> Bound:
        _expand_flag(expand)
        return _theorem(path)()

    return build


GENERIC: dict[tuple[str, str], Builder] = {
    ("sgd", ""): _sgd,
    ("sgd", "schedule"): _plain("sgd.schedule_bound"),
    ("sgd", "projected"): _plain("projected.projected_bound"),
    ("sgd", "growth"): _plain("growth.growth_bound"),
    ("sgd", "biased"): _biased("sgd"),
    ("adam", ""): _plain("adam_seed.seed_adam"),
    ("adam", "biased"): _biased("adam"),
    ("adam", "defossez"): _plain("adam_defossez.defossez_adam"),
    ("adam", "defossez-horizon"): _plain("adam_defossez.defossez_horizon"),
    ("adam", "aposteriori"): _plain("aposteriori.aposteriori_adam"),
    ("adagrad", ""): _plain("adam_defossez.defossez_adagrad"),
    ("adagrad", "aposteriori"): _plain("aposteriori.aposteriori_adagrad"),
}

#: The generic theorems every model specialises: (optimizer, variant) -> ``module.function``
#: of :mod:`theory.theorems`.
MODEL_THEOREMS: dict[tuple[str, str], str] = {
    ("sgd", ""): "sgd.sgd_bound",
    ("sgd", "schedule"): "sgd.schedule_bound",
    ("sgd", "projected"): "projected.projected_bound",
    ("adam", ""): "adam_seed.seed_adam",
    ("adam", "defossez"): "adam_defossez.defossez_adam",
    ("adam", "aposteriori"): "aposteriori.aposteriori_adam",
    ("adagrad", ""): "adam_defossez.defossez_adagrad",
    ("adagrad", "aposteriori"): "aposteriori.aposteriori_adagrad",
}

#: model (and variant suffix) -> (module of :mod:`theory.models`, the parameterisation or None).
MODEL_CONSTANTS: dict[tuple[str, str], tuple[str, str | None]] = {
    ("linear", ""): ("linear", None),
    ("gaussian", ""): ("gaussian", None),
    ("beta", ""): ("beta", None),
    ("iwae", ""): ("iwae", None),
    ("bbvi", ""): ("bbvi", None),
    ("bbvi", "nonlinear"): ("bbvi", "nonlinear"),
}


def _specialised(model: str, theorem: str, constants: tuple[str, str | None], variant: str) -> Builder:
    def build(expand: bool = True) -> Bound:
        module, parameterisation = constants
        values = _model_module(module).constants(*([parameterisation] if parameterisation else []))
        common = _model_module("common")
        return common.specialise(
            _theorem(theorem)(), model, values, expand=_expand_flag(expand), variant=variant
        )

    return build


def _iwae_biased(optimizer: str) -> Builder:
    def build(K_growth: object = None, expand: bool = True) -> Bound:
        _expand_flag(expand)  # L, R, Delta of -log p(x) stay symbols either way
        return _model_module("iwae").biased(K_growth, optimizer)

    return build


def _variant(theorem_variant: str, suffix: str) -> str:
    return "-".join(part for part in (theorem_variant, suffix) if part)


CATALOG: dict[tuple[str, str, str], Builder] = {
    ("generic", optimizer, variant): build for (optimizer, variant), build in GENERIC.items()
}
CATALOG |= {
    (model, optimizer, _variant(variant, suffix)): _specialised(
        model, theorem, constants, _variant(variant, suffix)
    )
    for (model, suffix), constants in MODEL_CONSTANTS.items()
    for (optimizer, variant), theorem in MODEL_THEOREMS.items()
}
CATALOG |= {
    ("iwae", "sgd", "biased"): _iwae_biased("sgd"),
    ("iwae", "adam", "biased"): _iwae_biased("adam"),
}


def registered() -> tuple[tuple[str, str, str], ...]:
    """Every registered (model, optimizer, variant), in a stable order.

    Returns:
        The keys of the catalogue, sorted by model, optimizer (in the order of
        :data:`MODELS`, :data:`OPTIMIZERS`) and variant ("" for the default).
    """
    model_order = {m: i for i, m in enumerate(MODELS)}
    optimizer_order = {o: i for i, o in enumerate(OPTIMIZERS)}
    return tuple(sorted(CATALOG, key=lambda t: (model_order[t[0]], optimizer_order[t[1]], t[2])))


def bound(model: str = "generic", optimizer: str = "sgd", variant: str | None = None, **options) -> Bound:
    """The bound of a model trained with an optimizer, built once and cached.

    Args:
        model: One of generic, linear, gaussian, beta, iwae, bbvi.
        optimizer: One of sgd, adam, adagrad.
        variant: A form where there are several (None or "" for the default):
            ``"schedule"`` (SGD under any steps), ``"growth"`` (SGD under any steps with
            the noise growing with the gradient), ``"projected"`` (projected SGD),
            ``"defossez"`` (Défossez et al.'s Adam), ``"aposteriori"`` (Adam or Adagrad
            as preconditioned SGD with measured preconditioner extremes), ``"biased"``
            (biased gradients). docs/theory.md describes each theorem.
        **options: Go to the builder: ``expand`` (model bounds: substitute the model's
            L, M, R; default True), ``alpha`` (generic SGD: the step-decay exponent, or
            "symbolic"), ``alpha_bias`` (generic biased: the bias-decay exponent),
            ``K_growth`` (IWAE biased: the sample-growth exponent).

    Returns:
        The theorem's :class:`~theory.bound.Bound`.

    Raises:
        UnknownNameError: An unknown model, optimizer, variant or option, listing the
            valid ones.
    """
    if model not in MODELS:
        raise UnknownNameError(f"unknown model {model!r}; valid models: {', '.join(MODELS)}")
    if optimizer not in OPTIMIZERS:
        raise UnknownNameError(f"unknown optimizer {optimizer!r}; valid optimizers: {', '.join(OPTIMIZERS)}")
    if variant is not None and not isinstance(variant, str):
        raise UnknownNameError(f"variant must be a string, got {variant!r}")
    try:
        key = tuple(sorted(options.items()))
        hash(key)
    except TypeError:
        raise UnknownNameError(f"bound options must be hashable values, got {options!r}") from None
    return _cached(model, optimizer, variant or "", key)


@lru_cache(maxsize=256)
def _cached(model: str, optimizer: str, variant: str, options: tuple) -> Bound:
    builder = CATALOG.get((model, optimizer, variant))
    if builder is None:
        default = 'None or "" (the default)'
        variants = sorted(v or default for m, o, v in CATALOG if (m, o) == (model, optimizer))
        raise UnknownNameError(
            f"unknown variant {variant!r} for ({model}, {optimizer}); valid: {', '.join(variants)}"
        )
    signature = inspect.signature(builder)
    try:
        signature.bind(**dict(options))
    except TypeError as err:
        allowed = ", ".join(signature.parameters) or "none"
        raise UnknownNameError(
            f"bad option for ({model}, {optimizer}, {variant or 'default'}): {err}; its options: {allowed}"
        ) from None
    return builder(**dict(options))
