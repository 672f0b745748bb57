"""The growth condition E||g - grad F||^2 <= A + G ||grad F||^2, fitted to the runs' records.

After Bottou, Curtis and Nocedal (SIAM Review 2018); docs/theory.md, "SGD under a growth
condition": E||g||^2 <= A + (1 + G) ||grad F||^2, step condition gamma_k <= 1 / (L (1 + G)).

Data, per run: y_j = ||g_{j+1}||^2, the squared norm of the minibatch gradient taken at theta_j
(every step, one draw each), and at the record steps k the unbiased records x_k of
||grad F(theta_k)||^2 with their variances.

Cells: the steps j = 0..n-1 are split among the records, each step going to its nearest
record step (ties to the earlier one), so a cell holds n_t >= 1 steps around record step k_t
(single steps where the records are dense, early, where ||grad F||^2 changes fastest). Per cell

    ybar_t = mean_{j in cell} y_j,   xbar_t = mean_{j in cell} x(j),   z_t = ybar_t - xbar_t,

x(j) the records interpolated by a cubic spline in log(1 + j) (linear in the records, so an
unbiased interpolant of the true ||grad F||^2 up to its interpolation error; a linear
interpolant overestimates a convex decay between records and biased G low by 2-4 % on the
oracles of the tests). For an unbiased g, E[y_j | theta_j] =
||grad F(theta_j)||^2 + V(theta_j) with V the variance of the step's gradient, so z_t estimates
the mean of V over the cell, and the model is z_t = A + G xbar_t + e_t. The single draws are
averaged over a cell (not regressed one by one against an interpolated regressor) so that the
weights see the noise of a cell mean, and the records' own noise enters Var(z_t).

Fit: weighted least squares, the weights 1/Var(z_t) with Var(z_t) = s2(xbar_t)/n_t + v_t (v_t the
centre record's variance) and s2(x) = c0 + c1 x + c2 x^2 (c >= 0) the per-draw variance fitted by
quasi-likelihood to the squared residuals of a first fit (weights n_t); the coefficients'
covariance is the HC3 sandwich (valid whatever the variance model's error). Intervals:
two-sided Student-t at ``confidence`` on each coefficient's Welch-Satterthwaite degrees of
freedom (few cells carry G when ||grad F||^2 falls fast); ``A_upper``, ``G_upper`` one-sided
upper values at ``confidence`` each (both together at least 1 - 2 (1 - confidence)). A fitted
coefficient below 0 is reported at 0 (the condition needs A, G >= 0); its upper value never
below 0. The records' noise makes xbar_t noisy too: when it is small against the spread of
the xbar_t (``attenuation`` below 1e-2) the errors-in-variables bias of G is negligible.

The fit is of the conditional mean of V along the runs; the condition is a bound at every
iterate: ``max_excess_sd`` is the largest (z_t - A_upper - G_upper xbar_t) / sd(z_t) over the
cells (near 2-3 for N cells of exact linear growth; much larger: V is not below the line).

Measured on the synthetic oracles (tests/cases.py ``growth_oracle``: a quadratic with
g = grad F + xi, Var xi = A + G ||grad F||^2, 4 runs x 2000 steps, records on the default plan),
200 seeds each at confidence 0.95: two-sided coverage 0.92-0.96 for A and G, one-sided 0.94-0.96
(A) and 0.90-0.95 (G; the low end when ||grad F||^2 falls within the first ten steps, where G
is also biased low by about 3 %: the step's noise moves the later regressors).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from empirical.errors import ConfigError
from empirical.estimators.box_newton import minimise
from empirical.estimators.cubic_spline import not_a_knot
from empirical.estimators.results import Estimate, check_confidence, check_finite_array
from empirical.student import t_quantile


@dataclass(frozen=True)
class GrowthPoint:
    """One cell of the fit: the steps around one record step of one run (module docstring).

    Attributes:
        run: The run.
        record: The record step k_t.
        first: The cell's first step.
        last: Its last step.
        grad_sq: xbar_t, the mean interpolated ||grad F||^2 over the cell.
        excess: z_t, the mean ||g||^2 over the cell minus xbar_t.
        sd: z_t's standard deviation under the fitted variance model.
        draws: n_t, the steps in the cell.
    """

    run: int
    record: int
    first: int
    last: int
    grad_sq: float
    excess: float
    sd: float
    draws: int


@dataclass(frozen=True)
class StepCondition:
    """The step condition gamma_max <= 1 / (L (1 + G_upper)) on a run.

    Attributes:
        holds: Whether it holds.
        gamma_max: The run's largest step.
        limit: 1 / (L (1 + G_upper)).
        L: The smoothness constant used.
        G_upper: G's one-sided upper value used.
    """

    holds: bool
    gamma_max: float
    limit: float
    L: float
    G_upper: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: holds, status, gamma_max, limit, L, G_upper.

        ``status`` is "estimated": L and G_upper are estimates, so ``holds`` is the condition at
        them, not a proof.
        """
        return {"holds": self.holds, "status": "estimated", "gamma_max": self.gamma_max, "limit": self.limit,
                "L": self.L, "G_upper": self.G_upper}  # fmt: skip


