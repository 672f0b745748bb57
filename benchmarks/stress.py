"""The stress step of ``verify`` on the default run (digits, soft-clip Deep Gaussian VAE, SGD,
n = 2000, B = 32, 4 seeds, 16 snapshots per run), measured in this one run of the script: the
wall time of verify (in this process, imports excluded) and of its two stress parts, the
constants along the runs (every snapshot) and the search, as shares of verify's time (aim:
together at most 30 %; benchmarks/verify.py measures it against the whole command), what the
search found (L, sigma2 parts: the runs' value, stressed, gain), both verdicts, where each
constant was largest along the runs, and the growth-condition line of the report.

Run: python benchmarks/stress.py [--box A] [--no-stress]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from empirical.pipeline.pipeline import verify
from empirical.settings import Settings


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--box", type=float, default=None, help="--box of verify (projected SGD)")
    parser.add_argument("--no-stress", action="store_true", help="--no-stress of verify")
    args = parser.parse_args(argv)
    settings = replace(Settings(), box=args.box, stress=not args.no_stress)
    t = time.perf_counter()
    result = verify(settings)
    total = time.perf_counter() - t
    along, search = result.timings.get("along_run", 0.0), result.timings.get("stress", 0.0)
    share = (along + search) / total
    print(
        f"verify {total:.1f} s (in this process); constants along the runs {along:.1f} s "
        f"({along / total:.1%}); search {search:.1f} s ({search / total:.1%}); together {share:.1%} "
        f"(aim <= 30 %: {'met' if share <= 0.30 else 'NOT met'})"
    )
    stress = result.stress
    print(f"verdict: {result.headline}")
    if stress.at_run is not None:
        at = stress.at_run
        print(f"at the runs' constants: bound {at.binding.value:.4g}, {at.decision.verdict.value}")
    if stress.search is None:
        print(f"stress: {stress.reason}")
    else:
        print(f"evaluations: table {stress.along.n_evals}, search {stress.search.n_evals}")
        for name, s in stress.search.named().items():
            st = s.stressed
            print(
                f"{name:12s} runs' {s.used.value:9.4g}  found {s.found.value:9.4g}  stressed {st.value:9.4g} "
                f"[{st.lo:.4g}, {st.hi:.4g}]  gain {s.gain:6.1%}  (on the search's noise: {s.screened:.4g} "
                f"at the snapshots -> {s.searched:.4g}; {s.where.label}, from {s.where.start}, "
                f"{s.where.steps} steps)"
            )
    for column in stress.along.columns():
        r = stress.along.largest(column)
        print(f"largest {column:11s} {r.value(column):9.4g} at {r.label}, step {r.step}")
    g = result.growth
    if g.fit is not None:
        f = g.fit
        print(
            f"growth fit ({len(f.points)} cells): A = {f.A.value:.4g} [{f.A.lo:.4g}, {f.A.hi:.4g}] (upper "
            f"{f.A_upper:.4g}), G = {f.G.value:.4g} [{f.G.lo:.4g}, {f.G.hi:.4g}] (upper {f.G_upper:.4g}); "
            f"bounded-variance sigma2 = {g.sigma2:.4g}"
        )
    if g.step is not None:
        sc = g.step
        print(f"step condition: gamma_max {sc.gamma_max:.4g} <= {sc.limit:.4g} at L = {sc.L:.4g}: "
              f"{'holds' if sc.holds else 'fails'}")  # fmt: skip
    if g.applies:
        print(f"growth bound {g.bound:.4g} ({g.theorem}), bounded variance {g.bounded_variance:.4g} "
              f"({g.comparator}): smaller {g.smaller}")  # fmt: skip
    else:
        print(f"growth bound: {g.why_not}")
    return {"verify": total, "along": along, "search": search, "share": share}


if __name__ == "__main__":
    main()
