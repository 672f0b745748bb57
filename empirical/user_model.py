"""The CLI's driver for a user's model (``--model conv`` or ``--model FILE.py:make``).

A plain torch loop with the chosen optimizer, followed by :func:`empirical.track` exactly as a
user's loop would be, and verified by :func:`empirical.tracking.verify_runs`
(docs/architecture.md, "The tracker").

``make(data_dim)`` returns ``(model, loss)``: a ``torch.nn.Module`` and ``loss(model, x)``,
the per-example losses (len(x),) drawing their own noise from torch's global RNG. The file
is loaded with importlib from its path, its folder first on ``sys.path`` while it is imported
and while ``make`` runs (so it can import a module beside it; ``sys.path`` is restored after);
a ``make`` accepting ``seed=`` gets the run's seed, otherwise the global RNG is seeded with it
(inside ``fork_rng``) around the call. What ``make`` returns is probed before any training
(:func:`empirical.tracking.evaluate.probe`: one forward and backward on 2 rows): a module
without trainable parameters, a loss that does not depend on them, a module built for another
width, integer losses, and a file or ``make`` that calls ``sys.exit`` are each one line naming
the file (exit 2).

Run i of ``--seeds R`` (seed + i) draws its initialisation, its minibatches (B rows uniformly
with replacement) and the seeds of its loss's noise from its own generator; the R runs are
trained one after the other and verified together (mean over runs, Student-t interval).

Steps: SGD takes gamma_k = C_gamma k^(-1/2) (``LambdaLR``), C_gamma given or from the pilot
of :mod:`empirical.pipeline.pilot` (its margin, seeds, rows and rule), measured on the module
by :func:`module_pilot`: L by Lanczos, sigma2 by the module's per-example statistics, Delta
from the model's ``loss_lower_bound`` when it has one. Adam and Adagrad take the constant
step of :mod:`empirical.pipeline.pilot`.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import inspect
import math
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from empirical.conclusion import Result
from empirical.errors import ConfigError, DivergenceError
from empirical.pipeline.pilot import (
    MODULE_PILOT_EXAMPLES,
    MODULE_PILOT_INITS,
    MODULE_PILOT_TOL,
    PILOT_DRAWS,
    PILOT_SEED,
    PilotPoint,
    StepChoice,
    choose,
)
from empirical.progress import Progress, Timings, bar, silent
from empirical.rng import cuda_devices, forked
from empirical.settings import Settings
from empirical.tracking import evaluate
from empirical.tracking.tracker import Tracker, track
from empirical.tracking.verify import verify_runs
from empirical.train.recording import TrainRun

Make = Callable[..., tuple[nn.Module, Callable]]

#: How :func:`_train_one` draws a step's minibatch and noise (the unbiasedness row).
SAMPLING = (
    "the CLI's loop draws B rows uniformly with replacement at every step and reseeds torch's "
    "global generator, from which the loss draws its noise, with a fresh seed per step"
)


def load_make(spec: str) -> Make:
    """The user's ``make`` function, loaded (module docstring).

    Args:
        spec: ``"conv"`` (:mod:`empirical.conv`) or ``"path/to/file.py:name"``.

    Returns:
        ``make(data_dim) -> (module, loss)``.

    Raises:
        ConfigError: No such file, a file that fails to import, or no callable of that name.
    """
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
        with _beside(path):
            loader.loader.exec_module(module)
    except (Exception, SystemExit) as err:  # the user's file: any error it raises is bad input
        sys.modules.pop(module_name, None)
        raise ConfigError(f"model (--model) {spec!r}: importing {path} {_failed(err)}") from err
    make = getattr(module, name, None)
    if not callable(make):
        raise ConfigError(f"model (--model) {spec!r}: {path} has no function {name!r}")

    @functools.wraps(make)  # its signature too: a make taking seed= still gets it
    def beside(*args, **kwargs):
        with _beside(path):
            return make(*args, **kwargs)

    return beside


@contextmanager
def _beside(path: Path) -> Iterator[None]:
    """``path``'s folder first on ``sys.path`` for the block (``sys.path`` restored after)."""
    saved = list(sys.path)
    sys.path.insert(0, str(path.resolve().parent))
    try:
        yield
    finally:
        sys.path[:] = saved


def _failed(err: BaseException) -> str:
    if isinstance(err, SystemExit):
        return (
            f"called sys.exit({err.code!r}): a model file must define make(data_dim) -> (module, loss), "
            "not exit"
        )
    return f"failed: {type(err).__name__}: {err}"


