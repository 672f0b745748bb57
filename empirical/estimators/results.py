"""The :class:`Estimate` result type, input checks and confidence-interval helpers.

Every estimator returns frozen results: a point value, an interval ``[lo, hi]`` at a
stated ``confidence``, a ``method`` string saying exactly what was computed (and, for
suprema such as L or M, which lower estimate it is), and ``n_evals``, the number of
loss / gradient / Hessian-vector evaluations spent.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from empirical.errors import ConfigError, LossError
from empirical.inputs.rules import Number
from empirical.student import t_quantile
from empirical.validate import SEED_MAX, whole

Params = dict[str, torch.Tensor]
ScalarLoss = Callable[[Params], torch.Tensor]

#: The empirical package's folder: a warning points at the first caller outside it.
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


@dataclass(frozen=True)
class Estimate:
    """A measured constant with its interval, ``lo <= value <= hi`` always.

    Attributes:
        value: The point value, finite.
        lo: The interval's lower end.
        hi: The interval's upper end.
        confidence: The stated coverage of ``[lo, hi]`` (1.0 for a deterministic bracket
            such as a Lanczos residual bound or an exact maximum over recorded values).
        method: What was computed, in words.
        n_evals: The loss / gradient / Hessian-vector evaluations spent.

    Raises:
        LossError: A NaN end or an infinite value.
        ValueError: lo <= value <= hi fails, a confidence outside (0, 1], or n_evals < 0.
    """

    value: float
    lo: float
    hi: float
    confidence: float
    method: str
    n_evals: int = 0

    def __post_init__(self) -> None:
        for name in ("value", "lo", "hi"):
            v = getattr(self, name)
            if math.isnan(v):
                raise LossError(f"Estimate.{name} is NaN ({self.method})")
        if math.isinf(self.value):
            raise LossError(f"Estimate.value is infinite ({self.method})")
        if not self.lo <= self.value <= self.hi:
            raise ValueError(f"need lo <= value <= hi, got {self.lo}, {self.value}, {self.hi}")
        if not 0.0 < self.confidence <= 1.0:
            raise ValueError(f"confidence must lie in (0, 1], got {self.confidence}")
        if self.n_evals < 0:
            raise ValueError(f"n_evals must be >= 0, got {self.n_evals}")

    def scaled(self, factor: float, note: str) -> Estimate:
        """The estimate and its interval times a factor.

        Args:
            factor: The factor, > 0.
            note: Why, prefixed to the method.

        Returns:
            The scaled estimate.

        Raises:
            ValueError: ``factor`` <= 0.
        """
        if not factor > 0:
            raise ValueError(f"scale factor must be > 0, got {factor}")
        return Estimate(
            self.value * factor,
            self.lo * factor,
            self.hi * factor,
            self.confidence,
            f"{note}: {factor:g} x [{self.method}]",
            self.n_evals,
        )

    def as_dict(self) -> dict[str, float | str | int]:
        """The estimate, JSON-ready (the ``report.json`` constant format).

        Returns:
            ``{"value", "lo", "hi", "confidence", "method", "n_evals"}``.
        """
        return {
            "value": self.value,
            "lo": self.lo,
            "hi": self.hi,
            "confidence": self.confidence,
            "method": self.method,
            "n_evals": self.n_evals,
        }


def exact(value: float, method: str, n_evals: int = 0) -> Estimate:
    """A quantity computed exactly (up to rounding): ``lo = hi = value``.

    Args:
        value: The value.
        method: What was computed.
        n_evals: The evaluations spent.

    Returns:
        The estimate, confidence 1.
    """
    return Estimate(float(value), float(value), float(value), 1.0, method, n_evals)


def mean_interval(
    samples: np.ndarray | torch.Tensor,
    method: str,
    confidence: float = 0.95,
    n_evals: int = 0,
    clip_at_zero: bool = False,
) -> Estimate:
    """A Student-t interval for a mean over i.i.d. samples.

    ``mean +- t_{n-1, (1+c)/2} * sd / sqrt(n)`` with the unbiased sd.

    Args:
        samples: At least 2 finite samples.
        method: What was computed.
        confidence: The two-sided level c.
        n_evals: The evaluations spent.
        clip_at_zero: Clip the value and interval to ``[0, inf)`` (for variances, which are
            non-negative by definition).

    Returns:
        The estimate.

    Raises:
        ConfigError: A bad confidence or fewer than 2 samples.
        LossError: A non-finite sample.
    """
    confidence = check_confidence(confidence)
    x = _as_numpy(samples)
    check_finite_array(x, method)
    n = x.size
    if n < 2:
        raise ConfigError(f"{method}: need at least 2 samples for an interval, got {n}")
    mean = float(x.mean())
    half = float(_t_quantile(confidence, n - 1) * x.std(ddof=1) / math.sqrt(n))
    lo, hi = mean - half, mean + half
    if clip_at_zero:
        mean, lo, hi = max(mean, 0.0), max(lo, 0.0), max(hi, 0.0)
    return Estimate(mean, lo, hi, confidence, method, n_evals)


def _t_quantile(confidence: float, dof: int) -> float:
    """Two-sided Student-t quantile t_{dof, (1 + confidence)/2} (:func:`empirical.student.t_quantile`)."""
    return t_quantile(confidence, dof)


def check_confidence(confidence: float) -> float:
    """A confidence level, checked.

    Args:
        confidence: The level.

    Returns:
        It as a float.

    Raises:
        ConfigError: Not strictly between 0 and 1.
    """
    return Number(0.0, 1.0, hi_open=True).check("option confidence", confidence)


def seeded(generator: torch.Generator | None, seed: int, offset: int = 0) -> torch.Generator:
    """The generator to draw from: ``generator`` itself, else a new one seeded with ``seed + offset``.

    Args:
        generator: A torch generator, or None.
        seed: An integer in [0, 2**63 - 1].
        offset: Added to the seed (modulo 2**63).

    Returns:
        The generator.

    Raises:
        ConfigError: A bad generator or seed.
    """
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise ConfigError(f"option generator must be a torch.Generator, got {type(generator).__name__}")
        return generator
    return torch.Generator().manual_seed((whole("seed", seed, 0, SEED_MAX) + offset) % (SEED_MAX + 1))


def warn_caller(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` at the line of the first caller outside the empirical package.

    However deep inside the package the warning arises, it names the user's call (e.g. of
    :func:`empirical.estimators.estimate`), so the default filter shows it once per such line.

    Args:
        message: The warning.
        category: Its class (e.g. :class:`~empirical.errors.ConvergenceWarning`).
    """
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def with_gradient(value: torch.Tensor, what: str) -> torch.Tensor:
    """A loss's value, refused when it carries no gradient with respect to the params.

    Args:
        value: The loss's value (a tensor, e.g. from :func:`check_scalar`).
        what: The loss, as called (e.g. ``"loss(params)"``).

    Returns:
        ``value``.

    Raises:
        LossError: ``value`` does not require grad: saying what was wrong and what is needed.
    """
    if not value.requires_grad:
        raise LossError(
            f"{what} carries no gradient with respect to params: it does not depend on them through torch "
            "operations (detached, computed under torch.no_grad, or turned into a float / numpy value?); "
            "the estimators differentiate the loss, so it must be a torch function of params"
        )
    return value


