"""Delta = F(theta_0) - F*, the optimality gap at the start of a run.

inf F is unknown: F(theta_0) minus a proven lower bound of F is a valid upper value, minus
the lowest observed loss only a lower estimate, and the ``method`` says which
(docs/estimators.md, "Delta").
"""

from __future__ import annotations

import math

import numpy as np
import torch

from empirical.errors import ConfigError
from empirical.estimators.results import (
    Estimate,
    Params,
    check_finite,
    check_finite_array,
    exact,
    mean_interval,
    seeded,
)
from empirical.inputs import MAX_SAMPLES
from empirical.validate import number, whole

PROVEN = "proven lower bound"
OBSERVED = "lowest observed loss"


def loss_at(
    model: object,
    params: Params,
    X: torch.Tensor,
    mc_samples: int = 4,
    *,
    generator: torch.Generator | None = None,
    seed: int = 0,
    confidence: float = 0.95,
    where: str = "theta",
) -> Estimate:
    """F at a point: the mean over the rows of X of the loss averaged over ``mc_samples`` draws.

    Args:
        model: The VAE.
        params: The point.
        X: The rows.
        mc_samples: The draws per row (1 for a deterministic loss).
        generator: The generator of the noise (default: seeded with ``seed``).
        seed: The seed when no generator is given.
        confidence: The interval's two-sided level.
        where: The point's name, for the method.

    Returns:
        F with a Student-t interval over the rows.

    Raises:
        LossError: A loss that is not finite.
    """
    gen = seeded(generator, seed)
    J = 1 if getattr(model, "is_deterministic", False) else whole("mc_samples", mc_samples, 1, MAX_SAMPLES)
    n = int(X.shape[0])
    with torch.no_grad():
        eps = model.sample_noise(gen, batch=n * J)
        losses = model.batch_losses(params, X.repeat_interleave(J, 0), eps).reshape(n, J).mean(1)
    check_finite(losses, "per-example loss")
    return mean_interval(
        losses,
        f"F({where}) over {n} examples x {J} draws, t interval over examples",
        confidence,
        n * J,
    )


def delta(F0: Estimate, lower_bound: float | None = None, lowest_observed: float | None = None) -> Estimate:
    """Delta from F(theta_0) and either a proven lower bound of F or the lowest observed loss.

    The proven bound is used whenever it is given; the method starts with ``"Delta upper
    value"`` or ``"Delta lower estimate"`` accordingly.

    Args:
        F0: The estimate of F(theta_0).
        lower_bound: A proven lower bound of F, or None.
        lowest_observed: The lowest loss observed, or None.

    Returns:
        F(theta_0) - F* with its interval (clipped at 0 from below with a proven bound).

    Raises:
        ConfigError: No F0 estimate, or neither a bound nor an observed loss.
    """
    if not isinstance(F0, Estimate):
        raise ConfigError(f"F0 must be an Estimate of F(theta_0), got {type(F0).__name__}")
    if lower_bound is not None:
        f_star, how = number("lower bound of F", lower_bound, -math.inf), PROVEN
        head = (
            f"Delta upper end (valid for the bound at the interval's {F0.confidence:.0%} confidence: F* is "
            "proven, F(theta_0) estimated)"
        )
    elif lowest_observed is not None:
        f_star, how = number("lowest observed loss", lowest_observed, -math.inf), OBSERVED
        head = "Delta lower estimate (NOT a valid upper value for the bound)"
    else:
        raise ConfigError("Delta needs a proven lower bound of F or the lowest observed loss")
    method = f"{head}: F(theta_0) - F* with F* = {how} {f_star:.6g}; F(theta_0) from [{F0.method}]"
    lo = F0.lo - f_star
    if how == PROVEN and lo < 0:  # F(theta_0) >= inf F >= F_low: the gap is >= 0
        lo, method = 0.0, method + "; lower end clipped at 0 (F(theta_0) >= F_low is proved)"
    return Estimate(
        max(F0.value - f_star, lo), lo, max(F0.hi - f_star, lo), F0.confidence, method, F0.n_evals
    )


def snapshot_delta(losses: np.ndarray, labels: list[str], confidence: float = 0.95) -> Estimate:
    """Delta = F(theta_0) - min_k F(theta_k) over snapshots, a lower estimate of F(theta_0) - F*.

    Args:
        losses: (S, n) per-row losses (each the mean over the row's noise draws) at the S
            snapshots, theta_0 first; the same rows and the same noise draws at every snapshot,
            so the differences D_k = F(theta_0) - F(theta_k) are estimated by paired per-row
            differences.
        labels: the S snapshots' names (e.g. ``theta_120``).
        confidence: the level of the interval, jointly over the snapshots.

    Returns:
        value = max_k mean_r D_{k,r} (k = 0 gives D = 0, so >= 0); [lo, hi] = [max_k lo_k,
        max_k hi_k] with each [lo_k, hi_k] a Student-t interval over rows at level
        1 - (1 - confidence)/(S - 1) (Bonferroni): with probability >= confidence every D_k is
        in its interval, hence max_k D_k = F(theta_0) - min_k F(theta_k) in [lo, hi]. Since
        min_k F(theta_k) >= F*, that is a lower estimate of Delta: a bound evaluated with it is
        not guaranteed to be an upper bound.

    Raises:
        ConfigError: Losses of the wrong shape.
        LossError: A loss that is not finite.
    """
    x = np.asarray(losses, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 2 or len(labels) != x.shape[0]:
        raise ConfigError(
            f"losses must be (S, n) with n >= 2 rows and S labels, got {x.shape}, {len(labels)}"
        )
    check_finite_array(x, "per-example loss at a snapshot")
    S, n = x.shape
    each = 1.0 - (1.0 - confidence) / max(S - 1, 1)
    best, lo, hi, at = 0.0, 0.0, 0.0, 0
    for k in range(1, S):
        d = mean_interval(x[0] - x[k], "paired difference", each)
        if d.value > best:
            best, at = d.value, k
        lo, hi = max(lo, d.lo), max(hi, d.hi)
    F0 = mean_interval(x[0], "F(theta_0)", confidence)
    method = (
        f"Delta lower estimate (NOT a valid upper value for the bound) of F(theta_0) - F*: F(theta_0) - "
        f"min_k F(theta_k) over {S} snapshots ({labels[0]}..{labels[-1]}), lowest at {labels[at]}; every F "
        f"on the same {n} rows and noise draws, each difference a Student-t interval over rows at "
        f"{each:.4g} (Bonferroni over {max(S - 1, 1)}: {confidence:.0%} jointly); F(theta_0) = "
        f"{F0.value:.6g} [{F0.lo:.6g}, {F0.hi:.6g}]"
    )
    return Estimate(best, lo, hi, confidence, method, S * n)


def uses_proven_bound(estimate: Estimate) -> bool:
    """Whether a Delta estimate used a proven lower bound of F (its upper end valid at its confidence).

    Args:
        estimate: The Delta estimate.

    Returns:
        True when its method names a proven lower bound.
    """
    return PROVEN in estimate.method


def lowest_observed(values: np.ndarray) -> Estimate:
    """The lowest of the recorded full losses, exact for what it is.

    Args:
        values: The recorded F(theta_k).

    Returns:
        min_k F(theta_k).

    Raises:
        ConfigError: No value, or one that is not finite.
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise ConfigError("recorded full losses must be a non-empty finite array")
    return exact(float(x.min()), f"lowest of {x.size} recorded full losses")