def build(make: Make, X: torch.Tensor, seed: int, spec: str) -> tuple[nn.Module, Callable]:
    """``make(data_dim)`` for the run of ``seed``, checked (module docstring).

    Args:
        make: The user's function.
        X: The training rows (data_dim is their width; the probe takes 2 of them).
        seed: The run's seed, given as ``seed=`` or set on torch's global RNG around the call.
        spec: The ``--model`` text, for the messages.

    Returns:
        (the module, moved to the rows' device, its loss), probed on 2 rows.

    Raises:
        ConfigError: One line naming ``spec`` and what is wrong.
    """
    data_dim = int(X.shape[1])
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
    except (Exception, SystemExit) as err:  # the user's function
        raise ConfigError(f"model (--model) {spec!r}: make({data_dim}) {_failed(err)}") from err
    if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], nn.Module) and callable(out[1])):
        raise ConfigError(
            f"model (--model) {spec!r}: make(data_dim) must return (torch.nn.Module, loss), "
            f"got {type(out).__name__}"
        )
    model, loss = out
    model.to(X.device)  # --device: where the rows are
    params = {k: p for k, p in model.named_parameters() if p.requires_grad}
    dtype = next(iter(params.values())).dtype if params else X.dtype
    try:
        evaluate.probe(model, loss, params, X[: evaluate.PROBE_ROWS].to(dtype))
    except ConfigError as err:
        raise ConfigError(f"model (--model) {spec!r}: {err}") from err
    return out


def optimizer_for(settings: Settings, model: nn.Module, step: StepChoice):
    """The optimizer of the settings for a user's module.

    SGD with gamma_k = C_gamma k^(-1/2), Défossez et al.'s Adam / Adagrad (``--variant
    defossez``) or torch's, constant step.

    Args:
        settings: The CLI's settings.
        model: The user's module.
        step: The pilot's step choice (C_gamma and the optimizer's options).

    Returns:
        (optimizer, scheduler or None).

    Raises:
        ConfigError: Adam's ``delayed`` variant (built-in models only).
    """
    from empirical.optim import DefossezAdagrad, DefossezAdam

    params = [p for p in model.parameters() if p.requires_grad]
    o = step.optimizer_options
    if settings.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=step.C_gamma)
        return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda e: (e + 1) ** -0.5)
    if settings.optimizer == "adam":
        if o["variant"] == "delayed":
            raise ConfigError("variant (--variant) 'delayed' is trained for the built-in models only")
        kind = DefossezAdam if o["variant"] == "defossez" else torch.optim.Adam
        return kind(params, lr=step.C_gamma, betas=o["betas"], eps=o["eps"]), None
    kind = DefossezAdagrad if o["variant"] == "defossez" else torch.optim.Adagrad
    return kind(params, lr=step.C_gamma, eps=o["eps"]), None


def verify_user_model(
    settings: Settings,
    X: torch.Tensor,
    progress: Progress = silent,
    device: str = "cpu",
    timings: Mapping[str, float] | None = None,
    *,
    approximate_ok: bool = False,
) -> Result:
    """Train ``settings.runs`` runs of the user's model one after the other, tracked; verify them together.

    Args:
        settings: The CLI's settings of ``conv`` or ``FILE.py:NAME``.
        X: The training rows (the data without its held-out split).
        progress: The progress callback (:func:`empirical.progress.silent`: no bar either).
        device: Where the module trains and is measured (``cpu``, ``cuda``; checked by the
            caller): the module and the rows are moved there once.
        timings: Seconds the caller spent before, by part (e.g. ``data``).
        approximate_ok: Accept assumption rows that are only approximately met.

    Returns:
        The :class:`~empirical.conclusion.Result` of the runs, with these settings; its timings
        by part (``setup``: the model file, ``pilot``, ``training``, ``tracking``, ``final
        record``, ``estimation``, ``theory``) add up to the time spent here.
    """
    spent = Timings(timings or {})
    with spent.part("setup"):
        make = load_make(settings.model)
        X = X.to(device)
    with spent.part("pilot"):
        measure = None
        if settings.optimizer == "sgd" and settings.C_gamma is None:
            measure = module_pilot(settings, make, X, progress)
        step = choose(settings, measure, progress, MODULE_PILOT_INITS)
    progress(f"C_gamma = {step.C_gamma:.4g} ({step.how})")
    runs = []
    R = settings.runs
    for i, seed in enumerate(settings.seeds):
        with spent.part("setup"):
            model, loss = build(make, X, seed, settings.model)
            optimizer = optimizer_for(settings, model, step)
        with bar(progress, f"training run {i + 1}/{R}", settings.steps) as shown:
            tracker = _train_one(settings, model, loss, X, seed, optimizer, shown)
        if progress is not silent:
            progress(f"run {i + 1}/{R}: final record at theta_n ({tracker.m} gradients, rows as needed)")
        runs.append(_finished(tracker))
    progress("estimating the constants along the runs")
    extras = {"step_constant_choice": step.how, "model_options": {"make": settings.model}, "device": device}
    return verify_runs(
        runs, seed=settings.seed, progress=progress, settings=settings, extras=extras, timings=spent,
        approximate_ok=approximate_ok,
    )  # fmt: skip


