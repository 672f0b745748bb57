"""The banded program (interpolation conditions between consecutive iterates
only, theory.performance.chain) against PEPit's program with every pair of
points (theory.performance.full), on the normalised problems (L = 1,
F(theta_0) - F(theta_n) <= 1). The banded value is at least the exact one by
construction; for gradient descent and projected gradient descent it is equal
(to the solvers' accuracy), for a small bias too; with a large bias and for
heavy ball it can be larger."""

import numpy as np
import pytest

from theory.performance import chain, full

pytest.importorskip("PEPit", reason='the pep extra is not installed (pip install -e ".[pep]")')
pytest.importorskip("clarabel", reason='the pep extra is not installed (pip install -e ".[pep]")')

RULES = {
    "sqrt": lambda n: np.arange(1, n + 1) ** -0.5,
    "constant": lambda n: np.full(n, 0.5),
    "cosine": lambda n: 0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * np.arange(n) / n)),
    "step-decay": lambda n: 0.9 * 0.5 ** (np.arange(n) // max(1, n // 3)),
}


def weights(h: np.ndarray, average: str) -> np.ndarray:
    return h / h.sum() if average == "step" else np.full(len(h), 1 / len(h))


def close(banded: float, exact: float) -> None:
    assert banded >= exact * (1 - 1e-6)
    assert banded == pytest.approx(exact, rel=1e-6)


@pytest.mark.parametrize("average", ["step", "uniform"])
@pytest.mark.parametrize("name", sorted(RULES))
@pytest.mark.parametrize("n", [2, 5, 9])
def test_gradient_descent(n, name, average):
    h = RULES[name](n)
    w = weights(h, average)
    close(chain.gradient_descent(h, w).solve().value, full.solve("gradient", h, w).value)


@pytest.mark.parametrize("name", sorted(RULES))
@pytest.mark.parametrize("n", [2, 6])
def test_projected(n, name):
    h = RULES[name](n)
    for average in ("step", "uniform"):
        w = weights(h, average)
        close(chain.projected(h, w).solve().value, full.solve("projected", h, w).value)


@pytest.mark.parametrize("radius", [0.0, 0.3])
@pytest.mark.parametrize("n", [2, 6])
def test_biased(n, radius):
    h = 0.25 * RULES["sqrt"](n)
    bias = radius * np.arange(1, n + 1) ** -0.5
    w = weights(h, "uniform")
    close(
        chain.gradient_descent(h, w, bias=bias).solve().value, full.solve("gradient", h, w, bias=bias).value
    )


def test_biased_with_a_large_bias_banded_is_at_least_the_exact_worst_case():
    """With radii 2 k^(-1/2) (twice the gradient scale) the consecutive
    conditions no longer suffice: the banded value is 0.27 % above the exact one."""
    h = 0.25 * RULES["sqrt"](6)
    bias = 2.0 * np.arange(1, 7) ** -0.5
    w = weights(h, "uniform")
    banded = chain.gradient_descent(h, w, bias=bias).solve().value
    exact = full.solve("gradient", h, w, bias=bias).value
    assert exact * (1 + 1e-3) < banded < exact * 1.01


@pytest.mark.parametrize(("momentum", "step"), [(0.5, 0.5), (0.9, 0.1)])
@pytest.mark.parametrize("n", [2, 5, 10])
def test_heavy_ball_banded_is_at_least_the_exact_worst_case(n, momentum, step):
    h = np.full(n, step)
    w = weights(h, "uniform")
    banded = chain.heavy_ball(h, w, momentum).solve().value
    exact = full.solve("heavy-ball", h, w, momentum=momentum).value
    assert banded >= exact * (1 - 1e-6)
    assert banded == pytest.approx(exact, rel=1e-4)


def test_heavy_ball_banded_can_exceed_the_exact_worst_case():
    """Why theory.momentum_worst_case uses PEPit's program up to n = 20: the
    consecutive conditions alone are not enough for heavy ball."""
    h = 0.5 * np.arange(1, 6) ** -0.5
    w = weights(h, "uniform")
    banded = chain.heavy_ball(h, w, 0.5).solve().value
    exact = full.solve("heavy-ball", h, w, momentum=0.5).value
    assert banded > exact * (1 + 1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sqrt", "cosine"])
@pytest.mark.parametrize("n", [20])
def test_gradient_descent_longer(n, name):
    h = RULES[name](n)
    for average in ("step", "uniform"):
        w = weights(h, average)
        close(chain.gradient_descent(h, w).solve().value, full.solve("gradient", h, w).value)
