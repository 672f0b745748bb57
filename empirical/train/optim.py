"""Step sizes and step rules of the training loop.

Convention (docs/theory.md, "SGD"): iterations k = 1..n,
theta_k = theta_{k-1} - gamma_k d_k with gamma_k = C_gamma k^(-alpha), the
schedule of :mod:`theory.schedules`: alpha = 1/2 (``"sqrt"``, the theorems'
default) or alpha = 0 (``"constant"``). The direction d_k is the minibatch
gradient g_k for SGD and the Adam direction otherwise.

Every rule is elementwise in the parameters, so it acts unchanged on R runs
stacked along a leading axis (one computation for all runs). A new rule
(Défossez et al.'s Adam, Adagrad) is a class with ``init``/``direction`` and
its state's ``state_dict``/``load_state_dict``, added to :func:`step_rule`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from empirical.errors import ConfigError
from empirical.validate import choice, positive

#: Schedule name -> alpha in gamma_k = C_gamma k^(-alpha).
SCHEDULES: dict[str, float] = {"sqrt": 0.5, "constant": 0.0}
OPTIMIZERS = ("sgd", "adam")
ADAM_VARIANTS = ("torch", "delayed")

Tensors = dict[str, torch.Tensor]


def step_size(k: int, C_gamma: float, schedule: str = "sqrt") -> float:
    """gamma_k = C_gamma k^(-alpha) for k >= 1 (alpha from :data:`SCHEDULES`)."""
    alpha = SCHEDULES[choice("schedule", schedule, tuple(SCHEDULES))]
    if alpha == 0:
        return float(C_gamma)
    return C_gamma / math.sqrt(k) if alpha == 0.5 else C_gamma * k**-alpha


def step_sizes(n: int, C_gamma: float, schedule: str = "sqrt") -> np.ndarray:
    """gamma_1, ..., gamma_n as a float64 array (index k - 1 holds gamma_k)."""
    return np.array([step_size(k, C_gamma, schedule) for k in range(1, n + 1)], dtype=np.float64)


@dataclass
class AdamState:
    """First and second moment estimates m_k, v_k and the step count k."""

    m: Tensors
    v: Tensors
    k: int = 0


def adam_direction(
    state: AdamState,
    grads: Mapping[str, torch.Tensor],
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    variant: str = "torch",
) -> Tensors:
    """Adam direction d_k (theta_k = theta_{k-1} - gamma_k d_k); updates ``state``.

    m_k = b1 m_{k-1} + (1 - b1) g_k and m^_k = m_k / (1 - b1^k) in both variants.
    "torch" (torch.optim.Adam): v_k = b2 v_{k-1} + (1 - b2) g_k^2,
    d_k = m^_k / (sqrt(v_k / (1 - b2^k)) + eps), so g_k enters its own preconditioner.
    "delayed" (docs/theory.md, "Adam as preconditioned SGD"): d_k = m^_k / (sqrt(v_{k-1}) + eps),
    a preconditioner built from past gradients only; v_0 = g_0^2 from an
    independent gradient at theta_0, so v is a convex combination and needs no
    bias correction. A coordinate whose past gradients were all 0 gets the
    factor 1/eps = lambda_max: with the delayed variant use an eps that keeps
    lambda_max moderate (e.g. 1e-3).
    """
    b1, b2 = betas
    state.k += 1
    k = state.k
    out = {}
    for key, g in grads.items():
        m = state.m[key].mul_(b1).add_(g, alpha=1.0 - b1)
        m_hat = m / (1.0 - b1**k)
        if variant == "delayed":
            out[key] = m_hat / (state.v[key].sqrt() + eps)
            state.v[key].mul_(b2).addcmul_(g, g, value=1.0 - b2)
        else:
            v = state.v[key].mul_(b2).addcmul_(g, g, value=1.0 - b2)
            out[key] = m_hat / ((v / (1.0 - b2**k)).sqrt() + eps)
    return out


@dataclass(frozen=True)
class SGD:
    """d_k = g_k."""

    name = "sgd"
    needs_initial_gradient = False

    def init(self, params: Mapping[str, torch.Tensor]) -> None:
        return None

    def direction(self, state: None, grads: Mapping[str, torch.Tensor]) -> Mapping[str, torch.Tensor]:
        return grads

    def state_dict(self, state: None) -> dict:
        return {}

    def load_state_dict(self, saved: dict, like: Mapping[str, torch.Tensor]) -> None:
        return None

    def options(self) -> dict:
        return {}


@dataclass(frozen=True)
class Adam:
    """:func:`adam_direction` with ``betas``, ``eps`` and ``variant`` (torch | delayed)."""

    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    variant: str = "torch"
    name = "adam"

    def __post_init__(self) -> None:
        choice("adam_variant", self.variant, ADAM_VARIANTS)
        positive("adam_eps", self.eps)
        b1, b2 = self.betas
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ConfigError(f"option betas must be in [0, 1) x [0, 1), got {self.betas!r}")

    @property
    def needs_initial_gradient(self) -> bool:
        """The delayed variant starts from v_0 = g_0^2 of an independent gradient at theta_0."""
        return self.variant == "delayed"

    def init(self, params: Mapping[str, torch.Tensor]) -> AdamState:
        zeros = {k: torch.zeros_like(p) for k, p in params.items()}
        return AdamState(m=zeros, v={k: torch.zeros_like(p) for k, p in params.items()})

    def initialise(self, state: AdamState, grads: Mapping[str, torch.Tensor]) -> None:
        """v_0 = g_0^2 (delayed variant)."""
        for key, g in grads.items():
            state.v[key] = (g * g).detach()

    def direction(self, state: AdamState, grads: Mapping[str, torch.Tensor]) -> Tensors:
        return adam_direction(state, grads, self.betas, self.eps, self.variant)

    def state_dict(self, state: AdamState) -> dict:
        return {
            "m": {k: t.cpu().clone() for k, t in state.m.items()},
            "v": {k: t.cpu().clone() for k, t in state.v.items()},
            "k": state.k,
        }

    def load_state_dict(self, saved: dict, like: Mapping[str, torch.Tensor]) -> AdamState:
        to = {k: (p.device, p.dtype) for k, p in like.items()}
        return AdamState(
            m={k: t.to(*to[k]) for k, t in saved["m"].items()},
            v={k: t.to(*to[k]) for k, t in saved["v"].items()},
            k=int(saved["k"]),
        )

    def options(self) -> dict:
        return {"betas": tuple(self.betas), "adam_eps": self.eps, "adam_variant": self.variant}


def step_rule(
    optimizer: str,
    betas: tuple[float, float] = (0.9, 0.999),
    adam_eps: float = 1e-8,
    adam_variant: str = "torch",
) -> SGD | Adam:
    """The step rule named ``optimizer`` (one of :data:`OPTIMIZERS`)."""
    choice("optimizer", optimizer, OPTIMIZERS)
    if optimizer == "adam":
        return Adam(tuple(float(b) for b in betas), adam_eps, adam_variant)
    return SGD()
