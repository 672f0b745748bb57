"""The training loop: R independent runs in one computation per step (:func:`train`).

How each run draws its randomness, so that run i of R is the run of ``seed + i`` alone,
and the projected step: docs/architecture.md, "Training runs".
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from empirical.data import check_array
from empirical.errors import ConfigError, DivergenceError
from empirical.estimators.sampled import next_rows
from empirical.inputs import MAX_BATCH, MAX_SEEDS, MAX_STEPS
from empirical.progress import interactive
from empirical.threads import torch_threads
from empirical.train import batched, checkpoint
from empirical.train.recording import (
    FINAL_PRECISION,
    RECORD_MIN_ROWS,
    RECORD_PRECISION,
    TrainRun,
    checked_plan,
    empty_history,
    finish,
    snapshot_plan,
)
from empirical.train.step_rules import OPTIMIZERS, SCHEDULES, Adam, step_rule, step_size
from empirical.validate import SEED_MAX, choice, number, whole
from empirical.validate import dtype as dtype_option

#: A loss this many times further above F_inf than F(theta_0) counts as divergence.
DIVERGE_RATIO = 1e3
#: The variant of each adaptive optimizer when none is given (train's library default).
DEFAULT_VARIANT = {"adam": "torch", "adagrad": "defossez"}
#: Auto progress bar: shown only once a run has lasted this many seconds.
PROGRESS_DELAY = 3.0


class _Runs:
    """Mutable state of R runs in progress: stacked parameters, step rule state, generators, history."""

    def __init__(self, model, params: dict, X: torch.Tensor, o: dict, gens: list[torch.Generator]):
        self.model, self.X, self.o, self.gens = model, X, o, gens
        self.keys = tuple(model.param_shapes)
        self.params = params
        self.leaves = [params[k] for k in self.keys]
        self.rec_gens = [
            torch.Generator().manual_seed(int(torch.randint(2**62, (1,), generator=g))) for g in gens
        ]
        self.rule = step_rule(o["optimizer"], o["betas"], o["eps"], o["variant"] or "torch")
        self.rule_state = self.rule.init(params)
        self.k = 0
        self.elapsed0 = 0.0
        self.hist = empty_history()

    @property
    def R(self) -> int:
        return len(self.gens)

    def _diverged(self, i: int, what: str) -> DivergenceError:
        return DivergenceError(
            f"training diverged at step {self.k} (run of seed {self.o['seeds'][i]}): {what}"
        )

    def check_blow_up(self, values: Sequence[float], what: str, note: str = "") -> None:
        """Raise DivergenceError if value - F_inf > diverge_ratio * max(F(theta_0) - F_inf, 1) for some run.

        F_inf is the model's proven lower bound (0 if it has none). Soft-clipped networks
        saturate instead of producing NaN: their loss jumps to a plateau.
        """
        ratio = self.o["diverge_ratio"]
        if ratio is None or not self.hist["full_loss"]:
            return
        ref = self.model.loss_lower_bound or 0.0
        for i, value in enumerate(values):
            start = self.hist["full_loss"][0][i] - ref
            if value - ref > ratio * max(start, 1.0):
                raise self._diverged(
                    i,
                    f"{what} {value:.6g} is more than {ratio:g} times the initial gap "
                    f"F(theta_0) - F_inf = {start:.6g} above F_inf = {ref:.6g}{note}",
                )

    def record_rows(self) -> list[int]:
        """Rows per gradient of every run's next record, planned from that run's own earlier records.

        For a relative standard error of :data:`RECORD_PRECISION` (:data:`FINAL_PRECISION` at
        theta_n) (:func:`empirical.estimators.sampled.next_rows`); all rows for a deterministic loss.
        """
        N = int(self.X.shape[0])
        h = self.hist
        if getattr(self.model, "is_deterministic", False):
            return [N] * self.R
        precision = FINAL_PRECISION if self.k == self.o["steps"] else RECORD_PRECISION
        return [
            next_rows([u[i] for u in h["full_grad_norm_sq"]], [v[i] for v in h["full_grad_norm_sq_var"]],
                      [b[i] for b in h["record_rows"]], N, precision, RECORD_MIN_ROWS)
            for i in range(self.R)
        ]  # fmt: skip

    def record(self, t0: float, snapshot: bool) -> None:
        rows = self.record_rows()
        F, gn, var = batched.gradient_norm_records(self.model, self.params, self.X, self.rec_gens, rows)
        values = torch.cat([F, gn, var]).tolist()
        F_vals, gn_vals, var_vals = values[: self.R], values[self.R : 2 * self.R], values[2 * self.R :]
        for i in range(self.R):
            if not (math.isfinite(F_vals[i]) and math.isfinite(gn_vals[i])):
                raise self._diverged(i, f"full-data loss {F_vals[i]}, gradient norm^2 record {gn_vals[i]}")
        self.check_blow_up(F_vals, "full-data loss")
        h = self.hist
        with torch.no_grad():
            h["param_sup_norm"].append(batched.per_run_sup_norm(self.leaves).tolist())
            if snapshot:
                flat = torch.cat([p.reshape(self.R, -1) for p in self.leaves], 1)
                h["snapshot_steps"].append(self.k)
                h["snapshots"].append(flat.detach().to("cpu", torch.float64).clone())
        h["record_steps"].append(self.k)
        h["full_loss"].append(F_vals)
        h["full_grad_norm_sq"].append(gn_vals)
        h["full_grad_norm_sq_var"].append(var_vals)
        h["record_rows"].append(rows)
        h["elapsed"].append(self.elapsed0 + time.perf_counter() - t0)

    def minibatch(self) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        idx, eps = batched.draw_minibatches(self.model, self.X.shape[0], self.o["batch_size"], self.gens)
        return batched.minibatch_gradients(self.model, self.params, self.X, idx, eps)

    def initialise_rule(self) -> None:
        """A rule that starts from an independent gradient at theta_0 (delayed Adam) gets it."""
        if self.rule.needs_initial_gradient:
            _, g0 = self.minibatch()
            self.rule.initialise(self.rule_state, dict(zip(self.keys, g0, strict=True)))

    def step(self) -> None:
        o = self.o
        self.k += 1
        k = self.k
        gamma = step_size(k, o["C_gamma"], o["schedule"])
        losses, grads = self.minibatch()
        values = torch.cat([losses, batched.per_run_sq_norm(grads)]).tolist()
        loss_vals, gn_vals = values[: self.R], values[self.R :]
        for i in range(self.R):
            if not (math.isfinite(loss_vals[i]) and math.isfinite(gn_vals[i])):
                raise self._diverged(
                    i,
                    f"minibatch loss {loss_vals[i]}, gradient norm^2 {gn_vals[i]} "
                    f"(step size gamma_{k} = {gamma:.3g})",
                )
        self.check_blow_up(loss_vals, "minibatch loss", f" (step size gamma_{k} = {gamma:.3g})")
        direction = self.rule.direction(self.rule_state, dict(zip(self.keys, grads, strict=True)))
        extremes = self.rule.extremes(self.rule_state)
        if extremes is not None:
            self.hist["precond_min"].append(extremes[0].tolist())
            self.hist["precond_max"].append(extremes[1].tolist())
        box = o["box"]
        with torch.no_grad():
            before = [p.clone() for p in self.leaves] if box is not None else None
            for key, p in zip(self.keys, self.leaves, strict=True):
                p.sub_(direction[key], alpha=gamma)
                if box is not None:
                    p.clamp_(-box, box)
            if before is not None:
                moved = [b - p for b, p in zip(before, self.leaves, strict=True)]
                self.hist["mapping_sq"].append((batched.per_run_sq_norm(moved) / gamma**2).tolist())
        self.hist["loss"].append(loss_vals)
        self.hist["grad_norm_sq"].append(gn_vals)
        self.hist["step_sizes"].append(gamma)

    # -- checkpoints ----------------------------------------------------------
    def state(self, elapsed: float) -> dict[str, Any]:
        return {
            "k": self.k,
            "params": {k: p.detach().cpu().clone() for k, p in self.params.items()},
            "rule": self.rule.state_dict(self.rule_state),
            "gens": [g.get_state() for g in self.gens],
            "rec_gens": [g.get_state() for g in self.rec_gens],
            "hist": {
                k: [t.clone() if isinstance(t, torch.Tensor) else t for t in v] for k, v in self.hist.items()
            },
            "elapsed": elapsed,
            "model": {"kind": self.model.kind, **self.model.options()},
            "options": checkpoint.fixed_options(self.o),
        }

    def load(self, path: Path) -> None:
        st = checkpoint.load(path)
        checkpoint.compatible(path, st["model"], {"kind": self.model.kind, **self.model.options()}, "model")
        checkpoint.compatible(path, st["options"], checkpoint.fixed_options(self.o), "run")
        if st["k"] > self.o["steps"]:
            raise ConfigError(f"option steps={self.o['steps']} is below the checkpoint's step {st['k']}")
        dev, dt = self.X.device, self.model.dtype
        with torch.no_grad():
            for key in self.keys:
                self.params[key].copy_(st["params"][key].to(dev, dt))
        self.rule_state = self.rule.load_state_dict(st["rule"], self.params)
        for g, s in zip(self.gens, st["gens"], strict=True):
            g.set_state(s)
        for g, s in zip(self.rec_gens, st["rec_gens"], strict=True):
            g.set_state(s)
        self.hist = {k: list(v) for k, v in st["hist"].items()}
        if "record_rows" not in self.hist:  # a checkpoint whose records were all over the full data
            self.hist["record_rows"] = [[int(self.X.shape[0])] * self.R for _ in self.hist["record_steps"]]
        self.k = st["k"]
        self.elapsed0 = st["elapsed"]


def _device(device: str | torch.device | None) -> torch.device:
    if device is None or device == "auto":
        return torch.device("cuda" if device == "auto" and torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("option device='cuda' but no CUDA device is present; use 'cpu'")
    if dev.type not in ("cpu", "cuda"):
        raise ConfigError(f"option device must be cpu, cuda or auto, got {device!r}")
    return dev


def _initial(model, params, gens: list[torch.Generator]) -> dict[str, torch.Tensor]:
    """Stacked theta_0: each run's own draw, one run's params shared by all, or params already stacked."""
    R = len(gens)
    if params is None:
        return batched.stack([model.init_params(g) for g in gens])
    if set(params) != set(model.param_shapes):
        raise ConfigError(f"params must have the keys {sorted(model.param_shapes)}, got {sorted(params)}")
    out = {}
    for key, shape in model.param_shapes.items():
        p = torch.as_tensor(params[key]).detach()
        if tuple(p.shape) == tuple(shape):
            p = p.unsqueeze(0).expand(R, *shape)
        elif tuple(p.shape) != (R, *shape):
            raise ConfigError(
                f"params[{key!r}] must have shape {tuple(shape)} or {(R, *shape)}, got {tuple(p.shape)}"
            )
        out[key] = p
    return out


def _pair(name: str, value: Any) -> tuple[float, float]:
    """``value`` as a pair of finite numbers (their range is checked by the step rule)."""
    try:
        first, second = value
    except (TypeError, ValueError):
        raise ConfigError(f"option {name} must be a pair of numbers, got {value!r:.60}") from None
    return number(f"{name}[0]", first, -math.inf), number(f"{name}[1]", second, -math.inf)


def train(
    model,
    params: Mapping[str, torch.Tensor] | None,
    data: Any,
    *,
    optimizer: str = "sgd",
    steps: int,
    batch_size: int = 128,
    C_gamma: float,
    schedule: str = "sqrt",
    box: float | None = None,
    records: Sequence[int] | None = None,
    seed: int = 0,
    runs: int = 1,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    variant: str | None = None,
    dtype: str | torch.dtype | None = None,
    device: str | torch.device | None = None,
    progress: bool | None = None,
    checkpoint: str | Path | None = None,
    resume: str | Path | None = None,
    threads: int | None = 1,
    diverge_ratio: float | None = DIVERGE_RATIO,
) -> TrainRun:
    """Run R runs of n iterations of SGD, Adam or Adagrad on F, the mean loss over the rows of ``data``.

    Run i has the seed ``seed + i``; resuming a checkpoint gives the same trajectory as one
    uninterrupted run.

    Args:
        model: An :mod:`empirical.models` VAE.
        params: None: each run draws theta_0 from its own generator; a dict of one run's
            tensors starts every run there; a dict stacked along a leading axis of size R
            gives each run its own.
        data: The rows (a tensor, or an array checked by :func:`empirical.data.check_array`).
        optimizer: "sgd", "adam" or "adagrad".
        steps: n.
        batch_size: B, rows drawn uniformly with replacement.
        C_gamma: The step constant.
        schedule: "sqrt" (gamma_k = C_gamma k^(-1/2)) or "constant".
        box: a: project every iterate onto ||theta||_inf <= a (None: no projection).
        records: The steps at which ||grad F||^2, F and ||theta||_inf are recorded (0 and n
            always; default :func:`empirical.train.recording.record_plan`).
        seed: The first run's seed.
        runs: R.
        betas: Adam's (beta1, beta2).
        eps: The epsilon of Adam and Adagrad.
        variant: The variant of Adam or Adagrad (:data:`ADAM_VARIANTS`,
            :data:`ADAGRAD_VARIANTS`; default :data:`DEFAULT_VARIANT`).
        dtype: The computation's dtype (default the model's).
        device: "cpu", "cuda" or "auto" (CUDA when present; default the CPU).
        progress: Show a bar on stderr (None: once a run exceeds a few seconds, when stderr is a
            terminal, so no carriage returns go into a log; True always, False never).
        checkpoint: A file written at every record step.
        resume: A checkpoint to continue up to ``steps`` (its state replaces ``params``).
        threads: torch intra-op threads during the run (:mod:`empirical.threads`).
        diverge_ratio: A loss whose gap above the model's lower bound F_inf exceeds this
            times the initial gap is a divergence (None disables this check).

    Returns:
        The R runs.

    Raises:
        ConfigError: A bad option, or a checkpoint that does not match.
        DivergenceError: NaN/inf or a blown-up loss, naming the step and the run.
    """
    steps = whole("steps", steps, 1, MAX_STEPS)
    plan = checked_plan(records, steps)
    o = {
        "optimizer": choice("optimizer", optimizer, OPTIMIZERS),
        "steps": steps,
        "batch_size": whole("batch_size", batch_size, 1, MAX_BATCH),
        "C_gamma": number("C_gamma", C_gamma),
        "schedule": choice("schedule", schedule, tuple(SCHEDULES)),
        "box": None if box is None else number("box", box),
        "records": None if records is None else tuple(int(k) for k in records),
        "seeds": tuple(range(whole("seed", seed, 0, SEED_MAX), seed + whole("runs", runs, 1, MAX_SEEDS))),
        "betas": _pair("betas", betas),
        "eps": eps,
        "variant": None if optimizer == "sgd" else variant or DEFAULT_VARIANT[optimizer],
        "diverge_ratio": None if diverge_ratio is None else number("diverge_ratio", diverge_ratio),
    }
    whole("seed + runs - 1", o["seeds"][-1], 0, SEED_MAX)
    Adam(o["betas"], eps)  # validates betas and eps whatever the optimizer
    step_rule(o["optimizer"], o["betas"], eps, o["variant"] or "torch")  # and the variant
    with torch_threads(threads):
        return _train(model, params, data, o, plan, dtype, device, progress, checkpoint, resume)


def _train(model, params, data, o, plan, dtype, device, progress, ckpt, resume) -> TrainRun:
    X = data if isinstance(data, torch.Tensor) else check_array(data, "data")
    dev = _device(device)
    dt = model.dtype if dtype is None else dtype_option(dtype)
    if dt != model.dtype:
        model = replace(model, dtype=dt)
    o["dtype"] = str(dt).removeprefix("torch.")
    o["device"] = str(dev)
    model.check_data(X)
    X = X.to(dev, dt)
    gens = [torch.Generator().manual_seed(s) for s in o["seeds"]]
    theta0 = _initial(model, params, gens)
    if o["box"] is not None:  # theta_0 projected too: the whole trajectory satisfies A2
        theta0 = {k: p.clamp(-o["box"], o["box"]) for k, p in theta0.items()}
    theta0 = {k: p.to(dev, dt).clone().requires_grad_(True) for k, p in theta0.items()}

    runs = _Runs(model, theta0, X, o, gens)
    snapshots = frozenset(snapshot_plan(plan))
    record_set = frozenset(plan)
    t0 = time.perf_counter()
    if resume is not None:
        runs.load(Path(resume))
    else:
        runs.initialise_rule()
        runs.record(t0, snapshot=True)
    path = None if ckpt is None else Path(ckpt)
    bar = tqdm(
        total=o["steps"],
        initial=runs.k,
        disable=progress is False or (progress is None and not interactive()),  # auto: a terminal only
        delay=0.0 if progress else PROGRESS_DELAY,
        file=sys.stderr,
        unit="step",
        leave=False,
    )
    try:
        while runs.k < o["steps"]:
            runs.step()
            bar.update(1)
            if runs.k in record_set:
                runs.record(t0, snapshot=runs.k in snapshots)
                if path is not None:
                    checkpoint.save(path, runs.state(runs.elapsed0 + time.perf_counter() - t0))
    finally:
        bar.close()
    return finish(
        runs.hist, model, o["seeds"], runs.params, runs.keys, dict(o), projected=o["box"] is not None,
        record_dof=batched.RECORD_GRADIENTS - 1,
    )  # fmt: skip
