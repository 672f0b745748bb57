"""What :func:`empirical.track` accepts, checked before the first step.

The tracker is described in docs/architecture.md, "The tracker".

* ``model``: a ``torch.nn.Module``; ``optimizer``: a ``torch.optim.Optimizer`` training some of
  its parameters (those requiring grad).
* ``data``: the rows F is the mean loss over, as a 2-D ``torch.Tensor``, a 2-D NumPy array
  (converted to the dtype of the module's parameters), or a ``torch.utils.data.DataLoader``
  whose map-style dataset yields rows (or tuples whose first item is the row): its rows are
  stacked once, its ``batch_size`` is B, and its sampler says how the minibatches were drawn
  (:func:`loader_sampling`). At least :data:`empirical.inputs.MIN_TRAIN_ROWS` rows, finite
  floating-point numbers; moved once to the device the module lives on.
* ``loss(model, x)``: probed on 2 rows (:func:`empirical.tracking.evaluate.probe`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from empirical.errors import ConfigError
from empirical.inputs import MIN_TRAIN_ROWS
from empirical.tracking import evaluate

#: The statuses the ``unbiased`` row takes from a DataLoader's sampler.
HOLDS, APPROXIMATE, FAILS = "holds", "approximate", "fails"


@dataclass(frozen=True)
class Sampling:
    """How the user's minibatches were drawn, when the tracker can tell (a DataLoader).

    Attributes:
        status: The ``unbiased`` row's status (holds, approximate, fails).
        evidence: What the status rests on.
    """

    status: str
    how: str


@dataclass(frozen=True)
class Accepted:
    """The checked inputs of a tracker.

    Attributes:
        rows: The rows F is the mean loss over, on the module's device.
        params: The trained parameters (name -> parameter, model order).
        batch_size: B when the data said it (a DataLoader), else None.
        sampling: How its minibatches were drawn (None: the loop's own business).
    """

    rows: torch.Tensor
    params: dict[str, nn.Parameter]
    batch_size: int | None
    sampling: Sampling | None


def accept(model: nn.Module, loss: Callable, data: object, optimizer: torch.optim.Optimizer) -> Accepted:
    """The checked inputs of :func:`empirical.track` (module docstring).

    Args:
        model: The user's ``torch.nn.Module``.
        loss: ``loss(model, x)``, the per-example losses.
        data: The rows F is the mean loss over: a tensor, an array or a DataLoader.
        optimizer: The torch optimizer stepping the module.

    Returns:
        The :class:`Accepted` inputs, after one probe of the loss on 2 rows.

    Raises:
        ConfigError: One line naming the argument that is wrong and what is allowed.
    """
    if not isinstance(model, nn.Module):
        raise ConfigError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss):
        raise ConfigError(
            f"loss must be a function loss(model, x) -> per-example losses, got {type(loss).__name__}"
        )
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ConfigError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    params = tracked_params(model, optimizer)
    batch_size, sampling = None, None
    if isinstance(data, torch.utils.data.DataLoader):
        batch_size, sampling = data.batch_size, loader_sampling(data)
        data = loader_rows(data)
    rows = as_rows(data, _dtype(params))
    device = next(iter(params.values())).device if params else rows.device
    rows = rows.to(device)
    evaluate.probe(model, loss, params, rows)
    return Accepted(rows, params, batch_size, sampling)


def as_rows(data: object, dtype: torch.dtype) -> torch.Tensor:
    """``data`` as a checked 2-D floating tensor.

    Args:
        data: A tensor (kept as it is) or a NumPy array.
        dtype: The module's dtype, for an array.

    Returns:
        The rows, (N, D).

    Raises:
        ConfigError: Not 2-D, not floating, empty, or not finite.
    """
    if isinstance(data, np.ndarray):
        if not (np.issubdtype(data.dtype, np.floating) or np.issubdtype(data.dtype, np.integer)):
            raise ConfigError(f"data must hold numbers, got a NumPy array of {data.dtype}")
        data = torch.as_tensor(np.ascontiguousarray(data)).to(dtype)
    if not isinstance(data, torch.Tensor) or data.ndim != 2:
        shape = tuple(data.shape) if isinstance(data, torch.Tensor | np.ndarray) else type(data).__name__
        raise ConfigError(
            f"data must be a 2-D tensor or NumPy array of rows, or a DataLoader of them, got {shape}"
        )
    if data.shape[0] < MIN_TRAIN_ROWS:
        raise ConfigError(
            f"data has {data.shape[0]} rows: the estimators need at least {MIN_TRAIN_ROWS} (as the CLI's)"
        )
    if not data.is_floating_point() or not bool(torch.isfinite(data).all()):
        raise ConfigError("data must hold finite floating-point numbers")
    return data


def loader_rows(loader: torch.utils.data.DataLoader) -> torch.Tensor:
    """Every row of a DataLoader's map-style dataset, stacked.

    Args:
        loader: The DataLoader.

    Returns:
        The rows: a ``TensorDataset``'s first tensor as it is, else the items stacked (of a
        tuple or list item, its first element).

    Raises:
        ConfigError: An iterable-style dataset, or items that do not stack.
    """
    dataset = loader.dataset
    if isinstance(dataset, torch.utils.data.TensorDataset):
        return dataset.tensors[0]
    if isinstance(dataset, torch.utils.data.IterableDataset) or not hasattr(dataset, "__len__"):
        raise ConfigError(
            "data: a DataLoader over an iterable dataset has no rows to average F over; pass the rows "
            "as a tensor (and batch_size=)"
        )
    items = [dataset[i] for i in range(len(dataset))]
    items = [item[0] if isinstance(item, tuple | list) else item for item in items]
    if not items or not all(isinstance(item, torch.Tensor) and item.ndim == 1 for item in items):
        raise ConfigError(
            "data: the DataLoader's dataset must yield rows (1-D tensors), or tuples whose first item is "
            "the row"
        )
    return torch.stack(items)


def loader_sampling(loader: torch.utils.data.DataLoader) -> Sampling | None:
    """How a DataLoader draws its minibatches, as the ``unbiased`` row sees it.

    Rows uniformly with replacement (``RandomSampler(replacement=True)``) hold; epoch-style
    shuffling (``shuffle=True``) is sampling without replacement, approximate; a fixed order
    (``shuffle=False``) fails; any other sampler: None (unchecked).

    Args:
        loader: The DataLoader.

    Returns:
        The sampling, or None when the sampler says nothing the row can check.
    """
    sampler = loader.sampler
    if loader.batch_size is None:
        return None
    if isinstance(sampler, torch.utils.data.RandomSampler) and sampler.replacement:
        return Sampling(
            HOLDS,
            "the DataLoader draws each minibatch's rows uniformly with replacement (RandomSampler, "
            "replacement=True) and the loss draws fresh noise",
        )
    if isinstance(sampler, torch.utils.data.RandomSampler):
        return Sampling(
            APPROXIMATE,
            "the DataLoader shuffles once per epoch (shuffle=True): rows are drawn without replacement "
            "within an epoch, so given the earlier minibatches of the epoch E[g_k | past] is not "
            "grad F(theta_(k-1)); close, not the same (RandomSampler(replacement=True) makes it exact)",
        )
    if isinstance(sampler, torch.utils.data.SequentialSampler):
        return Sampling(
            FAILS,
            "the DataLoader gives the rows in a fixed order (shuffle=False): the minibatches are not "
            "random draws, so E[g_k | past] = g_k, not grad F(theta_(k-1))",
        )
    return None


def tracked_params(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, nn.Parameter]:
    """The parameters the tracker follows: those the optimizer trains that require grad.

    Args:
        model: The user's module.
        optimizer: Its optimizer.

    Returns:
        {name: parameter}, in model order (empty: :func:`~empirical.tracking.evaluate.probe`
        refuses it).
    """
    trained = {id(p) for g in optimizer.param_groups for p in g["params"]}
    named = [(k, p) for k, p in model.named_parameters() if id(p) in trained]
    known = {id(p) for _, p in named}
    if trained - known:
        raise ConfigError("the optimizer trains tensors that are not parameters of the model")
    return {k: p for k, p in named if p.requires_grad}


def _dtype(params: dict[str, nn.Parameter]) -> torch.dtype:
    for p in params.values():
        if p.is_floating_point():
            return p.dtype
    return torch.get_default_dtype()


def known_options(options: dict[str, Any], cls: type) -> dict[str, Any]:
    """``options`` when each names a keyword-only parameter of ``cls``, else a refusal listing them.

    Args:
        options: The keyword arguments given to :func:`empirical.track`.
        cls: The class they go to (its ``__init__``'s keyword-only parameters are the valid ones).

    Returns:
        ``options``, unchanged.

    Raises:
        ConfigError: An unknown option.
    """
    import inspect

    valid = [p.name for p in inspect.signature(cls.__init__).parameters.values() if p.kind is p.KEYWORD_ONLY]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigError(
            f"unknown option {', '.join(map(repr, unknown))} of empirical.track; valid: {', '.join(valid)}"
        )
    return options


def has_parameters(module: nn.Module) -> bool:
    """Whether ``module`` holds parameters of its own (not only in its children)."""
    return any(True for _ in module.parameters(recurse=False))
