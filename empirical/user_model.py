"""The CLI's own training loop for a user's model (``--model conv`` or ``--model FILE.py:make``):
a plain torch loop with the chosen optimizer, followed by :func:`empirical.track` exactly as
a user's loop would be (docs/architecture.md, "The tracker").

``make(data_dim)`` returns ``(model, loss)``: a ``torch.nn.Module`` and ``loss(model, x)``,
the per-example losses (len(x),) drawing their own noise from torch's global RNG. The file
is loaded with importlib from its path; a ``make`` accepting ``seed=`` gets the run's seed,
otherwise the global RNG is seeded with it (inside ``fork_rng``) around the call.

Run i of ``--seeds R`` (seed + i) draws its initialisation, its minibatches (B rows uniformly
with replacement) and the seeds of its loss's noise from its own generator; the R runs are
trained one after the other and verified together (mean over runs, Student-t interval).

Steps: SGD takes gamma_k = C_gamma k^(-1/2) (``LambdaLR``), C_gamma given or from a pilot
at the initialisation of seed :data:`PILOT_SEED` (L by Lanczos, sigma2 by the module's
per-example statistics, Delta from the model's ``loss_lower_bound`` when it has one):
min(C*, 1/(2 L)), C* the minimiser of the SGD bound. Adam and Adagrad take the constant
step of :mod:`empirical.pipeline.pilot`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import math
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from empirical.errors import ConfigError, DivergenceError
from empirical.tracking import evaluate
from empirical.tracking.tracker import track

Make = Callable[..., tuple[nn.Module, Callable]]
#: The pilot's initialisation seed and its examples (the step does not depend on --seed).
PILOT_SEED, PILOT_EXAMPLES = 0, 128
#: Margin between the pilot's L at theta_0 and the L the step is clipped to (as for the built-in models).
L_MARGIN = 2.0


#: How :func:`_train_one` draws a step's minibatch and noise (the unbiasedness row).
SAMPLING = (
    "the CLI's loop draws B rows uniformly with replacement at every step and reseeds torch's "
    "global generator, from which the loss draws its noise, with a fresh seed per step"
)


def load_make(spec: str) -> Make:
    """``make`` of ``"conv"`` (empirical.conv) or of ``"path/to/file.py:name"`` (module docstring)."""
    if spec == "conv":
        from empirical.conv import make

        return make
    path_text, _, name = spec.rpartition(":")
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise ConfigError(f"model (--model) {spec!r}: no file {path}")
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    module_name = f"vaebounds_user_model_{digest}"
    loader = importlib.util.spec_from_file_location(module_name, path)
    if loader is None or loader.loader is None:
        raise ConfigError(f"model (--model) {spec!r}: {path} cannot be loaded as a Python file")
    module = importlib.util.module_from_spec(loader)
    sys.modules[module_name] = module
    try:
        loader.loader.exec_module(module)
    except Exception as err:  # the user's file: any error it raises is bad input
        sys.modules.pop(module_name, None)
        raise ConfigError(
            f"model (--model) {spec!r}: importing {path} failed: {type(err).__name__}: {err}"
        ) from err
    make = getattr(module, name, None)
    if not callable(make):
        raise ConfigError(f"model (--model) {spec!r}: {path} has no function {name!r}")
    return make


def build(make: Make, data_dim: int, seed: int, spec: str) -> tuple[nn.Module, Callable]:
    """``make(data_dim)`` for the run of ``seed``, checked: (an nn.Module, a callable)."""
    try:
        takes_seed = "seed" in inspect.signature(make).parameters
    except (TypeError, ValueError):
        takes_seed = False
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            out = make(data_dim, seed=seed) if takes_seed else make(data_dim)
    except ConfigError:
        raise
    except Exception as err:  # the user's function
        raise ConfigError(
            f"model (--model) {spec!r}: make({data_dim}) failed: {type(err).__name__}: {err}"
        ) from err
    if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], nn.Module) and callable(out[1])):
        raise ConfigError(
            f"model (--model) {spec!r}: make(data_dim) must return (torch.nn.Module, loss), "
            f"got {type(out).__name__}"
        )
    return out


def optimizer_for(settings: Any, model: nn.Module, step: Any):
    """(optimizer, scheduler or None) of the settings: SGD with gamma_k = C_gamma k^(-1/2),
    Défossez et al.'s Adam / Adagrad (``--adam-variant defossez``) or torch's, constant step."""
    from empirical.optim import DefossezAdagrad, DefossezAdam

    params = [p for p in model.parameters() if p.requires_grad]
    o = step.optimizer_options
    if settings.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=step.C_gamma)
        return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda e: (e + 1) ** -0.5)
    if settings.optimizer == "adam":
        if o["adam_variant"] == "delayed":
            raise ConfigError(
                "adam_variant (--adam-variant) 'delayed' is trained for the built-in models only"
            )
        kind = DefossezAdam if o["adam_variant"] == "defossez" else torch.optim.Adam
        return kind(params, lr=step.C_gamma, betas=o["betas"], eps=o["adam_eps"]), None
    kind = DefossezAdagrad if o["adam_variant"] == "defossez" else torch.optim.Adagrad
    return kind(params, lr=step.C_gamma, eps=o["adam_eps"]), None


def verify_user_model(settings: Any, X: torch.Tensor, progress: Callable[[str], None], bar: bool = True):
    """Train ``settings.seeds`` runs of the user's model one after the other, tracked, and
    verify them together (module docstring)."""
    from empirical.pipeline.pilot import StepChoice, choose
    from empirical.tracking.verify import verify_runs

    make = load_make(settings.model)
    D = int(X.shape[1])
    started = time.perf_counter()
    if settings.optimizer == "sgd" and settings.C_gamma is None:
        step = pilot_step(make, X, settings, progress)
    else:
        step = choose(settings, None, X, progress)
    if settings.optimizer == "sgd" and settings.C_gamma is not None:
        step = StepChoice(settings.C_gamma, "given")
    progress(f"C_gamma = {step.C_gamma:.4g} ({step.how})")
    pilot = time.perf_counter() - started
    runs = []
    total = settings.steps * settings.seeds
    with tqdm(total=total, disable=not bar, file=sys.stderr, unit="step", leave=False) as pbar:
        for seed in settings.seed_list:
            model, loss = build(make, D, seed, settings.model)
            runs.append(_train_one(settings, model, loss, X, seed, step, pbar))
    progress("estimating the constants along the runs")
    result = verify_runs(runs, seed=settings.seed, progress=progress, sampling=SAMPLING)
    extras = {**result.extras, "step_constant_choice": step.how, "model_options": {"make": settings.model}}
    timings = {**result.timings, "estimation": result.timings["estimation"] + pilot}
    return replace(result, settings=settings, extras=extras, timings=timings)


def _train_one(settings, model, loss, X, seed: int, step, pbar) -> Any:
    X = X.to(next(model.parameters()).dtype)
    opt, scheduler = optimizer_for(settings, model, step)
    tracker = track(model, loss, X, opt, seed=seed, batch_size=settings.batch_size)
    gen = torch.Generator().manual_seed(seed)
    N, B = int(X.shape[0]), settings.batch_size
    for k in range(1, settings.steps + 1):
        idx = torch.randint(N, (B,), generator=gen)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(2**62, (1,), generator=gen)))
            value = loss(model, X[idx]).mean()
        if not math.isfinite(float(value.detach())):
            raise DivergenceError(
                f"training diverged at step {k} (run of seed {seed}): minibatch loss {float(value.detach())}"
            )
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        tracker.step(value.detach())
        pbar.update(1)
    return tracker.finish()


def pilot_step(make: Make, X: torch.Tensor, settings: Any, progress: Callable[[str], None]):
    """SGD's C_gamma = min(C*, 1/(2 L)) from L, sigma2 and Delta at the initialisation of
    :data:`PILOT_SEED` (module docstring)."""
    import theory
    from empirical.estimators import module_row_stats, smoothness
    from empirical.estimators.variance import select_examples
    from empirical.pipeline.pilot import StepChoice
    from empirical.tracking.estimate import step_variance
    from theory.rates import optimal_step_constant

    model, loss = build(make, int(X.shape[1]), PILOT_SEED, settings.model)
    X = X.to(next(model.parameters()).dtype)
    count = sum(p.numel() for p in model.parameters())
    progress(f"pilot estimates at the initialisation of seed {PILOT_SEED} ({count} parameters)")
    gen = torch.Generator().manual_seed(PILOT_SEED)
    Xs = select_examples(X, PILOT_EXAMPLES, gen)
    params = {k: p.detach() for k, p in model.named_parameters() if p.requires_grad}

    def fixed(p: dict[str, torch.Tensor]) -> torch.Tensor:
        with evaluate.isolated(model, PILOT_SEED + 1):
            return evaluate.per_example(model, loss, p, Xs).mean()

    L = smoothness(fixed, params, seed=PILOT_SEED).hi
    with evaluate.isolated(model, PILOT_SEED + 2):
        ms = module_row_stats(model, loss, X, 4, n_examples=PILOT_EXAMPLES, seed=PILOT_SEED)
    v = ms.variance()
    sigma2 = step_variance(v.data, v.mc, settings.batch_size).hi
    low = getattr(model, "loss_lower_bound", None)
    F0 = math.nan
    if low is not None:
        with torch.no_grad(), evaluate.isolated(model, PILOT_SEED + 3):
            F0 = float(evaluate.per_example(model, loss, params, Xs).mean())
    if low is None or not (F0 - low > 0 and sigma2 > 0):
        return StepChoice(
            1.0 / (L_MARGIN * L), f"1/({L_MARGIN:g} L) from a pilot (no proven lower bound of F)"
        )
    values = {"L": L_MARGIN * L, "sigma2": sigma2, "Delta": F0 - low, "n": settings.steps}
    C = float(optimal_step_constant(theory.bound("generic", "sgd"), values))
    return StepChoice(
        C, f"min(C*, 1/({L_MARGIN:g} L)) from a pilot at the initialisation of seed {PILOT_SEED}"
    )