@dataclass(frozen=True)
class GrowthFit:
    """The fitted A and G of E||g - grad F||^2 <= A + G ||grad F||^2 (module docstring).

    Attributes:
        A: The constant term, with its two-sided interval.
        G: The slope on ||grad F||^2, with its two-sided interval.
        A_upper: A's one-sided upper value.
        G_upper: G's one-sided upper value.
        confidence: The intervals' level.
        points: The cells used.
        attenuation: The errors-in-variables ratio: the mean record variance over the variance
            of the xbar_t (small: the regression on noisy x is barely attenuated).
        max_excess_sd: The largest standardised excess of a cell.
        method: The method in words.
    """

    A: Estimate
    G: Estimate
    A_upper: float
    G_upper: float
    confidence: float
    points: tuple[GrowthPoint, ...]
    attenuation: float
    max_excess_sd: float
    method: str

    def step_condition(self, L: float, step_sizes: np.ndarray) -> StepCondition:
        """Whether every step gamma_k <= 1 / (L (1 + G_upper)) (Bottou et al.'s step condition).

        Args:
            L: The smoothness constant.
            step_sizes: The run's steps gamma_k.

        Returns:
            The condition at the largest step.

        Raises:
            ConfigError: No steps, a step that is not finite, or L not finite and > 0.
        """
        gammas = np.asarray(step_sizes, dtype=np.float64).reshape(-1)
        if gammas.size == 0 or not np.all(np.isfinite(gammas)) or not math.isfinite(L) or not L > 0:
            raise ConfigError("step_condition needs finite steps and a finite L > 0")
        limit = 1.0 / (L * (1.0 + self.G_upper))
        gmax = float(gammas.max())
        return StepCondition(bool(gmax <= limit), gmax, float(limit), float(L), self.G_upper)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (without the cells: ``points`` counts them).

        Returns:
            A and G with their intervals, the upper values, the diagnostics and the method.
        """
        return {
            "A": self.A.as_dict(), "G": self.G.as_dict(), "A_upper": self.A_upper, "G_upper": self.G_upper,
            "confidence": self.confidence, "points": len(self.points), "attenuation": self.attenuation,
            "max_excess_sd": self.max_excess_sd, "method": self.method,
        }  # fmt: skip


def cells(record_steps: np.ndarray, steps: int) -> list[tuple[int, int, int]]:
    """The cells of the records: each step 0..n-1 goes to its nearest record step below n.

    Ties go to the earlier record; a record at n (no gradient is taken at theta_n) keeps no
    cell, the steps near it go to the record before.

    Args:
        record_steps: The record steps k, increasing.
        steps: n, the steps taken.

    Returns:
        (record step, first step, last step) of every record's cell.
    """
    ks = [int(k) for k in np.asarray(record_steps, dtype=np.int64) if k < steps]
    out = []
    for t, k in enumerate(ks):
        first = 0 if t == 0 else (ks[t - 1] + k) // 2 + 1
        last = steps - 1 if t + 1 == len(ks) else (k + ks[t + 1]) // 2
        out.append((k, first, last))
    return out


def growth_fit(
    grad_norm_sq: np.ndarray,
    record_steps: np.ndarray,
    full_grad_norm_sq: np.ndarray,
    full_grad_norm_sq_var: np.ndarray | None = None,
    *,
    confidence: float = 0.95,
) -> GrowthFit:
    """Fit E||g - grad F||^2 <= A + G ||grad F||^2 to the records (module docstring).

    Args:
        grad_norm_sq: (R, n) ||g_k||^2 of every step k = 1..n (index k - 1, taken at theta_{k-1}).
        record_steps: (T,) the record steps k, increasing, in [0, n].
        full_grad_norm_sq: (R, T) unbiased records of ||grad F(theta_k)||^2.
        full_grad_norm_sq_var: (R, T) their variances (None: exact records, 0).
        confidence: of the two-sided intervals and of each one-sided upper value.

    Returns:
        :class:`GrowthFit` (A, G >= 0 with intervals and upper values; the cells used).
    """
    confidence = check_confidence(confidence)
    y = np.atleast_2d(np.asarray(grad_norm_sq, dtype=np.float64))
    ks = np.asarray(record_steps, dtype=np.float64).reshape(-1)
    x = np.atleast_2d(np.asarray(full_grad_norm_sq, dtype=np.float64))
    v = (
        np.zeros_like(x)
        if full_grad_norm_sq_var is None
        else np.atleast_2d(np.asarray(full_grad_norm_sq_var, float))
    )
    R, n = y.shape
    if x.shape != (R, ks.size) or v.shape != x.shape:
        raise ConfigError(f"records must be ({R}, {ks.size}) arrays, got {x.shape} and {v.shape}")
    if ks.size < 2 or np.any(np.diff(ks) <= 0) or ks[0] < 0 or ks[-1] > n:
        raise ConfigError(f"record_steps must increase within [0, {n}] and hold at least 2 steps")
    for arr, what in ((y, "grad_norm_sq"), (x, "full_grad_norm_sq"), (v, "full_grad_norm_sq_var")):
        check_finite_array(arr, what)
    # The fit runs in units of a power of 2 near the values' size, so that their squares and the
    # weights neither overflow nor underflow; it scales back exactly (A, the points; G is a ratio).
    unit = _power_of_two(max(float(np.max(np.abs(y))), float(np.max(np.abs(x)))))
    y, x, v = y / unit, x / unit, v / unit / unit
    pts: list[GrowthPoint] = []
    rows = []
    js = np.arange(n, dtype=np.float64)
    for r in range(R):
        xj = not_a_knot(np.log1p(ks), x[r], np.log1p(js))
        for k, first, last in cells(ks.astype(np.int64), n):
            t = int(np.searchsorted(ks, k))
            m = last - first + 1
            rows.append((r, k, first, last, float(xj[first : last + 1].mean()),
                         float(y[r, first : last + 1].mean()), m, float(v[r, t])))  # fmt: skip
    if len(rows) < 3:
        raise ConfigError(f"need at least 3 cells of steps to fit A and G, got {len(rows)}")
    xb = np.array([row[4] for row in rows])
    z = np.array([row[5] for row in rows]) - xb
    m = np.array([row[6] for row in rows], dtype=np.float64)
    vx = np.array([row[7] for row in rows])
    X = np.column_stack([np.ones_like(xb), xb])
    beta0, _ = _wls(X, z, m)
    resid0 = z - X @ beta0
    s2 = _draw_variance(xb, m * resid0**2)
    var_z = s2 / m + vx
    if not np.all(var_z > 0):  # cells without noise (no residual, exact records): the most weight
        top = float(np.max(var_z))
        var_z = np.where(var_z > 0, var_z, 1e-12 * top) if top > 0 else np.ones_like(var_z)
    w = 1.0 / var_z
    beta, cov = _wls(X, z, w, hc3=True)
    N = len(z)
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    dfs = _effective_dof(X, w)
    two = [t_quantile(confidence, df) for df in dfs]
    one = [t_quantile(2 * confidence - 1, df) for df in dfs]  # one-sided t_{df, confidence}
    A_hat, G_hat = float(beta[0]), float(beta[1])
    method = (
        f"weighted least squares of z = mean ||g||^2 - mean ||grad F||^2 on mean ||grad F||^2 over {N} "
        f"cells of steps ({R} runs x {N // max(R, 1)} records; ||grad F||^2 interpolated between the "
        "records), weights 1/(s2(x)/n_t + record variance) with s2 fitted to the first fit's squared "
        f"residuals, HC3 sandwich covariance; Student-t on {dfs[0]:.3g} (A) and {dfs[1]:.3g} (G) "
        "Welch-Satterthwaite degrees of freedom; coefficients "
        "below 0 reported at 0"
    )
    A = _clipped(A_hat * unit, two[0] * float(se[0]) * unit, confidence, f"A: {method}")
    G = _clipped(G_hat, two[1] * float(se[1]), confidence, f"G: {method}")
    A_up, G_up = max(A_hat + one[0] * float(se[0]), 0.0), max(G_hat + one[1] * float(se[1]), 0.0)
    sd = np.sqrt(var_z)
    excess = float(np.max((z - A_up - G_up * xb) / sd))
    spread = float(np.var(xb))
    attenuation = float(np.mean(vx)) / spread if spread > 0 else math.inf
    for (r, k, first, last, *_), xi, zi, si, mi in zip(rows, xb, z, sd, m, strict=True):
        pts.append(
            GrowthPoint(r, k, first, last, float(xi * unit), float(zi * unit), float(si * unit), int(mi))
        )
    return GrowthFit(A, G, A_up * unit, G_up, confidence, tuple(pts), attenuation, excess, method)


def growth_fit_of(run: Any, confidence: float = 0.95) -> GrowthFit:
    """The growth fit of a TrainRun.

    Args:
        run: The runs: their ``grad_norm_sq``, ``record_steps``, ``full_grad_norm_sq`` and
            ``full_grad_norm_sq_var`` (when recorded).
        confidence: The intervals' level.

    Returns:
        :func:`growth_fit` of those records.
    """
    return growth_fit(
        run.grad_norm_sq, run.record_steps, run.full_grad_norm_sq,
        getattr(run, "full_grad_norm_sq_var", None), confidence=confidence,
    )  # fmt: skip


def _power_of_two(size: float) -> float:
    """The largest power of 2 at most ``size`` (1 for 0): dividing by it is exact."""
    return math.ldexp(1.0, math.frexp(size)[1] - 1) if size > 0 else 1.0


def _wls(X: np.ndarray, z: np.ndarray, w: np.ndarray, hc3: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares beta = argmin sum w (z - X beta)^2; its HC3 covariance (hc3) or None."""
    sw = np.sqrt(w)
    Xw, zw = X * sw[:, None], z * sw
    bread = np.linalg.pinv(Xw.T @ Xw)
    beta = bread @ Xw.T @ zw
    if not hc3:
        return beta, np.zeros((2, 2))
    e = zw - Xw @ beta
    h = np.einsum("ij,jk,ik->i", Xw, bread, Xw)
    u = e / np.maximum(1.0 - h, 1e-12)
    meat = (Xw * (u**2)[:, None]).T @ Xw
    return beta, bread @ meat @ bread