def _train_one(
    settings: Settings, model: nn.Module, loss: Callable, X: torch.Tensor, seed: int, optimizer: tuple, shown
) -> Tracker:
    """The CLI's loop for one run, tracked: the tracker, not yet finished.

    Minibatch rows and the seeds of the loss's noise come from the run's own generator (the
    global generators of the CPU and of the module's devices reseeded once a step,
    :func:`empirical.rng.forked`); ``optimizer``: (optimizer, scheduler or None) of
    :func:`optimizer_for`.
    """
    X = X.to(next(model.parameters()).dtype)
    opt, scheduler = optimizer
    tracker = track(model, loss, X, opt, seed=seed, batch_size=settings.batch_size)
    gen = torch.Generator().manual_seed(seed)
    devices = cuda_devices(model)
    N, B = int(X.shape[0]), settings.batch_size
    for k in range(1, settings.steps + 1):
        idx = torch.randint(N, (B,), generator=gen).to(X.device)
        with forked(int(torch.randint(2**62, (1,), generator=gen)), devices):
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
        shown.update(1)
    return tracker


def _finished(tracker: Tracker) -> TrainRun:
    run = tracker.finish()
    return replace(run, options={**run.options, "sampling": SAMPLING})


def module_pilot(
    settings: Settings, make: Make, X: torch.Tensor, progress: Progress
) -> Callable[[int], PilotPoint]:
    """The pilot's measurement for a user's module (:mod:`empirical.pipeline.pilot`).

    Args:
        settings: B and the model's spec.
        make: the user's ``make``.
        X: the training rows.
        progress: The progress callback.

    Returns:
        seed -> :class:`~empirical.pipeline.pilot.PilotPoint` at the module ``make`` builds
        for that seed: L the upper end of the top Hessian eigenvalue of the fixed-noise loss on
        MODULE_PILOT_EXAMPLES rows (Lanczos at relative tolerance MODULE_PILOT_TOL), sigma2 of a
        B-row step from the module's per-example statistics on those rows (PILOT_DRAWS draws
        per row), Delta = F(theta_0) - the model's ``loss_lower_bound``
        (unproven without one).
    """
    from empirical.conclusion.values import step_variance
    from empirical.estimators import module_row_stats, smoothness
    from empirical.estimators.variance import select_examples

    first = build(make, X, PILOT_SEED, settings.model)  # a broken make fails here, first
    count = sum(p.numel() for p in first[0].parameters())
    progress(
        f"pilot estimates at {MODULE_PILOT_INITS} initialisations ({count} parameters, {X.shape[0]} rows)"
    )
    Xs = select_examples(X, MODULE_PILOT_EXAMPLES, torch.Generator().manual_seed(PILOT_SEED))

    def measure(seed: int) -> PilotPoint:
        model, loss = first if seed == PILOT_SEED else build(make, X, seed, settings.model)
        dtype = next(model.parameters()).dtype
        rows, some = X.to(dtype), Xs.to(dtype)
        params = {k: p.detach() for k, p in model.named_parameters() if p.requires_grad}

        def fixed(p: dict[str, torch.Tensor]) -> torch.Tensor:
            with evaluate.isolated(model, PILOT_SEED + 1):
                return evaluate.per_example(model, loss, p, some).mean()

        L = smoothness(fixed, params, tol=MODULE_PILOT_TOL, seed=PILOT_SEED).hi
        with evaluate.isolated(model, PILOT_SEED + 2):
            ms = module_row_stats(
                model, loss, rows, PILOT_DRAWS, n_examples=MODULE_PILOT_EXAMPLES, seed=PILOT_SEED
            )
        v = ms.variance()
        sigma2 = step_variance(v.data, v.mc, settings.batch_size).hi
        low = getattr(model, "loss_lower_bound", None)
        if low is None:
            return PilotPoint(L, sigma2, 0.0, proven=False)
        with torch.no_grad(), evaluate.isolated(model, PILOT_SEED + 3):
            F0 = float(evaluate.per_example(model, loss, params, some).mean())
        return PilotPoint(L, sigma2, F0 - float(low), proven=True)

    return measure
