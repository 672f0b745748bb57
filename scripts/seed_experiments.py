"""The seed paper's experiments (Surendran, Godichon-Baggioni, Le Corff, AISTATS 2025) on the
embedded digits data.

Deep VAE with a Bernoulli decoder (binary cross-entropy summed over pixels),
Adam with gamma_k = C_gamma k^{-1/2}, betas (0.9, 0.999). Two comparisons:

1. soft-clip activation with s in {1, 2, 5, 10} (hidden (0, 50), mean (-50, 50),
   log-variance (-20, 20)) against ReLU;
2. IWAE with K in {1, 5, 10} (soft-clip, s = 1).

For each, two figures against the iteration k: the full-data gradient norm
||grad F(theta_k)|| and the training objective F(theta_k) (-ELBO, or the
negative IWAE bound), plus -ELBO on held-out digits at the end (printed).

    python scripts/seed_experiments.py --out figures/ --steps 3000
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from empirical import data, models  # noqa: E402
from empirical.compare import brackets  # noqa: E402
from empirical.train import TrainRun, train  # noqa: E402

SHARPNESS = (1.0, 2.0, 5.0, 10.0)
IWAE_K = (1, 5, 10)


def held_out_neg_elbo(run: TrainRun, X: torch.Tensor, seed: int) -> float:
    """-ELBO (K = 1, analytic KL) of the trained params on held-out rows."""
    m = run.model
    elbo = models.make(
        "gaussian",
        m.data_dim,
        latent_dim=m.latent_dim,
        hidden=m.hidden,
        activation=m.activation,
        decoder=m.decoder,
        s=m.s,
    )
    with torch.no_grad():
        return float(elbo.full_loss(run.final_params(0), X, torch.Generator().manual_seed(seed), mc=5))


def average_grad_norm_sq(run: TrainRun) -> float:
    """(1/n) sum_{k<n} ||grad F(theta_k)||^2 by quadrature over the unbiased
    records (each gap at the mean of its ends), averaged over the runs."""
    left, right = brackets(run.record_steps, run.full_grad_norm_sq, np.full(run.steps, 1.0 / run.steps))
    return float(((left + right) / 2).mean())


def run_grid(
    label: str, configs: dict[str, dict], X: torch.Tensor, args: argparse.Namespace
) -> dict[str, TrainRun]:
    runs = {}
    for name, opts in configs.items():
        kind = opts.pop("kind", "gaussian")
        model = models.make(kind, X.shape[1], decoder="bernoulli", hidden=(64, 64), **opts)
        print(f"[{label}] {name}: {model.n_params} parameters", flush=True)
        runs[name] = train(
            model,
            None,
            X,
            optimizer="adam",
            steps=args.steps,
            batch_size=args.batch_size,
            C_gamma=args.lr_constant,
            records=range(0, args.steps + 1, args.record_every),
            seed=args.seed,
            seeds=args.seeds,
            progress=None,
        )
    return runs


def plot(runs: dict[str, TrainRun], title: str, path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, run in runs.items():
        # unbiased records of ||grad F||^2 can dip below 0; their mean over runs is shown
        axes[0].plot(run.record_steps, np.sqrt(np.maximum(run.full_grad_norm_sq.mean(0), 0.0)), label=name)
        axes[1].plot(run.record_steps, run.full_loss.mean(0), label=name)
    axes[0].set(yscale="log", xlabel="iteration k", ylabel="||grad F(theta_k)||")
    axes[1].set(xlabel="iteration k", ylabel="F(theta_k) (train)")
    axes[1].set_ylim(top=np.percentile(np.concatenate([r.full_loss.ravel() for r in runs.values()]), 95))
    for ax in axes:
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("figures"))
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr-constant", type=float, default=1e-2)
    parser.add_argument("--record-every", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=1, help="runs per configuration (batched)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    train_X, held_X = data.split(data.load("digits"), held_out=0.2, seed=0)
    clip = {f"soft-clip s={s:g}": {"activation": "softclip", "s": s} for s in SHARPNESS}
    clip["ReLU"] = {"activation": "relu"}
    iwae = {f"IWAE K={K}": {"kind": "iwae", "K": K} for K in IWAE_K}

    summary = {}
    for label, configs, title in (
        ("activation", clip, "digits: soft-clip vs ReLU (Bernoulli decoder, Adam)"),
        ("iwae", iwae, "digits: IWAE with K samples (soft-clip s=1, Adam)"),
    ):
        runs = run_grid(label, configs, train_X, args)
        path = args.out / f"seed_{label}.png"
        plot(runs, title, path)
        summary[label] = {
            name: {
                "final_train_objective": float(run.full_loss[:, -1].mean()),
                "final_grad_norm_sq": float(run.full_grad_norm_sq[:, -1].mean()),
                "mean_grad_norm_sq": average_grad_norm_sq(run),
                "held_out_neg_elbo": held_out_neg_elbo(run, held_X, args.seed),
                "seconds": float(run.elapsed[-1]),
            }
            for name, run in runs.items()
        }
        print(f"wrote {path}")
    (args.out / "seed_experiments.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
