"""Step sizes and step rules of the training loop.

Convention (docs/theory.md, "SGD"): iterations k = 1..n,
theta_k = theta_{k-1} - gamma_k d_k with gamma_k = C_gamma k^(-alpha), the
schedule of :mod:`theory.schedules`: alpha = 1/2 (``"sqrt"``, the theorems'
default) or alpha = 0 (``"constant"``). The direction d_k is the minibatch
gradient g_k for SGD and the adaptive direction otherwise; Défossez et al.'s
Adam and Adagrad run with the constant schedule, gamma_k = alpha.

Every rule is elementwise in the parameters, so it acts unchanged on R runs
stacked along a leading axis (one computation for all runs). A rule is a
class with ``init``/``direction``, ``extremes`` (its preconditioner's, None
for SGD) and its state's ``state_dict``/``load_state_dict``, listed in
:func:`step_rule`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from empirical.errors import ConfigError
from empirical.validate import choice, number

#: Schedule name -> alpha in gamma_k = C_gamma k^(-alpha).
SCHEDULES: dict[str, float] = {"sqrt": 0.5, "constant": 0.0}
OPTIMIZERS = ("sgd", "adam", "adagrad")
ADAM_VARIANTS = ("torch", "delayed", "defossez")
ADAGRAD_VARIANTS = ("defossez", "torch")

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

    "torch" (torch.optim.Adam): m_k = b1 m_{k-1} + (1 - b1) g_k, v_k = b2 v_{k-1} + (1 - b2) g_k^2,
    d_k = (m_k / (1 - b1^k)) / (sqrt(v_k / (1 - b2^k)) + eps), so g_k enters its own preconditioner.
    "delayed" (docs/theory.md, "Adam as preconditioned SGD"): the same m_k, bias-corrected,
    d_k = m^_k / (sqrt(v_{k-1}) + eps), a preconditioner built from past gradients only;
    v_0 = g_0^2 from an independent gradient at theta_0, so v is a convex combination and needs no
    bias correction. A coordinate whose past gradients were all 0 gets the factor 1/eps =
    lambda_max: with the delayed variant use an eps that keeps lambda_max moderate (e.g. 1e-3).
    "defossez" (Défossez et al. 2022, as analysed; theory.algorithms.DEFOSSEZ_ADAM): raw sums
    m_k = b1 m_{k-1} + g_k, v_k = b2 v_{k-1} + g_k^2, no bias correction, eps inside the root,
    d_k = (1 - b1) sqrt(sum_{j<k} b2^j) m_k / sqrt(eps + v_k), with the constant step alpha = gamma_k.
    """
    b1, b2 = betas
    state.k += 1
    k = state.k
    out = {}
    for key, g in grads.items():
        if variant == "defossez":
            m = state.m[key].mul_(b1).add_(g)
            v = state.v[key].mul_(b2).addcmul_(g, g)
            out[key] = m * ((1.0 - b1) * math.sqrt(_geometric_sum(b2, k))) / (v + eps).sqrt()
            continue
        m = state.m[key].mul_(b1).add_(g, alpha=1.0 - b1)
        m_hat = m / (1.0 - b1**k)
        if variant == "delayed":
            out[key] = m_hat / (state.v[key].sqrt() + eps)
            state.v[key].mul_(b2).addcmul_(g, g, value=1.0 - b2)
        else:
            v = state.v[key].mul_(b2).addcmul_(g, g, value=1.0 - b2)
            out[key] = m_hat / ((v / (1.0 - b2**k)).sqrt() + eps)
    return out


def _geometric_sum(b2: float, k: int) -> float:
    """sum_{j<k} b2^j = (1 - b2^k) / (1 - b2) (k for b2 = 1)."""
    return float(k) if b2 == 1.0 else (1.0 - b2**k) / (1.0 - b2)


def preconditioner_factor(variant: str, v: torch.Tensor, k: int, b2: float, eps: float) -> torch.Tensor:
    """The per-coordinate factor A of an adaptive step, at second moment ``v`` after ``k`` steps
    (the step is gamma_k A times a gradient average): the a-posteriori theorems take the
    extremes of A along a run (docs/theory.md, "A-posteriori preconditioned SGD").

    adam "torch": A = 1/(sqrt(v/(1 - b2^k)) + eps) on the bias-corrected m^_k;
    adam "delayed": A = 1/(sqrt(v_{k-1}) + eps) (pass v_{k-1});
    adam "defossez": A = sqrt(sum_{j<k} b2^j) / sqrt(eps + v) on (1 - b1) m_k;
    adagrad "defossez": A = 1/sqrt(eps + v); adagrad "torch": A = 1/(sqrt(v) + eps).
    Decreasing in v: the extremes over coordinates come from the extremes of v. ``v`` is a
    tensor or a number.
    """
    if variant in ("defossez", "adagrad-defossez"):
        scale = 1.0 if variant == "adagrad-defossez" else math.sqrt(_geometric_sum(b2, k))
        return scale / (v + eps) ** 0.5
    if variant == "torch":
        return 1.0 / ((v / (1.0 - b2**k)) ** 0.5 + eps)
    return 1.0 / (v**0.5 + eps)  # "delayed", "adagrad-torch"


