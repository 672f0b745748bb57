"""Registers model x optimizer bounds for linear, gaussian, beta, iwae and bbvi.

Every model bound is a generic theorem (SGD §3.1, seed Adam §3.2, Défossez Adam
and Adagrad) specialised by :func:`theory.models.common.specialise`:
``expand=True`` (default) substitutes the model's explicit L, M, R and the
variance split; ``expand=False`` keeps L, M, R, Delta as symbols (for measured
values) and still splits sigma2.
"""

from __future__ import annotations

from collections.abc import Callable

from theory.bound import Bound
from theory.models import bbvi, beta, gaussian, iwae, linear
from theory.models.common import ModelConstants, specialise
from theory.registry import bound as generic_bound
from theory.registry import register
from theory.theorems import adam, biased

#: model name -> its constants (BBVI: location-scale by default).
CONSTANTS: dict[str, Callable[[], ModelConstants]] = {
    "linear": linear.constants,
    "gaussian": gaussian.constants,
    "beta": beta.constants,
    "iwae": iwae.constants,
    "bbvi": bbvi.constants,
}

#: (optimizer, variant) -> the generic theorem it specialises.
THEOREMS: dict[tuple[str, str], Callable[[], Bound]] = {
    ("sgd", ""): lambda: generic_bound("generic", "sgd"),
    ("adam", ""): adam.seed_adam,
    ("adam", "defossez"): adam.defossez_adam,
    ("adagrad", ""): adam.defossez_adagrad,
}


def _builder(model: str, optimizer: str, variant: str, constants: Callable[[], ModelConstants]):
    def build(expand: bool = True) -> Bound:
        return specialise(THEOREMS[(optimizer, variant)](), model, constants(), expand=bool(expand))

    build.__doc__ = f"{model} model, {optimizer}" + (f" ({variant})" if variant else "") + "."
    return build


for _model, _constants in CONSTANTS.items():
    for _optimizer, _variant in THEOREMS:
        register(_model, _optimizer, _variant)(_builder(_model, _optimizer, _variant, _constants))

for _optimizer, _variant in THEOREMS:
    register("bbvi", _optimizer, "nonlinear" if not _variant else f"{_variant}-nonlinear")(
        _builder("bbvi", _optimizer, _variant, lambda: bbvi.constants("nonlinear"))
    )


@register("iwae", "adam", "biased")
def iwae_adam_biased(growth: float | str | None = None, expand: bool = True) -> Bound:
    """IWAE gradients as biased estimates of grad log p(x), sample schedule K_k = K k^growth."""
    return biased.iwae_biased(growth, "adam", expand)


@register("iwae", "sgd", "biased")
def iwae_sgd_biased(growth: float | str | None = None, expand: bool = True) -> Bound:
    """IWAE with SGD as biased SA on log p(x), sample schedule K_k = K k^growth."""
    return biased.iwae_biased(growth, "sgd", expand)
