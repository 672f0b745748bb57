"""Cost of the estimators, measured side by side in one run.

Prints ratios of median wall times (methods interleaved, ``--rounds`` rounds) to
one batched gradient of the same loss:

1. default VAE (digits): per-example gradient statistics over B = 256 examples
   (the data-variance estimate): BackPACK-style norms from one backward
   (``recorder``) vs the vmap twin that materialises every per-example gradient
   vs a per-example loop; and the nested estimator (J = 2 draws) vs one
   backward over the same B J rows;
2. one Hessian-vector product (each mode) vs one gradient;
3. the number of HVPs Lanczos needs for 1e-3 relative accuracy on the top
   |eigenvalue| (checked against a converged reference), and ARPACK's count;
4. a user's nn.Module (the conv VAE on MNIST, B = 128, J = 2 draws): the
   data/MC variance statistics (per-layer route) vs one batched backward, beside
   the vmap route and BackPACK's ``BatchL2Grad`` (when importable);
5. Lanczos bookkeeping (everything but the HVPs) as a share of the HVP time on a
   156k-parameter VAE (MNIST), beside the previous implementation;
6. one SGD step of the conv VAE at B = 128 and its parameter count.

Usage: python benchmarks/estimators.py [--rounds 15] [--threads 1] [--sections 1,2,3,4,5,6]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch

from empirical import conv, data, models
from empirical.estimators import smoothness
from empirical.estimators.hvp import HessianOperator
from empirical.estimators.module_stats import module_stats_at
from empirical.estimators.per_example import per_example_gradients, recorder_row_stats, vmap_row_stats
from empirical.estimators.smoothness import lanczos_extreme
from empirical.estimators.variance import vae_gradient_variance


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
    ap.add_argument("--sections", default="1,2,3,4,5,6", help="comma-separated section numbers")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sections = {int(x) for x in args.sections.split(",")}
    if sections & {1, 2, 3}:
        default_vae(args, sections)
    if 4 in sections:
        module_statistics(args)
    if 5 in sections:
        lanczos_bookkeeping(args)
    if 6 in sections:
        conv_step(args)


def default_vae(args: argparse.Namespace, sections: set[int]) -> None:
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

    if 1 in sections:
        # 1. per-example statistics
        t = interleaved(
            {
                "backward": backward(X, eps),
                "backward_2B": backward(X2, eps2),
                "recorder": lambda: recorder_row_stats(model, params, X, eps.unsqueeze(1)),
                "recorder_J2": lambda: recorder_row_stats(
                    model, params, X, eps2.reshape(B, 2, *eps2.shape[1:])
                ),
                "vmap_grads": lambda: per_example_gradients(model.loss, params, X, eps),
                "vmap_stats": lambda: vmap_row_stats(model.loss, params, X, eps.unsqueeze(1), chunk_size=B),
                "full_J2": lambda: vae_gradient_variance(model, params, X, 2, seed=3),
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
        row(
            "nested estimator J=2 (recorder)",
            t["recorder_J2"] / base2,
            f"x backward over the same {2 * B} rows",
        )
        row(
            "vae_gradient_variance(J=2), end to end",
            t["full_J2"] / base2,
            f"x backward over the same {2 * B} rows",
        )

    def loss(p: dict[str, torch.Tensor]) -> torch.Tensor:
        return model.batch_loss(p, X, eps)

    if 2 in sections:
        # 2. one HVP vs one gradient
        ops = {
            mode: HessianOperator(loss, params, mode) for mode in ("double_backward", "forward_over_reverse")
        }
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

    if 3 in sections:
        # 3. Lanczos products for 1e-3 relative accuracy
        ref = smoothness(loss, params, tol=1e-10, max_iter=300, seed=11)
        print(
            f"\n3. Lanczos, top |eigenvalue| (reference {ref.value:.6g}: {ref.n_evals - 1} HVPs to tol 1e-10)"
        )
        for seed in (0, 1, 2):
            est = smoothness(loss, params, tol=1e-3, seed=seed)
            err = abs(est.value - ref.value) / ref.value
            hvps = est.n_evals - 1
            print(f"   seed {seed}: {hvps:3d} HVPs for tol 1e-3, relative error {err:.1e}  (aim <= 30)")
        arp = smoothness(loss, params, tol=1e-3, solver="arpack")
        err = abs(arp.value - ref.value) / ref.value
        print(f"   ARPACK eigsh twin: {arp.n_evals - 1} HVPs, relative error {err:.1e}")


NOISE_SEED = 5


def module_statistics(args: argparse.Namespace) -> None:
    """Section 4: per-example statistics of a user's nn.Module (the conv VAE) at B = 128, J = 2."""
    B, J = 128, 2
    model, loss = conv.make(784)
    X = data.load("mnist")[:B]
    rows = X.repeat_interleave(J, 0)

    def backward(Xb: torch.Tensor) -> Callable[[], object]:
        def run() -> object:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                total = loss(model, Xb).sum()
            return torch.autograd.grad(total, list(model.parameters()))

        return run

    fns: dict[str, Callable[[], object]] = {
        "backward_B": backward(X),
        "backward_BJ": backward(rows),
        "per_layer": lambda: module_stats_at(model, loss, X, J, NOISE_SEED),
        "vmap": lambda: module_stats_at(model, loss, X, J, NOISE_SEED, per_layer=False),
    }
    backpack_run, why = backpack_batch_l2(rows)
    if backpack_run is not None:
        fns["backpack"] = backpack_run
    t = interleaved(fns, max(3, args.rounds // 3))
    ours = module_stats_at(model, loss, X, J, NOISE_SEED)
    routes = sorted(set(ours.routes.values()))
    base, base2 = t["backward_B"], t["backward_BJ"]
    print(
        f"\n4. user nn.Module: conv VAE ({model.n_params} parameters), MNIST, B={B} examples x J={J} draws "
        f"(one batched backward at B = {base * 1e3:.1f} ms, over the {B * J} rows = {base2 * 1e3:.1f} ms)"
    )
    print(f"   routes used: {', '.join(routes)} ({ours.route_summary()})")
    for key, label in (
        ("per_layer", "data/MC statistics, per-layer route"),
        ("vmap", "same statistics, vmap route"),
    ):
        row(label, t[key] / base2, f"x backward over the same {B * J} rows")
        row("", t[key] / base, f"x backward of the B={B} minibatch  (aim <= 3)")
    if backpack_run is None:
        print(f"   BackPACK BatchL2Grad: skipped ({why})")
    else:
        l2 = backpack_run()
        sq = ours.stats["enc1.weight"].sq_draw.reshape(-1)
        agree = float(((l2["enc1.weight"].double() - sq).abs() / sq).max())
        row(
            "BackPACK BatchL2Grad (||g_r||^2 only)",
            t["backpack"] / base2,
            f"x backward over the same {B * J} rows",
        )
        row("", t["backpack"] / base, f"x backward of the B={B} minibatch")
        print(f"   BackPACK's ||g_r||^2 of enc1.weight vs ours: max relative difference {agree:.1e}")


def backpack_batch_l2(rows: torch.Tensor) -> tuple[Callable[[], dict[str, torch.Tensor]] | None, str]:
    """BackPACK's per-row squared gradient norms on a separate copy of the conv VAE, if importable."""
    try:
        from backpack import backpack, extend
        from backpack.extensions import BatchL2Grad
    except Exception as err:  # noqa: BLE001 - any import failure means: not available here
        return None, f"backpack-for-pytorch does not import: {type(err).__name__}: {err}"
    model, loss = conv.make(784)
    model = extend(model)

    def run() -> dict[str, torch.Tensor]:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(NOISE_SEED)  # the noise of module_stats_at(..., NOISE_SEED)
            total = loss(model, rows).sum()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its full backward hooks warn on every call
            with backpack(BatchL2Grad()):
                total.backward()
        out = {k: p.batch_l2 for k, p in model.named_parameters()}
        model.zero_grad()
        return out

    return run, ""


def lanczos_bookkeeping(args: argparse.Namespace) -> None:
    """Section 5: time of Lanczos outside the HVPs, as a share of the HVP time, at ~150k parameters."""
    X = data.load("mnist")[:256]
    model = models.make("gaussian", 784, hidden=(96,), latent_dim=16)
    params = model.init_params(torch.Generator().manual_seed(0))
    eps = model.sample_noise(torch.Generator().manual_seed(1), batch=X.shape[0])

    def loss(p: dict[str, torch.Tensor]) -> torch.Tensor:
        return model.batch_loss(p, X, eps)

    print(
        f"\n5. Lanczos bookkeeping share (time outside the HVPs / time in the HVPs), {model.n_params} "
        f"parameters, MNIST B={X.shape[0]}; median of {args.rounds} interleaved runs  (aim <= 0.15)"
    )
    for tol in (1e-3, 1e-6):
        shares: dict[str, list[float]] = {"now": [], "before": []}
        steps = {}
        for _ in range(args.rounds):
            for name, solver in (("now", lanczos_extreme), ("before", previous_lanczos)):
                op = HessianOperator(loss, params)
                in_hvp = [0.0]
                product = op.matvec

                def timed(v: torch.Tensor, product=product, in_hvp=in_hvp) -> torch.Tensor:
                    start = time.perf_counter()
                    out = product(v)
                    in_hvp[0] += time.perf_counter() - start
                    return out

                op.matvec = timed  # type: ignore[method-assign]
                v0 = torch.randn(op.dim, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
                start = time.perf_counter()
                _, _, steps[name] = solver(op, v0, tol, 100)
                total = time.perf_counter() - start
                shares[name].append((total - in_hvp[0]) / in_hvp[0])
        for name, label in (
            ("now", "DGKS, basis in the HVP dtype"),
            ("before", "previous: 2 full passes, float64"),
        ):
            row(
                f"tol {tol:g}, {steps[name]} HVPs, {label}",
                statistics.median(shares[name]),
                "of the HVP time",
            )


def previous_lanczos(
    op: HessianOperator, v0: torch.Tensor, tol: float, max_iter: int
) -> tuple[float, float, int]:
    """The implementation this benchmark replaced (float64 basis for max_iter vectors, two full
    re-orthogonalisation passes, dense eigh of T every step), kept for the comparison only."""
    n = op.dim
    m_max = min(max_iter, n)
    Q = torch.zeros(m_max + 1, n, dtype=torch.float64)
    alphas: list[float] = []
    betas: list[float] = []
    Q[0] = v0 / v0.norm()
    theta, resid = 0.0, float("inf")
    for j in range(m_max):
        w = op.matvec(Q[j].to(op.dtype)).to(torch.float64)
        alpha = float(Q[j] @ w)
        w = w - alpha * Q[j] - (betas[-1] * Q[j - 1] if j > 0 else 0.0)
        for _ in range(2):
            w = w - Q[: j + 1].T @ (Q[: j + 1] @ w)
        beta = float(w.norm())
        alphas.append(alpha)
        T = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
        evals, evecs = np.linalg.eigh(T)
        i = int(np.argmax(np.abs(evals)))
        theta, resid = float(evals[i]), abs(beta * float(evecs[-1, i]))
        if resid <= tol * max(abs(theta), 1e-300) or beta <= 1e-12 * max(1.0, abs(theta)) or j + 1 == n:
            return theta, resid, j + 1
        betas.append(beta)
        Q[j + 1] = w / beta
    return theta, resid, m_max


def conv_step(args: argparse.Namespace) -> None:
    """Section 6: one SGD step of the conv VAE at B = 128 (forward, backward, update)."""
    model, loss = conv.make(784)
    X = data.load("mnist")
    opt = torch.optim.SGD(model.parameters(), lr=1e-4)
    gen = torch.Generator().manual_seed(0)

    def step() -> None:
        idx = torch.randint(0, X.shape[0], (128,), generator=gen)
        opt.zero_grad()
        loss(model, X[idx]).mean().backward()
        opt.step()

    t = interleaved({"step": step}, args.rounds)["step"]
    print(
        f"\n6. conv VAE: {model.n_params} parameters; one SGD step at B=128 (MNIST, "
        f"torch threads={args.threads}): {t * 1e3:.1f} ms"
    )


def row(label: str, ratio: float, unit: str) -> None:
    print(f"   {label:<48}: {ratio:6.2f} {unit}")


if __name__ == "__main__":
    main()
