"""The adaptive algorithms Défossez et al. (2022) analyse, as ``torch.optim`` optimizers.

For your own training loop: ``torch.optim.Adam`` is not the algorithm of their
theorem (it bias-corrects both moments and puts eps outside the square root). With
:class:`DefossezAdam` (or :class:`DefossezAdagrad`) in your loop, ``empirical.track``
reports the theorem's ``algorithm`` assumption as holding (docs/theory.md, "The
analysed algorithms")::

    opt = DefossezAdam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch

from empirical.errors import ConfigError
from empirical.train.step_rules import Adagrad, AdamState, adam_direction, preconditioner_factor


def _number(name: str, value: Any, lo: float, hi: float, lo_open: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    ok = ok and (lo < value if lo_open else lo <= value) and value < hi
    if not ok:
        left = "(" if lo_open else "["
        raise ConfigError(f"option {name} must be a number in {left}{lo:g}, {hi:g}), got {value!r}")
    return float(value)


class _Analysed(torch.optim.Optimizer):
    """A step rule of :mod:`empirical.train.step_rules` applied to each parameter.

    The optimizer keeps its per-parameter state (``step``, ``v`` and, for Adam, ``m``) in ``self.state``.
    """

    def _direction(self, group: dict, grad: torch.Tensor, state: AdamState) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """One step of every parameter with a gradient.

        Args:
            closure: Reevaluates the model and returns the loss (optional, as torch's).

        Returns:
            The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if not st:
                    st.update(step=0, m=torch.zeros_like(p), v=torch.zeros_like(p))
                state = AdamState(m={"p": st["m"]}, v={"p": st["v"]}, k=st["step"])
                d = self._direction(group, p.grad, state)
                st["step"] = state.k
                p.sub_(d, alpha=group["lr"])
        return loss


class DefossezAdam(_Analysed):
    """Adam exactly as analysed by Défossez, Bottou, Bach, Usunier (TMLR 2022).

    No bias correction, eps inside the square root: per coordinate, with m_0 = v_0 = 0,
    m_k = beta1 m_{k-1} + g_k, v_k = beta2 v_{k-1} + g_k^2 and theta_k = theta_{k-1} -
    lr (1 - beta1) sqrt(sum_{j<k} beta2^j) m_k / sqrt(eps + v_k)
    (:data:`theory.algorithms.DEFOSSEZ_ADAM`; the update is
    :func:`empirical.train.step_rules.adam_direction`).

    Args:
        params: The parameters (or parameter groups) to optimize.
        lr: Their alpha, > 0.
        betas: (beta1, beta2), each in [0, 1).
        eps: eps > 0, inside the square root.

    Raises:
        ConfigError: A bad lr, betas or eps.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        if not (isinstance(betas, tuple | list) and len(betas) == 2):
            raise ConfigError(f"option betas must be a pair (beta1, beta2), got {betas!r}")
        defaults = {
            "lr": _number("lr", lr, 0.0, float("inf"), lo_open=True),
            "betas": (_number("betas[0]", betas[0], 0.0, 1.0), _number("betas[1]", betas[1], 0.0, 1.0)),
            "eps": _number("eps", eps, 0.0, float("inf"), lo_open=True),
        }
        super().__init__(params, defaults)

    def _direction(self, group: dict, grad: torch.Tensor, state: AdamState) -> torch.Tensor:
        return adam_direction(state, {"p": grad}, group["betas"], group["eps"], "defossez")["p"]


class DefossezAdagrad(_Analysed):
    """Adagrad exactly as analysed by Défossez et al. (2022).

    v_k = v_{k-1} + g_k^2, theta_k = theta_{k-1} - lr g_k / sqrt(eps + v_k), a constant step
    lr (their alpha); ``torch.optim.Adagrad(lr, lr_decay=0, initial_accumulator_value=eps,
    eps=0)`` is the same (:data:`theory.algorithms.DEFOSSEZ_ADAGRAD`).

    Args:
        params: The parameters (or parameter groups) to optimize.
        lr: Their alpha, > 0.
        eps: eps > 0, inside the square root.

    Raises:
        ConfigError: A bad lr or eps.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, eps: float = 1e-8) -> None:
        defaults = {
            "lr": _number("lr", lr, 0.0, float("inf"), lo_open=True),
            "eps": _number("eps", eps, 0.0, float("inf"), lo_open=True),
        }
        super().__init__(params, defaults)

    def _direction(self, group: dict, grad: torch.Tensor, state: AdamState) -> torch.Tensor:
        return Adagrad(group["eps"], "defossez").direction(state, {"p": grad})["p"]