@dataclass(frozen=True)
class SGD:
    """d_k = g_k."""

    name = "sgd"
    needs_initial_gradient = False

    def init(self, params: Mapping[str, torch.Tensor]) -> None:
        return None

    def direction(self, state: None, grads: Mapping[str, torch.Tensor]) -> Mapping[str, torch.Tensor]:
        return grads

    def extremes(self, state: None) -> None:
        return None

    def state_dict(self, state: None) -> dict:
        return {}

    def load_state_dict(self, saved: dict, like: Mapping[str, torch.Tensor]) -> None:
        return None

    def options(self) -> dict:
        return {}


def smallest_positive(v: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """The smallest entry of ``v`` > 0 (along ``dim``), 0 where there is none. A coordinate
    whose gradients were all 0 so far (v = 0) has not moved: it does not enter the extremes
    of the preconditioner (a-posteriori, over the coordinates the run moved)."""
    positive = torch.where(v > 0, v, torch.full_like(v, math.inf))
    low = positive.amin() if dim is None else positive.amin(dim)
    return torch.where(torch.isinf(low), torch.zeros_like(low), low)


def _extremes(v: Mapping[str, torch.Tensor], factor) -> tuple[torch.Tensor, torch.Tensor]:
    """(A_min (R,), A_max (R,)) over every coordinate of each run (leading axis) of
    ``factor(v)``, a decreasing function of v: from the largest and the smallest positive v
    (:func:`smallest_positive`)."""
    flat = torch.cat([t.reshape(t.shape[0], -1) for t in v.values()], 1)
    return factor(flat.amax(1)), factor(smallest_positive(flat, 1))


@dataclass(frozen=True)
class Adam:
    """:func:`adam_direction` with ``betas``, ``eps`` and ``variant`` (torch | delayed | defossez)."""

    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    variant: str = "torch"
    name = "adam"

    def __post_init__(self) -> None:
        choice("variant", self.variant, ADAM_VARIANTS)
        number("eps", self.eps)
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

    def extremes(self, state: AdamState) -> tuple[torch.Tensor, torch.Tensor]:
        """Per run, the extremes of the factor A of the step just taken
        (:func:`preconditioner_factor`; the delayed variant's is built from v_{k-1}, the
        state now holds v_k: its extremes are those of the next step)."""
        return _extremes(
            state.v, lambda v: preconditioner_factor(self.variant, v, state.k, self.betas[1], self.eps)
        )

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
        return {"betas": tuple(self.betas), "eps": self.eps, "variant": self.variant}


@dataclass(frozen=True)
class Adagrad:
    """Adagrad, v_k = v_{k-1} + g_k^2 (v_0 = 0), with a constant step alpha = gamma_k:
    "defossez" (Défossez et al. 2022, theory.algorithms.DEFOSSEZ_ADAGRAD):
    d_k = g_k / sqrt(eps + v_k); "torch" (torch.optim.Adagrad with lr_decay = 0,
    initial_accumulator_value = 0): d_k = g_k / (sqrt(v_k) + eps)."""

    eps: float = 1e-8
    variant: str = "defossez"
    name = "adagrad"
    needs_initial_gradient = False

    def __post_init__(self) -> None:
        choice("adagrad variant (variant)", self.variant, ADAGRAD_VARIANTS)
        number("eps", self.eps)

    def init(self, params: Mapping[str, torch.Tensor]) -> AdamState:
        return AdamState(m={}, v={k: torch.zeros_like(p) for k, p in params.items()})

    def direction(self, state: AdamState, grads: Mapping[str, torch.Tensor]) -> Tensors:
        state.k += 1
        out = {}
        for key, g in grads.items():
            v = state.v[key].addcmul_(g, g)
            out[key] = g / (v + self.eps).sqrt() if self.variant == "defossez" else g / (v.sqrt() + self.eps)
        return out

    def extremes(self, state: AdamState) -> tuple[torch.Tensor, torch.Tensor]:
        """Per run, the extremes of the factor A of the step just taken (:func:`preconditioner_factor`)."""
        kind = f"adagrad-{self.variant}"
        return _extremes(state.v, lambda v: preconditioner_factor(kind, v, state.k, 1.0, self.eps))

    def state_dict(self, state: AdamState) -> dict:
        return {"v": {k: t.cpu().clone() for k, t in state.v.items()}, "k": state.k}

    def load_state_dict(self, saved: dict, like: Mapping[str, torch.Tensor]) -> AdamState:
        to = {k: (p.device, p.dtype) for k, p in like.items()}
        return AdamState(m={}, v={k: t.to(*to[k]) for k, t in saved["v"].items()}, k=int(saved["k"]))

    def options(self) -> dict:
        return {"eps": self.eps, "variant": self.variant}


def step_rule(
    optimizer: str,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    variant: str = "torch",
) -> SGD | Adam | Adagrad:
    """The step rule named ``optimizer`` (one of :data:`OPTIMIZERS`); ``variant``
    picks the Adam variant (:data:`ADAM_VARIANTS`) or the Adagrad one (:data:`ADAGRAD_VARIANTS`);
    ``eps`` is the epsilon of either."""
    choice("optimizer", optimizer, OPTIMIZERS)
    if optimizer == "adam":
        return Adam(tuple(float(b) for b in betas), eps, variant)
    if optimizer == "adagrad":
        return Adagrad(eps, variant)
    return SGD()
