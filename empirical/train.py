"""Training runs that record what the bounds talk about.

Convention (docs/design.md): iterations k = 1..n,
theta_k = theta_{k-1} - gamma_k d_k with gamma_k = C_gamma k^{-1/2}
(``schedule="sqrt"``) or gamma_k = C_gamma (``"constant"``); d_k = g_k for SGD,
the Adam direction otherwise; g_k is the minibatch gradient at theta_{k-1}
(B rows drawn uniformly *with replacement*, so Var = sigma2_data / B exactly,
and K noise draws per row). The bounds are on (1/n) sum_{k=0}^{n-1}
E||grad F(theta_k)||^2; a run records ||grad F||^2 of the FULL-data
objective at theta_0 and every ``record_every`` steps (and at theta_n).

Projection (``box=a``): theta_0 and the result of every step are clamped
coordinatewise to [-a, a], i.e. projected onto the box ||theta||_inf <= a (A2).
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from empirical.data import check_array
from empirical.errors import ConfigError, DivergenceError
from empirical.models import VAE
from empirical.validate import choice, positive, positive_int
from empirical.validate import dtype as dtype_option

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("sqrt", "constant")
ADAM_VARIANTS = ("torch", "delayed")
#: Full-gradient recording interval used when none is given (overhead <= 20%,
#: see benchmarks/training.py).
DEFAULT_RECORD_EVERY = 50
#: A loss this many times further above F_inf than F(theta_0) counts as divergence.
DIVERGE_RATIO = 1e3
#: Rows per chunk when differentiating the full-data objective.
FULL_CHUNK = 8192
#: Auto progress bar: shown only once a run has lasted this many seconds.
PROGRESS_DELAY = 3.0
_CHECKPOINT_FORMAT = 1
# Options that may differ between a run and the run it resumes.
_RESUME_FREE = ("steps", "device", "seed")


def step_size(k: int, lr_constant: float, schedule: str = "sqrt") -> float:
    """gamma_k = C_gamma k^{-1/2} ("sqrt") or C_gamma ("constant"), k >= 1."""
    return lr_constant / math.sqrt(k) if schedule == "sqrt" else lr_constant


@dataclass
class AdamState:
    """First and second moment estimates m_k, v_k and the step count k."""

    m: dict[str, torch.Tensor]
    v: dict[str, torch.Tensor]
    k: int = 0


def adam_direction(
    state: AdamState,
    grads: Mapping[str, torch.Tensor],
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    variant: str = "torch",
) -> dict[str, torch.Tensor]:
    """Adam direction d_k (theta_k = theta_{k-1} - gamma_k d_k); updates ``state``.

    m_k = b1 m_{k-1} + (1 - b1) g_k and m^_k = m_k / (1 - b1^k) in both variants.
    "torch" (torch.optim.Adam): v_k = b2 v_{k-1} + (1 - b2) g_k^2,
    d_k = m^_k / (sqrt(v_k / (1 - b2^k)) + eps), so g_k enters its own preconditioner.
    "delayed" (theory-reference §3.2): d_k = m^_k / (sqrt(v_{k-1}) + eps) with a
    preconditioner built from past gradients only; v_0 = g_0^2 from an independent
    gradient at theta_0, so v is a convex combination and needs no bias correction.
    A coordinate whose past gradients were all 0 (e.g. a pixel absent from the
    earlier minibatches) gets the factor 1/eps = lambda_max: with the delayed
    variant use an eps that keeps lambda_max moderate (e.g. 1e-3).
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


@dataclass(frozen=True, eq=False)
class TrainRun:
    """A finished run. Per step k = 1..n (index k-1): ``loss`` (minibatch loss at
    theta_{k-1}), ``grad_norm_sq`` (||g_k||^2), ``step_size`` (gamma_k). At
    ``record_steps`` (0, m, 2m, ..., and n): ``full_grad_norm_sq``
    (||grad F(theta_k)||^2, F averaged over ``full_mc`` fresh noise draws per
    row), ``full_loss`` (F(theta_k)), ``param_sup_norm`` (||theta_k||_inf over
    all parameters, assumption A2), ``elapsed`` (seconds since the start) and
    ``param_trace`` (theta_k flattened in the order of ``param_keys``)."""

    model: VAE
    params: dict[str, torch.Tensor]
    loss: np.ndarray
    grad_norm_sq: np.ndarray
    step_size: np.ndarray
    record_steps: np.ndarray
    full_grad_norm_sq: np.ndarray
    full_loss: np.ndarray
    param_sup_norm: np.ndarray
    elapsed: np.ndarray
    param_trace: np.ndarray
    param_keys: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def steps(self) -> int:
        """n, the number of iterations."""
        return int(self.loss.shape[0])

    @property
    def mean_full_grad_norm_sq(self) -> float:
        """Average of ||grad F(theta_k)||^2 over the recorded k < n: the estimate
        of the left side (1/n) sum_{k=0}^{n-1} E||grad F(theta_k)||^2."""
        keep = self.record_steps < self.steps
        return float(self.full_grad_norm_sq[keep].mean())

    @property
    def steps_per_second(self) -> float:
        return self.steps / float(self.elapsed[-1]) if self.elapsed[-1] > 0 else math.inf


