"""The cost of following a training loop with ``empirical.track``, measured from outside, in one run.

Three loops, each run without and with the tracker, alternated in pairs whose order alternates
too (plain, tracked, tracked, plain, ...: the second loop of a pair runs slower),
and the ratio tracked / plain of their wall times (the way a user would measure it) as the
median over the pairs, beside the same ratio in CPU time (the process's; with one thread it
equals wall time on a quiet machine and is far less disturbed by other processes on a busy
one) and the tracker's own figure (``result.extras["tracker"]["overhead"]``: the time inside
its hooks and ``tracker.step()`` over the rest), medians too:

* the walkthrough's loop (scripts/track_example.py: its VAE on digits / 16, SGD 0.01 under StepLR,
  B = 32 inferred, 2000 steps): the target is at most 1.10x (issue 24);
* the default Deep Gaussian VAE (empirical.models.DEFAULTS, digits, as an nn.Module holding the
  same parameters) at the CLI's n = 2000, B = 32;
* the convolutional VAE (empirical.conv, MNIST) at n = 1000, B = 32.

``verify()`` (the final record and the estimation) is timed separately: it is not overhead of
the loop (and every loop starts after ``gc.collect()``, so that the garbage verify() leaves is
not collected during the next loop's timing); nor is importing the tracker's modules (about a
second, once per process: a short tracked loop runs first, untimed).

    python benchmarks/tracking.py [--repeats 6] [--mlp-steps 2000] [--conv-steps 1000] [--threads 1]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import time
from pathlib import Path

import torch
from torch import nn

import empirical
from empirical import conv, data, models


class DefaultVAE(nn.Module):
    """The default Deep Gaussian VAE of empirical.models with its parameters held by an nn.Module."""

    def __init__(self, D: int, seed: int) -> None:
        super().__init__()
        self.vae = models.make("gaussian", D)
        init = self.vae.init_params(torch.Generator().manual_seed(seed))
        self.keys = list(init)
        self.params = nn.ParameterList([nn.Parameter(init[k]) for k in self.keys])

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        params = dict(zip(self.keys, self.params, strict=True))
        eps = torch.randn(x.shape[0], self.vae.K, self.vae.latent_dim, dtype=x.dtype)
        return self.vae.batch_losses(params, x, eps)


def _example():
    path = Path(__file__).resolve().parents[1] / "scripts" / "track_example.py"
    spec = importlib.util.spec_from_file_location("vaebounds_track_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def readme_problem(seed: int):
    """The walkthrough's loop: its VAE, digits / 16, SGD 0.01 under StepLR(500, 0.5), B inferred."""
    example = _example()
    X = data.load("digits") / 16.0
    torch.manual_seed(seed)
    model = example.VAE(X.shape[1])
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    return model, example.loss, X, opt, torch.optim.lr_scheduler.StepLR(opt, step_size=500, gamma=0.5), {}


def _sgd(model, C):
    opt = torch.optim.SGD(model.parameters(), lr=C)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda e: (e + 1) ** -0.5)


def mlp_problem(seed: int):
    X = data.split(data.load("digits"), held_out=0.2, seed=0)[0]
    model = DefaultVAE(X.shape[1], seed)
    return model, lambda m, x: m.loss(x), X, *_sgd(model, 0.05), {"batch_size": 32}


def conv_problem(seed: int):
    X = data.split(data.load("mnist"), held_out=0.2, seed=0)[0]
    model, loss = conv.make(X.shape[1], seed=seed)
    return model, loss, X, *_sgd(model, 2e-5), {"batch_size": 32}


def loop(
    problem, steps: int, tracked: bool, B: int = 32, seed: int = 0
) -> tuple[float, float, float, object]:
    """(wall seconds of the loop, its CPU seconds, seconds of verify(), the result or None)."""
    model, loss, X, opt, sched, options = problem(seed)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    # Each loop starts from a collected heap: the objects the previous verify() left (SymPy's,
    # the estimators') are otherwise collected in a full pass (0.15 s) during whichever loop
    # allocates next, the tracked one, charging it a cost that is not the tracker's.
    gc.collect()
    c0 = time.process_time()
    t0 = time.perf_counter()
    tracker = empirical.track(model, loss, X, opt, seed=seed, **options) if tracked else None
    for _ in range(steps):
        x = X[torch.randint(X.shape[0], (B,), generator=gen)]
        opt.zero_grad()
        minibatch = loss(model, x).mean()
        minibatch.backward()
        opt.step()
        sched.step()
        if tracker is not None:
            tracker.step(minibatch)
    train, cpu = time.perf_counter() - t0, time.process_time() - c0
    if tracker is None:
        return train, cpu, 0.0, None
    t0 = time.perf_counter()
    result = tracker.verify()
    return train, cpu, time.perf_counter() - t0, result


def measure(name: str, problem, steps: int, repeats: int) -> tuple[float, float, float]:
    """Medians over alternated pairs: (wall ratio tracked / plain, CPU ratio, the tracker's own
    figure as a ratio)."""
    wall, cpu, own, verify, plain = [], [], [], [], []
    loop(problem, min(steps, 20), True)  # warm-up: the tracker's modules imported once, not timed
    for i in range(repeats):  # ABBA: the order alternates too (the second of a pair runs ~2 % slower)
        if i % 2 == 0:
            t_plain, c_plain, _, _ = loop(problem, steps, False)
            t, c, v, result = loop(problem, steps, True)
        else:
            t, c, v, result = loop(problem, steps, True)
            t_plain, c_plain, _, _ = loop(problem, steps, False)
        wall.append(t / t_plain)
        cpu.append(c / c_plain)
        plain.append(t_plain)
        own.append(1 + result.extras["tracker"]["overhead"])
        verify.append(v)
    ratio, cpu_ratio, figure = statistics.median(wall), statistics.median(cpu), statistics.median(own)
    run, info = result.runs, result.extras["tracker"]
    print(
        f"{name}: n = {steps}, B = {info['batch_size']}, {run.record_steps.size} records "
        f"({info['record_gradients']} gradients each), {run.snapshot_steps.size} snapshots of "
        f"{run.snapshots.shape[2]} parameters"
    )
    print(
        f"  tracked / plain: wall {ratio:.3f}x, CPU {cpu_ratio:.3f}x (medians of {repeats} alternated "
        f"pairs; plain loop {statistics.median(plain):.2f} s); the tracker's own figure {figure:.3f}x; "
        f"verify() {statistics.median(verify):.1f} s (not overhead)"
    )
    return ratio, cpu_ratio, figure


def main(argv: list[str] | None = None) -> dict[str, tuple[float, float, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--readme-steps", type=int, default=2000)
    parser.add_argument("--mlp-steps", type=int, default=2000)
    parser.add_argument("--conv-steps", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", choices=("readme", "mlp", "conv"), default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cases = {
        "readme": ("the walkthrough's loop (scripts/track_example.py), target <= 1.10x", readme_problem,
                   args.readme_steps, args.repeats),
        "mlp": ("default Deep Gaussian VAE, digits", mlp_problem, args.mlp_steps, args.repeats),
        "conv": ("conv VAE, MNIST", conv_problem, args.conv_steps, max(1, args.repeats - 2)),
    }  # fmt: skip
    return {key: measure(*case) for key, case in cases.items() if args.only in (None, key)}


if __name__ == "__main__":
    main()
