"""Every figure vaebounds draws, in one plotting style (:data:`STYLE`,
:data:`COLOURS`): the convergence of a verify run, its constants, its
training curves, and a sweep's bound against observed per grid point."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

#: The one style: matplotlib rc parameters used for every figure.
STYLE: dict[str, Any] = {
    "figure.dpi": 110,
    "savefig.dpi": 120,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "lines.linewidth": 1.5,
}
#: What each colour means, in every figure.
COLOURS = {"bound": "tab:red", "observed": "tab:blue", "fit": "black", "other": "tab:gray"}
#: Axis label of each observable a theorem may bound.
OBSERVABLE_LABELS = {
    "grad_norm_sq": r"weighted average of $\|\nabla F(\theta_j)\|^2$, $j < n$",
    "gradient_mapping_sq": r"weighted average of $\|(\theta_j - \theta_{j+1})/\gamma_{j+1}\|^2$, $j < n$",
}


@contextmanager
def figure(path: Path, *subplots: int, size: tuple[float, float]) -> Iterator[Any]:
    """A figure in :data:`STYLE` with ``subplots`` (rows, cols), saved to ``path`` and closed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(*(subplots or (1, 1)), figsize=size)
        try:
            yield axes
            fig.tight_layout()
            fig.savefig(path)
        finally:
            plt.close(fig)


def plot_convergence(result, path: Path) -> None:
    """The theorem's weighted average up to n per run and their mean (log-log),
    the bound at every n with the same constants, and the fitted slope."""
    ns, avg = result.extras["horizons"], np.asarray(result.extras["running_averages"])
    curve, rate = np.asarray(result.extras["bound_curve"]), result.rate
    with figure(path, size=(7, 4.5)) as ax:
        ok = np.isfinite(curve) & (curve > 0)
        if ok.any():
            ax.loglog(ns[ok], curve[ok], color=COLOURS["bound"], lw=2, label=f"bound ({result.theorem.name})")
        for i, row in enumerate(avg):
            label = "each run" if i == 0 and len(avg) > 1 else None
            ax.loglog(ns, np.maximum(row, 1e-300), color=COLOURS["observed"], lw=0.6, alpha=0.4, label=label)
        mean = avg.mean(0)
        ax.loglog(ns, np.maximum(mean, 1e-300), "o-", color=COLOURS["observed"], ms=3,
                  label=f"observed, mean of {len(avg)} run(s)")  # fmt: skip
        if np.isfinite(rate.exponent):
            keep = ns >= 0.1 * result.settings.steps
            ax.loglog(
                ns[keep],
                np.exp(rate.intercept) * ns[keep] ** rate.exponent,
                "--",
                color=COLOURS["fit"],
                lw=1,
                label=f"fitted slope {rate.exponent:.2f} [{rate.lo:.2f}, {rate.hi:.2f}] "
                f"(theory {rate.theory_exponent:g}, with log factor)",
            )
        ax.set_xlabel("iterations n")
        observable = result.theorem.lhs.observable
        ax.set_ylabel(OBSERVABLE_LABELS.get(observable, observable.replace("_", " ")))
        ax.set_title(f"{result.settings.model} VAE, {result.settings.optimizer}: {result.verdict.value} "
                     f"(bound/observed = {result.ratio:.3g})")  # fmt: skip
        ax.legend()


