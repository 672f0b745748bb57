"""Per-example gradient statistics for the nested variance estimator.

:class:`RowStats` holds everything the variance, SNR and gradient-bound estimators need,
additive over parameter blocks; two backends compute it, one the brute-force twin of the
other (docs/estimators.md, "Per-example gradients").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from empirical.errors import ConfigError, LossError
from empirical.estimators.results import Params, check_finite, check_params, check_scalar, with_gradient

#: ``loss(params, x, eps) -> scalar``: one example under one noise draw (eps may be None).
ExampleLoss = Callable[[Params, torch.Tensor, torch.Tensor | None], torch.Tensor]


@dataclass(frozen=True)
class RowStats:
    """Per-example sufficient statistics of the gradients (float64), sums over coordinates.

    n examples x_i, J noise draws each, g_ij the gradients, gbar_i = (1/J) sum_j g_ij,
    G = (1/n) sum_i gbar_i.

    Attributes:
        sq_draw: (n, J) ||g_ij||^2.
        sq_mean: (n,) ||gbar_i||^2.
        dot_mean: (n,) <gbar_i, G>.
        grand_sq: ||G||^2.
    """

    sq_draw: torch.Tensor  # (n, J)
    sq_mean: torch.Tensor  # (n,)
    dot_mean: torch.Tensor  # (n,)
    grand_sq: float

    @property
    def n(self) -> int:
        """The examples n."""
        return int(self.sq_draw.shape[0])

    @property
    def J(self) -> int:
        """The draws per example J."""
        return int(self.sq_draw.shape[1])


@contextmanager
def own_noise_refused() -> Iterator[None]:
    """Turn torch.func.vmap's error for a loss that draws its own random numbers into a LossError.

    Raises:
        LossError: ``loss(params, x, eps)`` called a random operation inside vmap.
    """
    try:
        yield
    except RuntimeError as err:
        if "random operation while in randomness error mode" not in str(err):
            raise
        raise LossError(
            "loss(params, x, eps) draws its own random numbers (e.g. torch.randn or dropout inside it): it "
            "must be the loss of ONE example x under ONE noise draw eps, deterministic given eps; take "
            "the noise through the eps argument and pass noise=..., a function noise(generator) that "
            "draws one eps from the generator"
        ) from err


def check_first_example(loss: ExampleLoss, params: Params, x: torch.Tensor, eps: torch.Tensor | None) -> None:
    """The loss of one example, checked before any transform: a finite scalar with a gradient.

    Args:
        loss: ``loss(params, x, eps)``.
        params: The point (detached).
        x: One example.
        eps: Its noise, or None.

    Raises:
        LossError: Not a finite scalar, or no gradient with respect to params (detached, a float):
            torch.func.grad would give 0 for it without a word.
    """
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    with torch.enable_grad():  # the torch.func transforms differentiate under an outer no_grad too
        with_gradient(check_scalar(loss(leaves, x, eps), "loss(params, x, eps)"), "loss(params, x, eps)")


def check_dtypes(params: Params, data: torch.Tensor, eps: torch.Tensor | None = None) -> None:
    """Floating data and noise in a dtype of the params (torch refuses e.g. a float32 @ float64 product).

    Integer data (e.g. indices) is left alone.

    Args:
        params: The point.
        data: The rows.
        eps: The noise draws, or None.

    Raises:
        ConfigError: Naming both dtypes and the conversion that fixes it.
    """
    have = sorted({str(v.dtype) for v in params.values()})
    want = next(v.dtype for v in params.values())
    for name, t, fix in (
        ("data", data, f"pass data.to({want})"),
        ("noise(generator)", eps, f"draw eps in {want} (e.g. torch.randn(..., generator=g, dtype={want}))"),
    ):
        if t is not None and t.is_floating_point() and str(t.dtype) not in have:
            raise ConfigError(
                f"{name} has dtype {t.dtype} but params have dtype {', '.join(have)}: the loss would mix "
                f"them; {fix}, or give params in {t.dtype}"
            )


def combine(stats: Mapping[str, RowStats], keys: Iterable[str] | None = None) -> RowStats:
    """Sum the statistics of some parameter blocks.

    Args:
        stats: Parameter name -> statistics.
        keys: The blocks (default all).

    Returns:
        The statistics of their concatenation.

    Raises:
        ConfigError: No key, or an unknown one.
    """
    keys = list(stats) if keys is None else list(keys)
    if not keys:
        raise ConfigError("no parameter keys to combine")
    missing = [k for k in keys if k not in stats]
    if missing:
        raise ConfigError(f"unknown parameter keys: {missing}")
    parts = [stats[k] for k in keys]
    return RowStats(
        sum(p.sq_draw for p in parts),
        sum(p.sq_mean for p in parts),
        sum(p.dot_mean for p in parts),
        float(sum(p.grand_sq for p in parts)),
    )


def per_example_gradients(
    loss: ExampleLoss, params: Params, X: torch.Tensor, eps: torch.Tensor | None = None
) -> Params:
    """Materialised per-row gradients of ``loss(params, X[r], eps[r])``.

    Every row gets its own copy of the parameters (one expanded tensor per key, no copy
    made), ``torch.func.vmap`` evaluates row r's loss at copy r, and one backward pass of
    their sum gives, copy by copy, each row's gradient (as ``vmap(grad(loss))`` would,
    without ``torch.func.grad``, whose first call imports torch._dynamo: about as long as
    importing torch).

    Args:
        loss: ``loss(params, x, eps)``.
        params: The point.
        X: The rows.
        eps: Each row's noise, or None (deterministic loss).

    Returns:
        ``{k: (n, *shape)}``.

    Raises:
        LossError: A loss that draws its own random numbers or carries no gradient (detached), or a
            loss or gradient that is not finite.
    """
    params = check_params(params)
    detached = {k: v.detach() for k, v in params.items()}
    check_first_example(loss, detached, X[0], None if eps is None else eps[0])
    n = int(X.shape[0])
    copies = {k: v.expand(n, *v.shape).requires_grad_(True) for k, v in detached.items()}

    def scalar(p: Params, x: torch.Tensor, e: torch.Tensor | None) -> torch.Tensor:
        return loss(p, x, e).reshape(())

    in_dims = (0, 0, None if eps is None else 0)
    with own_noise_refused():
        losses = torch.func.vmap(scalar, in_dims=in_dims)(copies, X, eps)
    grads = dict(
        zip(copies, torch.autograd.grad(losses.sum(), list(copies.values()), allow_unused=True), strict=True)
    )
    grads = {k: torch.zeros_like(copies[k]) if g is None else g for k, g in grads.items()}
    check_finite(grads, "per-example gradient")
    return grads


def vmap_row_stats(
    loss: ExampleLoss,
    params: Params,
    X: torch.Tensor,
    eps: torch.Tensor | None,
    chunk_size: int = 64,
) -> dict[str, RowStats]:
    """:class:`RowStats` per parameter from materialised per-(example, draw) gradients.

    Args:
        loss: ``loss(params, x, eps)``.
        params: The point.
        X: (n, ...) the examples.
        eps: (n, J, ...) their noise, or None (then J = 1).
        chunk_size: The examples per call.

    Returns:
        Parameter name -> statistics.

    Raises:
        ConfigError: chunk_size < 1.
    """
    if chunk_size < 1:
        raise ConfigError(f"chunk_size must be >= 1, got {chunk_size}")
    n = X.shape[0]
    J = 1 if eps is None else int(eps.shape[1])
    sq_draw: dict[str, list[torch.Tensor]] = {k: [] for k in params}
    gbar: dict[str, list[torch.Tensor]] = {k: [] for k in params}
    for start in range(0, n, chunk_size):
        Xc = X[start : start + chunk_size]
        c = Xc.shape[0]
        rows_X = Xc.repeat_interleave(J, 0)
        rows_eps = None if eps is None else eps[start : start + c].reshape(c * J, *eps.shape[2:])
        grads = per_example_gradients(loss, params, rows_X, rows_eps)
        for k, g in grads.items():
            g = g.reshape(c, J, -1).to(torch.float64)
            sq_draw[k].append((g * g).sum(-1))
            gbar[k].append(g.mean(1))
    out = {}
    for k in params:
        gb = torch.cat(gbar[k])
        G = gb.mean(0)
        out[k] = RowStats(torch.cat(sq_draw[k]), (gb * gb).sum(-1), gb @ G, float(G @ G))
    return out


def stats_of_gradients(g: torch.Tensor) -> RowStats:
    """:class:`RowStats` of the materialised gradients of one parameter block.

    Args:
        g: (n, J, ...) gradients.

    Returns:
        Their statistics.
    """
    g = g.reshape(g.shape[0], g.shape[1], -1).to(torch.float64)
    gbar = g.mean(1)
    G = gbar.mean(0)
    return RowStats((g * g).sum(-1), (gbar * gbar).sum(-1), gbar @ G, float(G @ G))


def _weight_stats(a: torch.Tensor, d: torch.Tensor, J: int) -> tuple[torch.Tensor, ...]:
    """Weight-gradient statistics from inputs ``a`` (n, J, T, in) and output grads ``d`` (n, J, T, out).

    Row (i, j) gradient = sum_t d[i,j,t] a[i,j,t]^T; gbar_i = (1/J) sum_{j,t} d a^T;
    G = (1/(nJ)) sum_{i,j,t} d a^T and <gbar_i, G> = (1/J) sum_{j,t} d^T G a.
    Returns (sq_draw (n, J), sq_mean (n,), dot_mean (n,), grand_sq).
    """
    n, _, T, fan_in = a.shape
    fan_out = d.shape[-1]
    sq_draw = _sq_norm_of_sum(a, d)
    if J == 1:
        sq_mean = sq_draw[:, 0]
    else:
        am, dm = a.reshape(n, 1, J * T, fan_in), d.reshape(n, 1, J * T, fan_out)
        sq_mean = _sq_norm_of_sum(am, dm)[:, 0] / J**2
    a2, d2 = a.reshape(-1, fan_in), d.reshape(-1, fan_out)  # plain 2-D matmuls: fastest on CPU
    G = (d2.T @ a2) / (n * J)
    dot_mean = ((a2 @ G.T) * d2).sum(-1).reshape(n, J * T).sum(-1).to(torch.float64) / J
    return sq_draw, sq_mean, dot_mean, float(G.to(torch.float64).pow(2).sum())


def _sq_norm_of_sum(a: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """``||sum_t d[..., t, :] a[..., t, :]^T||_F^2`` over the last-but-one axis, in float64.

    Gram form ``sum_{t,s} (a_t . a_s)(d_t . d_s)`` costs T^2 (in + out); the
    materialised outer product costs T in out; the cheaper one is used.
    """
    T, fan_in, fan_out = a.shape[-2], a.shape[-1], d.shape[-1]
    if T == 1:
        return (a.pow(2).sum((-1, -2)) * d.pow(2).sum((-1, -2))).to(torch.float64)
    if T * (fan_in + fan_out) <= fan_in * fan_out:
        gram = (a @ a.transpose(-1, -2)) * (d @ d.transpose(-1, -2))
        return gram.sum((-1, -2)).to(torch.float64)
    g = d.transpose(-1, -2) @ a  # (..., out, in)
    return g.pow(2).sum((-1, -2)).to(torch.float64)


def recorder_row_stats(
    model: object, params: Params, X: torch.Tensor, eps: torch.Tensor
) -> dict[str, RowStats]:
    """:class:`RowStats` per parameter by the recorder protocol (BackPACK-style norms).

    Args:
        model: A model with ``batch_losses(params, X, eps, recorder)``, ``linear_layers`` and
            ``other_keys`` (:meth:`empirical.nets.LinearLayer.__call__`).
        params: The point.
        X: (n, ...) the examples.
        eps: (n, J, K, latent) their noise.

    Returns:
        Parameter name -> statistics (the parameters outside linear layers by vmap).

    Raises:
        LossError: Losses of the wrong shape or not finite, a layer the recorder never saw, or
            a parameter in no layer and not in ``other_keys``.
    """
    # Finiteness is checked once on the results; the culprit is looked for only on failure.
    params = {k: v.detach() for k, v in check_params(params, finite=False).items()}
    n, J = int(eps.shape[0]), int(eps.shape[1])
    rows_X = X.repeat_interleave(J, 0)
    rows_eps = eps.reshape(n * J, *eps.shape[2:])
    store: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def recorder(weight_key: str, bias_key: str, inputs: torch.Tensor, pre: torch.Tensor) -> torch.Tensor:
        probe = torch.zeros_like(pre, requires_grad=True)
        store[weight_key] = (inputs.detach(), probe)
        return pre + probe

    losses = model.batch_losses(params, rows_X, rows_eps, recorder=recorder)
    if losses.shape != (n * J,):
        raise LossError(f"batch_losses must return shape ({n * J},), got {tuple(losses.shape)}")
    if not torch.isfinite(losses).all():
        check_params(params)  # names a non-finite parameter if there is one
        check_finite(losses, "per-example loss")
    layers = list(model.linear_layers)
    absent = [w for w, _ in layers if w not in store]
    if absent:
        raise LossError(f"recorder never saw the linear layers {absent}")
    probes = [store[w][1] for w, _ in layers]
    deltas = torch.autograd.grad(losses.sum(), probes) if probes else ()
    out: dict[str, RowStats] = {}
    for (wk, bk), delta in zip(layers, deltas, strict=True):
        a = store[wk][0]
        a4 = a.reshape(n, J, -1, a.shape[-1])
        d4 = delta.reshape(n, J, -1, delta.shape[-1])
        sq_draw, sq_mean, dot_mean, grand = _weight_stats(a4, d4, J)
        out[wk] = RowStats(sq_draw, sq_mean, dot_mean, grand)
        out[bk] = stats_of_gradients(d4.sum(2))  # (n, J, out): bias gradient per row
    other = list(getattr(model, "other_keys", ()))
    if other:

        def sub_loss(sub: Params, x: torch.Tensor, e: torch.Tensor | None) -> torch.Tensor:
            return model.loss({**params, **sub}, x, e)

        out.update(vmap_row_stats(sub_loss, {k: params[k] for k in other}, X, eps))
    if not math.isfinite(sum(float(s.sq_draw.sum()) for s in out.values())):
        for (wk, _), delta in zip(layers, deltas, strict=True):
            check_finite(delta, f"output gradient of layer {wk!r}")
        check_finite({k: s.sq_draw for k, s in out.items()}, "per-example gradient norm")
    uncovered = [k for k in params if k not in out]
    if uncovered:
        raise LossError(f"params {uncovered} are neither in model.linear_layers nor model.other_keys")
    return {k: out[k] for k in params}
