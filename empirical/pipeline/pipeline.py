"""The built-in models' front end, top to bottom.

Train -> estimate -> conclude (docs/architecture.md, "How a question flows").

1. **step**: the step constant (:mod:`empirical.pipeline.pilot`) and the optimizer's options.
2. **train**: R runs (seeds seed..seed+R-1) in one computation per step,
   recording what the theorems' left-hand sides are about.
3. **estimate**: the table of L, the variance parts, M and ||theta||_inf at every snapshot of
   every run (:func:`empirical.estimators.table_of_runs`), every constant along the runs
   (L, the variance parts and M read from that table), then the stress search of the region
   the runs visited (:func:`empirical.estimators.stress_runs`; ``--no-stress`` skips it,
   ``--stress-margin`` widens its box; a projected run's box is cut to ||theta||_inf <= a).
4. **conclude**: :func:`empirical.conclusion.conclude` -- the theorem covering the
   optimizer (``--box`` picks the projected-SGD theorem, Adam and Adagrad Défossez
   et al.'s; L, M, R, Delta and the variance parts stay symbols, to be measured), the
   binding, the observed side, the assumption rows and the verdict, decided once.

A user's module (``--model conv`` or ``FILE.py:make``) is trained by
:mod:`empirical.user_model` instead; :mod:`empirical.runner` picks the front end.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from empirical.errors import ConfigError, DataError
from empirical.inputs import MIN_TRAIN_ROWS, command_rule
from empirical.pipeline import pilot
from empirical.progress import Progress, silent
from empirical.settings import Settings
from empirical.threads import torch_threads

if TYPE_CHECKING:
    from empirical.conclusion import Result
    from empirical.conclusion.coverage import OptimizerRun
    from empirical.estimators.along_run import AlongRun
    from empirical.estimators.constants import Constants
    from empirical.estimators.stress_runs import RunsStress
    from empirical.train.recording import TrainRun

#: Seed of the held-out split: the same rows for every seed, so runs of
#: different seeds see the same training data.
SPLIT_SEED = 0


@dataclass(frozen=True)
class Problem:
    """The model, its training rows and where they came from (:func:`data_record`)."""

    model: Any
    X: torch.Tensor
    data: dict[str, Any]


class _Timings(dict):
    @contextmanager
    def __call__(self, part: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self[part] = self.get(part, 0.0) + time.perf_counter() - t


def verify(
    settings: Settings,
    progress: Progress = silent,
    *,
    model: Any = None,
    data: torch.Tensor | None = None,
    timings: Mapping[str, float] | None = None,
    approximate_ok: bool = False,
) -> Result:
    """Train, estimate and conclude for a built-in model (no files written).

    Args:
        settings: the settings of a built-in model (``settings.source`` "built-in").
        progress: the progress callback (:func:`empirical.progress.silent`: no bar either).
        model: replaces the model the settings name (property tests over random models).
        data: replaces the data the settings name.
        timings: seconds the caller spent before, by part.
        approximate_ok: accept assumption rows that are only approximately met
            (:func:`empirical.conclusion.conclude`).

    Returns:
        The :class:`~empirical.conclusion.Result` of the R runs.
    """
    command_rule("verify", "steps").check("verify: steps (--steps)", settings.steps)
    if settings.is_user_model:
        raise ConfigError(
            f"the pipeline trains the built-in models; a user's module ({settings.model}) is trained by "
            "empirical.user_model (empirical.runner.verify picks it)"
        )
    timings = _Timings({"theory": 0.0, "estimation": 0.0, "training": 0.0, **(timings or {})})
    with torch_threads():
        with timings("data"):
            problem = prepare(settings, model, data)
        with timings("pilot"):
            step = choose_step(settings, problem, progress)
        progress(f"C_gamma = {step.C_gamma:.4g} ({step.how})")
        with timings("training"):
            runs = train_runs(settings, problem, step, progress)
        progress("estimating the constants along the runs")
        with timings("along_run"):
            along = table_along(settings, problem, runs)
        with timings("estimation"):
            constants = estimate_along(settings, problem, runs, along)
        with timings("stress"):
            if settings.stress:
                progress("stress search of the region the runs visited")
            stressed = stress_along(settings, problem, runs, constants, along)
        from empirical.conclusion import conclude  # after training: theory and scipy load here
        from empirical.conclusion.values import fixed_values

        fixed = fixed_values(
            runs.step_sizes, batch_size=settings.batch_size, n_params=problem.model.n_params,
            C_gamma=step.C_gamma, K=settings.K, box=settings.box,
        )  # fmt: skip
        snr = {
            p: constants.snr.at(p, settings.batch_size, problem.model.K).as_dict()
            for p in ("decoder", "encoder")
        }
        extras = {
            "step_constant_choice": step.how, "optimizer_options": step.optimizer_options,
            "model_options": problem.model.options(), "n_params": problem.model.n_params,
            "rows": int(problem.X.shape[0]), "data": problem.data, "snr": snr,
        }  # fmt: skip
        return conclude(
            settings, runs, constants, fixed, optimizer_run(settings, step), timings=timings, extras=extras,
            approximate_ok=approximate_ok, stress=stressed,
        )  # fmt: skip


# ----------------------------------------------------------------- the steps


def choose_step(settings: Settings, problem: Problem, progress: Progress) -> pilot.StepChoice:
    """The step constant and the optimizer's options (:func:`empirical.pipeline.pilot.choose`).

    Args:
        settings: The run's settings (a given C_gamma is kept).
        problem: The model and its training rows, measured by
            :func:`empirical.pipeline.pilot.vae_pilot` when a pilot is needed.
        progress: The progress callback.

    Returns:
        The :class:`~empirical.pipeline.pilot.StepChoice`.
    """
    measure = None
    if settings.optimizer == "sgd" and settings.C_gamma is None:
        measure = pilot.vae_pilot(settings, problem.model, problem.X, progress)
    return pilot.choose(settings, measure, progress)


def optimizer_run(settings: Settings, step: pilot.StepChoice) -> OptimizerRun:
    """The optimizer of the batched runs as the theorems see it (empirical.conclusion.coverage)."""
    from empirical.conclusion.coverage import OptimizerRun

    o = step.optimizer_options
    family = settings.optimizer
    variant = o.get("variant")
    algorithm = {
        ("adam", "defossez"): "adam-defossez",
        ("adam", "torch"): "torch.optim.Adam",
        ("adam", "delayed"): "adam-delayed",
        ("adagrad", "defossez"): "adagrad-defossez",
        ("adagrad", "torch"): "torch.optim.Adagrad",
    }.get((family, variant), "")
    options = {"eps": o["eps"]} if "eps" in o else {}
    if "betas" in o:
        options["betas"] = tuple(o["betas"])
    what = f"batched {family.capitalize() if family != 'sgd' else 'SGD'}"
    return OptimizerRun(
        family=family,
        implementation=f"{what} ({variant})" if variant else what,
        lr=float(step.C_gamma),
        algorithm=algorithm,
        options=options,
        steps=step.schedule,
        box=settings.box if family == "sgd" else None,
    )


def training_rows(settings: Settings, data: torch.Tensor | None = None) -> torch.Tensor:
    """The rows trained on: the data set (or ``data``) without its held-out split."""
    return _split(settings, data)[1]


def held_out_rows(settings: Settings, data: torch.Tensor | None = None) -> torch.Tensor:
    """The held-out rows: the data set (or ``data``) minus its training rows (the same split)."""
    return _split(settings, data)[2]


def _split(settings: Settings, data: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(all rows, training rows, held-out rows); refuses fewer than MIN_TRAIN_ROWS training rows."""
    from empirical.data import load, split

    X = load(settings.data) if data is None else data
    rows, held = split(X, held_out=settings.holdout, seed=SPLIT_SEED)
    if rows.shape[0] < MIN_TRAIN_ROWS:
        raise DataError(
            f"data (--data) {settings.data}: {X.shape[0]} rows, {rows.shape[0]} for training after holding "
            f"out {settings.holdout:g} of them (--holdout); the estimators need at least {MIN_TRAIN_ROWS} "
            "training rows (Student-t intervals over rows, the gradient's variance over rows)"
        )
    return X, rows, held


