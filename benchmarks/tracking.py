"""The cost of following a training loop with ``empirical.track``, measured in one run.

For the default Deep Gaussian VAE (empirical.models.DEFAULTS, digits, as an nn.Module
holding the same parameters) at the CLI's n = 2000, B = 32, and for the convolutional VAE
(empirical.conv, MNIST) at the CLI's user-model default n = 1000, B = 32: the same plain
SGD loop (same seeds) without and with the tracker at its default schedule (records at
about log(n)/log(1.3) steps, each 4 gradients over B rows; snapshots), alternated, the
fastest of ``--repeats`` each. Prints the tracking overhead (tracked - plain) / plain,
excluding ``verify()`` (the final record and the estimation), which it times separately.

    python benchmarks/tracking.py [--repeats 3] [--mlp-steps 2000] [--conv-steps 1000] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# benchmarks/theory.py would shadow the `theory` package that empirical imports.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import torch  # noqa: E402
from torch import nn  # noqa: E402

import empirical  # noqa: E402
from empirical import conv, data, models  # noqa: E402


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


def mlp_problem(seed: int):
    X = data.split(data.load("digits"), held_out=0.2, seed=0)[0]
    model = DefaultVAE(X.shape[1], seed)
    return model, lambda m, x: m.loss(x), X, 0.05


def conv_problem(seed: int):
    X = data.split(data.load("mnist"), held_out=0.2, seed=0)[0]
    model, loss = conv.make(X.shape[1], seed=seed)
    return model, loss, X, 2e-5


def loop(problem, steps: int, tracked: bool, B: int = 32, seed: int = 0) -> tuple[float, float, object]:
    """(training seconds, verify seconds, tracker) of one plain SGD loop, gamma_k = C/sqrt(k)."""
    model, loss, X, C = problem(seed)
    opt = torch.optim.SGD(model.parameters(), lr=C)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: (e + 1) ** -0.5)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    tracker = empirical.track(model, loss, X, opt, seed=seed, batch_size=B) if tracked else None
    for _ in range(steps):
        idx = torch.randint(X.shape[0], (B,), generator=gen)
        opt.zero_grad()
        loss(model, X[idx]).mean().backward()
        opt.step()
        sched.step()
        if tracker is not None:
            tracker.step()
    train = time.perf_counter() - t0
    t0 = time.perf_counter()
    if tracker is not None:
        tracker.verify()
    return train, time.perf_counter() - t0, tracker


def measure(name: str, problem, steps: int, repeats: int) -> float:
    plain, tracked, verify, own = [], [], [], []
    for _ in range(repeats):
        plain.append(loop(problem, steps, False)[0])
        t, v, tracker = loop(problem, steps, True)
        tracked.append(t)
        verify.append(v)
        own.append(tracker.finished.timings["tracking"])
    t_plain, t_tracked = min(plain), min(tracked)
    overhead = t_tracked / t_plain - 1.0
    run = tracker.finished
    print(
        f"{name}: n = {steps}, B = 32, {run.record_steps.size} records ({run.options['record_gradients']} "
        f"gradients each) and {run.snapshot_steps.size} snapshots of {run.snapshots.shape[2]} parameters"
    )
    print(
        f"  plain loop {t_plain:.2f} s, tracked {t_tracked:.2f} s (fastest of {repeats}): tracking overhead "
        f"{100 * overhead:.1f}% (tracker's own clock: {100 * min(own) / t_plain:.1f}%); "
        f"verify() {min(verify):.1f} s (final record and estimation, not part of the overhead)"
    )
    return overhead


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mlp-steps", type=int, default=2000)
    parser.add_argument("--conv-steps", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = {"mlp": measure("default Deep Gaussian VAE, digits", mlp_problem, args.mlp_steps, args.repeats)}
    out["conv"] = measure("conv VAE, MNIST", conv_problem, args.conv_steps, max(1, args.repeats - 2))
    return out


if __name__ == "__main__":
    main()
