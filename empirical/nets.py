"""Functional building blocks of the VAEs: linear layers, activations, MLPs.

Parameters live in a plain ``dict[str, Tensor]``; nothing here holds state, so
``torch.func.grad``/``vmap``/``jvp`` see every dependence on the parameters. Linear
layers take a ``recorder`` for per-example gradient norms computed BackPACK-style
from layer inputs and output gradients (:meth:`LinearLayer.__call__`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from empirical.softclip import in_second_order, softclip_node
from theory.models.softclip import DEFAULT_S, HIDDEN_BOUNDS

Params = Mapping[str, torch.Tensor]
#: ``recorder(weight_key, bias_key, inputs, pre) -> pre`` (see module docstring).
Recorder = Callable[[str, str, torch.Tensor, torch.Tensor], torch.Tensor]

ACTIVATIONS = ("softclip", "relu")


def softclip(
    x: torch.Tensor, s: float = DEFAULT_S, bounds: tuple[float, float] = HIDDEN_BOUNDS
) -> torch.Tensor:
    """The soft-clip f(x) = (1/s) log((1 + e^{s(x-s1)}) / (1 + e^{s(x-s2)})) + s1.

    Written as ``softplus_s(x - s1) - softplus_s(x - s2) + s1`` with
    ``softplus_s(y) = log(1 + e^{s y}) / s`` (torch's stable softplus), so no exponential
    overflows. Maps R into (s1, s2), 1-Lipschitz, |f''| <= s/4 (theory.models.softclip).
    Far from the bounds the difference of two large softplus values can round one ulp past
    s1 or s2; a final clamp (identity in exact arithmetic) keeps the range exact. It is
    applied as a correction outside the autograd graph, so the gradient is that of the
    formula (sigma(s(x - s1)) - sigma(s(x - s2)), about 0 where the clamp acts) and the
    backward pass skips the clamp's mask, which costs a third of the layer. Inside
    :func:`empirical.softclip.second_order` (a gradient's graph that Hessian-vector
    products will differentiate) the same function is one autograd node with its first and
    second derivatives (:mod:`empirical.softclip`).

    Args:
        x: The pre-activations.
        s: The sharpness s > 0.
        bounds: (s1, s2), s1 < s2.

    Returns:
        f(x), elementwise, in [s1, s2].
    """
    s1, s2 = bounds
    if in_second_order():
        return softclip_node(x, s, s1, s2)
    y = F.softplus(x - s1, beta=s) - F.softplus(x - s2, beta=s) + s1
    return y + (y.detach().clamp(s1, s2) - y.detach())


@dataclass(frozen=True)
class Activation:
    """An elementwise hidden-layer activation.

    Attributes:
        name: ``"softclip"`` or ``"relu"``.
        s: The soft-clip's sharpness.
        bounds: The soft-clip's range (s1, s2).
    """

    name: str = "softclip"
    s: float = DEFAULT_S
    bounds: tuple[float, float] = HIDDEN_BOUNDS

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The activation of ``x``, elementwise.

        Args:
            x: The pre-activations.

        Returns:
            softclip(x) or relu(x).
        """
        if self.name == "softclip":
            return softclip(x, self.s, self.bounds)
        return torch.relu(x)

    def clip(self, x: torch.Tensor, bounds: tuple[float, float]) -> torch.Tensor:
        """Soft-clip an output head to some bounds (identity for ReLU networks).

        Args:
            x: The head's pre-activations.
            bounds: The head's range (s1, s2).

        Returns:
            The clipped head.
        """
        if self.name == "softclip":
            return softclip(x, self.s, bounds)
        return x


@dataclass(frozen=True)
class LinearLayer:
    """An affine layer ``pre = inputs @ W.T + b`` with W of shape (fan_out, fan_in).

    Attributes:
        weight_key: The name of W in the parameter dict.
        bias_key: The name of b.
        fan_in: The input width.
        fan_out: The output width.
    """

    weight_key: str
    bias_key: str
    fan_in: int
    fan_out: int

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """The shapes of W and b, by key."""
        return {self.weight_key: (self.fan_out, self.fan_in), self.bias_key: (self.fan_out,)}

    def init(self, generator: torch.Generator, dtype: torch.dtype) -> dict[str, torch.Tensor]:
        """PyTorch's default initialisation: W, b ~ Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)).

        Args:
            generator: The random generator.
            dtype: The parameters' dtype (drawn in float64 first).

        Returns:
            Key -> tensor, for W and b.
        """
        bound = 1.0 / math.sqrt(self.fan_in)
        out = {}
        for key, shape in self.shapes.items():
            u = torch.rand(shape, generator=generator, dtype=torch.float64)
            out[key] = ((2.0 * u - 1.0) * bound).to(dtype)
        return out

    def __call__(
        self, params: Params, inputs: torch.Tensor, recorder: Recorder | None = None
    ) -> torch.Tensor:
        """The layer's pre-activations, ``pre = inputs @ W.T + b``, passed through the recorder.

        Recorder protocol: if a ``recorder`` is given the layer continues with
        ``recorder(weight_key, bias_key, inputs, pre)``. ``inputs`` always has the example index
        as its leading dimension: shape ``(B, in)`` for encoder layers and ``(B, K, in)`` for
        decoder layers (one row per variational sample). A recorder typically stores
        ``inputs`` and returns ``pre + probe`` with a zero ``probe`` that requires grad, so that
        ``d loss / d probe`` is the gradient with respect to the layer output; the per-example
        weight gradient of example ``i`` is then ``sum_k outer(dpre[i, k], inputs[i, k])`` and
        the bias gradient ``sum_k dpre[i, k]``. A model lists its layers in
        ``model.linear_layers`` (pairs ``(weight_key, bias_key)``); any parameter outside a
        linear layer is listed in ``model.other_keys``. A parameter is used by exactly one layer.

        Args:
            params: The parameters.
            inputs: The layer's inputs, example index first.
            recorder: The recorder, or None.

        Returns:
            The pre-activations (as the recorder returns them).
        """
        pre = F.linear(inputs, params[self.weight_key], params[self.bias_key])
        if recorder is not None:
            pre = recorder(self.weight_key, self.bias_key, inputs, pre)
        return pre


@dataclass(frozen=True)
class MLP:
    """Hidden layers ``h_j = act(W_j h_{j-1} + b_j)``.

    Attributes:
        layers: The linear layers.
        activation: The activation after each.
    """

    layers: tuple[LinearLayer, ...]
    activation: Activation

    def __call__(
        self, params: Params, inputs: torch.Tensor, recorder: Recorder | None = None
    ) -> torch.Tensor:
        """The last hidden state of the MLP.

        Args:
            params: The parameters.
            inputs: The network's inputs.
            recorder: The recorder passed to every layer (:meth:`LinearLayer.__call__`), or None.

        Returns:
            h_N, the last hidden state.
        """
        h = inputs
        for layer in self.layers:
            h = self.activation(layer(params, h, recorder))
        return h


def chain(prefix: str, widths: tuple[int, ...]) -> tuple[LinearLayer, ...]:
    """Linear layers ``prefix{j}.weight``/``prefix{j}.bias`` mapping widths[j] -> widths[j+1].

    Args:
        prefix: The keys' prefix.
        widths: The widths, input first.

    Returns:
        The layers.
    """
    return tuple(
        LinearLayer(f"{prefix}{j}.weight", f"{prefix}{j}.bias", widths[j], widths[j + 1])
        for j in range(len(widths) - 1)
    )
