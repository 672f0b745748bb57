"""Which bound answers ``theory.bound(model, optimizer, variant)``.

Theorem and model modules register builders with :func:`register`; the list
of modules is :data:`MODULES`, imported on first use so that ``import
theory`` stays cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import lru_cache

from theory.bound import Bound
from theory.errors import UnknownNameError

MODELS = ("generic", "linear", "gaussian", "beta", "iwae", "bbvi")
OPTIMIZERS = ("sgd", "adam", "adagrad")

#: Modules whose import registers builders.
MODULES = (
    "theory.theorems.sgd_registry",
    "theory.theorems.adaptive_registry",
    "theory.models.registry_models",
)

Builder = Callable[..., Bound]
_BUILDERS: dict[tuple[str, str, str], Builder] = {}
_loaded = False


def register(model: str, optimizer: str, variant: str = "") -> Callable[[Builder], Builder]:
    """Decorator: ``fn(**options) -> Bound`` answers (model, optimizer, variant).
    The empty variant is the default one."""

    def wrap(fn: Builder) -> Builder:
        _BUILDERS[(model, optimizer, variant)] = fn
        return fn

    return wrap


def _load() -> None:
    global _loaded
    if not _loaded:
        for module in MODULES:
            importlib.import_module(module)
        _loaded = True


def registered() -> tuple[tuple[str, str, str], ...]:
    """Every registered (model, optimizer, variant), in a stable order."""
    _load()
    order = {m: i for i, m in enumerate(MODELS)}
    opt = {o: i for i, o in enumerate(OPTIMIZERS)}
    return tuple(sorted(_BUILDERS, key=lambda t: (order.get(t[0], 99), opt.get(t[1], 99), t[2])))


def bound(model: str = "generic", optimizer: str = "sgd", variant: str | None = None, **options) -> Bound:
    """The bound of ``model`` trained with ``optimizer`` (design.md public contract).

    ``model`` in generic, linear, gaussian, beta, iwae, bbvi; ``optimizer`` in
    sgd, adam, adagrad; ``variant`` picks a published form where there are
    several (e.g. ``"defossez"`` for Adam). Options are passed to the builder
    (e.g. ``alpha`` for the generic SGD schedule). Unknown names raise
    :class:`UnknownNameError` listing the valid ones.
    """
    if model not in MODELS:
        raise UnknownNameError(f"unknown model {model!r}; valid models: {', '.join(MODELS)}")
    if optimizer not in OPTIMIZERS:
        raise UnknownNameError(f"unknown optimizer {optimizer!r}; valid optimizers: {', '.join(OPTIMIZERS)}")
    try:
        key = tuple(sorted(options.items()))
        hash(key)
    except TypeError:
        raise UnknownNameError(f"bound options must be hashable values, got {options!r}") from None
    return _cached(model, optimizer, variant or "", key)


@lru_cache(maxsize=256)
def _cached(model: str, optimizer: str, variant: str, options: tuple) -> Bound:
    _load()
    builder = _BUILDERS.get((model, optimizer, variant))
    if builder is None:
        variants = sorted(v or "(default)" for m, o, v in _BUILDERS if (m, o) == (model, optimizer))
        if variants:
            raise UnknownNameError(
                f"unknown variant {variant!r} for ({model}, {optimizer}); valid: {', '.join(variants)}"
            )
        pairs = sorted({f"{m}/{o}" for m, o, _ in _BUILDERS})
        raise UnknownNameError(
            f"no bound registered for ({model}, {optimizer}); registered: {', '.join(pairs)}"
        )
    try:
        return builder(**dict(options))
    except TypeError as err:
        raise UnknownNameError(f"bad option for ({model}, {optimizer}): {err}") from None
