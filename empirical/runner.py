"""Which front end trains a setting: the batched pipeline or the CLI's tracked loop.

The built-in models go through :mod:`empirical.pipeline`, a user's module (``conv``,
``FILE.py:NAME``) through :mod:`empirical.user_model`; both end in
:func:`empirical.conclusion.conclude`. The CLI and the sweep call :func:`verify`
(docs/architecture.md, "Two front ends, one conclusion").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from empirical.errors import ConfigError
from empirical.progress import Progress, silent
from empirical.settings import BUILT_IN, USER_MODULE, Settings

if TYPE_CHECKING:
    import torch

    from empirical.conclusion import Result


def verify(
    settings: Settings,
    progress: Progress = silent,
    *,
    model: object = None,
    data: torch.Tensor | None = None,
    approximate_ok: bool = False,
) -> Result:
    """Train, estimate and conclude for some settings (no files written).

    Args:
        settings: what to run; ``settings.source`` picks the front end.
        progress: the progress callback (:func:`empirical.progress.silent`: no bar either).
        model: replaces a built-in model the settings name (property tests).
        data: replaces the data the settings name (its training rows are used).
        approximate_ok: accept assumption rows that are only approximately met (``--approximate-ok``;
            :func:`empirical.conclusion.conclude`).

    Returns:
        The :class:`~empirical.conclusion.Result` of the R runs.

    Raises:
        ConfigError: A non-bool ``approximate_ok``, settings of an own loop, ``model`` with
            a user module, or bad steps.
    """
    from empirical.inputs import command_rule
    from empirical.pipeline import pipeline

    if not isinstance(approximate_ok, bool):
        raise ConfigError(f"approximate_ok must be True or False, got {approximate_ok!r}")
    if settings.source == BUILT_IN:
        return pipeline.verify(settings, progress, model=model, data=data, approximate_ok=approximate_ok)
    if settings.source != USER_MODULE:
        raise ConfigError(
            f"settings of source {settings.source!r} describe runs tracked in a user's own loop; "
            "run that loop again (empirical.track) to verify it"
        )
    if model is not None:
        raise ConfigError(f"model= replaces a built-in model; {settings.model} builds its own module")
    command_rule("verify", "steps").check("verify: steps (--steps)", settings.steps)
    from empirical.threads import torch_threads
    from empirical.user_model import verify_user_model

    with torch_threads():
        return verify_user_model(
            settings, pipeline.training_rows(settings, data), progress, approximate_ok=approximate_ok
        )