def check_params(params: object, finite: bool = True) -> Params:
    """Parameters given by a caller, checked.

    Args:
        params: A non-empty dict of str -> floating tensor.
        finite: Also demand finite values.

    Returns:
        A copy of the dict.

    Raises:
        LossError: Any other value.
    """
    if not isinstance(params, Mapping) or not params:
        raise LossError(f"params must be a non-empty dict of tensors, got {type(params).__name__}")
    for k, v in params.items():
        if not isinstance(k, str):
            raise LossError(f"params keys must be str, got {k!r}")
        if not isinstance(v, torch.Tensor):
            raise LossError(f"params[{k!r}] must be a torch.Tensor, got {type(v).__name__}")
        if not v.is_floating_point():
            raise LossError(f"params[{k!r}] must be a floating tensor, got dtype {v.dtype}")
        if finite and not torch.isfinite(v).all():
            raise LossError(f"params[{k!r}] contains NaN or inf")
    return dict(params)


def check_scalar(value: object, what: str = "loss") -> torch.Tensor:
    """A loss's value, checked: a finite scalar tensor (shape () or one element).

    Args:
        value: The value.
        what: What returned it, for the message.

    Returns:
        It with shape ().

    Raises:
        LossError: Not a tensor, not a scalar, or not finite.
    """
    if not isinstance(value, torch.Tensor):
        raise LossError(f"{what} must return a torch.Tensor, got {type(value).__name__}")
    if value.numel() != 1:
        raise LossError(f"{what} must return a scalar, got shape {tuple(value.shape)}")
    if not torch.isfinite(value).all():
        raise LossError(f"{what} is not finite: {value.item()}")
    return value.reshape(())


def check_finite(tensors: Mapping[str, torch.Tensor] | torch.Tensor, what: str) -> None:
    """Check that tensors are finite.

    Args:
        tensors: A tensor or a dict of them.
        what: What they are, for the message.

    Raises:
        LossError: Naming the first non-finite entry.
    """
    if isinstance(tensors, torch.Tensor):
        tensors = {"": tensors}
    for k, v in tensors.items():
        if not torch.isfinite(v).all():
            name = f"{what}[{k!r}]" if k else what
            raise LossError(f"{name} contains NaN or inf")


def check_finite_array(x: np.ndarray, what: str) -> None:
    """Check that an array is finite.

    Args:
        x: The array.
        what: What it is, for the message.

    Raises:
        LossError: Naming how many values are not finite.
    """
    if not np.all(np.isfinite(x)):
        raise LossError(f"{what}: non-finite values ({int((~np.isfinite(x)).sum())} of {x.size})")


def _as_numpy(x: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().to(torch.float64).cpu().numpy()
    return np.asarray(x, dtype=np.float64).reshape(-1)


# ---- flat vectors <-> param dicts -------------------------------------------------


def flatten(tensors: Mapping[str, torch.Tensor], keys: list[str] | None = None) -> torch.Tensor:
    """Concatenate ``tensors[k].reshape(-1)`` in the order of ``keys``.

    Args:
        tensors: The tensors by key.
        keys: The order (default: dict order).

    Returns:
        The flat vector.
    """
    keys = list(tensors) if keys is None else keys
    return torch.cat([tensors[k].reshape(-1) for k in keys])


def unflatten(vector: torch.Tensor, like: Mapping[str, torch.Tensor]) -> Params:
    """The inverse of :func:`flatten` with the shapes, dtypes, devices and key order of ``like``.

    Args:
        vector: The flat vector.
        like: The tensors whose layout to follow.

    Returns:
        The tensors by key.

    Raises:
        LossError: The sizes differ.
    """
    out: Params = {}
    i = 0
    for k, v in like.items():
        n = v.numel()
        out[k] = vector[i : i + n].reshape(v.shape).to(device=v.device, dtype=v.dtype)
        i += n
    if i != vector.numel():
        raise LossError(f"flat vector has {vector.numel()} entries, params have {i}")
    return out
