"""Which bounds performance estimation can express, and the problem each one poses.

The algorithm, its steps, the weights of the bound's own left-hand side, and the
bound's value at the same constants with the noise set to 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import sympy as sp

from theory import checks
from theory import symbols as S
from theory.bound import Bound
from theory.errors import AssumptionViolation, MissingConstantError, TheoryError, UnknownNameError
from theory.lhs import GRAD_NORM_SQ, GRADIENT_MAPPING_SQ

#: The noise constants, set to 0: performance estimation runs the deterministic method.
NOISE = ("sigma2", "sigma2_data", "sigma2_mc", "sigma2_mc_K")
#: Constants the steps give; passing them as well is refused.
FROM_STEPS = ("n", "S1", "S2", "gamma_max")

COVERED = (
    "sgd (default variant): gamma_k = C_gamma k^(-alpha), the uniform average of ||grad F(theta_j)||^2",
    "sgd 'schedule': any steps (pass steps=[gamma_1, ..., gamma_n]), the gamma-weighted average",
    "sgd 'projected': projection onto a closed convex set, the gamma-weighted gradient mapping",
    "sgd 'biased': a bias ||b_k|| <= C_alpha k^(-alpha_bias) chosen by the adversary, the uniform average",
)
COVERAGE = (
    "performance estimation covers, for the generic bounds and every model's bound built with "
    "expand=False (L and Delta kept as constants): "
    + "; ".join(COVERED)
    + ". Heavy-ball momentum has no theorem here: theory.momentum_worst_case gives its worst case"
)

#: kind -> (algorithm run, observable of the left-hand side).
KINDS = {
    "default": ("gradient", GRAD_NORM_SQ),
    "schedule": ("gradient", GRAD_NORM_SQ),
    "projected": ("projected", GRADIENT_MAPPING_SQ),
    "biased": ("gradient", GRAD_NORM_SQ),
}
ALGORITHM_NAMES = {
    "default": "gradient descent",
    "schedule": "gradient descent",
    "projected": "projected gradient descent",
    "biased": "gradient descent with a bounded bias",
}


class NotCoveredError(TheoryError):
    """A bound whose algorithm performance estimation does not express here."""


@dataclass(frozen=True)
class Problem:
    """One worst-case problem at horizon n, in the bound's units.

    Attributes:
        kind: "default", "schedule", "projected" or "biased".
        algorithm: The algorithm run ("gradient" or "projected").
        n: The horizon.
        L: The smoothness.
        Delta: The decrease F(theta_0) - F(theta_n).
        steps: gamma_1..gamma_n.
        weights: The normalised weights w_0..w_{n-1} of the left-hand side.
        bias: The radii C_alpha k^(-alpha_bias), or None.
        bound_value: The bound at sigma2 = 0.
        constants: Every value used (the given ones and those the steps give).
    """

    kind: str
    algorithm: str
    n: int
    L: float
    Delta: float
    steps: np.ndarray
    weights: np.ndarray
    bias: np.ndarray | None
    bound_value: float
    constants: tuple[tuple[str, float], ...]


def kind_of(bound: Bound) -> str:
    """The covered kind of a bound.

    Args:
        bound: The bound.

    Returns:
        "default", "schedule", "projected" or "biased".

    Raises:
        NotCoveredError: any other bound, or a model bound whose L is expanded.
    """
    if not isinstance(bound, Bound):
        raise NotCoveredError(f"expected a theory.Bound, got {type(bound).__name__}")
    base = re.sub(r"-nonlinear$|^nonlinear$", "", bound.variant)
    kind = "default" if base == "" or base.startswith("alpha=") else base
    if bound.optimizer != "sgd" or kind not in KINDS:
        raise NotCoveredError(
            f"{bound.name} ({bound.optimizer}, variant {bound.variant or 'default'}) is not covered: "
            + COVERAGE
        )
    if bound.lhs.observable != KINDS[kind][1]:
        raise NotCoveredError(
            f"{bound.name}: its left-hand side averages {bound.lhs.observable}, but the {kind} algorithm's "
            f"worst case is computed for {KINDS[kind][1]}"
        )
    missing = [c for c in ("L", "Delta") if c not in bound.constants]
    if missing:
        raise NotCoveredError(
            f"{bound.name} has {' and '.join(missing)} replaced by the model's expressions; performance "
            f"estimation needs them as constants: use theory.bound({bound.model!r}, 'sgd', "
            f"{bound.variant or None!r}, expand=False)"
        )
    return kind


def noise_free(bound: Bound) -> Bound:
    """A bound with every noise constant (sigma2, sigma2_data, ...) set to 0.

    Args:
        bound: The bound.

    Returns:
        The noise-free bound (``bound`` itself when it has no noise constant).
    """
    zero = {name: 0 for name in NOISE if name in bound.constants}
    return bound.substitute(**zero) if zero else bound


def _exponent(bound: Bound, values: dict[str, float], kind: str) -> float:
    if kind == "biased":
        return 0.5
    if "alpha" in bound.constants:
        return values["alpha"]
    match = re.match(r"alpha=(.+)$", re.sub(r"-nonlinear$", "", bound.variant))
    return float(sp.Rational(match.group(1))) if match else 0.5


def _bias(bound: Bound, values: dict[str, float], n: int) -> np.ndarray:
    if "C_alpha" in values:
        size = values["C_alpha"]
    else:
        definition = dict(bound.definitions).get(S.C_alpha)
        if definition is None:
            raise NotCoveredError(
                f"{bound.name}: no C_alpha (the bias radius) among its constants or definitions"
            )
        size = float(definition.subs({S.get(k): v for k, v in values.items() if k in S.REGISTRY}))
    if "alpha_bias" in values or "K_growth" in values:
        exponent = values.get("alpha_bias", values.get("K_growth"))
    else:
        match = re.search(r"\(alpha_bias=([^)]+)\)", bound.name)
        if match is None:
            raise NotCoveredError(
                f"{bound.name}: the bias exponent is fixed but not recorded in the bound; build it with the "
                "exponent symbolic (the catalogue's default) and pass alpha_bias= (or K_growth=)"
            )
        exponent = float(sp.Rational(match.group(1)))
    return size * np.arange(1, n + 1, dtype=float) ** (-exponent)


def check_steps(steps, n: int) -> np.ndarray:
    """Steps given by a user, checked.

    Args:
        steps: gamma_1..gamma_n.
        n: The horizon.

    Returns:
        The steps as n finite floats > 0.

    Raises:
        AssumptionViolation: A bad shape or value, naming the first bad step.
    """
    try:
        out = np.asarray(steps, dtype=float)
    except (TypeError, ValueError):
        raise AssumptionViolation(f"steps must be {n} numbers > 0, got {steps!r}") from None
    if out.shape != (n,):
        raise AssumptionViolation(f"steps must be n = {n} numbers gamma_1..gamma_n, got shape {out.shape}")
    bad = ~(np.isfinite(out) & (out > 0))
    if bad.any():
        k = int(np.argmax(bad))
        raise AssumptionViolation(f"steps must be finite numbers > 0; gamma_{k + 1} = {out[k]!r}")
    return out


def problem(bound: Bound, n: int, steps=None, strict: bool = True, **given: object) -> Problem:
    """The worst-case problem a bound poses at horizon n.

    Args:
        bound: a covered bound (:func:`kind_of`).
        n: the horizon, an integer >= 1.
        steps: gamma_1..gamma_n (required for "schedule" and "projected"; for
            the others they default to C_gamma k^(-alpha) and must equal it).
        strict: refuse constants the noise-free bound does not need and a
            nonzero noise constant (False: ignore them, as a report does).
        **given: the bound's constants (L, Delta, C_gamma, ...).

    Returns:
        The :class:`Problem`, with the bound evaluated at sigma2 = 0 (its
        constraints checked: e.g. C_gamma <= 1/L, gamma_max <= 1/L).

    Raises:
        NotCoveredError: The bound is not covered.
        UnknownNameError: An unknown constant, or one the steps give.
        MissingConstantError: A constant or the steps are missing.
        AssumptionViolation: A bad value or step.
    """
    kind = kind_of(bound)
    count = checks.require_integer("n", n, minimum=1)
    clean = noise_free(bound)
    # L stays needed when the noise term was its only place (the step condition gamma_max <= 1/L uses it)
    needed = (set(clean.constants) | {"L", "Delta"}) - set(FROM_STEPS)
    values: dict[str, float] = {}
    for name, value in given.items():
        if name in NOISE:
            if strict and checks.real_value(name, value) != 0:
                raise AssumptionViolation(
                    f"{name} = {value!r}: the worst case is computed at sigma2 = 0 (the deterministic "
                    f"method); leave {name} out or pass 0"
                )
        elif name in FROM_STEPS and name != "n":
            raise UnknownNameError(
                f"{name} follows from the steps: pass steps=[gamma_1, ..., gamma_n] instead"
            )
        elif name in needed:
            values[name] = checks.check_scalar(name, value)
        elif strict:
            raise UnknownNameError(
                f"unknown constant {name!r} for {bound.name} at sigma2 = 0; it needs "
                f"{', '.join(sorted(needed)) or 'no constant'}"
                + (" and steps" if kind in ("schedule", "projected") else "")
            )
    missing = sorted(needed - set(values))
    if missing:
        raise MissingConstantError(f"{bound.name}: the worst case needs {', '.join(missing)}")
    if kind in ("schedule", "projected"):
        if steps is None:
            raise MissingConstantError(f"{bound.name}: pass steps=[gamma_1, ..., gamma_n] (n = {count})")
        gammas = check_steps(steps, count)
    else:
        rule = values["C_gamma"] * np.arange(1, count + 1, dtype=float) ** (-_exponent(clean, values, kind))
        gammas = rule if steps is None else check_steps(steps, count)
        if not np.allclose(gammas, rule, rtol=1e-6, atol=0):
            k = int(np.argmax(~np.isclose(gammas, rule, rtol=1e-6, atol=0)))
            raise AssumptionViolation(
                f"{bound.name} is about gamma_k = C_gamma k^(-alpha); gamma_{k + 1} = {gammas[k]!r} differs "
                f"from {rule[k]!r}: use the 'schedule' variant for other steps"
            )
    derived = {"n": float(count), "S1": float(gammas.sum()), "S2": float((gammas**2).sum())}
    derived["gamma_max"] = float(gammas.max())
    at = values | {name: derived[name] for name in FROM_STEPS if name in clean.constants}
    bound_value = clean.evaluate(**at)
    weights = bound.lhs.weights(count, step_sizes=gammas)
    bias = _bias(clean, values, count) if kind == "biased" else None
    shown = tuple(sorted((values | {k: v for k, v in derived.items() if k != "n"}).items()))
    return Problem(
        kind, KINDS[kind][0], count, values["L"], values["Delta"], gammas, weights, bias, bound_value, shown
    )