def _check_options(o: dict[str, Any]) -> None:
    choice("optimizer", o["optimizer"], OPTIMIZERS)
    choice("schedule", o["schedule"], SCHEDULES)
    choice("adam_variant", o["adam_variant"], ADAM_VARIANTS)
    for name in ("steps", "batch_size", "full_mc"):
        positive_int(name, o[name])
    if o["record_every"] is not None:
        positive_int("record_every", o["record_every"])
    positive("lr_constant", o["lr_constant"])
    positive("adam_eps", o["adam_eps"])
    for name in ("box", "diverge_ratio"):
        if o[name] is not None:
            positive(name, o[name])
    b1, b2 = o["betas"]
    if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
        raise ConfigError(f"option betas must be in [0, 1) x [0, 1), got {o['betas']!r}")


def _record_at(steps_to_record: Sequence[int], steps: Any) -> tuple[int, ...]:
    """Validated extra record steps, sorted (each an integer in [1, steps])."""
    out = set()
    for k in steps_to_record:
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= int(k) <= int(steps):
            raise ConfigError(f"option record_at must hold integers in [1, steps={steps}], got {k!r}")
        out.add(int(k))
    return tuple(sorted(out))


def _device(device: str | torch.device | None) -> torch.device:
    if device is None or device == "auto":
        return torch.device("cuda" if device == "auto" and torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("option device='cuda' but no CUDA device is present; use 'cpu'")
    if dev.type not in ("cpu", "cuda"):
        raise ConfigError(f"option device must be cpu, cuda or auto, got {device!r}")
    return dev


def _sq_norm(tensors: list[torch.Tensor] | tuple[torch.Tensor, ...]) -> torch.Tensor:
    return torch.stack([t.square().sum() for t in tensors]).sum()


class _Run:
    """Mutable state of a run in progress (params, optimizer, generators, history)."""

    def __init__(self, model: VAE, params: dict, X: torch.Tensor, o: dict, gen: torch.Generator):
        self.model, self.X, self.o, self.gen = model, X, o, gen
        self.params = params
        self.keys = tuple(model.param_shapes)
        self.leaves = [params[k] for k in self.keys]
        self.rec_gen = torch.Generator().manual_seed(int(torch.randint(2**62, (1,), generator=gen)))
        zeros = {k: torch.zeros_like(p) for k, p in params.items()}
        self.adam = AdamState(m=zeros, v={k: torch.zeros_like(p) for k, p in params.items()})
        self.k = 0
        self.elapsed0 = 0.0
        self.hist: dict[str, list] = {
            key: []
            for key in ("loss", "grad_norm_sq", "step_size", "record_steps", "full_grad_norm_sq")
            + ("full_loss", "param_sup_norm", "elapsed", "param_trace")
        }

    def minibatch_grad(self) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        m, N = self.model, self.X.shape[0]
        idx = torch.randint(N, (self.o["batch_size"],), generator=self.gen)
        eps = m.sample_noise(self.gen, self.o["batch_size"]).to(self.X.device)
        loss = m.batch_loss(self.params, self.X[idx.to(self.X.device)], eps)
        return loss, torch.autograd.grad(loss, self.leaves)

    def full_grad(self) -> tuple[float, float]:
        """(F(theta), ||grad F(theta)||^2), F over all rows, ``full_mc`` draws per row."""
        N = self.X.shape[0]
        total = None
        value = 0.0
        for start in range(0, N, FULL_CHUNK):
            Xc = self.X[start : start + FULL_CHUNK]
            eps = torch.randn(
                (self.o["full_mc"], Xc.shape[0], self.model.K, self.model.latent_dim),
                generator=self.rec_gen,
                dtype=self.model.dtype,
            ).to(self.X.device)
            Fc = self.model.full_loss(self.params, Xc, eps) * (Xc.shape[0] / N)
            grads = torch.autograd.grad(Fc, self.leaves)
            total = list(grads) if total is None else [a + b for a, b in zip(total, grads, strict=True)]
            value += float(Fc.detach())
        return value, float(_sq_norm(total))

    def check_blow_up(self, value: float, what: str, note: str = "") -> None:
        """DivergenceError if value - F_inf > diverge_ratio * max(F(theta_0) - F_inf, 1),
        F_inf the model's proven lower bound (0 if it has none). Soft-clipped
        networks saturate instead of producing NaN: their loss jumps to a plateau."""
        ratio = self.o["diverge_ratio"]
        if ratio is None or not self.hist["full_loss"]:
            return
        ref = self.model.loss_lower_bound or 0.0
        start = self.hist["full_loss"][0] - ref
        if value - ref > ratio * max(start, 1.0):
            raise DivergenceError(
                f"training diverged at step {self.k}: {what} {value:.6g} is more than "
                f"{ratio:g} times the initial gap F(theta_0) - F_inf = {start:.6g} above "
                f"F_inf = {ref:.6g}{note}"
            )

    def record(self, t0: float) -> None:
        F_val, gn = self.full_grad()
        if not (math.isfinite(F_val) and math.isfinite(gn)):
            raise DivergenceError(
                f"training diverged at step {self.k}: full-data loss {F_val}, gradient norm^2 {gn}"
            )
        self.check_blow_up(F_val, "full-data loss")
        with torch.no_grad():
            flat = torch.cat([p.reshape(-1) for p in self.leaves])
        h = self.hist
        h["record_steps"].append(self.k)
        h["full_loss"].append(F_val)
        h["full_grad_norm_sq"].append(gn)
        h["param_sup_norm"].append(float(flat.abs().max()))
        h["elapsed"].append(self.elapsed0 + time.perf_counter() - t0)
        h["param_trace"].append(flat.detach().to("cpu", torch.float64).clone())

    def init_delayed_adam(self) -> None:
        """v_0 = g_0^2 from an independent minibatch gradient at theta_0."""
        _, g0 = self.minibatch_grad()
        for key, g in zip(self.keys, g0, strict=True):
            self.adam.v[key] = (g * g).detach()

    def step(self) -> None:
        o = self.o
        self.k += 1
        k = self.k
        gamma = step_size(k, o["lr_constant"], o["schedule"])
        loss, grads = self.minibatch_grad()
        gn = _sq_norm(grads)
        loss_val, gn_val = torch.stack([loss.detach(), gn.detach()]).tolist()
        if not (math.isfinite(loss_val) and math.isfinite(gn_val)):
            raise DivergenceError(
                f"training diverged at step {k}: minibatch loss {loss_val}, "
                f"gradient norm^2 {gn_val} (step size gamma_{k} = {gamma:.3g})"
            )
        self.check_blow_up(loss_val, "minibatch loss", f" (step size gamma_{k} = {gamma:.3g})")
        if o["optimizer"] == "adam":
            direction = adam_direction(
                self.adam,
                dict(zip(self.keys, grads, strict=True)),
                o["betas"],
                o["adam_eps"],
                o["adam_variant"],
            )
            updates = [direction[key] for key in self.keys]
        else:
            updates = grads
        with torch.no_grad():
            for p, u in zip(self.leaves, updates, strict=True):
                p.sub_(u, alpha=gamma)
                if o["box"] is not None:
                    p.clamp_(-o["box"], o["box"])
        self.hist["loss"].append(loss_val)
        self.hist["grad_norm_sq"].append(gn_val)
        self.hist["step_size"].append(gamma)

    # -- checkpoints ----------------------------------------------------------
    def state(self, elapsed: float) -> dict[str, Any]:
        hist = dict(self.hist)
        hist["param_trace"] = [t.clone() for t in hist["param_trace"]]
        return {
            "format": _CHECKPOINT_FORMAT,
            "k": self.k,
            "params": {k: p.detach().cpu().clone() for k, p in self.params.items()},
            "adam_m": {k: t.cpu().clone() for k, t in self.adam.m.items()},
            "adam_v": {k: t.cpu().clone() for k, t in self.adam.v.items()},
            "adam_k": self.adam.k,
            "gen": self.gen.get_state(),
            "rec_gen": self.rec_gen.get_state(),
            "hist": {k: list(v) for k, v in hist.items()},
            "elapsed": elapsed,
            "model": {"kind": self.model.kind, **self.model.options()},
            "options": {k: v for k, v in self.o.items() if k not in _RESUME_FREE},
        }

    def save(self, path: Path, t0: float) -> None:
        tmp = path.with_name(path.name + ".tmp")
        torch.save(self.state(self.elapsed0 + time.perf_counter() - t0), tmp)
        os.replace(tmp, path)

    def load(self, path: Path) -> None:
        try:
            st = torch.load(path, weights_only=True)
        except (OSError, RuntimeError) as err:
            raise ConfigError(f"option resume: cannot read checkpoint {path} ({err})") from err
        if not isinstance(st, dict) or st.get("format") != _CHECKPOINT_FORMAT:
            raise ConfigError(f"option resume: {path} is not a vaebounds training checkpoint")
        model_now = {"kind": self.model.kind, **self.model.options()}
        opts_now = {k: v for k, v in self.o.items() if k not in _RESUME_FREE}
        for what, saved, now in (("model", st["model"], model_now), ("run", st["options"], opts_now)):
            diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
            if diff:
                detail = ", ".join(f"{k}: {saved.get(k)!r} vs {now.get(k)!r}" for k in diff)
                raise ConfigError(f"option resume: checkpoint {path} has different {what} options ({detail})")
        if st["k"] > self.o["steps"]:
            raise ConfigError(f"option steps={self.o['steps']} is below the checkpoint's step {st['k']}")
        dev, dt = self.X.device, self.model.dtype
        with torch.no_grad():
            for key in self.keys:
                self.params[key].copy_(st["params"][key].to(dev, dt))
        self.adam = AdamState(
            m={k: t.to(dev, dt) for k, t in st["adam_m"].items()},
            v={k: t.to(dev, dt) for k, t in st["adam_v"].items()},
            k=st["adam_k"],
        )
        self.gen.set_state(st["gen"])
        self.rec_gen.set_state(st["rec_gen"])
        self.hist = {k: list(v) for k, v in st["hist"].items()}
        self.k = st["k"]
        self.elapsed0 = st["elapsed"]

    def result(self) -> TrainRun:
        h = self.hist
        trace = torch.stack(h["param_trace"]).numpy()
        return TrainRun(
            model=self.model,
            params={k: p.detach() for k, p in self.params.items()},
            loss=np.asarray(h["loss"], dtype=np.float64),
            grad_norm_sq=np.asarray(h["grad_norm_sq"], dtype=np.float64),
            step_size=np.asarray(h["step_size"], dtype=np.float64),
            record_steps=np.asarray(h["record_steps"], dtype=np.int64),
            full_grad_norm_sq=np.asarray(h["full_grad_norm_sq"], dtype=np.float64),
            full_loss=np.asarray(h["full_loss"], dtype=np.float64),
            param_sup_norm=np.asarray(h["param_sup_norm"], dtype=np.float64),
            elapsed=np.asarray(h["elapsed"], dtype=np.float64),
            param_trace=trace,
            param_keys=self.keys,
            options=dict(self.o),
        )


def train(
    model: VAE,
    params: Mapping[str, torch.Tensor] | None,
    data: Any,
    *,
    optimizer: str = "sgd",
    steps: int,
    batch_size: int = 128,
    lr_constant: float,
    schedule: str = "sqrt",
    box: float | None = None,
    record_every: int | None = DEFAULT_RECORD_EVERY,
    record_at: Sequence[int] = (),
    seed: int | torch.Generator = 0,
    full_mc: int = 1,
    betas: tuple[float, float] = (0.9, 0.999),
    adam_eps: float = 1e-8,
    adam_variant: str = "torch",
    dtype: str | torch.dtype | None = None,
    device: str | torch.device | None = None,
    progress: bool | None = None,
    checkpoint: str | Path | None = None,
    resume: str | Path | None = None,
    threads: int | None = 1,
    diverge_ratio: float | None = DIVERGE_RATIO,
) -> TrainRun:
    """Run n = ``steps`` iterations of SGD or Adam on F (mean loss over ``data`` rows).

    ``params`` None: ``model.init_params`` from the run's generator. ``seed``: an
    int or a torch.Generator (used, and advanced, for minibatches and noise; a
    second generator derived from it draws the full-gradient noise, so recording
    never changes the trajectory). ``record_every`` None records only theta_0 and
    theta_n; ``record_at`` adds further steps to record (e.g. log-spaced early
    steps, where ||grad F||^2 changes fastest). ``progress`` None shows a bar on
    stderr once a run exceeds a few seconds. ``checkpoint`` is written at every
    record step; ``resume`` continues
    a checkpointed run (its params replace ``params``) up to ``steps``, giving the
    same trajectory as one uninterrupted run. NaN/inf raises DivergenceError
    naming the step; so does a loss whose gap above the model's lower bound F_inf
    exceeds ``diverge_ratio`` times the initial gap (None disables this check).
    ``threads``: torch intra-op threads during the run (restored afterwards; None
    keeps torch's setting). One thread is as fast for the small default models and
    avoids a >10x slowdown when other processes share the cores.
    """
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads <= 0):
        raise ConfigError(f"option threads must be an integer > 0 or None, got {threads!r}")
    o = {
        "optimizer": optimizer,
        "steps": steps,
        "batch_size": batch_size,
        "lr_constant": lr_constant,
        "schedule": schedule,
        "box": None if box is None else float(box),
        "record_every": record_every,
        "record_at": _record_at(record_at, steps),
        "seed": seed if isinstance(seed, int) else None,
        "full_mc": full_mc,
        "betas": tuple(float(b) for b in betas),
        "adam_eps": adam_eps,
        "adam_variant": adam_variant if optimizer == "adam" else None,
        "diverge_ratio": diverge_ratio,
    }
    _check_options({**o, "adam_variant": adam_variant if optimizer == "adam" else "torch"})
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _train(model, params, data, o, seed, dtype, device, progress, checkpoint, resume)
    finally:
        torch.set_num_threads(before)


