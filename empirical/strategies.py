"""Hypothesis strategies for users' own property tests (needs the ``test`` extra).

VAE configurations inside the theorems' assumptions, oracles with exactly known
constants (:mod:`empirical.oracles`), step sequences, and admissible constants of a
bound.

Example — a user's own property test (this is ``tests/properties/test_user_example.py``)::

    from hypothesis import given
    from hypothesis import strategies as st
    import numpy as np
    import theory
    from empirical.strategies import quadratic_oracles

    BOUND = theory.bound("generic", "sgd")

    @given(problem=quadratic_oracles(), n=st.integers(1, 200), seed=st.integers(0, 2**32 - 1))
    def test_sgd_bound_holds(problem, n, seed):
        C = 0.5 / problem.L
        sim = problem.simulate(n, C, np.random.default_rng(seed))
        assert sim.upper(0.99) <= BOUND.evaluate(n=n, C_gamma=C, **problem.constants())
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

try:
    from hypothesis import strategies as st
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError("empirical.strategies needs hypothesis: pip install 'vaebounds[test]'") from err

from empirical.oracles import NoisyCosine, NoisyQuadratic


@st.composite
def vae_configs(
    draw,
    kinds: tuple[str, ...] = ("gaussian", "iwae"),
    data_dim: int = 8,
    max_width: int = 8,
    max_depth: int = 2,
    max_K: int = 4,
) -> dict[str, Any]:
    """Options for ``empirical.models.make`` inside the theorems' assumptions.

    A1: soft-clip activations with s > 0, decoder std c > 0; latent dimension at most the
    data dimension, K >= 1, beta >= 0.

    Args:
        draw: Hypothesis's draw (supplied by ``st.composite``).
        kinds: The model kinds to draw from.
        data_dim: The data dimension.
        max_width: The largest hidden width.
        max_depth: The most hidden layers.
        max_K: The most samples per example.

    Returns:
        ``{"kind": ..., "data_dim": ..., **options}`` for ``make(**config)``.
    """
    kind = draw(st.sampled_from(kinds))
    config: dict[str, Any] = {
        "kind": kind,
        "data_dim": data_dim,
        "latent_dim": draw(st.integers(1, data_dim)),
        "c": draw(st.floats(0.5, 2.0)),
        "dtype": "float64",
    }
    if kind != "linear":
        depth = draw(st.integers(1, max_depth))
        config["hidden"] = tuple(draw(st.integers(2, max_width)) for _ in range(depth))
        config["activation"] = "softclip"
        config["s"] = draw(st.sampled_from([1.0, 2.0, 5.0, 10.0]))
        config["K"] = draw(st.integers(1, max_K))
        config["beta"] = draw(st.floats(0.0, 1.0)) if kind == "iwae" else draw(st.floats(0.0, 4.0))
    return config


@st.composite
def quadratic_oracles(draw, max_dim: int = 6, max_L: float = 10.0, max_sigma2: float = 5.0) -> NoisyQuadratic:
    """A :class:`~empirical.oracles.NoisyQuadratic` with random dimension, spectrum, noise and start.

    Args:
        draw: Hypothesis's draw (supplied by ``st.composite``).
        max_dim: The largest dimension.
        max_L: The largest smoothness L.
        max_sigma2: The largest noise variance sigma2.

    Returns:
        The oracle, with exactly known L, sigma2 and Delta.
    """
    dim = draw(st.integers(1, max_dim))
    L = draw(st.floats(0.1, max_L))
    sigma2 = draw(st.floats(0.0, max_sigma2))
    seed = draw(st.integers(0, 2**32 - 1))
    return NoisyQuadratic.random(dim, L, sigma2, np.random.default_rng(seed))


@st.composite
def cosine_oracles(draw, max_dim: int = 6, max_L: float = 10.0, max_sigma2: float = 5.0) -> NoisyCosine:
    """A nonconvex :class:`~empirical.oracles.NoisyCosine` with random dimension, frequency, noise, start.

    Args:
        draw: Hypothesis's draw (supplied by ``st.composite``).
        max_dim: The largest dimension.
        max_L: The largest smoothness L.
        max_sigma2: The largest noise variance sigma2.

    Returns:
        The oracle, with exactly known L, sigma2 and Delta.
    """
    dim = draw(st.integers(1, max_dim))
    L = draw(st.floats(0.1, max_L))
    sigma2 = draw(st.floats(0.0, max_sigma2))
    frequency = draw(st.floats(0.5, 3.0))
    seed = draw(st.integers(0, 2**32 - 1))
    return NoisyCosine.random(dim, L, sigma2, np.random.default_rng(seed), frequency=frequency)


def step_sequences(gamma_max: float, max_n: int = 300) -> st.SearchStrategy[np.ndarray]:
    """Positive step sizes gamma_1..gamma_n, each at most ``gamma_max``.

    Constant, k^(-1/2) decay, step decay (halved every n/3 steps) or cosine, with an
    optional linear warm-up.

    Args:
        gamma_max: The largest step, a finite number > 0.
        max_n: The most steps, an integer >= 1.

    Returns:
        The strategy of the steps.

    Raises:
        ConfigError: A bad ``gamma_max`` or ``max_n`` (when the strategy is made, not drawn).
    """
    from empirical.inputs.rules import Number, Whole

    return _step_sequences(
        Number(0.0, math.inf).check("step_sequences: gamma_max", gamma_max),
        Whole(1, None).check("step_sequences: max_n", max_n),
    )


@st.composite
def _step_sequences(draw, gamma_max: float, max_n: int) -> np.ndarray:
    n = draw(st.integers(1, max_n))
    k = np.arange(1, n + 1, dtype=float)
    kind = draw(st.sampled_from(["constant", "sqrt", "step", "cosine"]))
    top = gamma_max * draw(st.floats(0.05, 1.0))
    steps = {
        "constant": np.full(n, top),
        "sqrt": top * k**-0.5,
        "step": top * 0.5 ** np.floor(3 * (k - 1) / n),
        "cosine": top * (1 + np.cos(np.pi * (k - 1) / n)) / 2,
    }[kind]
    warmup = draw(st.integers(0, n - 1))
    steps[:warmup] *= np.arange(1, warmup + 1) / (warmup + 1)
    return steps


def _value_strategy(name: str):
    from theory.symbols import REGISTRY

    info = REGISTRY[name]
    typical = float(info.typical)
    if info.domain == "unit":
        return st.floats(0.01, 0.99)
    if info.domain == "unit_closed":
        return st.floats(0.0, 0.99)
    if info.domain == "count" or info.integer:
        low = 1 if info.domain == "count" else 0
        return st.integers(low, max(2, int(typical * 100))).map(float)
    if info.domain == "real":
        return st.floats(-abs(typical) - 10, abs(typical) + 10)
    low = 0.0 if info.domain == "nonnegative" else typical * 1e-3
    return st.floats(low, max(typical, 1.0) * 1e3)


@st.composite
def bound_constants(draw, bound) -> dict[str, float]:
    """Values for every constant of a bound that pass its assumptions and give a finite bound.

    Each is drawn in its symbol's domain; a constant x with a constraint x <= rhs
    (C_gamma below the step limit, gamma_max <= 1/L, S2 <= gamma_max S1, beta1 <
    sqrt(beta2), ...) is drawn as a fraction of rhs (or below it, for a real x), rhs
    first. Where the bound then overflows a float (e.g. a box radius a of hundreds in
    exp(a), or a width to the power of the depth), the drawn positive constants farthest
    from their typical values are set to those values, one by one, until it does not;
    draws still refused by :meth:`theory.Bound.evaluate` are rejected.

    Args:
        draw: Hypothesis's draw (supplied by ``st.composite``).
        bound: The :class:`theory.Bound`.

    Returns:
        Constant name -> value, at which ``bound.evaluate`` returns a finite float >= 0.
    """
    from hypothesis import assume

    from theory.checks import expression_values
    from theory.errors import AssumptionViolation
    from theory.symbols import info

    values = {name: draw(_value_strategy(name)) for name in bound.constants}
    limits = bound.upper_limits(set(values))
    below: dict[str, float] = {}  # each limited constant's draw relative to its limit, drawn once

    def limited() -> dict[str, float]:
        out = dict(values)
        for x, rhs in limits:
            top = float(expression_values(rhs, out))
            if math.isfinite(top) and info(x).domain == "real":
                if x not in below:
                    below[x] = draw(st.floats(0.0, 10.0))
                out[x] = top - below[x]
            elif math.isfinite(top) and top > 0 and not info(x).integer and info(x).domain != "count":
                if x not in below:
                    below[x] = draw(st.floats(1e-3, 1.0))
                out[x] = below[x] * top
        return out

    def admissible(out: dict[str, float]) -> bool:
        try:
            bound.evaluate(**out)
        except AssumptionViolation:
            return False
        return True

    def off_typical(name: str) -> float:  # decades from the typical value (positive domains)
        typical, value = float(info(name).typical), values[name]
        return abs(math.log10(value) - math.log10(typical)) if value > 0 and typical > 0 else 0.0

    out = limited()
    ok = admissible(out)  # one evaluation per candidate
    limited_names = {x for x, _ in limits}
    for name in sorted(
        (
            k
            for k in values
            if k not in limited_names and info(k).domain in ("positive", "nonnegative", "count")
        ),
        key=off_typical,
        reverse=True,
    ):
        if ok or off_typical(name) == 0.0:
            break
        values[name] = float(info(name).typical)
        out = limited()
        ok = admissible(out)
    assume(ok)
    return out