def prepare(settings: Settings, model: Any = None, data: torch.Tensor | None = None) -> Problem:
    """The model and the training rows.

    Args:
        settings: The settings (model, data, holdout).
        model: Replaces the model the settings name.
        data: Replaces the data the settings name.

    Returns:
        The model and the data minus the held-out fraction ``settings.holdout`` (split with
        :data:`SPLIT_SEED`, so the rows do not depend on ``seed``).

    Raises:
        ConfigError: Too few training rows, or (before anything large is allocated) a run whose
            estimated memory exceeds the limit (empirical.budget).
    """
    from empirical.models import make

    X, rows, held = _split(settings, data)
    if model is None:
        if settings.latent_dim is not None and settings.latent_dim > X.shape[1]:
            raise ConfigError(
                f"latent_dim (--latent-dim) must be at most the data's {X.shape[1]} columns "
                f"(--data {settings.data}), got {settings.latent_dim}"
            )
        kind, opts = settings.model_options()
        model = make(kind, int(X.shape[1]), **opts)
    model.check_data(rows)
    check_memory(settings, model, rows)
    info = data_record(settings, X, rows, held, given=data is not None)
    return Problem(model, rows.to(model.dtype), info)


def check_memory(settings: Settings, model: Any, rows: torch.Tensor) -> None:
    """ConfigError when the run's estimated memory (empirical.budget) is above the limit."""
    from empirical import budget

    fp = budget.footprint(
        rows=int(rows.shape[0]), columns=int(rows.shape[1]), n_params=int(model.n_params),
        widths=tuple(getattr(model, "hidden", ()) or ()), latent=int(getattr(model, "latent_dim", 1)),
        runs=settings.runs, batch_size=settings.batch_size, K=settings.K, steps=settings.steps,
    )  # fmt: skip
    budget.check(fp)


