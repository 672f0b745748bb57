"""Which front end trains a setting: the batched pipeline or the CLI's tracked loop.

The built-in models go through :mod:`empirical.pipeline`, a user's module (``conv``,
``FILE.py:NAME``) through :mod:`empirical.user_model`; both end in
:func:`empirical.conclusion.conclude`. The CLI and the sweep call :func:`verify`
(docs/architecture.md, "Two front ends, one conclusion").
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from empirical.errors import ConfigError
from empirical.inputs import DEVICES
from empirical.progress import Progress, silent
from empirical.settings import BUILT_IN, USER_MODULE, Settings
from empirical.validate import flag

if TYPE_CHECKING:
    import torch

    from empirical.conclusion import Result


def verify(
    settings: Settings,
    progress: Progress = silent,
    *,
    model: object = None,
    data: torch.Tensor | None = None,
    device: str = "cpu",
    timings: Mapping[str, float] | None = None,
    approximate_ok: bool = False,
) -> Result:
    """Train, estimate and conclude for some settings (no files written).

    Args:
        settings: what to run; ``settings.source`` picks the front end.
        progress: the progress callback (:func:`empirical.progress.silent`: no bar either).
        model: replaces a built-in model the settings name (property tests).
        data: replaces the data the settings name (its training rows are used).
        device: ``cpu`` or ``cuda`` (:func:`checked_device`): where a user's module trains and
            is measured; the built-in models' batched runs train on the CPU.
        timings: seconds the caller spent before, by part (the CLI's ``startup``); the imports
            the run needs are added to ``startup``.
        approximate_ok: accept assumption rows that are only approximately met (``--approximate-ok``;
            :func:`empirical.conclusion.conclude`).

    Returns:
        The :class:`~empirical.conclusion.Result` of the R runs.

    Raises:
        ConfigError: A non-bool ``approximate_ok``, settings of an own loop, ``model`` with
            a user module, or bad steps.
    """
    started = time.perf_counter()
    from empirical.inputs import command_rule
    from empirical.pipeline import pipeline

    spent = dict(timings or {})
    spent["startup"] = spent.get("startup", 0.0) + time.perf_counter() - started  # importing torch, ...
    flag("approximate_ok", approximate_ok)
    device = checked_device(device)
    if settings.source == BUILT_IN:
        if device != "cpu":
            raise ConfigError(
                f"device (--device) {device}: the built-in models' batched runs train on the CPU; --device "
                "cuda trains a user's module (--model conv or FILE.py:make)"
            )
        return pipeline.verify(
            settings, progress, model=model, data=data, timings=spent, approximate_ok=approximate_ok
        )
    if settings.source != USER_MODULE:
        raise ConfigError(
            f"settings of source {settings.source!r} describe runs tracked in a user's own loop; "
            "run that loop again (empirical.track) to verify it"
        )
    if model is not None:
        raise ConfigError(f"model= replaces a built-in model; {settings.model} builds its own module")
    command_rule("verify", "steps").check("verify: steps (--steps)", settings.steps)
    started = time.perf_counter()
    from empirical.threads import torch_threads
    from empirical.user_model import verify_user_model

    spent["startup"] += time.perf_counter() - started  # the tracker, the conclusion, scipy, ...
    with torch_threads():
        started = time.perf_counter()
        rows = pipeline.training_rows(settings, data)
        spent["data"] = time.perf_counter() - started
        return verify_user_model(
            settings, rows, progress, device, timings=spent, approximate_ok=approximate_ok
        )


def checked_device(device: str) -> str:
    """``device`` if it is usable here: ``cpu``, or ``cuda`` when a CUDA device is present.

    Raises:
        ConfigError: another name, or ``cuda`` without a CUDA device.
    """
    if device not in DEVICES:
        raise ConfigError(f"device (--device) must be one of {', '.join(DEVICES)}, got {device!r}")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(
                "device (--device) cuda: no CUDA device is present here (torch.cuda.is_available() is "
                "False); use --device cpu"
            )
    return device
