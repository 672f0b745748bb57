"""The pilot behind the advice, and the advice itself (:func:`advise`).

The constants at theta_0 that the bound is evaluated at, from the one pilot of the verify
runs (:mod:`empirical.pipeline.pilot`: same initialisations, rows and seeds).
"""

from __future__ import annotations

import dataclasses

from empirical.advice.recommend import MAX_GRID_K, Advice, PilotConstants, powers_of_two, recommend
from empirical.advice.request import Request
from empirical.pipeline import pilot
from empirical.progress import Progress, silent


def constants_at(points: list[pilot.PilotPoint], K: int) -> PilotConstants:
    """The pilot's constants at one K: the largest upper end of each over the pilot's points.

    As :func:`empirical.pipeline.pilot.from_pilot` takes them; Delta is proven only when every
    point's is.

    Args:
        points: The pilot's points (each with its variance parts).
        K: The K they were measured at.

    Returns:
        The constants.

    Raises:
        ValueError: A point without variance parts.
    """
    if any(p.sigma2_data is None or p.sigma2_mc is None for p in points):
        raise ValueError("the pilot's points carry no variance parts (sigma2_data, sigma2_mc)")
    return PilotConstants(
        K=K,
        L=max(p.L for p in points),
        sigma2_data=max(p.sigma2_data for p in points),
        sigma2_mc=max(p.sigma2_mc for p in points),
        Delta=max(p.Delta for p in points),
        proven=all(p.proven for p in points),
    )


def sample_grid(request: Request) -> list[int]:
    """The K at which the pilot runs.

    Args:
        request: The checked request.

    Returns:
        The default's K and, for IWAE (whose constants change with K), every power of two up to
        MAX_GRID_K that leaves 2 steps of one row.
    """
    K0 = request.settings.K
    if request.settings.model != "iwae":
        return [K0]
    return sorted({k for k in powers_of_two(MAX_GRID_K) if 2 * k <= request.budget} | {K0})


def advise(request: Request, progress: Progress = silent) -> Advice:
    """The advice for a checked request (:class:`empirical.advice.request.Request`).

    Args:
        request: the settings of the default run and the budget.
        progress: the progress callback.

    Returns:
        :func:`empirical.advice.recommend.recommend` at the pilot's constants (one pilot per K of
        :func:`sample_grid`, each at PILOT_INITS initialisations); the default's C_gamma is the
        one given or the pilot's rule at the default's n (what ``vaebounds verify`` would take).
    """
    from empirical.pipeline.pipeline import prepare
    from empirical.threads import torch_threads

    s = request.settings
    with torch_threads():
        problem = prepare(s)
        constants, default_points = [], None
        for K in sample_grid(request):
            model = dataclasses.replace(problem.model, K=K)
            measure = pilot.vae_pilot(dataclasses.replace(s, K=K), model, problem.X, progress)
            points = [measure(pilot.PILOT_SEED + i) for i in range(pilot.PILOT_INITS)]
            constants.append(constants_at(points, K))
            if K == s.K:
                default_points = points
    n0 = request.default_steps
    if s.C_gamma is not None:
        C0, how = s.C_gamma, "given"
    else:
        choice = pilot.from_pilot(default_points, n0)
        C0, how = choice.C_gamma, choice.how
    return recommend(
        s.theorem_model, constants, request.budget, (s.batch_size, s.K), C0, how, request.max_steps
    )
