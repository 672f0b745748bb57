"""Per-row gradients of ``nn.Linear`` and ``nn.Conv2d`` parameters from layer inputs and output gradients.

The per-layer norm trick, BackPACK-style, for a user's module: forward hooks keep every
call's input and add a zero probe to its output, one backward gives the output gradients
(docs/estimators.md, "Per-example gradients"). Linear layers with few positions use the
Gram form of the norms; otherwise, and for every convolution, the per-row gradients are
materialised, a few rows at a time for convolutions so that the unfolded patches stay
small. Whether a model's row layout suits it is checked in
:mod:`empirical.estimators.module_stats`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from empirical.estimators.per_example import RowStats, _weight_stats, stats_of_gradients

KNOWN_LAYERS = (nn.Linear, nn.Conv2d)
#: (input, output gradient) of one call of a layer
Call = tuple[torch.Tensor, torch.Tensor]
#: Unfolded patches per chunk of rows (elements): small enough to stay in cache.
PATCH_BUDGET = 1 << 20


@dataclass(frozen=True)
class Layer:
    """A Linear or Conv2d module and the names of its trainable parameters.

    Attributes:
        name: The module's name.
        module: The module.
        weight: The weight's parameter name (None: absent or frozen).
        bias: The bias's parameter name (None: absent or frozen).
    """

    name: str
    module: nn.Module
    weight: str | None
    bias: str | None

    @property
    def keys(self) -> tuple[str, ...]:
        """The names of its trainable parameters."""
        return tuple(k for k in (self.weight, self.bias) if k is not None)


def known_layers(model: nn.Module, params: dict[str, torch.Tensor]) -> list[Layer]:
    """The Linear and Conv2d modules (exact types) owning trainable parameters no other layer shares.

    Args:
        model: The module.
        params: Its trainable parameters by name.

    Returns:
        The layers.
    """
    name_of = {id(p): k for k, p in params.items()}
    found: list[Layer] = []
    for mname, mod in model.named_modules():
        if type(mod) not in KNOWN_LAYERS:
            continue
        w = name_of.get(id(mod.weight))
        b = name_of.get(id(mod.bias)) if mod.bias is not None else None
        if w is not None or b is not None:
            found.append(Layer(mname, mod, w, b))
    claims: dict[str, int] = {}
    for layer in found:
        for k in layer.keys:
            claims[k] = claims.get(k, 0) + 1
    return [layer for layer in found if all(claims[k] == 1 for k in layer.keys)]


@contextmanager
def capture(layers: list[Layer]) -> Iterator[dict[str, list[tuple[torch.Tensor, torch.Tensor]]]]:
    """Forward hooks on some layers: each call stores its input and a zero probe added to its output.

    Args:
        layers: The layers.

    Yields:
        Layer name -> [(input, probe)] of every call, filled as the model runs.
    """
    calls: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {layer.name: [] for layer in layers}

    def hook(name: str) -> Callable[..., torch.Tensor | None]:
        def record(mod: nn.Module, args: tuple, kwargs: dict, output: torch.Tensor) -> torch.Tensor | None:
            x = args[0] if args else kwargs.get("input")
            if not isinstance(x, torch.Tensor) or not output.requires_grad:
                return None
            probe = torch.zeros_like(output, requires_grad=True)
            calls[name].append((x.detach(), probe))
            return output + probe

        return record

    handles = [layer.module.register_forward_hook(hook(layer.name), with_kwargs=True) for layer in layers]
    try:
        yield calls
    finally:
        for h in handles:
            h.remove()


def output_grads(
    total: torch.Tensor,
    layers: list[Layer],
    calls: dict[str, list[tuple[torch.Tensor, torch.Tensor]]],
    retain_graph: bool = False,
) -> dict[str, list[Call]]:
    """The input and output gradient of every call of every layer.

    Args:
        total: The scalar to differentiate (the sum of the losses).
        layers: The layers.
        calls: What :func:`capture` stored.
        retain_graph: Keep the graph for more gradients.

    Returns:
        Layer name -> [(input, d total / d output)] (zeros where the output is unused).
    """
    probes = [p for layer in layers for _, p in calls[layer.name]]
    grads = torch.autograd.grad(total, probes, retain_graph=retain_graph, allow_unused=True) if probes else ()
    it = iter(grads)
    out: dict[str, list[Call]] = {}
    for layer in layers:
        out[layer.name] = []
        for x, probe in calls[layer.name]:
            d = next(it)
            out[layer.name].append((x, torch.zeros_like(probe) if d is None else d))
    return out


def layer_stats(layer: Layer, calls: list[Call], n: int, J: int) -> dict[str, RowStats] | None:
    """:class:`RowStats` of a layer's parameters over R = n J rows (example-major, J draws each).

    Args:
        layer: The layer.
        calls: Its calls (input, output gradient).
        n: The examples.
        J: The draws per example.

    Returns:
        Parameter name -> statistics; None when a call's shape does not split into R row blocks.
    """
    R = n * J
    mod = layer.module
    if isinstance(mod, nn.Linear) and layer.weight is not None and calls:
        rows = _linear_rows(calls, R)
        if rows is None:
            return None
        a, d = rows
        T, fan_in, fan_out = a.shape[1], a.shape[2], d.shape[2]
        if T == 1 or T * (fan_in + fan_out) <= fan_in * fan_out:  # Gram form: no (R, out, in) tensor
            a4, d4 = a.reshape(n, J, T, fan_in), d.reshape(n, J, T, fan_out)
            out = {layer.weight: RowStats(*_as_stats(_weight_stats(a4, d4, J)))}
            if layer.bias is not None:
                out[layer.bias] = stats_of_gradients(d.sum(1).reshape(n, J, -1))
            return out
    grads = row_grads(layer, calls, R)
    if grads is None:
        return None
    return {k: stats_of_gradients(g.reshape(n, J, *g.shape[1:])) for k, g in grads.items()}


def _as_stats(parts: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    sq_draw, sq_mean, dot_mean, grand = parts
    return sq_draw, sq_mean, dot_mean, float(grand)


def row_grads(layer: Layer, calls: list[Call], R: int) -> dict[str, torch.Tensor] | None:
    """Materialised per-row gradients (R, *shape) of a layer's parameters, summed over calls.

    Args:
        layer: The layer.
        calls: Its calls (input, output gradient).
        R: The rows.

    Returns:
        Parameter name -> gradients; None when a call's shape does not split into R row blocks.
    """
    mod = layer.module
    out: dict[str, torch.Tensor] | None = None
    for x, d in calls:
        if isinstance(mod, nn.Conv2d):
            part = _conv_row_grads(layer, x, d, R)
        else:
            part = _linear_row_grads(layer, x, d, R)
        if part is None:
            return None
        out = part if out is None else {k: out[k] + g for k, g in part.items()}
    if out is None:  # never called: the gradient is 0
        return {k: torch.zeros(R, *p.shape, dtype=p.dtype) for k, p in _own(layer).items()}
    return out


def _own(layer: Layer) -> dict[str, torch.Tensor]:
    mod = layer.module
    own = {}
    if layer.weight is not None:
        own[layer.weight] = mod.weight
    if layer.bias is not None:
        own[layer.bias] = mod.bias
    return own


def _linear_rows(calls: list[Call], R: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Inputs (R, T, in) and output gradients (R, T, out), positions of all calls concatenated."""
    a_parts, d_parts = [], []
    for x, d in calls:
        a, g = x.reshape(-1, x.shape[-1]), d.reshape(-1, d.shape[-1])
        if a.shape[0] % R:
            return None
        a_parts.append(a.reshape(R, -1, a.shape[-1]))
        d_parts.append(g.reshape(R, -1, g.shape[-1]))
    if len(a_parts) == 1:
        return a_parts[0], d_parts[0]
    return torch.cat(a_parts, 1), torch.cat(d_parts, 1)