def plot_constants(result, path: Path) -> None:
    """Each estimated constant's interval relative to its point estimate,
    labelled with the numbers; the end put into the bound is marked."""
    named = result.constants.named()
    names = list(named)
    lower = set(result.constants.lower_estimates)
    with figure(path, size=(8, 0.6 * len(names) + 1.2)) as ax:
        for i, name in enumerate(names):
            e = named[name]
            scale = e.value if e.value != 0 else 1.0
            lo, hi = e.lo / scale, e.hi / scale
            ax.plot([lo, hi], [i, i], "-", color=COLOURS["observed"], lw=3, solid_capstyle="butt")
            ax.plot([1.0], [i], "o", color=COLOURS["observed"])
            used = result.binding.ends.get(name)
            if used:
                ax.plot([hi if used == "hi" else lo], [i], "|", color=COLOURS["bound"], ms=18, mew=3)
            label = f"{e.value:.4g}  [{e.lo:.4g}, {e.hi:.4g}]" + (f"  used: {used}" if used else "")
            ax.annotate(label, (max(hi, 1.0), i), xytext=(8, 0), textcoords="offset points", va="center",
                        fontsize=8)  # fmt: skip
        ax.set_yticks(range(len(names)), [f"{n} *" if n in lower else n for n in names])
        ax.invert_yaxis()
        ax.set_xlabel("interval relative to the point estimate (red: end used in the bound; "
                      "*: lower estimate of a supremum)")  # fmt: skip
        ratios = [(e.lo / (e.value or 1.0), e.hi / (e.value or 1.0)) for e in named.values()]
        ax.set_xlim(min(0.8, min(r[0] for r in ratios) - 0.05), max(r[1] for r in ratios) + 0.6)
        ax.set_title("estimated constants with their intervals")


def plot_training(result, path: Path) -> None:
    """Per run: minibatch loss and ||g_k||^2 per step; F and the ||grad F||^2 records."""
    runs = result.runs
    steps = np.arange(1, runs.steps + 1)
    with figure(path, 1, 2, size=(10, 3.6)) as (a1, a2):
        for i in range(runs.runs):
            first = i == 0
            a1.plot(steps, runs.loss[i], lw=0.5, alpha=0.4, color=COLOURS["other"],
                    label="minibatch loss" if first else None)  # fmt: skip
            a1.plot(runs.record_steps, runs.full_loss[i], "o-", ms=2, color=COLOURS["observed"],
                    label="F(θ_k)" if first else None)  # fmt: skip
            a2.semilogy(steps, runs.grad_norm_sq[i], lw=0.5, alpha=0.4, color=COLOURS["other"],
                        label=r"$\|g_k\|^2$ (minibatch)" if first else None)  # fmt: skip
            shown = np.maximum(runs.full_grad_norm_sq[i], 1e-12)
            a2.semilogy(runs.record_steps, shown, "o-", ms=2, color=COLOURS["observed"],
                        label=r"unbiased $\|\nabla F(\theta_k)\|^2$ records" if first else None)  # fmt: skip
        a1.set_xlabel("step")
        a1.set_ylabel("loss per example")
        a2.set_xlabel("step")
        a1.set_title(f"{runs.runs} run(s), seeds {runs.seeds[0]}..{runs.seeds[-1]}")
        a1.legend()
        a2.legend()


def plot_sweep(rows: Sequence[dict[str, Any]], axes: Sequence[str], path: Path) -> None:
    """Bound and observed mean (with its interval) at each grid point, log scale."""
    labels = [", ".join(f"{a}={r[a]}" for a in axes) for r in rows]
    x = range(len(rows))
    with figure(path, size=(max(6, 0.6 * len(rows) + 2), 4)) as ax:
        ax.semilogy(x, [r["bound"] for r in rows], "s", color=COLOURS["bound"], label="bound")
        ax.errorbar(
            x,
            [r["observed"] for r in rows],
            yerr=[
                [r["observed"] - r["observed_lo"] for r in rows],
                [r["observed_hi"] - r["observed"] for r in rows],
            ],
            fmt="o",
            color=COLOURS["observed"],
            label="observed (mean over runs, interval)",
        )
        ax.set_xticks(list(x), labels, rotation=45, ha="right")
        ax.legend()
        ax.set_title("sweep: bound vs observed at each grid point")


def write_figures(result, folder: Path) -> tuple[str, ...]:
    """The three figures of a verify run into ``folder``; their file names."""
    plot_convergence(result, folder / "convergence.png")
    plot_constants(result, folder / "constants.png")
    plot_training(result, folder / "training.png")
    return ("convergence.png", "constants.png", "training.png")