def _train(
    model: VAE,
    params: Mapping[str, torch.Tensor] | None,
    data: Any,
    o: dict[str, Any],
    seed: int | torch.Generator,
    dtype: str | torch.dtype | None,
    device: str | torch.device | None,
    progress: bool | None,
    checkpoint: str | Path | None,
    resume: str | Path | None,
) -> TrainRun:
    steps = o["steps"]
    X = data if isinstance(data, torch.Tensor) else check_array(data, "data")
    dev = _device(device)
    dt = model.dtype if dtype is None else dtype_option(dtype)
    if dt != model.dtype:
        model = replace(model, dtype=dt)
    o["dtype"] = str(dt).removeprefix("torch.")
    o["device"] = str(dev)
    model.check_data(X)
    X = X.to(dev, dt)

    if isinstance(seed, torch.Generator):
        gen = seed
    elif isinstance(seed, int) and not isinstance(seed, bool):
        gen = torch.Generator().manual_seed(seed)
    else:
        raise ConfigError(f"option seed must be an int or a torch.Generator, got {seed!r}")
    if params is None:
        params = model.init_params(gen)
    if set(params) != set(model.param_shapes):
        raise ConfigError(f"params must have the keys {sorted(model.param_shapes)}, got {sorted(params)}")
    params = {k: params[k].detach().to(dev, dt).clone() for k in params}
    if o["box"] is not None:  # theta_0 projected too: the whole trajectory satisfies A2
        params = {k: p.clamp(-o["box"], o["box"]) for k, p in params.items()}
    params = {k: p.requires_grad_(True) for k, p in params.items()}

    run = _Run(model, params, X, o, gen)
    t0 = time.perf_counter()
    if resume is not None:
        run.load(Path(resume))
    else:
        if o["adam_variant"] == "delayed":
            run.init_delayed_adam()
        run.record(t0)
    ckpt = None if checkpoint is None else Path(checkpoint)
    every = o["record_every"] or steps
    extra = frozenset(o.get("record_at", ()))
    bar = tqdm(
        total=steps,
        initial=run.k,
        disable=progress is False,
        delay=0.0 if progress else PROGRESS_DELAY,
        file=sys.stderr,
        unit="step",
        leave=False,
    )
    try:
        while run.k < steps:
            run.step()
            bar.update(1)
            if run.k % every == 0 or run.k == steps or run.k in extra:
                run.record(t0)
                if ckpt is not None:
                    run.save(ckpt, t0)
    finally:
        bar.close()
    return run.result()