def _linear_row_grads(
    layer: Layer, x: torch.Tensor, d: torch.Tensor, R: int
) -> dict[str, torch.Tensor] | None:
    rows = _linear_rows([(x, d)], R)
    if rows is None:
        return None
    a, g = rows
    out = {}
    if layer.weight is not None:
        out[layer.weight] = torch.bmm(g.transpose(1, 2), a)
    if layer.bias is not None:
        out[layer.bias] = g.sum(1)
    return out


def _conv_row_grads(layer: Layer, x: torch.Tensor, d: torch.Tensor, R: int) -> dict[str, torch.Tensor] | None:
    """Per-row weight gradient sum_t d_t a_t^T over the patches of each row's images."""
    mod: nn.Conv2d = layer.module  # type: ignore[assignment]
    if x.ndim != 4 or x.shape[0] % R:
        return None
    per = x.shape[0] // R  # images per row
    D = d.reshape(R, per, d.shape[1], -1)  # (R, per, out, L)
    out: dict[str, torch.Tensor] = {}
    if layer.bias is not None:
        out[layer.bias] = D.sum((1, 3))
    if layer.weight is not None:
        if mod.groups == 1 and mod.stride == (1, 1):
            g = _correlate(mod, x, d)
        else:
            g = _unfolded_products(mod, x, D)
        out[layer.weight] = g.reshape(R, per, *mod.weight.shape).sum(1)
    return out


