"""A confidence interval for the expectation of per-run values that keeps each one-sided error level.

On values of one mode, normal or skewed; not when a few runs sit far above the rest and R runs
may miss them all (docs/decision.md, "What it cannot see").

Each end is the wider of the Student-t end and, for positive values, the lognormal
generalized pivotal end (Krishnamoorthy & Mathew 2003), whose quantiles are computed
here by quadrature and Newton's method, not by simulation: the interval is a
deterministic function of the values. Why, and the measured error rates:
docs/decision.md, "The interval".
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from numpy.polynomial.legendre import leggauss
from scipy import special

#: Quadrature nodes. The pivot's CDF at a = s u is an integral over W (given
#: W, V is normal: Gauss-Legendre in the chi^2 probability) or over Z (given
#: Z, V <= a is an event about W alone, exact by the chi^2 survival function:
#: Gauss-Hermite). Over W the integrand steps ever more sharply in W's tail as
#: a grows, over Z as a shrinks; a >= Z_FROM is integrated over Z. Each is
#: then accurate to a few 1e-6 in probability or better (checked against
#: adaptive quadrature in tests/empirical/test_mean_interval.py).
W_NODES, Z_NODES, Z_FROM = 200, 64, 0.3

T_METHOD = "Student-t"
PIVOT_METHOD = "lognormal generalized pivot (Krishnamoorthy & Mathew 2003)"
_SQRT_2PI = math.sqrt(2.0 * math.pi)


@functools.lru_cache(maxsize=64)
def _w_nodes(k: int) -> tuple[np.ndarray, np.ndarray]:
    """The nodes (sqrt(W_i), w_i) for E g(chi^2_k / k).

    W_i is the chi^2_k quantile at Gauss-Legendre node p_i of (0, 1), over k;
    sum_i w_i g(W_i) approximates E g(chi^2_k / k).
    """
    x, w = leggauss(W_NODES)
    return np.sqrt(special.chdtri(k, (1.0 - x) / 2.0) / k), w / 2.0


@functools.lru_cache(maxsize=1)
def _z_nodes() -> tuple[np.ndarray, np.ndarray]:
    """(Z_j, h_j): Gauss-Hermite nodes and weights for E g(Z), Z ~ N(0, 1)."""
    z, h = hermegauss(Z_NODES)
    return z, h / _SQRT_2PI


def _over_w(u: np.ndarray, s: np.ndarray, runs: int) -> tuple[np.ndarray, np.ndarray]:
    """CDF and density in u, integrating over W: P = E_W Phi(u sqrt(R W) - s sqrt(R) / (2 sqrt(W)))."""
    root, w = _w_nodes(runs - 1)
    root = root[None, :] * math.sqrt(runs)
    arg = u[:, None] * root - s[:, None] * (runs / 2.0) / root
    return special.ndtr(arg) @ w, (np.exp(-0.5 * arg**2) * root / _SQRT_2PI) @ w


def _over_z(u: np.ndarray, s: np.ndarray, runs: int) -> tuple[np.ndarray, np.ndarray]:
    """CDF and density in u, integrating over Z, for a = s u > 0.

    With x = 1/sqrt(W), V = (s^2/2) x^2 - (Z s / sqrt(R)) x is <= a iff x <= x+ = (c + r) / s,
    c = Z / sqrt(R), r = sqrt(c^2 + 2a); so P(V <= a | Z) = P(chi^2_k >= y), y = k s^2 / (c + r)^2.
    """
    k = runs - 1
    z, h = _z_nodes()
    a, s2 = (u * s)[:, None], (s * s)[:, None]
    c = z[None, :] / math.sqrt(runs)
    r = np.sqrt(c * c + 2.0 * a)
    with np.errstate(divide="ignore"):
        cr = np.where(c >= 0, c + r, 2.0 * a / (r - c))  # c + r without cancellation
    y = k * s2 / cr**2
    log_pdf = special.xlogy(k / 2.0 - 1.0, y) - y / 2.0 - (k / 2.0) * math.log(2.0) - special.gammaln(k / 2.0)
    dy_da = 2.0 * k * s2 / (cr**3 * r)  # -dy/da
    return special.chdtrc(k, y) @ h, (np.exp(log_pdf) * dy_da) @ h * s


def _cdf_density(u: np.ndarray, s: np.ndarray, runs: int) -> tuple[np.ndarray, np.ndarray]:
    """P(V <= s u) and its derivative in u, each element by the integral that suits it."""
    by_z = u * s >= Z_FROM
    cdf, density = np.empty_like(u), np.empty_like(u)
    for mask, integral in ((by_z, _over_z), (~by_z, _over_w)):
        if mask.any():
            cdf[mask], density[mask] = integral(u[mask], s[mask], runs)
    return cdf, density


def pivot_cdf(u: np.ndarray, s: np.ndarray, runs: int) -> np.ndarray:
    """The CDF of the pivot V = -Z s / sqrt(R W) + s^2 / (2 W), by quadrature.

    Z ~ N(0, 1) and W ~ chi^2_{R-1} / (R - 1) independent; over W or over Z, whichever
    suits the point (see ``Z_FROM``).

    Args:
        u: (N,) points, in units of s.
        s: (N,) standard deviations of the log values, > 0.
        runs: R >= 2.

    Returns:
        (N,) probabilities P(V <= s u).
    """
    u, s = np.atleast_1d(np.asarray(u, dtype=np.float64)), np.atleast_1d(np.asarray(s, dtype=np.float64))
    return _cdf_density(*np.broadcast_arrays(u, s), runs)[0]


def pivot_quantile(s: np.ndarray, runs: int, prob: float) -> np.ndarray:
    """A quantile of the pivot V, for each s.

    Solved by Newton's method safeguarded by bisection inside a bracket that
    provably holds it: V > X1 = s T / sqrt(R) (T ~ t_k), so the quantile is at
    least s t_k(prob) / sqrt(R); and P(V <= a + b) >= P(X1 <= a) - P(s^2/(2W) > b),
    so with eps = (1 - prob) / 2 it is at most s t_k(prob + eps) / sqrt(R)
    + s^2 / (2 w_eps), w_eps the eps quantile of chi^2_k / k. Newton starts
    from the quantile interpolated in a table over log s (:func:`_table`).

    Args:
        s: (N,) standard deviations of the log values, >= 0 (0 gives 0).
        runs: R >= 2.
        prob: in (0, 1).

    Returns:
        (N,) quantiles q (the end is ybar + q on the log scale).
    """
    s = np.asarray(s, dtype=np.float64)
    out = np.zeros_like(s)
    live = s > 0
    if live.any():
        grid, u_grid = _table(runs, prob)
        log_s = np.log(s[live])
        out[live] = _solve(s[live], runs, prob, np.interp(log_s, grid, u_grid)) * s[live]
    return out


@functools.lru_cache(maxsize=64)
def _table(runs: int, prob: float) -> tuple[np.ndarray, np.ndarray]:
    """(log s, u = q / s) on a grid of s from 1e-4 to 1e2: Newton's starting points."""
    grid = np.linspace(math.log(1e-4), math.log(1e2), 97)
    s = np.exp(grid)
    return grid, _solve(s, runs, prob, s / 2.0 + special.stdtrit(runs - 1, prob) / math.sqrt(runs))


