"""Checkpoints of a training run: everything needed to continue it exactly.

A checkpoint holds the stacked parameters, the step rule's state, every run's two
generators, the history so far and the options; :func:`compatible` refuses to continue
a run under different model or run options. Files are written to a temporary name and
renamed into place, so an interrupted write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from empirical.errors import ConfigError

FORMAT = 3
#: Options that may differ between a run and the run it resumes.
RESUME_FREE = ("steps", "device")


def save(path: Path, state: Mapping[str, Any]) -> None:
    """Write a checkpoint atomically (with the format number).

    Args:
        path: The checkpoint's file.
        state: What to save.
    """
    tmp = path.with_name(path.name + ".tmp")
    torch.save({**state, "format": FORMAT}, tmp)
    os.replace(tmp, path)


def load(path: Path) -> dict[str, Any]:
    """A checkpoint written by :func:`save`.

    Args:
        path: The checkpoint's file.

    Returns:
        The saved state.

    Raises:
        ConfigError: The file cannot be read or is not a checkpoint of this format.
    """
    try:
        state = torch.load(path, weights_only=True)
    except (OSError, RuntimeError) as err:
        raise ConfigError(f"option resume: cannot read checkpoint {path} ({err})") from err
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ConfigError(f"option resume: {path} is not a vaebounds training checkpoint (format {FORMAT})")
    return state


def fixed_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options a resumed run must share with its checkpoint.

    Args:
        options: The run's options.

    Returns:
        The options without those that may differ (:data:`RESUME_FREE`).
    """
    return {k: v for k, v in options.items() if k not in RESUME_FREE}


def compatible(path: Path, saved: Mapping[str, Any], now: Mapping[str, Any], what: str) -> None:
    """Check that a run may resume a checkpoint.

    Args:
        path: The checkpoint's file, for the message.
        saved: Its options.
        now: The run's options.
        what: Which options (e.g. "model"), for the message.

    Raises:
        ConfigError: Naming every option that differs between ``saved`` and ``now``.
    """
    diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
    if diff:
        detail = ", ".join(f"{k}: {saved.get(k)!r} vs {now.get(k)!r}" for k in diff)
        raise ConfigError(f"option resume: checkpoint {path} has different {what} options ({detail})")
