"""Minimising a smooth function of a few variables within a box, by projected Newton steps.

The growth fit's variance model (:mod:`empirical.estimators.growth`) has three coefficients; this
minimiser replaces scipy's L-BFGS-B there so that a verify does not import scipy.optimize (about
0.2 s of CPU; issue 24's fixed costs). It is Bertsekas's projected Newton method (SIAM J. Control
Optim. 20, 1982): the variables at a bound whose gradient points out of the box are held there,
the others take a Newton step with the Hessian's eigenvalues replaced by their absolute values
(floored at a small fraction of the largest, so the step descends where the function is not
convex), and the step is halved until the projected point decreases the function by Armijo's
rule. Where the Hessian is positive definite near the minimum the steps are Newton's and converge
quadratically, to a tighter optimum than L-BFGS-B's default tolerances reach.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Newton's system: (value, gradient, Hessian) at a point.
Model = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]
#: Armijo's sufficient decrease, as a fraction of the first-order decrease.
ARMIJO = 1e-4
#: The smallest eigenvalue kept, as a fraction of the largest one's absolute value.
EIGEN_FLOOR = 1e-10


def minimise(
    model: Model, start: np.ndarray, lower: float, upper: float, *, gtol: float = 1e-10, max_steps: int = 200
) -> np.ndarray:
    """A local minimiser of a twice differentiable function over the box [lower, upper]^d.

    Args:
        model: u -> (f(u), grad f(u), Hessian of f at u), finite inside the box.
        start: The first point (clipped into the box).
        lower: Every variable's lower bound.
        upper: Every variable's upper bound (> lower).
        gtol: Stop when every free variable's |df/du_j| <= gtol max(1, |f|) (a variable at a
            bound whose gradient points outward is not free).
        max_steps: At most this many Newton steps.

    Returns:
        The last point: within the box, the projected gradient below ``gtol``'s level, or no
        point along the last direction decreasing f any more (to 2^-40 of a step), or
        ``max_steps`` steps taken.
    """
    u = np.clip(np.asarray(start, dtype=np.float64), lower, upper)
    f, g, H = model(u)
    edge = 1e-12 * (upper - lower)
    for _ in range(max_steps):
        held = ((u <= lower + edge) & (g > 0)) | ((u >= upper - edge) & (g < 0))
        free = ~held
        if not free.any() or np.max(np.abs(g[free])) <= gtol * max(1.0, abs(f)):
            break
        values, vectors = np.linalg.eigh(H[np.ix_(free, free)])
        size = np.abs(values)
        size = np.maximum(size, EIGEN_FLOOR * max(float(size.max()), 1e-300))
        direction = np.zeros_like(u)
        direction[free] = -(vectors @ ((vectors.T @ g[free]) / size))
        t = 1.0
        while t >= 2.0**-40:
            trial = np.clip(u + t * direction, lower, upper)
            ft, gt, Ht = model(trial)
            if np.isfinite(ft) and ft <= f + ARMIJO * float(g @ (trial - u)):
                break
            t *= 0.5
        else:
            break  # no decrease along this direction: u is as good as the line search can find
        if ft == f:
            u = trial
            break
        u, f, g, H = trial, ft, gt, Ht
    return u
