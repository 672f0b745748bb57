"""Performance estimation with the interpolation conditions between consecutive iterates only.

Each problem is a banded semidefinite program (:class:`~theory.performance.solvers.Banded`),
normalised to L = 1 and F(theta_0) - F(theta_n) <= 1; the functions take the
normalised steps h_1..h_n and the normalised weights w_0..w_{n-1} of the average.
The condition kept between consecutive iterates, and why the value is at least the
exact worst case: docs/theory.md, "Performance estimation";
tests/theory/performance/test_tightness_exact.py compares it with PEPit's program with every pair.
"""

from __future__ import annotations

from collections.abc import Sequence

from theory.performance.solvers import Banded, Linear, Vector, combine


def _smooth(problem: Banded, i: int, j: int, gi: Vector, gj: Vector, dx: Vector) -> None:
    """Both interpolation conditions between iterates i and j, dx = x_i - x_j."""
    for a, b, ga, gb, sign in ((i, j, gi, gj, 1.0), (j, i, gj, gi, -1.0)):
        d = {slot: sign * c for slot, c in dx.items()}
        rhs = Banded.add(
            (-0.25, problem.inner(d, d)),
            (0.5, problem.inner(combine((1.0, ga), (1.0, gb)), d)),
            (0.25, problem.inner(combine((1.0, ga), (-1.0, gb)), combine((1.0, ga), (-1.0, gb)))),
        )
        values: Linear = {problem.value(a): 1.0, problem.value(b): -1.0}
        problem.at_least_zero(Banded.add((1.0, values), (-1.0, rhs)))


def _decrease(problem: Banded, n: int) -> None:
    """f_0 - f_n <= 1."""
    problem.at_least_zero({problem.value(0): -1.0, problem.value(n): 1.0}, 1.0)


def _objective(problem: Banded, weights: Sequence[float], observables: Sequence[Vector]) -> None:
    problem.objective = Banded.add(
        *((float(w), problem.inner(o, o)) for w, o in zip(weights, observables, strict=True))
    )


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

    def g(k: int) -> Vector:
        return {stride * k: 1.0}

    for k in range(1, n + 1):
        direction = g(k - 1) if bias is None else combine((1.0, g(k - 1)), (1.0, {2 * k - 1: 1.0}))
        _smooth(problem, k - 1, k, g(k - 1), g(k), {s: h[k - 1] * c for s, c in direction.items()})
        if bias is not None:
            b = {2 * k - 1: 1.0}
            problem.at_least_zero(Banded.add((-1.0, problem.inner(b, b))), float(bias[k - 1]) ** 2)
    _decrease(problem, n)
    _objective(problem, w, [g(j) for j in range(n)])
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

    def g(k: int) -> Vector:
        return {2 * k: 1.0}

    def s(k: int) -> Vector:
        return {2 * k - 1: 1.0}

    mappings = []
    for k in range(1, n + 1):
        mapping = combine((1.0, g(k - 1)), (1.0, s(k)))
        step = {slot: h[k - 1] * c for slot, c in mapping.items()}  # theta_{k-1} - theta_k
        _smooth(problem, k - 1, k, g(k - 1), g(k), step)
        problem.at_least_zero(Banded.add((-1.0, problem.inner(s(k), step))))
        if k >= 2:
            problem.at_least_zero(problem.inner(s(k - 1), step))
        mappings.append(mapping)
    _decrease(problem, n)
    _objective(problem, w, mappings)
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

    def g(k: int) -> Vector:
        return {k: 1.0} if k == 0 else combine((1.0, {k: 1.0}), (-momentum, {k - 1: 1.0}))

    for k in range(n):
        _smooth(problem, k, k + 1, g(k), g(k + 1), {k: float(h[k])})
    _decrease(problem, n)
    _objective(problem, w, [g(j) for j in range(n)])
    return problem
