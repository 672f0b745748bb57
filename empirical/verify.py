"""The main job: train, estimate the constants, bind them into the bound,
compare with the observed gradient norms, and report.

Pipeline (design.md): pick the theorem ``theory.bound(model, optimizer,
expand=False)`` (L, M, Delta stay symbols to be filled by measurements; the
variance is split sigma2 = sigma2_data/B + sigma2_mc/(B K)) -> train a real VAE
-> estimate L, sigma2_data, sigma2_mc, M, R, Delta -> :func:`empirical.compare.compare`
-> :mod:`empirical.report`.

Step constant: unless given, a pilot estimate at theta_0 fixes C_gamma = min(C*, 1/L)
with C* = sqrt(2 Delta / (L sigma2 (1 + log n))) from :func:`theory.rates.optimal_step_constant`;
L is taken as ``L_MARGIN`` times the pilot's upper end, because sup L along the run
is larger than L at theta_0 — the margin is checked afterwards against L
estimated along the run (assumption C_gamma <= 1/L).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from empirical.compare import FAILS, HOLDS, UNCHECKED, AssumptionCheck, Comparison, compare
from empirical.errors import ConfigError
from empirical.estimators.results import Estimate

#: Margin between the pilot L at theta_0 and the L used to clip C_gamma.
L_MARGIN = 2.0
#: Number of full-gradient records along a run (the rate fit uses them).
RECORDS = 50
#: The seed paper's Adam setting (theory-reference §4).
SEED_ADAM = {"lr_constant": 1e-3, "betas": (0.9, 0.999), "adam_eps": 1e-8, "adam_variant": "torch"}

MODELS = ("gaussian", "linear", "beta", "iwae")
OPTIMIZERS = ("sgd", "adam")


@dataclass(frozen=True)
class Settings:
    """Everything a verify/estimate run depends on (validated)."""

    model: str = "gaussian"
    optimizer: str = "sgd"
    data: str = "digits"
    steps: int = 2000
    batch_size: int = 32
    samples: int | None = None
    beta: float | None = None
    lr_constant: float | None = None
    activation: str = "softclip"
    s: float | None = None
    box: float | None = None
    seed: int = 0
    out: str = "vaebounds-report"

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ConfigError(f"unknown --model {self.model!r}; valid: {', '.join(MODELS)}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown --optimizer {self.optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
        if self.activation not in ("softclip", "relu"):
            raise ConfigError(f"unknown --activation {self.activation!r}; valid: softclip, relu")
        if self.steps < 0 or self.batch_size < 1:
            raise ConfigError("--steps must be >= 0 and --batch-size >= 1")
        if self.samples is not None and self.samples < 1:
            raise ConfigError(f"--samples must be >= 1, got {self.samples}")
        if self.samples is not None and self.samples > 1 and self.model not in ("iwae", "gaussian", "beta"):
            raise ConfigError(f"--samples applies to gaussian, beta and iwae models, not {self.model}")
        if self.s is not None and not (math.isfinite(self.s) and self.s > 0):
            raise ConfigError(f"soft-clip sharpness s must be a finite number > 0, got {self.s}")
        if self.beta is not None and not (math.isfinite(self.beta) and self.beta >= 0):
            raise ConfigError(f"--beta must be a finite number >= 0, got {self.beta}")

    @classmethod
    def from_cli(cls, args: Any) -> Settings:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in vars(args).items() if k in names})

    @property
    def K(self) -> int:
        return self.samples or 1

    def model_options(self) -> tuple[str, dict[str, Any]]:
        """(kind for empirical.models.make, options)."""
        if self.model == "linear":
            return "linear", {} if self.beta is None else {"beta": self.beta}
        opts: dict[str, Any] = {"activation": self.activation, "K": self.K}
        if self.s is not None:
            opts["s"] = self.s
        if self.model == "beta":
            opts["beta"] = 4.0 if self.beta is None else self.beta
        elif self.beta is not None:
            opts["beta"] = self.beta
        return ("iwae" if self.model == "iwae" else "gaussian"), opts


@dataclass(frozen=True)
class Result:
    """A finished verify run: everything the report needs."""

    settings: Settings
    bound: Any
    run: Any
    constants: dict[str, Estimate]
    comparison: Comparison
    fixed: dict[str, float]
    timings: dict[str, float]
    extras: dict[str, Any] = field(default_factory=dict)


Progress = Callable[[str], None]


def silent(_: str) -> None:
    """The progress callback that prints nothing (and turns off the training bar)."""
    return None


def prepare(settings: Settings, model=None, data: torch.Tensor | None = None):
    """(model, train rows, theta_0) for ``settings``; ``model``/``data`` override
    the ones the settings name (for property tests over random configurations)."""
    from empirical.data import load, split
    from empirical.models import make

    X = load(settings.data) if data is None else data
    train_rows, _held = split(X, held_out=0.2, seed=settings.seed)
    if model is None:
        kind, opts = settings.model_options()
        model = make(kind, int(X.shape[1]), **opts)
    model.check_data(train_rows)
    params = model.init_params(torch.Generator().manual_seed(settings.seed))
    return model, train_rows.to(params[next(iter(params))].dtype), params


def record_plan(steps: int) -> tuple[int, ...]:
    """Extra full-gradient records: every one of the first 10 steps and ``RECORDS``
    log-spaced steps, where ||grad F||^2 changes fastest (the uniform grid of
    ``RECORDS`` points covers the rest)."""
    logs = np.unique(np.geomspace(1, steps, RECORDS).astype(int))
    return tuple(int(k) for k in sorted(set(range(1, min(10, steps) + 1)) | set(logs.tolist())))


def choose_step_constant(pilot, settings: Settings) -> float:
    """min(C*, 1/(L_MARGIN * L_hi)) from the pilot constants (see module docstring);
    1/(L_MARGIN * L_hi) when there is no valid upper value of Delta or no noise."""
    from theory.rates import optimal_step_constant

    L = L_MARGIN * pilot.L.hi
    sigma2 = pilot.sigma2_data.hi / settings.batch_size + pilot.sigma2_mc.hi / (
        settings.batch_size * settings.K
    )
    if not pilot.delta_is_upper or pilot.Delta.hi <= 0 or sigma2 <= 0:
        return 1.0 / L
    values = {"L": L, "sigma2": sigma2, "Delta": pilot.Delta.hi, "n": max(settings.steps, 1)}
    return float(optimal_step_constant(_generic_sgd(), values))


def _generic_sgd():
    import theory

    return theory.bound("generic", "sgd")


def run_estimate(settings: Settings, progress: Progress = silent) -> dict[str, Any]:
    """Constants at theta_0 (or along ``settings.steps`` SGD steps) with the
    decoder and encoder gradient SNR at (B, K); a JSON-ready dict."""
    with one_thread():
        return _estimate(settings, progress)


def _estimate(settings: Settings, progress: Progress) -> dict[str, Any]:
    from empirical.estimators import estimate
    from empirical.train import train

    model, X, params = prepare(settings)
    run = None
    if settings.steps > 0:
        C = settings.lr_constant
        if C is None:
            C = choose_step_constant(
                estimate(model, X, params, batch_size=settings.batch_size, seed=settings.seed), settings
            )
        progress(f"training {settings.steps} SGD steps (C_gamma = {C:.4g}) before estimating")
        run = train(
            model, params, X, steps=settings.steps, batch_size=settings.batch_size, lr_constant=C,
            seed=settings.seed, progress=False if progress is silent else None,
        )  # fmt: skip
    progress("estimating L, sigma2, M, R, Delta and the gradient SNR")
    c = estimate(model, X, None if run else params, run, batch_size=settings.batch_size, seed=settings.seed)
    constants = {k: getattr(c, k).as_dict() for k in ("L", "sigma2_data", "sigma2_mc", "M", "R", "Delta")}
    return {
        "model": settings.model,
        "data": settings.data,
        "batch_size": settings.batch_size,
        "K": settings.K,
        "seed": settings.seed,
        "point": c.where,
        "constants": constants,
        "delta_is_upper": c.delta_is_upper,
        "snr": {
            "decoder": c.snr.at("decoder", settings.batch_size, settings.K).as_dict(),
            "encoder": c.snr.at("encoder", settings.batch_size, settings.K).as_dict(),
        },
        "n_evals": c.n_evals,
    }


@contextmanager
def one_thread():
    """One torch intra-op thread for the duration (restored afterwards): the
    models are small, and two threads contend with other work on a shared
    machine (measured 20-200x slower for small Hessian-vector products)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_verify(settings: Settings, progress: Progress = silent):
    """Run the whole chain and write the report; returns :class:`empirical.report.Report`."""
    from empirical.report import write_report

    with one_thread():
        result = verify(settings, progress)
        return write_report(result, settings.out)