def _correlate(mod: nn.Conv2d, x: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Stride 1, one group: the weight gradient of every image by one convolution.

    grad_W[n, o, c, i, j] = sum_{y,x} d[n, o, y, x] xpad[n, c, y + dl i, x + dl j], one convolution
    over all images at once (images as groups, channels as the batch).
    """
    x, padding = _padded(mod, x)
    N, C = x.shape[:2]
    c_out, kh, kw = d.shape[1], *mod.kernel_size
    kernel = d.reshape(N * c_out, 1, *d.shape[2:])
    g = F.conv2d(x.transpose(0, 1), kernel, padding=padding, stride=mod.dilation, groups=N)
    return g[..., :kh, :kw].reshape(C, N, c_out, kh, kw).permute(1, 2, 0, 3, 4)


def _unfolded_products(mod: nn.Conv2d, x: torch.Tensor, D: torch.Tensor) -> torch.Tensor:
    """Any stride and groups: d (out, L) @ patches (L, C k k) per image, a few rows at a time."""
    R, per, c_out, L = D.shape
    groups = mod.groups
    fan_in = mod.weight[0].numel()  # (C / groups) k_h k_w
    og = c_out // groups
    grad = torch.empty(R * per, c_out, fan_in, dtype=D.dtype)
    step = max(1, PATCH_BUDGET // (per * fan_in * groups * L))
    for start in range(0, R, step):
        stop = min(R, start + step)
        patches = _unfold(mod, x[start * per : stop * per])  # (c per, C k k, L)
        Dc = D[start:stop].reshape(-1, c_out, L)
        for gi in range(groups):
            a = patches[:, gi * fan_in : (gi + 1) * fan_in]
            grad[start * per : stop * per, gi * og : (gi + 1) * og] = torch.bmm(
                Dc[:, gi * og : (gi + 1) * og], a.transpose(1, 2)
            )
    return grad


def _padded(mod: nn.Conv2d, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...] | int]:
    """Input padded explicitly where the layer's padding is a string or not zeros.

    Returns the padded input and the padding left for the convolution / unfold.
    """
    if isinstance(mod.padding, str) or mod.padding_mode != "zeros":
        mode = "constant" if mod.padding_mode == "zeros" else mod.padding_mode
        return F.pad(x, mod._reversed_padding_repeated_twice, mode=mode), 0
    return x, mod.padding


def _unfold(mod: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """Patches (N, C k_h k_w, L) in the channel-major order of the weight's flattening."""
    x, padding = _padded(mod, x)
    return F.unfold(x, mod.kernel_size, dilation=mod.dilation, padding=padding, stride=mod.stride)
