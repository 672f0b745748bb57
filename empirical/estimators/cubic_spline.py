"""The not-a-knot cubic spline through given points, in numpy (no scipy.interpolate).

The growth fit (:mod:`empirical.estimators.growth`) interpolates the records of ||grad F||^2
between record steps with this spline. It is the interpolant of ``scipy.interpolate.CubicSpline``
with its default ``bc_type="not-a-knot"`` and ``extrapolate=True``, written here so that a
verify does not import scipy.interpolate and scipy.optimize (about 0.2 s of CPU; issue 24's fixed
costs). tests/empirical/estimators/test_cubic_spline.py compares it with scipy's.

The spline: on each interval [x_i, x_{i+1}] a cubic p_i with p_i(x_i) = y_i, p_i(x_{i+1}) = y_{i+1},
first and second derivatives continuous at the inner knots, and the third derivative continuous
at x_1 and x_{n-2} (not-a-knot: the first two and the last two pieces are one cubic each). Its
slopes s_i = p'(x_i) solve a tridiagonal system (de Boor, *A Practical Guide to Splines*, 2001,
Chapter IV), solved here by elimination without pivoting, which is stable for it: every inner
row is diagonally dominant and the first row's pivot after elimination is x_2 - x_0 > 0. Two
points give the line through them; three points the parabola through them.
"""

from __future__ import annotations

import numpy as np


def slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The not-a-knot spline's first derivatives at its knots.

    Args:
        x: (n,) strictly increasing knots, n >= 2.
        y: (n,) values at the knots.

    Returns:
        (n,) s_i = p'(x_i): with dx_i = x_{i+1} - x_i and m_i = (y_{i+1} - y_i) / dx_i the inner
        rows dx_i s_{i-1} + 2 (dx_{i-1} + dx_i) s_i + dx_{i-1} s_{i+1}
        = 3 (dx_i m_{i-1} + dx_{i-1} m_i), and the not-a-knot rows at both ends
        (de Boor, Chapter IV, eq. (39)).
    """
    dx = np.diff(x)
    m = np.diff(y) / dx
    n = x.size
    if n == 2:
        return np.array([m[0], m[0]])
    if n == 3:  # one cubic through three points with a continuous third derivative: the parabola
        A = np.array([[1.0, 1.0, 0.0], [dx[1], 2.0 * (dx[0] + dx[1]), dx[0]], [0.0, 1.0, 1.0]])
        b = np.array([2.0 * m[0], 3.0 * (dx[0] * m[1] + dx[1] * m[0]), 2.0 * m[1]])
        return np.linalg.solve(A, b)
    lower = np.empty(n)  # lower[i]: the coefficient of s_{i-1} in row i
    diag = np.empty(n)
    upper = np.empty(n)  # upper[i]: the coefficient of s_{i+1} in row i
    b = np.empty(n)
    diag[1:-1] = 2.0 * (dx[:-1] + dx[1:])
    upper[1:-1] = dx[:-1]
    lower[1:-1] = dx[1:]
    b[1:-1] = 3.0 * (dx[1:] * m[:-1] + dx[:-1] * m[1:])
    first, last = x[2] - x[0], x[-1] - x[-3]
    diag[0], upper[0] = dx[1], first
    b[0] = ((dx[0] + 2.0 * first) * dx[1] * m[0] + dx[0] ** 2 * m[1]) / first
    lower[-1], diag[-1] = last, dx[-2]
    b[-1] = (dx[-1] ** 2 * m[-2] + (2.0 * last + dx[-1]) * dx[-2] * m[-1]) / last
    for i in range(1, n):  # forward elimination
        w = lower[i] / diag[i - 1]
        diag[i] -= w * upper[i - 1]
        b[i] -= w * b[i - 1]
    s = np.empty(n)
    s[-1] = b[-1] / diag[-1]
    for i in range(n - 2, -1, -1):  # back substitution
        s[i] = (b[i] - upper[i] * s[i + 1]) / diag[i]
    return s


def not_a_knot(x: np.ndarray, y: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The not-a-knot cubic spline through (x_i, y_i), evaluated at ``at``.

    Args:
        x: (n,) strictly increasing finite knots, n >= 2.
        y: (n,) finite values at the knots.
        at: Where to evaluate; beyond the knots the first or last piece is extended.

    Returns:
        p(at), with p_i(t) = y_i + s_i d + c_i d^2 + e_i d^3 on [x_i, x_{i+1}], d = t - x_i,
        e_i = (s_i + s_{i+1} - 2 m_i) / dx_i^2 and c_i = (m_i - s_i) / dx_i - e_i dx_i (the
        Hermite cubic of the values and the slopes of :func:`slopes`).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    at = np.asarray(at, dtype=np.float64)
    s = slopes(x, y)
    dx = np.diff(x)
    m = np.diff(y) / dx
    t = (s[:-1] + s[1:] - 2.0 * m) / dx
    cubic, square = t / dx, (m - s[:-1]) / dx - t
    i = np.clip(np.searchsorted(x, at, side="right") - 1, 0, x.size - 2)
    d = at - x[i]
    return y[i] + s[i] * d + square[i] * (d * d) + cubic[i] * (d * d * d)