def _solve(s: np.ndarray, runs: int, prob: float, start: np.ndarray) -> np.ndarray:
    """The solution u = q / s for each s > 0, from ``start`` (see :func:`pivot_quantile`)."""
    k = runs - 1
    eps = (1.0 - prob) / 2.0
    w_eps = special.chdtri(k, 1.0 - eps) / k
    lo = np.full(s.shape, special.stdtrit(k, prob) / math.sqrt(runs))  # in units of s
    hi = special.stdtrit(k, prob + eps) / math.sqrt(runs) + s / (2.0 * w_eps)
    u = np.clip(start, lo, hi)
    todo = np.arange(s.size)
    for _ in range(200):
        f, d = _cdf_density(u[todo], s[todo], runs)
        f -= prob
        lo[todo] = np.where(f < 0, u[todo], lo[todo])
        hi[todo] = np.where(f < 0, hi[todo], u[todo])
        with np.errstate(divide="ignore", invalid="ignore"):
            step = u[todo] - f / d
        newton = np.isfinite(step) & (step >= lo[todo]) & (step <= hi[todo])
        nxt = np.where(newton, step, (lo[todo] + hi[todo]) / 2.0)
        exact = np.abs(f) <= 1e-14
        done = exact | (np.abs(nxt - u[todo]) <= 1e-10 * (1.0 + np.abs(u[todo])))
        u[todo] = np.where(exact, u[todo], nxt)
        todo = todo[~done]
        if todo.size == 0:
            return u
    raise ArithmeticError(f"the pivot's {prob} quantile did not converge")  # pragma: no cover


