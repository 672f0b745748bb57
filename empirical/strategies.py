"""Hypothesis strategies for users' own property tests (needs the ``test`` extra).

- :func:`vae_configs`: options for ``empirical.models.make`` inside the
  theorems' assumptions (soft-clip activations, positive decoder std, latent
  dimension at most the data dimension, K >= 1, beta >= 0).
- :func:`quadratic_oracles`: noisy quadratics with exactly known L, sigma2 and
  Delta (:class:`empirical.oracles.NoisyQuadratic`).
- :func:`bound_constants`: admissible values for every constant of a
  :class:`theory.Bound` (domains from ``theory.symbols``, step constant within
  the theorem's step limit).

Example — a user's own property test (this is ``tests/properties/test_user_example.py``)::

    from hypothesis import given
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

from empirical.oracles import NoisyQuadratic


@st.composite
def vae_configs(
    draw,
    kinds: tuple[str, ...] = ("gaussian", "iwae"),
    data_dim: int = 8,
    max_width: int = 8,
    max_depth: int = 2,
    max_K: int = 4,
) -> dict[str, Any]:
    """``{"kind": ..., "data_dim": ..., **options}`` for ``make(**config)``, inside
    the assumptions (A1: soft-clip activations with s > 0, decoder std c > 0)."""
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
    """A :class:`NoisyQuadratic` with random dimension, spectrum, noise and start."""
    dim = draw(st.integers(1, max_dim))
    L = draw(st.floats(0.1, max_L))
    sigma2 = draw(st.floats(0.0, max_sigma2))
    seed = draw(st.integers(0, 2**32 - 1))
    return NoisyQuadratic.random(dim, L, sigma2, np.random.default_rng(seed))


def _value_strategy(name: str):
    from theory.symbols import REGISTRY

    info = REGISTRY[name]
    typical = float(info.typical)
    if info.domain == "unit":
        return st.floats(0.01, 0.99)
    if info.domain == "unit_closed":
        return st.floats(0.0, 0.99)
    if info.domain == "count":
        return st.integers(1, max(2, int(typical * 100))).map(float)
    if info.domain == "real":
        return st.floats(-abs(typical) - 10, abs(typical) + 10)
    low = 0.0 if info.domain == "nonnegative" else typical * 1e-3
    return st.floats(low, max(typical, 1.0) * 1e3)


@st.composite
def bound_constants(draw, bound) -> dict[str, float]:
    """Values for every constant of ``bound`` that pass its assumptions: each drawn
    in its symbol's domain; C_gamma drawn as a fraction of the step limit;
    draws breaking a constraint between constants (e.g. beta1 < sqrt(beta2)) are
    rejected."""
    from hypothesis import assume

    values = {name: draw(_value_strategy(name)) for name in bound.constants if name != "C_gamma"}
    if "C_gamma" in bound.constants:
        limit = math.inf
        if bound.step_limit is not None:
            from theory.symbols import get

            limit = float(bound.step_limit.subs({get(k): v for k, v in values.items()}))
        fraction = draw(st.floats(1e-3, 1.0))
        values["C_gamma"] = fraction * (limit if math.isfinite(limit) else 1.0)
    assume(not bound.check(values))
    return values
