"""The values a theorem is bound with besides the estimated constants.

Built once for every source of runs (docs/architecture.md, "How a question flows"): the values
that are not estimated (:func:`fixed_values`) and the variance of a step's minibatch gradient from
its two measured parts (:func:`step_variance`, the expression of
:mod:`theory.models.common`).
"""

from __future__ import annotations

import numpy as np

from empirical.estimators.results import Estimate, exact


def fixed_values(
    step_sizes: np.ndarray,
    *,
    batch_size: int,
    n_params: int,
    C_gamma: float,
    K: int | None = None,
    box: float | None = None,
) -> dict[str, float]:
    """The values of the theorem that are not estimated.

    Args:
        step_sizes: gamma_1..gamma_n, the steps actually taken.
        batch_size: B, the rows of a step's minibatch.
        n_params: d, the number of trained parameters.
        C_gamma: the step constant (a recorded run: its first step).
        K: variational samples per row (None: the user's loss draws its own).
        box: the radius a of the projection (None: no projection).

    Returns:
        ``n`` = len(step_sizes), ``B``, ``K``, ``C_gamma``, the step sums
        S1 = sum gamma_k, S2 = sum gamma_k^2, gamma_max = max gamma_k, ``a`` and ``d``.
        The optimizer's own values (alpha_step, beta1, beta2, eps) come with the theorem
        that covers it (:func:`empirical.conclusion.coverage.choose_theorem`).
    """
    gammas = np.asarray(step_sizes, dtype=float)
    out = {"n": float(gammas.size), "B": float(batch_size)}
    if K is not None:
        out["K"] = float(K)
    out.update(
        C_gamma=float(C_gamma),
        S1=float(gammas.sum()),
        S2=float(np.square(gammas).sum()),
        gamma_max=float(gammas.max()),
    )
    if box is not None:
        out["a"] = float(box)
    out["d"] = float(n_params)
    return out


def step_variance(data: Estimate, mc: Estimate, batch_size: int, K: int | None = None) -> Estimate:
    """sigma2, the variance of a step's minibatch gradient, from its two parts.

    Args:
        data: sigma2_data, the variance over rows of the per-row mean gradient.
        mc: the Monte-Carlo part: sigma2_mc per variational sample when ``K`` is given
            (a loss averaging its K draws), else sigma2_mc_K, one row's gradient as the loss
            draws it (IWAE, a user's module).
        batch_size: B.
        K: the draws per row a loss averages, or None (module docstring).

    Returns:
        sigma2 = sigma2_data/B + sigma2_mc/(B K) (:data:`theory.models.common.variance_split`),
        or sigma2_data/B + sigma2_mc_K/B (:data:`theory.models.common.iwae_variance`); each
        end of the interval from the same ends of the parts, at the smaller confidence.
    """
    from theory.models.common import iwae_variance, variance_split

    expr = iwae_variance if K is None else variance_split
    mc_name = "sigma2_mc_K" if K is None else "sigma2_mc"

    def at(d: float, m: float) -> float:
        values = {"sigma2_data": d, mc_name: m, "B": batch_size, "K": K}
        return float(expr.subs({s: values[s.name] for s in expr.free_symbols}))

    what = "sigma2_data/B + sigma2_mc_K/B" if K is None else f"sigma2_data/B + sigma2_mc/(B K), K = {K}"
    return Estimate(
        at(data.value, mc.value),
        at(data.lo, mc.lo),
        at(data.hi, mc.hi),
        min(data.confidence, mc.confidence),
        f"variance of a B = {batch_size} row minibatch gradient, {what}, from the two parts",
        data.n_evals + mc.n_evals,
    )


def values_variance(values: dict[str, float]) -> float | None:
    """sigma2, the variance of a step's minibatch gradient, at the values bound into a theorem.

    Args:
        values: ``sigma2`` itself (a user's module), or ``sigma2_data`` with ``sigma2_mc`` (and
            ``B``, ``K``) or with ``sigma2_mc_K`` (and ``B``).

    Returns:
        ``values["sigma2"]``, else :func:`step_variance` of the parts (sigma2_data/B +
        sigma2_mc/(B K), or sigma2_data/B + sigma2_mc_K/B); None when neither is there.
    """
    if "sigma2" in values:
        return float(values["sigma2"])
    if "sigma2_data" not in values or "B" not in values:
        return None
    data = exact(values["sigma2_data"], "sigma2_data")
    B = int(values["B"])
    if "sigma2_mc" in values and "K" in values:
        return step_variance(data, exact(values["sigma2_mc"], "sigma2_mc"), B, int(values["K"])).value
    if "sigma2_mc_K" in values:
        return step_variance(data, exact(values["sigma2_mc_K"], "sigma2_mc_K"), B).value
    return None