def _t_end(values: np.ndarray, confidence: float, side: int) -> np.ndarray:
    """The Student-t end, mean + side t_{R-1, (1 + confidence)/2} s / sqrt(R), per row.

    Computed on the values over their largest magnitude (no overflow in s^2 for values near 1e308).
    """
    runs = values.shape[-1]
    scale = np.max(np.abs(values), axis=-1, keepdims=True)
    scale = np.where(scale > 0, scale, 1.0)
    scaled = values / scale
    quantile = special.stdtrit(runs - 1, 0.5 + confidence / 2.0)
    end = scaled.mean(axis=-1) + side * quantile * scaled.std(axis=-1, ddof=1) / math.sqrt(runs)
    with np.errstate(over="ignore"):
        return end * scale[..., 0]


def _pivot_end(values: np.ndarray, confidence: float, side: int) -> np.ndarray:
    """The pivot's end for each row of positive ``values`` (N, R)."""
    y = np.log(values)
    q = pivot_quantile(y.std(axis=-1, ddof=1), values.shape[-1], 0.5 + side * confidence / 2.0)
    with np.errstate(over="ignore"):
        return np.exp(y.mean(axis=-1) + q)


def interval_ends(
    lower: np.ndarray, upper: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The interval for the expectation of the per-run values, vectorised over rows.

    Each end is the wider of the Student-t end and, where every value of that
    end's row is positive, the lognormal generalized-pivot end. Each side is at level
    (1 - confidence) / 2. The lower end is computed from ``lower`` values and the upper
    end from ``upper`` values (a run's quadrature bracket); pass the same array twice for
    plain values.

    Args:
        lower: (N, R) values that make the lower end (each run's lower bracket), finite.
        upper: (N, R) values that make the upper end (each run's upper bracket), finite.
        confidence: two-sided level in (0, 1). Inputs are not checked here
            (:func:`empirical.decision.assess` checks them).

    Returns:
        (lo, hi, lo_pivot, hi_pivot), each (N,): the ends, unclipped (hi may be
        inf when the pivot's end overflows), and whether the pivot took part at each end.
    """
    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    lo, hi = _t_end(lower, confidence, -1), _t_end(upper, confidence, +1)
    lo_pivot, hi_pivot = np.all(lower > 0, axis=-1), np.all(upper > 0, axis=-1)
    if lo_pivot.any():
        lo[lo_pivot] = np.minimum(lo[lo_pivot], _pivot_end(lower[lo_pivot], confidence, -1))
    if hi_pivot.any():
        hi[hi_pivot] = np.maximum(hi[hi_pivot], _pivot_end(upper[hi_pivot], confidence, +1))
    if np.isnan(lo).any() or np.isnan(hi).any():  # pragma: no cover - finite inputs give no NaN
        raise ArithmeticError("the interval of the mean came out NaN")
    return lo, hi, lo_pivot, hi_pivot