def _effective_dof(X: np.ndarray, w: np.ndarray) -> list[float]:
    """Per coefficient, the Welch-Satterthwaite degrees of freedom (sum a_i^2)^2 / sum a_i^4, in [1, N - 2].

    a_i is the point's weight in the coefficient's sandwich variance sum_i a_i^2 e_i^2; few points
    carrying a coefficient give few degrees of freedom.
    """
    Xw = X * np.sqrt(w)[:, None]
    a2 = (np.linalg.pinv(Xw.T @ Xw) @ Xw.T) ** 2
    out = []
    for row in a2:
        df = float(row.sum() ** 2 / np.sum(row**2)) if np.sum(row**2) > 0 else 1.0
        out.append(min(max(df, 1.0), float(len(w) - 2)))
    return out


def _draw_variance(x: np.ndarray, sq: np.ndarray) -> np.ndarray:
    """The variance model s2(x) = c0 + c1 x + c2 x^2 (c >= 0) fitted to ``sq`` by maximum likelihood.

    ``sq``: n_t times squared residuals, each about s2 times a chi-square on 1; minimises
    sum log s2 + sq / s2 over c = level exp(u), u in [-60, 20]^3 (level the mean of ``sq``), by
    projected Newton steps (:mod:`empirical.estimators.box_newton`; a least-squares fit is swamped
    by the few largest). x below 0 (an unbiased record can be) enters as 0.
    """
    scale = max(float(np.max(np.abs(x))), 1e-300)
    # An unbiased record of ||grad F||^2 (or the spline between records) can be below 0; the model
    # is evaluated at max(x, 0), where c >= 0 keeps s2 > 0 (the same basis where every x >= 0).
    xp = np.maximum(x, 0.0) / scale
    B = np.column_stack([np.ones_like(x), xp, xp**2])
    level = max(float(np.mean(sq)), 1e-300)
    q = sq / level  # in units of the level: the same minimiser, u shifted by log(level)

    def model(u: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        c = np.exp(u)
        s2 = B @ c
        first = 1.0 / s2 - q / s2**2  # d/ds2 of log s2 + q / s2
        second = (2.0 * q / s2 - 1.0) / s2**2
        grad = (B.T @ first) * c
        hess = np.outer(c, c) * (B.T @ (second[:, None] * B)) + np.diag(grad)
        return float(np.sum(np.log(s2) + q / s2)), grad, hess

    u = minimise(model, np.full(3, math.log(1 / 3)), -60.0, 20.0)
    return level * (B @ np.exp(u))


def _clipped(value: float, half: float, confidence: float, method: str) -> Estimate:
    """Value +- half clipped at 0 (a coefficient >= 0 by definition)."""
    lo, hi = max(value - half, 0.0), max(value + half, 0.0)
    return Estimate(min(max(value, 0.0), hi), lo, hi, confidence, method)