def data_record(
    settings: Settings, X: torch.Tensor, rows: torch.Tensor, held: torch.Tensor, given: bool
) -> dict[str, Any]:
    """Where the rows came from, for report.json.

    The source, the file's path and sha256 (files), the sha256 of the float32 rows, and the
    held-out split.
    """
    import hashlib
    from pathlib import Path

    from empirical.data import file_sha256
    from empirical.inputs import DATA_NAMES

    out: dict[str, Any] = {"source": "array given to verify" if given else settings.data}
    if not given and settings.data not in DATA_NAMES:
        path = Path(settings.data).expanduser().absolute()
        out.update(path=str(path), sha256=file_sha256(path))
    array = np.ascontiguousarray(X.detach().cpu().numpy().astype(np.float32))
    out.update(
        array_sha256=hashlib.sha256(array.tobytes()).hexdigest(),
        rows=int(X.shape[0]), columns=int(X.shape[1]), training_rows=int(rows.shape[0]),
        held_out_rows=int(held.shape[0]), holdout=settings.holdout, split_seed=SPLIT_SEED,
    )  # fmt: skip
    return out


def train_runs(settings: Settings, problem: Problem, step: pilot.StepChoice, progress: Progress) -> TrainRun:
    """The R runs of ``settings``, batched."""
    from empirical.train import train

    progress(f"training {settings.runs} run(s) of {settings.steps} {settings.optimizer.upper()} steps")
    return train(
        problem.model,
        None,
        problem.X,
        optimizer=settings.optimizer,
        steps=settings.steps,
        batch_size=settings.batch_size,
        C_gamma=step.C_gamma,
        schedule=step.schedule,
        box=settings.box,
        seed=settings.seed,
        runs=settings.runs,
        progress=False if progress is silent else None,
        threads=None,
        **step.optimizer_options,
    )


def table_along(settings: Settings, problem: Problem, runs: TrainRun) -> AlongRun:
    """L, the variance parts, M and ||theta||_inf at every snapshot of every run (stress_runs).

    The examples and noise are those of :func:`estimate_along`.
    """
    from empirical.estimators import table_of_runs

    return table_of_runs(problem.model, problem.X, runs, seed=settings.seed)


def estimate_along(
    settings: Settings, problem: Problem, runs: TrainRun, along: AlongRun | None = None
) -> Constants:
    """Every constant along every run (empirical.estimators.constants).

    L, the variance parts and M at the snapshots are read from the table ``along`` when given.
    """
    from empirical.estimators import estimate

    return estimate(
        problem.model, problem.X, run=runs, batch_size=settings.batch_size, seed=settings.seed,
        snr_Ks=(problem.model.K,), along=along,
    )  # fmt: skip


def stress_along(
    settings: Settings, problem: Problem, runs: TrainRun, constants: Constants, along: AlongRun
) -> RunsStress:
    """The table ``along`` and, unless ``settings.stress`` is off, the stress search from ``constants``.

    The runs' boxes are widened by ``settings.stress_margin`` and cut to the projection's box
    ``settings.box`` (empirical.estimators.stress_runs).
    """
    from empirical.estimators import stress_runs

    return stress_runs(
        problem.model, problem.X, runs, constants, along=along, search=settings.stress,
        margin=settings.stress_margin, radius=settings.box, seed=settings.seed,
    )  # fmt: skip


# --------------------------------------------------------------- estimation


def estimate_constants(settings: Settings, progress: Progress = silent) -> dict[str, Any]:
    """``vaebounds estimate``: the constants, without a bound.

    Args:
        settings: The settings; ``steps`` = 0 measures at theta_0.
        progress: The progress callback.

    Returns:
        JSON-ready: the constants at theta_0 or along R runs of ``steps`` SGD steps, with the
        decoder and encoder gradient SNR at (B, K).
    """
    from empirical.estimators import estimate

    if settings.is_user_model:
        raise ConfigError(
            f"estimate covers the built-in models; for a user's module ({settings.model}) use verify, whose "
            "report holds the constants"
        )
    with torch_threads():
        problem = prepare(settings)
        model, X = problem.model, problem.X
        runs = None
        if settings.steps > 0:
            step = choose_step(settings, problem, progress)
            runs = train_runs(settings, problem, step, progress)
        progress("estimating L, sigma2, M, R, Delta and the gradient SNR")
        c = estimate(model, X, None, runs, batch_size=settings.batch_size, seed=settings.seed)
    return {
        "model": settings.model,
        "data": settings.data,
        "batch_size": settings.batch_size,
        "K": settings.K,
        "seed": settings.seed,
        "seeds": settings.seeds if runs is not None else [settings.seed],
        "point": c.where,
        "constants": {name: e.as_dict() for name, e in c.named().items()},
        "lower_estimates": list(c.lower_estimates),
        "delta_is_upper": c.delta_is_upper,
        "snr": {
            "decoder": c.snr.at("decoder", settings.batch_size, settings.K).as_dict(),
            "encoder": c.snr.at("encoder", settings.batch_size, settings.K).as_dict(),
        },
        "n_evals": c.n_evals,
        "settings": settings.as_dict(),
        "data_set": problem.data,
    }
