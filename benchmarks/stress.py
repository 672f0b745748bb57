"""The stress test's cost against ``vaebounds verify`` on the default run (digits, soft-clip
Deep Gaussian VAE, SGD, n = 2000, B = 32, 4 seeds, 16 snapshots per run), measured in this one
run of the script: the wall time of verify, then of the constants along the runs (every
snapshot) and of the search at the default budget, as ratios of verify's time (aim: the
table and the search together at most 30 %), what the search found (L, sigma2 parts: used,
stressed, gain), and the growth-condition fit of the runs' records (A, G, their upper values,
its step condition at the used and at the stressed L, A against the bounded-variance sigma2).

Run: python benchmarks/stress.py [--repeats 1] [--box A]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

# benchmarks/theory.py would shadow the `theory` package that empirical imports.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from empirical.estimators.along_run import constants_along_run  # noqa: E402
from empirical.estimators.growth import growth_fit_of  # noqa: E402
from empirical.estimators.probes import vae_problem  # noqa: E402
from empirical.estimators.stress import stress  # noqa: E402
from empirical.pipeline.pipeline import prepare, verify  # noqa: E402
from empirical.settings import Settings  # noqa: E402
from empirical.threads import torch_threads  # noqa: E402


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=1, help="verify / search pairs (fastest of each)")
    parser.add_argument("--box", type=float, default=None, help="--box of verify (projected SGD)")
    args = parser.parse_args(argv)
    settings = Settings() if args.box is None else replace(Settings(), box=args.box)
    times: dict[str, list[float]] = {"verify": [], "along": [], "search": []}
    for _ in range(args.repeats):  # alternate, so drifting load affects both alike
        t = time.perf_counter()
        result = verify(settings)
        times["verify"].append(time.perf_counter() - t)
        runs = result.runs
        with torch_threads():
            problem = prepare(settings)
            vp = vae_problem(problem.model, problem.X, seed=settings.seed, keys=tuple(runs.param_keys))
            snaps = list(runs.snapshots)
            labels = [f"seed {s}" for s in runs.seeds]
            t = time.perf_counter()
            along = constants_along_run(vp, snaps, steps=runs.snapshot_steps, labels=labels)
            times["along"].append(time.perf_counter() - t)
            t = time.perf_counter()
            found = stress(vp, snaps, used=result.constants.named(), along=along)
            times["search"].append(time.perf_counter() - t)
    best = {k: min(v) for k, v in times.items()}
    share = (best["along"] + best["search"]) / best["verify"]
    print(
        f"verify {best['verify']:.1f} s; constants along the runs {best['along']:.1f} s "
        f"({best['along'] / best['verify']:.1%}); search {best['search']:.1f} s "
        f"({best['search'] / best['verify']:.1%}); together {share:.1%} of verify "
        f"(aim <= 30 %: {'met' if share <= 0.30 else 'NOT met'}); fastest of {args.repeats}"
    )
    print(f"evaluations: table {along.n_evals}, search {found.n_evals}")
    for name, s in found.named().items():
        st = s.stressed
        print(
            f"{name:12s} used {s.used.value:9.4g}  stressed {st.value:9.4g} [{st.lo:.4g}, {st.hi:.4g}]  "
            f"gain {s.gain:6.1%}  (on the search's noise: {s.screened:.4g} at the snapshots -> "
            f"{s.searched:.4g}; {s.where.label}, from {s.where.start}, {s.where.steps} steps)"
        )
    for column in along.columns():
        r = along.largest(column)
        print(f"largest {column:11s} {r.value(column):9.4g} at {r.label}, step {r.step}")
    t = time.perf_counter()
    fit = growth_fit_of(runs)
    fit_time = time.perf_counter() - t
    c = result.constants
    K = problem.model.K
    sigma2 = c.sigma2_data.value / settings.batch_size + c.sigma2_mc.value / (settings.batch_size * K)
    print(
        f"growth fit ({fit_time:.2f} s, {len(fit.points)} cells): A = {fit.A.value:.4g} "
        f"[{fit.A.lo:.4g}, {fit.A.hi:.4g}] (upper {fit.A_upper:.4g}), G = {fit.G.value:.4g} "
        f"[{fit.G.lo:.4g}, {fit.G.hi:.4g}] (upper {fit.G_upper:.4g}); max excess {fit.max_excess_sd:.2f} sd; "
        f"A / bounded-variance sigma2 (B = {settings.batch_size}) = {fit.A_upper:.4g} / {sigma2:.4g} "
        f"= {fit.A_upper / sigma2:.2f}"
    )
    for what, L in (("used", found.L.used.value), ("stressed", found.L.stressed.value)):
        sc = fit.step_condition(L, runs.step_sizes)
        print(
            f"step condition at L {what} = {L:.4g}: gamma_max {sc.gamma_max:.4g} <= 1/(L (1 + G_upper)) = "
            f"{sc.limit:.4g}: {'holds' if sc.holds else 'FAILS'}"
        )
    return {**best, "share": share}


if __name__ == "__main__":
    main()
