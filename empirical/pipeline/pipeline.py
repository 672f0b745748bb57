"""The main job, top to bottom: theorem -> train -> estimate -> bind -> compare -> result
(docs/architecture.md, "How a question flows").

1. **theorem**: the one dispatch of :mod:`empirical.pipeline.coverage` (the
   optimizer and its hyperparameters -> ``theory.bound(model, optimizer,
   variant, expand=False)`` and the ``algorithm`` row); ``--box`` picks the
   projected-SGD theorem, Adam and Adagrad Défossez et al.'s. L, M, R, Delta and
   the variance parts stay symbols, to be measured.
2. **train**: R runs (seeds seed..seed+R-1) in one computation per step,
   recording what the theorem's left-hand side is about.
3. **estimate**: every constant along every run's snapshots.
4. **bind**: each constant at the end of its interval that makes the bound larger.
5. **compare**: the theorem's own weighted average per run, over runs the mean
   with a Student-t interval; the observed rate.
6. **result**: assumption rows by id, and the verdict, decided once; for Adam
   and Adagrad every variant on the same runs, and the bound's attribution.

A user's module (``--model conv`` or ``FILE.py:make``) goes through
:mod:`empirical.tracking.loop` instead: a plain loop, tracked.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from empirical.compare import bind
from empirical.errors import ConfigError, DataError
from empirical.inputs import MIN_TRAIN_ROWS, command_rule
from empirical.pipeline import step_constant
from empirical.pipeline.checks import Evidence, assumption_rows
from empirical.pipeline.comparison import CONFIDENCE, compare_runs
from empirical.pipeline.coverage import OptimizerRun, choose_theorem
from empirical.pipeline.progress import Progress, silent
from empirical.pipeline.result import Result
from empirical.pipeline.settings import Settings
from empirical.pipeline.variants import attribution_of, variant_extras
from empirical.threads import torch_threads

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
    settings: Settings, progress: Progress = silent, *, model: Any = None, data: torch.Tensor | None = None
) -> Result:
    """Train, estimate, bind, compare (no files written); ``model``/``data``
    replace the ones the settings name (property tests over random models)."""
    command_rule("verify", "steps").check("verify: steps (--steps)", settings.steps)
    if settings.is_user_model:
        from empirical.tracking.loop import verify_user_model

        with torch_threads():
            return verify_user_model(
                settings, training_rows(settings, data), progress, bar=progress is not silent
            )
    timings = _Timings(theory=0.0, estimation=0.0, training=0.0)
    with torch_threads():
        problem = prepare(settings, model, data)
        with timings("estimation"):
            step = step_constant.choose(settings, problem.model, problem.X, progress)
        progress(f"C_gamma = {step.C_gamma:.4g} ({step.how})")
        with timings("theory"):
            run_desc = optimizer_run(settings, step)
            choice = choose_theorem(settings.model, run_desc)
            theorem = choice.theorem
        with timings("training"):
            runs = train_runs(settings, problem, step, progress)
        with timings("estimation"):
            progress("estimating the constants along the runs")
            constants = estimate_along(settings, problem, runs)
        with timings("theory"):
            fixed = {**fixed_values(settings, step, runs.step_size), **choice.values}
            fixed["d"] = float(problem.model.n_params)
            needed = set(theorem.constants)
            binding = bind(theorem, constants.named(), {k: v for k, v in fixed.items() if k in needed})
            observed, rate, curves = compare_runs(theorem, runs, binding.values, fixed)
            adaptive = adaptive_extras(settings.model, run_desc, constants.named(), fixed, runs)
            attribution = attribution_of(theorem, binding.values)
        evidence = Evidence(
            settings, problem.model, runs, step.optimizer_options, constants, binding,
            projected_theorem=theorem.variant == "projected", algorithm_row=choice.algorithm_row,
        )  # fmt: skip
        rows = assumption_rows(theorem, evidence)
    snr = {
        part: constants.snr.at(part, settings.batch_size, problem.model.K).as_dict()
        for part in ("decoder", "encoder")
    }
    extras = {
        "step_constant_choice": step.how,
        "optimizer_options": step.optimizer_options,
        "model_options": problem.model.options(),
        "n_params": problem.model.n_params,
        "rows": int(problem.X.shape[0]),
        "data": problem.data,
        "snr": snr,
        "n_evals": constants.n_evals,
        "attribution": attribution,
        **adaptive,
        **curves,
    }
    return Result(
        settings, theorem, runs, constants, binding, observed, rate, rows, fixed, dict(timings), extras
    )


# ----------------------------------------------------------------- the steps


def optimizer_run(settings: Settings, step: step_constant.StepChoice) -> OptimizerRun:
    """The optimizer of the batched runs as the theorems see it (empirical.pipeline.coverage)."""
    o = step.optimizer_options
    family = settings.optimizer
    variant = o.get("adam_variant")
    algorithm = {
        ("adam", "defossez"): "adam-defossez",
        ("adam", "torch"): "torch.optim.Adam",
        ("adam", "delayed"): "adam-delayed",
        ("adagrad", "defossez"): "adagrad-defossez",
        ("adagrad", "torch"): "torch.optim.Adagrad",
    }.get((family, variant), "")
    options = {"eps": o["adam_eps"]} if "adam_eps" in o else {}
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


def adaptive_extras(
    model: str, run: OptimizerRun, estimates, fixed: dict[str, float], runs
) -> dict[str, Any]:
    """For Adam and Adagrad: every variant on these runs, with the preconditioner's extremes
    over every step of every run (empirical.pipeline.variants)."""
    if run.family not in ("adam", "adagrad"):
        return {}
    lambdas = None
    if runs.precond_min is not None:
        lambdas = (float(np.min(runs.precond_min)), float(np.max(runs.precond_max)))
    return variant_extras(model, run, estimates, fixed, runs, lambdas, CONFIDENCE)


def training_rows(settings: Settings, data: torch.Tensor | None = None) -> torch.Tensor:
    """The rows trained on: the data set (or ``data``) without its held-out split."""
    return _split(settings, data)[1]


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
    """The model and the training rows: the data minus the held-out fraction
    ``settings.holdout`` (split with :data:`SPLIT_SEED`, so the rows do not
    depend on ``seed``). Refuses too few training rows and, before anything
    large is allocated, a run whose estimated memory exceeds the limit
    (empirical.budget)."""
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
        runs=settings.seeds, batch_size=settings.batch_size, K=settings.K, steps=settings.steps,
    )  # fmt: skip
    budget.check(fp)


def data_record(
    settings: Settings, X: torch.Tensor, rows: torch.Tensor, held: torch.Tensor, given: bool
) -> dict[str, Any]:
    """Where the rows came from, for report.json: the source, the file's path and
    sha256 (files), the sha256 of the float32 rows, and the held-out split."""
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


def train_runs(settings: Settings, problem: Problem, step: step_constant.StepChoice, progress: Progress):
    """The R runs of ``settings``, batched."""
    from empirical.train import train

    progress(f"training {settings.seeds} run(s) of {settings.steps} {settings.optimizer.upper()} steps")
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
        seeds=settings.seeds,
        progress=False if progress is silent else None,
        threads=None,
        **step.optimizer_options,
    )


def estimate_along(settings: Settings, problem: Problem, runs):
    """Every constant along every run (empirical.estimators.constants)."""
    from empirical.estimators import estimate

    return estimate(
        problem.model, problem.X, run=runs, batch_size=settings.batch_size, seed=settings.seed,
        snr_Ks=(problem.model.K,),
    )  # fmt: skip


def fixed_values(
    settings: Settings, step: step_constant.StepChoice, step_sizes: np.ndarray
) -> dict[str, float]:
    """The values of the theorem that are not estimated: n, B, K, C_gamma, the
    step sums S1 = sum gamma_k, S2 = sum gamma_k^2 and gamma_max of the steps
    actually taken, the box radius and the optimizer's parameters."""
    gammas = np.asarray(step_sizes, dtype=float)
    out = {
        "n": float(gammas.size),
        "B": float(settings.batch_size),
        "K": float(settings.K),
        "C_gamma": float(step.C_gamma),
        "S1": float(gammas.sum()),
        "S2": float(np.square(gammas).sum()),
        "gamma_max": float(gammas.max()),
    }
    if settings.box is not None:
        out["a"] = float(settings.box)
    if "betas" in step.optimizer_options:
        b1, b2 = step.optimizer_options["betas"]
        out.update(beta1=float(b1), beta2=float(b2), eps=float(step.optimizer_options["adam_eps"]))
    return out


# --------------------------------------------------------------- estimation


def estimate_constants(settings: Settings, progress: Progress = silent) -> dict[str, Any]:
    """``vaebounds estimate``: the constants at theta_0 (``steps`` = 0) or along
    R runs of ``steps`` SGD steps, with the decoder and encoder gradient SNR at
    (B, K); a JSON-ready dict."""
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
            step = step_constant.choose(settings, model, X, progress)
            runs = train_runs(settings, problem, step, progress)
        progress("estimating L, sigma2, M, R, Delta and the gradient SNR")
        c = estimate(model, X, None, runs, batch_size=settings.batch_size, seed=settings.seed)
    return {
        "model": settings.model,
        "data": settings.data,
        "batch_size": settings.batch_size,
        "K": settings.K,
        "seed": settings.seed,
        "seeds": settings.seed_list if runs is not None else [settings.seed],
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
