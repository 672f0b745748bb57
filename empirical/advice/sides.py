"""``vaebounds advise --check``: the advice and the default run side by side, R runs each.

Both through the pipeline's verify (:func:`empirical.pipeline.verify`) with the same budget,
and the two-sample decisions (:mod:`empirical.advice.twosample`) on the theorem's own quantity
and on the held-out -ELBO at theta_n (docs/advise.md).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from empirical.advice.recommend import Advice, Setting
from empirical.advice.request import Request
from empirical.advice.twosample import Comparison, compare
from empirical.errors import DivergenceError
from empirical.progress import Progress, silent
from empirical.settings import Settings

if TYPE_CHECKING:
    import torch

    from empirical.conclusion import Result

#: Draws per held-out row of the -ELBO, and their seed (the same noise for every run).
ELBO_DRAWS, ELBO_SEED = 16, 0


@dataclass(frozen=True, eq=False)
class Side:
    """One side of the check.

    Attributes:
        name: "default" or "advice".
        setting: The :class:`Setting` it ran.
        result: Its verify result.
        elbo: Each run's held-out -ELBO at theta_n.
        seconds: The wall time.
    """

    name: str
    setting: Setting
    result: Result
    elbo: tuple[float, ...]
    seconds: float

    def as_dict(self) -> dict:
        """The side, JSON-ready.

        Returns:
            The setting, its evaluations, bound, verdict, observed side and held-out -ELBO per run,
            and the seconds.
        """
        r, obs = self.result, self.result.observed
        return {
            **dataclasses.asdict(self.setting),
            "evaluations": self.setting.evaluations,
            "bound_at_estimated_constants": r.bound,
            "verdict": r.verdict.value,
            "observed": obs.value,
            "observed_lo": obs.lo,
            "observed_hi": obs.hi,
            "observed_per_run": list(obs.per_run),
            "held_out_elbo_per_run": list(self.elbo),
            "seconds": self.seconds,
        }


@dataclass(frozen=True, eq=False)
class Check:
    """Both sides and the decisions.

    Attributes:
        default: The default's side.
        advice: The advice's side.
        observed: The decision on the theorem's quantity, each run's weighted average of
            ||grad F(theta_j)||^2 (for IWAE with another K, the gradient of another objective).
        elbo: The decision on the held-out -ELBO.
        held_out_rows: The rows the -ELBO is averaged over.
        notes: Remarks.
    """

    default: Side
    advice: Side
    observed: Comparison
    elbo: Comparison
    held_out_rows: int
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        """The check, JSON-ready.

        Returns:
            Both sides, both decisions, the held-out rows and draws, the notes.
        """
        return {
            "default": self.default.as_dict(),
            "advice": self.advice.as_dict(),
            "observed": self.observed.as_dict(),
            "held_out_elbo": self.elbo.as_dict(),
            "held_out_rows": self.held_out_rows,
            "elbo_draws": ELBO_DRAWS,
            "notes": list(self.notes),
        }


def settings_of(request: Request, setting: Setting) -> Settings:
    """The verify settings of a side: the request's, with its n, B, K and C_gamma.

    Args:
        request: The checked request.
        setting: The side's setting.

    Returns:
        The settings.
    """
    return dataclasses.replace(
        request.settings, steps=setting.n, batch_size=setting.B, K=setting.K, C_gamma=setting.C_gamma
    )


def held_out_elbo(result: Result, held: torch.Tensor) -> tuple[float, ...]:
    """Each run's held-out -ELBO at theta_n.

    The mean over the held-out rows of the one-draw -ELBO averaged over ELBO_DRAWS draws (the
    same draws for every run and both sides).

    Args:
        result: A side's verify result.
        held: The held-out rows.

    Returns:
        One value per run.

    Raises:
        DivergenceError: a run whose -ELBO is not finite.
    """
    import torch

    model = dataclasses.replace(result.runs.model, K=1)
    rows = held.to(model.dtype)
    out = []
    for i in range(result.runs.runs):
        with torch.no_grad():
            generator = torch.Generator().manual_seed(ELBO_SEED)
            value = float(model.full_loss(result.runs.final_params(i), rows, generator, mc=ELBO_DRAWS))
        if not np.isfinite(value):
            raise DivergenceError(f"run {i} (seed {result.runs.seeds[i]}): the held-out -ELBO is {value}")
        out.append(value)
    return tuple(out)


def run_check(request: Request, advice: Advice, progress: Progress = silent) -> Check:
    """Both sides of the advice, R runs each.

    Args:
        request: the checked request (R >= 2 runs, held-out rows).
        advice: the advice (not the default run itself).
        progress: the progress callback.

    Returns:
        The :class:`Check`.
    """
    from empirical.pipeline import pipeline
    from empirical.threads import torch_threads

    sides = {"default": advice.default, "advice": advice.advice}
    with torch_threads():
        for setting in sides.values():  # data, model and memory of both before any training
            pipeline.prepare(settings_of(request, setting))
        held = pipeline.held_out_rows(request.settings)
    done = {}
    for name, setting in sides.items():
        progress(
            f"{name}: {request.settings.runs} run(s) of n = {setting.n}, B = {setting.B}, K = {setting.K}"
        )
        started = time.perf_counter()
        result = pipeline.verify(settings_of(request, setting), progress)
        with torch_threads():
            elbo = held_out_elbo(result, held)
        done[name] = Side(name, setting, result, elbo, time.perf_counter() - started)
    a, d = done["advice"], done["default"]
    observed = compare(
        "the theorem's average of ||grad F||^2", a.result.observed.per_run, d.result.observed.per_run
    )
    elbo = compare("held-out -ELBO at theta_n", a.elbo, d.elbo)
    notes = []
    if request.settings.model == "iwae" and a.setting.K != d.setting.K:
        notes.append(
            f"IWAE with K = {a.setting.K} and K = {d.setting.K}: each side's average is of the gradient of "
            "its own objective (the IWAE bound with its K); the held-out -ELBO is the common yardstick"
        )
    return Check(d, a, observed, elbo, int(held.shape[0]), tuple(notes))
