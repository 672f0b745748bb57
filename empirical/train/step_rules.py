"""Step sizes and step rules of the training loop.

theta_k = theta_{k-1} - gamma_k d_k, k = 1..n, with gamma_k = C_gamma k^(-alpha) (the
schedule of :mod:`theory.schedules`; docs/theory.md, "SGD") and d_k the minibatch
gradient (SGD) or an adaptive direction (docs/theory.md, "The analysed algorithms").
Every rule is elementwise in the parameters, so it acts unchanged on R runs stacked
along a leading axis; a rule is a class with ``init``/``direction``, ``extremes`` and
its state's ``state_dict``/``load_state_dict`` (:class:`SGD`), listed in :func:`step_rule`.
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
    """The step gamma_k = C_gamma k^(-alpha).

    Args:
        k: The step's index, >= 1.
        C_gamma: The step constant.
        schedule: ``"sqrt"`` (alpha = 1/2, the theorems' default) or ``"constant"`` (alpha = 0:
            Défossez et al.'s Adam and Adagrad, gamma_k = alpha).

    Returns:
        gamma_k.
    """
    alpha = SCHEDULES[choice("schedule", schedule, tuple(SCHEDULES))]
    if alpha == 0:
        return float(C_gamma)
    return C_gamma / math.sqrt(k) if alpha == 0.5 else C_gamma * k**-alpha


def step_sizes(n: int, C_gamma: float, schedule: str = "sqrt") -> np.ndarray:
    """The steps gamma_1, ..., gamma_n.

    Args:
        n: The number of steps.
        C_gamma: The step constant.
        schedule: ``"sqrt"`` or ``"constant"`` (:func:`step_size`).

    Returns:
        A float64 array whose index k - 1 holds gamma_k.
    """
    return np.array([step_size(k, C_gamma, schedule) for k in range(1, n + 1)], dtype=np.float64)


@dataclass
class AdamState:
    """The state of an adaptive rule.

    Attributes:
        m: The first moment m_k, by parameter key (empty for Adagrad).
        v: The second moment v_k, by parameter key.
        k: The step count k.
    """

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
    """The Adam direction d_k (theta_k = theta_{k-1} - gamma_k d_k); updates ``state``.

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

    Args:
        state: The moments and step count, updated in place.
        grads: g_k, by parameter key.
        betas: (b1, b2).
        eps: eps.
        variant: "torch", "delayed" or "defossez".

    Returns:
        d_k, by parameter key.
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
    """The per-coordinate factor A of an adaptive step at second moment ``v`` after ``k`` steps.

    The step is gamma_k A times a gradient average; the a-posteriori theorems take the
    extremes of A along a run (docs/theory.md, "A-posteriori preconditioned SGD"). A is
    decreasing in v: the extremes over coordinates come from the extremes of v.

    Args:
        variant: adam "torch": A = 1/(sqrt(v/(1 - b2^k)) + eps) on the bias-corrected m^_k;
            adam "delayed": A = 1/(sqrt(v_{k-1}) + eps) (pass v_{k-1}); adam "defossez":
            A = sqrt(sum_{j<k} b2^j) / sqrt(eps + v) on (1 - b1) m_k; "adagrad-defossez":
            A = 1/sqrt(eps + v); "adagrad-torch": A = 1/(sqrt(v) + eps).
        v: The second moment, a tensor or a number.
        k: The step count.
        b2: beta2 (1 for Adagrad).
        eps: eps.

    Returns:
        A, elementwise.
    """
    if variant in ("defossez", "adagrad-defossez"):
        scale = 1.0 if variant == "adagrad-defossez" else math.sqrt(_geometric_sum(b2, k))
        return scale / (v + eps) ** 0.5
    if variant == "torch":
        return 1.0 / ((v / (1.0 - b2**k)) ** 0.5 + eps)
    return 1.0 / (v**0.5 + eps)  # "delayed", "adagrad-torch"


@dataclass(frozen=True)
class SGD:
    """The plain SGD rule, d_k = g_k, and the step-rule protocol every rule follows.

    A rule has ``init(params)``: its state before the first step (params by key, R runs
    stacked); ``direction(state, grads)``: d_k by key from g_k by key, updating the state;
    ``extremes(state)``: per run, (A_min, A_max) of the factor of the step just taken
    (:func:`preconditioner_factor`), None without a preconditioner; ``state_dict(state)``:
    the state for a checkpoint, its tensors on the CPU, cloned; ``load_state_dict(saved,
    like)``: that state back, on the device and dtype of the parameters ``like``; and
    ``options()``: its options, for a checkpoint.
    """

    name = "sgd"
    needs_initial_gradient = False

    def init(self, params: Mapping[str, torch.Tensor]) -> None:
        """No state: SGD keeps none."""
        return None

    def direction(self, state: None, grads: Mapping[str, torch.Tensor]) -> Mapping[str, torch.Tensor]:
        """d_k = g_k."""
        return grads

    def extremes(self, state: None) -> None:
        """None: SGD has no preconditioner."""
        return None

    def state_dict(self, state: None) -> dict:
        """Nothing to save."""
        return {}

    def load_state_dict(self, saved: dict, like: Mapping[str, torch.Tensor]) -> None:
        """No state."""
        return None

    def options(self) -> dict:
        """No options."""
        return {}


def smallest_positive(v: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """The smallest entry > 0 of a tensor, 0 where there is none.

    A coordinate whose gradients were all 0 so far (v = 0) has not moved: it does not enter
    the extremes of the preconditioner (a-posteriori, over the coordinates the run moved).

    Args:
        v: The tensor.
        dim: The dimension to reduce (None: all).

    Returns:
        The smallest positive entry (along ``dim``).
    """
    positive = torch.where(v > 0, v, torch.full_like(v, math.inf))
    low = positive.amin() if dim is None else positive.amin(dim)
    return torch.where(torch.isinf(low), torch.zeros_like(low), low)


def _extremes(v: Mapping[str, torch.Tensor], factor) -> tuple[torch.Tensor, torch.Tensor]:
    """(A_min (R,), A_max (R,)) of ``factor(v)`` over every coordinate of each run (leading axis).

    ``factor`` is a decreasing function of v: its extremes come from the largest and the
    smallest positive v (:func:`smallest_positive`).
    """
    flat = torch.cat([t.reshape(t.shape[0], -1) for t in v.values()], 1)
    return factor(flat.amax(1)), factor(smallest_positive(flat, 1))


@dataclass(frozen=True)
class Adam:
    """:func:`adam_direction` as a step rule (the protocol of :class:`SGD`).

    Attributes:
        betas: (beta1, beta2), each in [0, 1).
        eps: eps > 0.
        variant: "torch", "delayed" or "defossez".

    Raises:
        ConfigError: A bad variant, eps or betas.
    """

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
        """Zero moments m_0 = v_0 = 0."""
        zeros = {k: torch.zeros_like(p) for k, p in params.items()}
        return AdamState(m=zeros, v={k: torch.zeros_like(p) for k, p in params.items()})

    def initialise(self, state: AdamState, grads: Mapping[str, torch.Tensor]) -> None:
        """Set v_0 = g_0^2 (the delayed variant).

        Args:
            state: The state, updated in place.
            grads: An independent gradient g_0 at theta_0, by key.
        """
        for key, g in grads.items():
            state.v[key] = (g * g).detach()

    def direction(self, state: AdamState, grads: Mapping[str, torch.Tensor]) -> Tensors:
        """The direction d_k of :func:`adam_direction`."""
        return adam_direction(state, grads, self.betas, self.eps, self.variant)

    def extremes(self, state: AdamState) -> tuple[torch.Tensor, torch.Tensor]:
        """Per run, the extremes (A_min, A_max) of the factor of the step just taken.

        The factor is :func:`preconditioner_factor`'s. The delayed variant's is built from
        v_{k-1} and the state now holds v_k: its extremes are those of the next step.
        """
        return _extremes(
            state.v, lambda v: preconditioner_factor(self.variant, v, state.k, self.betas[1], self.eps)
        )

    def state_dict(self, state: AdamState) -> dict:
        """The moments and step count ``{"m", "v", "k"}``."""
        return {
            "m": {k: t.cpu().clone() for k, t in state.m.items()},
            "v": {k: t.cpu().clone() for k, t in state.v.items()},
            "k": state.k,
        }

    def load_state_dict(self, saved: dict, like: Mapping[str, torch.Tensor]) -> AdamState:
        """The moments from a checkpoint."""
        to = {k: (p.device, p.dtype) for k, p in like.items()}
        return AdamState(
            m={k: t.to(*to[k]) for k, t in saved["m"].items()},
            v={k: t.to(*to[k]) for k, t in saved["v"].items()},
            k=int(saved["k"]),
        )

    def options(self) -> dict:
        """The rule's betas, eps and variant."""
        return {"betas": tuple(self.betas), "eps": self.eps, "variant": self.variant}


@dataclass(frozen=True)
class Adagrad:
    """Adagrad, v_k = v_{k-1} + g_k^2 (v_0 = 0), with a constant step alpha = gamma_k.

    "defossez" (Défossez et al. 2022, theory.algorithms.DEFOSSEZ_ADAGRAD):
    d_k = g_k / sqrt(eps + v_k); "torch" (torch.optim.Adagrad with lr_decay = 0,
    initial_accumulator_value = 0): d_k = g_k / (sqrt(v_k) + eps). The protocol of :class:`SGD`.

    Attributes:
        eps: eps > 0.
        variant: "defossez" or "torch".

    Raises:
        ConfigError: A bad variant or eps.
    """

    eps: float = 1e-8
    variant: str = "defossez"
    name = "adagrad"
    needs_initial_gradient = False

    def __post_init__(self) -> None:
        choice("adagrad variant (variant)", self.variant, ADAGRAD_VARIANTS)
        number("eps", self.eps)

    def init(self, params: Mapping[str, torch.Tensor]) -> AdamState:
        """A zero accumulator v_0 = 0."""
        return AdamState(m={}, v={k: torch.zeros_like(p) for k, p in params.items()})

    def direction(self, state: AdamState, grads: Mapping[str, torch.Tensor]) -> Tensors:
        """The direction d_k, updating v_k."""
        state.k += 1
        out = {}
        for key, g in grads.items():
            v = state.v[key].addcmul_(g, g)
            out[key] = g / (v + self.eps).sqrt() if self.variant == "defossez" else g / (v.sqrt() + self.eps)
        return out

    def extremes(self, state: AdamState) -> tuple[torch.Tensor, torch.Tensor]:
        """Per run, the extremes (A_min, A_max) of the factor of the step just taken."""
        kind = f"adagrad-{self.variant}"
        return _extremes(state.v, lambda v: preconditioner_factor(kind, v, state.k, 1.0, self.eps))

    def state_dict(self, state: AdamState) -> dict:
        """The accumulator and step count ``{"v", "k"}``."""
        return {"v": {k: t.cpu().clone() for k, t in state.v.items()}, "k": state.k}

    def load_state_dict(self, saved: dict, like: Mapping[str, torch.Tensor]) -> AdamState:
        """The accumulator from a checkpoint."""
        to = {k: (p.device, p.dtype) for k, p in like.items()}
        return AdamState(m={}, v={k: t.to(*to[k]) for k, t in saved["v"].items()}, k=int(saved["k"]))

    def options(self) -> dict:
        """The rule's eps and variant."""
        return {"eps": self.eps, "variant": self.variant}


def step_rule(
    optimizer: str,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    variant: str = "torch",
) -> SGD | Adam | Adagrad:
    """The step rule named ``optimizer``.

    Args:
        optimizer: One of :data:`OPTIMIZERS`.
        betas: Adam's (beta1, beta2).
        eps: The epsilon of Adam and Adagrad.
        variant: The Adam variant (:data:`ADAM_VARIANTS`) or the Adagrad one
            (:data:`ADAGRAD_VARIANTS`).

    Returns:
        The rule.

    Raises:
        ConfigError: An unknown optimizer, or a bad option.
    """
    choice("optimizer", optimizer, OPTIMIZERS)
    if optimizer == "adam":
        return Adam(tuple(float(b) for b in betas), eps, variant)
    if optimizer == "adagrad":
        return Adagrad(eps, variant)
    return SGD()
