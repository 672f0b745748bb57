"""Performance estimation with the interpolation conditions between consecutive iterates only.

Each problem is a banded semidefinite program (:class:`~theory.performance.banded.Banded`),
normalised to L = 1 and F(theta_0) - F(theta_n) <= 1; the functions take the
normalised steps h_1..h_n and the normalised weights w_0..w_{n-1} of the average.
The condition kept between consecutive iterates, and why the value is at least the
exact worst case: docs/theory.md, "Performance estimation";
tests/theory/performance/test_tightness_exact.py compares it with PEPit's program with every pair.

Each program is built for all steps at once: row r of :data:`~theory.performance.forms.Rows`
holds step r's vectors and conditions, computed with numpy by the same floating-point
operations as the one-condition-at-a-time dict construction (tests/theory/performance/
test_banded_build.py compares the two to the bit). The steps, weights, radii and momentum are
read as float64 numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from theory.performance.banded import Banded
from theory.performance.forms import Rows, add_over_rows, add_rows, combine_rows


def _basis(key: int, slots: np.ndarray, present: np.ndarray | None = None) -> Rows:
    """The unit vectors e_{slots[r]}, one per row (none where ``present`` is False), under ``key``."""
    everywhere = np.ones(len(slots), dtype=bool)
    return {key: (slots, np.ones(len(slots)), everywhere if present is None else present)}


def _scaled(steps: np.ndarray, vector: Rows) -> Rows:
    """steps[r] times the vector of row r, coefficient by coefficient (h_k * c)."""
    return {key: (index, steps * c, present) for key, (index, c, present) in vector.items()}


def _smooth(
    problem: Banded, i: np.ndarray, j: np.ndarray, gi: Rows, gj: Rows, dx: Rows
) -> list[tuple[Rows, float]]:
    """Both interpolation conditions between iterates i and j, dx = x_i - x_j, in every row.

    With L = 1, for (a, b) = (i, j) and (j, i), d = x_a - x_b:
    f_a - f_b - (-1/4 ||d||^2 + 1/2 <g_a + g_b, d> + 1/4 ||g_a - g_b||^2) >= 0, the three
    terms added in this order.

    Args:
        problem: The program (its band and variables).
        i: The index of f_i in each row.
        j: The index of f_j in each row.
        gi: g_i in each row.
        gj: g_j in each row.
        dx: x_i - x_j in each row.

    Returns:
        The two conditions, (form, 0.0) pairs, (i, j) first.
    """
    conditions: list[tuple[Rows, float]] = []
    everywhere = np.ones(len(i), dtype=bool)
    for a, b, ga, gb, sign in ((i, j, gi, gj, 1.0), (j, i, gj, gi, -1.0)):
        d = {key: (index, sign * c, present) for key, (index, c, present) in dx.items()}
        gap = combine_rows((1.0, ga), (-1.0, gb))
        rhs = add_rows(
            (-0.25, problem.inner_rows(d, d)),
            (0.5, problem.inner_rows(combine_rows((1.0, ga), (1.0, gb)), d)),
            (0.25, problem.inner_rows(gap, gap)),
        )
        values: Rows = {
            "f_a": (problem.value(a), np.full(len(a), 1.0), everywhere),
            "f_b": (problem.value(b), np.full(len(a), -1.0), everywhere),
        }
        conditions.append((add_rows((1.0, values), (-1.0, rhs)), 0.0))
    return conditions


def _decrease(problem: Banded, n: int) -> None:
    """f_0 - f_n <= 1."""
    problem.at_least_zero({problem.value(0): -1.0, problem.value(n): 1.0}, 1.0)


def _objective(problem: Banded, weights: Sequence[float], observables: Rows, n: int) -> None:
    """Maximise sum_j w_j ||o_j||^2, o_j the observable of row j (n rows)."""
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,):
        raise ValueError(f"{n} weights expected (one per step), got {len(w)}")
    problem.objective = add_over_rows(w, problem.inner_rows(observables, observables))


def gradient_descent(h: Sequence[float], w: Sequence[float], bias: Sequence[float] | None = None) -> Banded:
    """The banded program of (biased) gradient descent.

    theta_k = theta_{k-1} - h_k (grad f(theta_{k-1}) + b_k), ||b_k|| <= bias[k-1] (no bias
    when ``bias`` is None); maximise sum_j w_j ||grad f(theta_j)||^2.

    Args:
        h: the normalised steps h_1..h_n.
        w: the weights w_0..w_{n-1}.
        bias: the normalised radii c_1..c_n of the bias vectors, or None.

    Returns:
        The program: slots g_0..g_n (width 1) or g_0, b_1, g_1, ..., b_n, g_n (width 2).
    """
    n = len(h)
    stride = 1 if bias is None else 2
    problem = Banded(stride * n + 1, stride, n + 1)
    k = np.arange(1, n + 1)  # row k - 1: the step from theta_{k-1} to theta_k
    previous, current = _basis(0, stride * (k - 1)), _basis(stride, stride * k)  # g_{k-1}, g_k
    if bias is None:
        direction = previous
    else:
        b = _basis(1, 2 * k - 1)
        direction = combine_rows((1.0, previous), (1.0, b))
    conditions = _smooth(problem, k - 1, k, previous, current, _scaled(np.asarray(h, dtype=float), direction))
    if bias is not None:
        radii = np.array([float(bias[r]) ** 2 for r in range(n)])  # as Python squares them
        conditions.append((add_rows((-1.0, problem.inner_rows(b, b))), radii))
    problem.at_least_zero_rows(conditions)
    _decrease(problem, n)
    _objective(problem, w, previous, n)  # g_0..g_{n-1}
    return problem


def projected(h: Sequence[float], w: Sequence[float]) -> Banded:
    """The banded program of projected gradient descent.

    theta_k = P_X(theta_{k-1} - h_k grad f(theta_{k-1})) for a closed convex X containing
    theta_0, written theta_k = theta_{k-1} - h_k (g_{k-1} + s_k) with s_k a normal vector
    of X at theta_k; maximise sum_j w_j ||G_{j+1}||^2 with the gradient mapping
    G_{j+1} = (theta_j - theta_{j+1}) / h_{j+1} = g_j + s_{j+1}.

    Besides the smoothness conditions, the conditions of the indicator of X
    (Taylor, Hendrickx, Glineur 2017, Theorem 3.6) between consecutive
    iterates: <s_k, theta_{k-1} - theta_k> <= 0 (the projection property) and
    <s_{k-1}, theta_k - theta_{k-1}> <= 0.

    Args:
        h: the normalised steps h_1..h_n.
        w: the weights w_0..w_{n-1}.

    Returns:
        The program: slots g_0, s_1, g_1, ..., s_n, g_n (width 2).
    """
    n = len(h)
    problem = Banded(2 * n + 1, 2, n + 1)
    k = np.arange(1, n + 1)  # row k - 1: the step from theta_{k-1} to theta_k
    g_previous, g_current = _basis(0, 2 * k - 2), _basis(2, 2 * k)
    s_previous, s_current = _basis(-1, 2 * k - 3, present=k >= 2), _basis(1, 2 * k - 1)
    mapping = combine_rows((1.0, g_previous), (1.0, s_current))
    step = _scaled(np.asarray(h, dtype=float), mapping)  # theta_{k-1} - theta_k
    conditions = _smooth(problem, k - 1, k, g_previous, g_current, step)
    conditions.append((add_rows((-1.0, problem.inner_rows(s_current, step))), 0.0))
    conditions.append((problem.inner_rows(s_previous, step), 0.0))  # for k >= 2
    exists = np.ones((n, 4), dtype=bool)
    exists[:, 3] = k >= 2
    problem.at_least_zero_rows(conditions, exists)
    _decrease(problem, n)
    _objective(problem, w, mapping, n)
    return problem


def heavy_ball(h: Sequence[float], w: Sequence[float], momentum: float) -> Banded:
    """The banded program of heavy-ball momentum as torch.optim.SGD runs it (dampening 0).

    m_0 = g_0, m_k = momentum m_{k-1} + g_k, theta_{k+1} = theta_k - h_{k+1} m_k; with a
    constant step h this is Polyak's theta_{k+1} = theta_k - h g_k + momentum (theta_k -
    theta_{k-1}). Maximise sum_j w_j ||grad f(theta_j)||^2. The slots are the buffers
    m_0..m_n and g_k = m_k - momentum m_{k-1} (m_{-1} = 0), so that every condition stays
    within three consecutive slots.

    Args:
        h: the normalised steps h_1..h_n.
        w: the weights w_0..w_{n-1}.
        momentum: the momentum factor in [0, 1).

    Returns:
        The program: slots m_0..m_n (width 2).
    """
    n = len(h)
    problem = Banded(n + 1, 2, n + 1)
    k = np.arange(n)  # row k: the step from theta_k to theta_{k+1}
    m_previous = _basis(-1, k - 1, present=k >= 1)  # no m_{-1}: g_0 = m_0
    m_current, m_next = _basis(0, k), _basis(1, k + 1)
    g_current = combine_rows((1.0, m_current), (-momentum, m_previous))
    g_next = combine_rows((1.0, m_next), (-momentum, m_current))
    dx = {0: (k, np.asarray(h, dtype=float), np.ones(n, dtype=bool))}  # theta_k - theta_{k+1} = h m_k
    problem.at_least_zero_rows(_smooth(problem, k, k + 1, g_current, g_next, dx))
    _decrease(problem, n)
    _objective(problem, w, g_current, n)
    return problem