def verify(
    settings: Settings, progress: Progress = silent, model=None, data: torch.Tensor | None = None
) -> Result:
    """Train, estimate, compare (no files written); ``model``/``data`` as in :func:`prepare`."""
    import theory
    from empirical.estimators import estimate
    from empirical.train import train

    if settings.steps < 2:
        raise ConfigError(f"verify needs --steps >= 2, got {settings.steps}")
    timings = {"theory": 0.0, "estimation": 0.0, "training": 0.0}
    t = time.perf_counter()
    bound = theory.bound(settings.model, settings.optimizer, expand=False)
    timings["theory"] += time.perf_counter() - t

    model, X, params0 = prepare(settings, model, data)
    t = time.perf_counter()
    options = {"batch_size": settings.batch_size, "seed": settings.seed, "snr_Ks": (model.K,)}
    if settings.optimizer == "adam":
        opt = dict(SEED_ADAM)
        if settings.lr_constant is not None:
            opt["lr_constant"] = settings.lr_constant
        how = "the seed paper's Adam setting"
    elif settings.lr_constant is not None:
        opt, how = {"lr_constant": settings.lr_constant}, "given"
    else:
        progress(f"pilot estimates at theta_0 ({model.n_params} parameters, {X.shape[0]} rows)")
        pilot = estimate(model, X, params0, **options)
        opt = {"lr_constant": choose_step_constant(pilot, settings)}
        how = f"min(C*, 1/({L_MARGIN:g} L at theta_0)) from a pilot estimate"
    timings["estimation"] += time.perf_counter() - t
    progress(f"C_gamma = {opt['lr_constant']:.4g} ({how})")

    t = time.perf_counter()
    run = train(
        model,
        params0,
        X,
        optimizer=settings.optimizer,
        steps=settings.steps,
        batch_size=settings.batch_size,
        box=settings.box,
        record_every=max(1, settings.steps // RECORDS),
        record_at=record_plan(settings.steps),
        seed=settings.seed,
        progress=False if progress is silent else None,
        **opt,
    )
    timings["training"] += time.perf_counter() - t

    t = time.perf_counter()
    progress("estimating the constants along the run")
    found = estimate(model, X, run=run, **options)
    names = ("L", "sigma2_data", "sigma2_mc", "M", "R", "Delta")
    constants = {name: getattr(found, name) for name in names}
    timings["estimation"] += time.perf_counter() - t

    t = time.perf_counter()
    fixed = {"B": settings.batch_size, "K": settings.K, "C_gamma": opt["lr_constant"]}
    if settings.optimizer == "adam":
        fixed.update({"beta1": opt["betas"][0], "beta2": opt["betas"][1], "eps": opt["adam_eps"]})
    # A recorded full gradient averages full_mc draws per row over N rows: its
    # squared norm is inflated by sigma2_mc_draw / (N full_mc) in expectation.
    bias = (found.sigma2_mc.value / model.K) / (X.shape[0] * run.options.get("full_mc", 1))
    checks = assumption_checks(settings, model, run, opt, found.delta_is_upper)
    comparison = compare(
        bound, constants, fixed, run.record_steps, run.full_grad_norm_sq, settings.steps, checks, bias
    )
    timings["theory"] += time.perf_counter() - t
    snr = {
        part: found.snr.at(part, settings.batch_size, model.K).as_dict() for part in ("decoder", "encoder")
    }
    return Result(
        settings,
        bound,
        run,
        constants,
        comparison,
        {**fixed, "n": settings.steps},
        timings,
        {
            "step_constant_choice": how,
            "optimizer_options": opt,
            "mc_bias": bias,
            "model_options": model.options,
            "n_params": model.n_params,
            "rows": int(X.shape[0]),
            "snr": snr,
            "n_evals": found.n_evals,
        },
    )


def assumption_checks(settings, model, run, opt, proven_gap: bool) -> list[AssumptionCheck]:
    """Every assumption of the theorem, checked along the run (statuses: holds | fails | unchecked)."""
    checks = []
    if getattr(model, "activation", settings.activation) == "relu" and settings.model != "linear":
        checks.append(
            AssumptionCheck(
                "smooth activations (A1)",
                FAILS,
                "ReLU: f'' is undefined at 0, so F is not L-smooth; estimated L is a local curvature only",
            )
        )
    else:
        checks.append(
            AssumptionCheck(
                "smooth activations (A1)",
                HOLDS,
                "soft-clip: 0 < f' < 1 and |f''| <= s/4 (theory.models.softclip)"
                if settings.model != "linear"
                else "linear VAE: closed-form, smooth in its parameters",
            )
        )
    sup = float(np.max(run.param_sup_norm))
    if settings.box is not None:
        ok = sup <= settings.box * (1 + 1e-6)
        checks.append(
            AssumptionCheck(
                "parameter box (A2)",
                HOLDS if ok else FAILS,
                f"max ||theta_k||_inf = {sup:.4g} with projection onto a = {settings.box:g}",
            )
        )
    else:
        checks.append(
            AssumptionCheck(
                "parameter box (A2)",
                UNCHECKED,
                f"no projection requested; max ||theta_k||_inf = {sup:.4g} along the run "
                "(the measured L and sigma2 are along the run, not over a box)",
            )
        )
    # The step-size condition (C_gamma <= 1/L for SGD, <= lambda_min/(L lambda_max^2)
    # for Adam) is one of the bound's own constraints: empirical.compare checks it.
    if settings.optimizer == "adam":
        variant = opt.get("adam_variant", "torch")
        checks.append(
            AssumptionCheck(
                "preconditioner from past gradients",
                FAILS if variant == "torch" else HOLDS,
                f"adam_variant = {variant!r}: "
                + (
                    "torch.optim.Adam puts g_k into v_k before the step"
                    if variant == "torch"
                    else "delayed preconditioner built from v_{k-1}"
                ),
            )
        )
        b1 = opt["betas"][0]
        checks.append(
            AssumptionCheck(
                "momentum",
                UNCHECKED if b1 > 0 else HOLDS,
                f"beta1 = {b1:g}: the 1/(1 - beta1) factor is order only" if b1 > 0 else "beta1 = 0",
            )
        )
    checks.append(
        AssumptionCheck(
            "bounded below",
            HOLDS if proven_gap else UNCHECKED,
            f"proven lower bound of F: {model.loss_lower_bound}"
            if proven_gap
            else "no proven lower bound: Delta uses the lowest observed loss",
        )
    )
    checks.append(
        AssumptionCheck(
            "unbiased gradient",
            HOLDS,
            "minibatch rows drawn uniformly with replacement, reparameterised noise",
        )
    )
    checks.append(
        AssumptionCheck(
            "bounded variance",
            HOLDS,
            "finite estimates at theta_0 and theta_n (estimate() along the run); "
            "the largest upper end is used",
        )
    )
    return checks
