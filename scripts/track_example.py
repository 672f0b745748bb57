"""The walkthrough's tracker example (docs/walkthrough.md): a VAE written from scratch,
trained in a plain loop with SGD under a StepLR schedule (and, with --optimizer adam,
torch.optim.Adam), followed by
``empirical.track``; prints the verdict, the bound, the observed side and the rows. One run is
inconclusive (one run cannot estimate an expectation); ``--runs 4`` trains seeds 0..3 the same
way and verifies them together (``empirical.tracking.verify_runs``).

Its :class:`VAE` is the one small user model: notebook 02 and the tests (tests/cases.py)
import it from here, and ``make`` serves ``--model scripts/track_example.py:make``.

    python scripts/track_example.py [--optimizer sgd|adam] [--runs R] [--out track-report]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import torch  # noqa: E402
from torch import nn  # noqa: E402

import empirical  # noqa: E402
from empirical.data import load  # noqa: E402


class VAE(nn.Module):  # your own model, nothing from vaebounds
    """A VAE written from scratch (the one small user model of the walkthrough, notebook 02 and the
    tests): tanh MLPs, log-variances in [-1, 1], a Gaussian decoder with unit variance."""

    loss_lower_bound = 0.0  # 0.5 ||x - G(z)||^2 >= 0 and KL >= 0: the tracker takes Delta from it

    def __init__(self, D: int, hidden: int = 64, latent: int = 8) -> None:
        super().__init__()
        self.enc = nn.Linear(D, hidden)
        self.mean, self.logvar = nn.Linear(hidden, latent), nn.Linear(hidden, latent)
        self.dec = nn.Sequential(nn.Linear(latent, hidden), nn.Tanh(), nn.Linear(hidden, D))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # per-example -ELBO, shape (len(x),)
        h = torch.tanh(self.enc(x))
        mu, lv = self.mean(h), torch.tanh(self.logvar(h))
        z = mu + (0.5 * lv).exp() * torch.randn_like(mu)  # its own noise, from torch's global RNG
        return 0.5 * (x - self.dec(z)).square().sum(1) + 0.5 * (lv.exp() + mu**2 - 1 - lv).sum(1)


def loss(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The per-example losses empirical.track takes: loss(model, x), shape (len(x),)."""
    return model(x)


def make(data_dim: int, hidden: int = 64, latent: int = 8) -> tuple[nn.Module, object]:
    """``--model scripts/track_example.py:make``: the VAE and its loss."""
    return VAE(data_dim, hidden, latent), loss


def run(optimizer: str = "sgd", runs: int = 1, approximate_ok: bool = False):
    """Train seeds 0..runs-1 in the plain loop below, tracked, and verify them together.

    Args:
        optimizer: ``"sgd"`` (lr 0.01 under StepLR(500, 0.5)) or ``"adam"`` (torch.optim.Adam, lr 1e-3).
        runs: the runs R (one run: its own bracket; several: the interval over runs).
        approximate_ok: accept the rows that are only approximately met.

    Returns:
        The :class:`empirical.conclusion.Result`.
    """
    X = load("digits") / 16.0
    trackers = []
    for seed in range(runs):
        torch.manual_seed(seed)
        model = VAE(X.shape[1])
        if optimizer == "sgd":
            opt = torch.optim.SGD(model.parameters(), lr=0.01)
            sched = torch.optim.lr_scheduler.StepLR(opt, step_size=500, gamma=0.5)
        else:
            opt, sched = torch.optim.Adam(model.parameters(), lr=1e-3), None
        tracker = empirical.track(model, loss, X, opt, seed=seed)
        for _ in range(2000):
            x = X[torch.randint(len(X), (32,))]
            opt.zero_grad()
            minibatch = loss(model, x).mean()
            minibatch.backward()
            opt.step()
            if sched is not None:
                sched.step()
            tracker.step(minibatch)
        trackers.append(tracker)
    if runs == 1:
        return trackers[0].verify(approximate_ok=approximate_ok)
    return empirical.tracking.verify_runs([t.finish() for t in trackers], approximate_ok=approximate_ok)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizer", default="sgd", choices=("sgd", "adam"))
    parser.add_argument("--runs", type=int, default=1, help="seeds 0..R-1, verified together")
    parser.add_argument("--approximate-ok", action="store_true", help="accept approximate rows")
    parser.add_argument("--out", default="track-report")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    result = run(args.optimizer, args.runs, args.approximate_ok)
    result.write(args.out)

    print(f"{result.theorem.name}: {result.verdict.value} (exit {result.exit_code}); holds: {result.holds}")
    print(result.headline)
    o = result.observed
    print(
        f"bound {result.bound:.4g}, observed {o.value:.4g} [{o.lo:.4g}, {o.hi:.4g}], ratio {result.ratio:.3g}"
    )
    print("records:", len(result.records), "first", result.records[0], "last", result.records[-1])
    for row in result.assumptions:
        print(f"  {row.id:14s} {row.status}")
    info = result.extras["tracker"]
    print(f"B = {info['batch_size']} ({info['batch_how']}); tracking overhead {100 * info['overhead']:.1f}%")
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