def _second_moment(optimizer: torch.optim.Optimizer) -> tuple[str, str, float, float] | None:
    """(state key of v, preconditioner_factor kind, beta2, eps) of a known adaptive optimizer."""
    group = optimizer.param_groups[0]
    if isinstance(optimizer, DefossezAdam):
        return "v", "defossez", group["betas"][1], group["eps"]
    if isinstance(optimizer, DefossezAdagrad):
        return "v", "adagrad-defossez", 1.0, group["eps"]
    if type(optimizer) is torch.optim.Adam:
        return "exp_avg_sq", "torch", group["betas"][1], group["eps"]
    if type(optimizer) is torch.optim.Adagrad:
        return "sum", "adagrad-torch", 1.0, group["eps"]
    return None


def second_moment_extremes(
    optimizer: torch.optim.Optimizer,
) -> tuple[str, int, float, float, torch.Tensor] | None:
    """The extremes of the second moment v of a known adaptive optimizer, read from its state.

    Known: :class:`DefossezAdam`, :class:`DefossezAdagrad`, ``torch.optim.Adam`` and
    ``torch.optim.Adagrad``.

    Args:
        optimizer: The optimizer.

    Returns:
        (kind, step k, beta2, eps, tensor [largest v, smallest v > 0 (inf if none)]) over
        every coordinate of every parameter; None for another optimizer or before its
        first step. The tensor is not read (no synchronisation).
    """
    known = _second_moment(optimizer)
    if known is None:
        return None
    key, kind, b2, eps = known
    vs = [st[key].reshape(-1) for st in optimizer.state.values() if key in st]
    if not vs:
        return None
    step = next(iter(optimizer.state.values())).get("step", 1)
    k = int(step.item() if isinstance(step, torch.Tensor) else step)
    if k < 1:
        return None
    with torch.no_grad():
        v = torch.cat(vs) if len(vs) > 1 else vs[0]
        ends = torch.stack([v.max(), torch.where(v > 0, v, math.inf).amin()])
    return kind, k, b2, eps, ends


def factor_range(
    kind: str, k: int, b2: float, eps: float, largest: float, smallest: float
) -> tuple[float, float]:
    """The smallest and largest preconditioner factor A from the extremes of v.

    Args:
        kind: The :func:`empirical.train.step_rules.preconditioner_factor` kind.
        k: The step.
        b2: beta2.
        eps: eps.
        largest: The largest v.
        smallest: The smallest positive v (inf when none: a coordinate the run never
            moved, v = 0, is left out; none moved: the factor at v = 0).

    Returns:
        (smallest, largest) factor.
    """
    smallest = 0.0 if math.isinf(smallest) else smallest
    return (float(preconditioner_factor(kind, largest, k, b2, eps)),
            float(preconditioner_factor(kind, smallest, k, b2, eps)))  # fmt: skip


def preconditioner_extremes(optimizer: torch.optim.Optimizer) -> tuple[float, float] | None:
    """The extremes of the preconditioner's factor A of the step just taken.

    Over every coordinate of every parameter the run has moved (v > 0;
    :func:`empirical.train.step_rules.preconditioner_factor`); the a-posteriori theorems
    measure them along the run.

    Args:
        optimizer: The optimizer.

    Returns:
        (smallest, largest) factor A, read from the optimizer's state; None for an
        optimizer without a known preconditioner or before its first step.
    """
    got = second_moment_extremes(optimizer)
    if got is None:
        return None
    kind, k, b2, eps, ends = got
    return factor_range(kind, k, b2, eps, *ends.tolist())


__all__ = ["DefossezAdagrad", "DefossezAdam", "preconditioner_extremes", "second_moment_extremes"]
