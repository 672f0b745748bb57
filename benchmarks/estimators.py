"""Cost of the estimators on the default VAE (digits), measured side by side in one run.

Prints ratios of median wall times (methods interleaved, ``--rounds`` rounds) to
one batched gradient of the same loss:

1. per-example gradient statistics over B = 256 examples (the data-variance
   estimate): BackPACK-style norms from one backward (``recorder``) vs the
   vmap twin that materialises every per-example gradient vs a per-example loop;
   and the nested estimator (J = 2 draws) vs one backward over the same B J rows;
2. one Hessian-vector product (each mode) vs one gradient;
3. the number of HVPs Lanczos needs for 1e-3 relative accuracy on the top
   |eigenvalue| (checked against a converged reference), and ARPACK's count.

Usage: python benchmarks/estimators.py [--rounds 15] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Run as a script, this folder comes first on sys.path and its theory.py would
# shadow the `theory` package that empirical.models imports.
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import torch  # noqa: E402

from empirical import data, models  # noqa: E402
from empirical.estimators import smoothness  # noqa: E402
from empirical.estimators.hvp import HessianOperator  # noqa: E402
from empirical.estimators.per_example import per_example_gradients, recorder_row_stats, vmap_row_stats  # noqa: E402
from empirical.estimators.variance import model_gradient_variance  # noqa: E402


def interleaved(fns: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median seconds per call of every function, calls interleaved round by round."""
    for f in fns.values():  # warm-up
        f()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, f in fns.items():
            t = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    X_all = data.load("digits")
    model = models.make("gaussian", X_all.shape[1])
    params = model.init_params(torch.Generator().manual_seed(0))
    B = args.batch
    X = X_all[:B]
    gen = torch.Generator().manual_seed(1)
    eps = model.sample_noise(gen, batch=B)
    eps2 = model.sample_noise(gen, batch=2 * B)
    X2 = X.repeat_interleave(2, 0)
    print(
        f"default VAE {model.kind} D={model.data_dim} latent={model.latent_dim} hidden={model.hidden} "
        f"({model.n_params} parameters), digits, B={B}, torch threads={args.threads}, "
        f"median of {args.rounds} interleaved rounds"
    )

    def backward(Xb: torch.Tensor, eb: torch.Tensor) -> Callable[[], object]:
        def run() -> object:
            leaves = {k: v.detach().requires_grad_(True) for k, v in params.items()}
            return torch.autograd.grad(model.batch_loss(leaves, Xb, eb), list(leaves.values()))

        return run

    def loop() -> object:
        out = []
        for i in range(B):
            leaves = {k: v.detach().requires_grad_(True) for k, v in params.items()}
            out.append(torch.autograd.grad(model.loss(leaves, X[i], eps[i]), list(leaves.values())))
        return out

    # 1. per-example statistics
    t = interleaved(
        {
            "backward": backward(X, eps),
            "backward_2B": backward(X2, eps2),
            "recorder": lambda: recorder_row_stats(model, params, X, eps.unsqueeze(1)),
            "recorder_J2": lambda: recorder_row_stats(model, params, X, eps2.reshape(B, 2, *eps2.shape[1:])),
            "vmap_grads": lambda: per_example_gradients(model.loss, params, X, eps),
            "vmap_stats": lambda: vmap_row_stats(model.loss, params, X, eps.unsqueeze(1), chunk_size=B),
            "full_J2": lambda: model_gradient_variance(model, params, X, 2, seed=3),
        },
        args.rounds,
    )
    t_loop = interleaved({"loop": loop}, max(2, args.rounds // 5))["loop"]
    base, base2 = t["backward"], t["backward_2B"]
    print(f"\n1. per-example gradient statistics, B={B} (one batched backward = {base * 1e3:.2f} ms)")
    row("BackPACK-style norms (recorder), 1 draw", t["recorder"] / base, "x backward  (aim <= 2)")
    row("vmap, materialised per-example gradients", t["vmap_grads"] / base, "x backward")
    row("vmap twin of the statistics", t["vmap_stats"] / base, "x backward")
    row("per-example loop", t_loop / base, "x backward")
    row("nested estimator J=2 (recorder)", t["recorder_J2"] / base2, f"x backward over the same {2 * B} rows")
    row(
        "model_gradient_variance(J=2), end to end",
        t["full_J2"] / base2,
        f"x backward over the same {2 * B} rows",
    )

    # 2. one HVP vs one gradient
    def loss(p: dict[str, torch.Tensor]) -> torch.Tensor:
        return model.batch_loss(p, X, eps)

    ops = {mode: HessianOperator(loss, params, mode) for mode in ("double_backward", "forward_over_reverse")}
    v = torch.randn(ops["double_backward"].dim, generator=gen, dtype=torch.float64)
    t = interleaved(
        {
            "gradient": backward(X, eps),
            "db_cached": lambda: ops["double_backward"].matvec(v),
            "db_fresh": lambda: HessianOperator(loss, params, "double_backward").matvec(v),
            "for": lambda: ops["forward_over_reverse"].matvec(v),
        },
        args.rounds,
    )
    g = t["gradient"]
    print(f"\n2. one Hessian-vector product vs one gradient ({g * 1e3:.2f} ms)")
    row("double backward, gradient graph kept (Lanczos)", t["db_cached"] / g, "x gradient  (aim <= 3)")
    row("double backward, from scratch", t["db_fresh"] / g, "x gradient")
    row("forward-over-reverse (torch.func.jvp o grad)", t["for"] / g, "x gradient")

    # 3. Lanczos products for 1e-3 relative accuracy
    ref = smoothness(loss, params, tol=1e-10, max_iter=300, seed=11)
    print(f"\n3. Lanczos, top |eigenvalue| (reference {ref.value:.6g}: {ref.n_evals - 1} HVPs to tol 1e-10)")
    for seed in (0, 1, 2):
        est = smoothness(loss, params, tol=1e-3, seed=seed)
        err = abs(est.value - ref.value) / ref.value
        print(
            f"   seed {seed}: {est.n_evals - 1:3d} HVPs for tol 1e-3, relative error {err:.1e}  (aim <= 30)"
        )
    arp = smoothness(loss, params, tol=1e-3, solver="arpack")
    err = abs(arp.value - ref.value) / ref.value
    print(f"   ARPACK eigsh twin: {arp.n_evals - 1} HVPs, relative error {err:.1e}")


def row(label: str, ratio: float, unit: str) -> None:
    print(f"   {label:<48}: {ratio:6.2f} {unit}")


if __name__ == "__main__":
    main()
