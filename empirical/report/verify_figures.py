"""The figures of a verify report, in the one style of :mod:`empirical.report.figures`.

convergence.png, constants.png, training.png and, with the table of the constants along the
runs, constants_along_run.png; titles name the run in words (:mod:`empirical.report.names`).
What they show is explained in docs/theory.md and docs/decision.md.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from empirical.report.figures import (
    COLOURS,
    Z_BOUND,
    Z_MEAN,
    band_to_bottom,
    draw_runs,
    figure,
    figure_of,
    legend_outside,
    observable_label,
    positive,
    series_colour,
)
from empirical.report.names import constant_name, run_name, theorem_name

#: A bound more than this many times above the data is left out of the data's panel.
FAR_ABOVE = 30.0
#: An observed interval's upper end more than this many times the largest run value is drawn as
#: an open bar (an arrow) rather than to its end: a few very different runs can put the decision
#: rule's upper end hundreds of decades up, beyond what a log axis can scale to.
OPEN_ABOVE = 1e6


def largest_positive(samples: np.ndarray) -> float:
    """The largest positive observed value (NaN when none is positive): the data's top on a log axis.

    Args:
        samples: The observed values.

    Returns:
        max of the values > 0, or NaN.
    """
    return float(np.nanmax(positive(samples))) if np.any(np.asarray(samples) > 0) else math.nan


def open_top(hi: float, samples: np.ndarray) -> bool:
    """Whether the observed interval's upper end is drawn as an open bar (an arrow).

    Args:
        hi: The upper end.
        samples: The observed values (the runs' running averages).

    Returns:
        True when ``hi`` is infinite or more than :data:`OPEN_ABOVE` times the largest positive
        observed value.
    """
    top = largest_positive(samples)
    return bool(not np.isfinite(hi) or (np.isfinite(top) and hi > OPEN_ABOVE * top))


def far_above(curve: np.ndarray, samples: np.ndarray) -> bool:
    """Whether the bound is too far above the data to be drawn with it.

    Args:
        curve: The bound at every horizon.
        samples: The observed values.

    Returns:
        True when the bound's smallest finite value is more than :data:`FAR_ABOVE` times the
        largest positive observed value (drawn together, the data would be squashed).
    """
    curve = np.asarray(curve, dtype=float)
    ok = np.isfinite(curve) & (curve > 0)
    top = largest_positive(samples)
    return bool(ok.any() and np.isfinite(top) and curve[ok].min() > FAR_ABOVE * top)


def rate_text(rate) -> str:
    """What the theorem says of the rate in n, for the fitted slope's legend entry.

    Args:
        rate: The rate fit.

    Returns:
        "bound constant in n" when the rate is (e.g. Adam's constant-step bound), else the rate.
    """
    if rate.theory_exponent == 0 or str(rate.theory).strip() == "1":
        return "theory: bound constant in n, slope 0"
    if not np.isfinite(rate.theory_exponent):  # e.g. a bound through the steps' sums
        return f"theory: {rate.theory}"
    return f"theory: {rate.theory}, slope {rate.theory_exponent:g}"


def plot_convergence(result, path: Path):
    """convergence.png: the observed side against the bound as n grows.

    Top: the theorem's weighted average up to n, each run thin, the mean with its pointwise
    t-interval over runs as a band, the final observed interval, the fitted slope, and the bound
    when it is within :data:`FAR_ABOVE` of the data. Bottom: bound / observed mean against n.

    Args:
        result: The :class:`~empirical.conclusion.Result`.
        path: Where the figure is saved.

    Returns:
        The Figure.
    """
    ns, avg = np.asarray(result.extras["horizons"]), np.asarray(result.extras["running_averages"])
    curve = np.asarray(result.extras["bound_curve"])
    obs, rate, R = result.observed, result.rate, avg.shape[0]
    ok = np.isfinite(curve) & (curve > 0)
    far = far_above(curve, avg)
    title = (
        f"{run_name(result.settings)}: {R} run(s)\n{result.verdict.value}; "
        f"bound/observed = {result.ratio:.3g}"
    )
    ratios = {"height_ratios": [3, 1.4]}
    with figure(path, 2, 1, size=(10, 6), title=title, sharex=True, gridspec_kw=ratios) as (a1, a2):
        band = draw_runs(a1, ns, avg)
        a1.set_xscale("log")
        arrow = open_top(obs.hi, avg)  # an upper end at inf, or far above the runs: the bar is an arrow
        yerr = [[obs.value - obs.lo], [0.0 if arrow else obs.hi - obs.value]]
        label = f"observed at n: {obs.value:.4g} [{obs.lo:.4g}, {obs.hi:.4g}]"
        if arrow:
            label += " (^: to inf)" if not np.isfinite(obs.hi) else " (^: the upper end is off the axis)"
        a1.errorbar([ns[-1]], [obs.value], yerr=yerr, fmt="^" if arrow else "o", color=COLOURS["observed"],
                    capsize=3, zorder=Z_MEAN, label=label)  # fmt: skip
        if np.isfinite(rate.exponent):
            keep = ns >= 0.1 * result.settings.steps
            label = f"fitted slope {rate.exponent:.2f} [{rate.lo:.2f}, {rate.hi:.2f}] ({rate_text(rate)})"
            fit = np.exp(rate.intercept) * ns[keep] ** rate.exponent
            a1.plot(ns[keep], fit, "--", color=COLOURS["fit"], lw=1, zorder=Z_MEAN, label=label)
        if ok.any() and not far:
            a1.plot(ns[ok], curve[ok], color=COLOURS["bound"], lw=2, zorder=Z_BOUND,
                    label=f"bound: {theorem_name(result.theorem)}")  # fmt: skip
        elif far:
            text = f"bound at n: {result.bound_value:.3g}, far above (see the ratio below)"
            a1.text(0.98, 0.97, text, transform=a1.transAxes, ha="right", va="top", color=COLOURS["bound"])
        band_to_bottom(a1, band)
        a1.set_ylabel(observable_label(result.theorem.lhs.observable))
        a1.set_title("observed runs" + ("" if far else " and the bound at every horizon"))
        legend_outside(a1)
        mean = avg.mean(0)
        a2.loglog(
            ns,
            positive(curve / np.where(ok, mean, np.nan)),
            color=COLOURS["bound"],
            label="bound / observed mean",
        )
        a2.axhline(1.0, color=COLOURS["fit"], lw=1, ls=":", label="ratio 1: below it the bound is violated")
        a2.set(xlabel="iterations n", ylabel="bound / observed")
        legend_outside(a2)
    return figure_of(a1)


def constants_used(named: dict[str, Any], ends: dict[str, str]) -> list[str]:
    """The estimated constants the bound uses (those bound at an interval end), in estimation order.

    Args:
        named: The estimates by name.
        ends: Name -> the end bound into the theorem.

    Returns:
        Their names.
    """
    return [name for name in named if name in ends]


def plot_constants(result, path: Path):
    """constants.png: one panel per constant the bound uses, on its own axis fitted to its interval.

    Each shows the point estimate, the interval and the end put into the bound.

    Args:
        result: The :class:`~empirical.conclusion.Result`.
        path: Where the figure is saved.

    Returns:
        The Figure.
    """
    named, ends = result.constants.named(), result.binding.ends
    names = constants_used(named, ends)
    lower = set(result.constants.lower_estimates)
    with figure(
        path,
        len(names),
        1,
        size=(7, 0.95 * len(names) + 0.9),
        squeeze=False,
        title=f"{run_name(result.settings)}: estimated constants the bound uses, with their intervals",
    ) as axes:
        for ax, name in zip(axes[:, 0], names, strict=True):
            e, used = named[name], ends[name]
            width = max(e.hi - e.lo, abs(e.value) * 1e-3, 1e-12)
            ax.plot([e.lo, e.hi], [0, 0], "-", color=COLOURS["observed"], lw=4, solid_capstyle="butt")
            ax.plot([e.value], [0], "o", color=COLOURS["observed"], ms=6)
            ax.plot([e.hi if used == "hi" else e.lo], [0], "|", color=COLOURS["bound"], ms=22, mew=3)
            ax.set_xlim(min(e.lo, e.value) - 0.35 * width, max(e.hi, e.value) + 0.35 * width)
            ax.set_ylim(-1, 1)
            ax.set_yticks([])
            star = ", lower estimate of a supremum" if name in lower else ""
            ax.set_title(
                f"{name} = {e.value:.4g}  [{e.lo:.4g}, {e.hi:.4g}], used: {used} "
                f"= {e.hi if used == 'hi' else e.lo:.4g}{star}",
                loc="left",
            )
            ax.grid(axis="y", visible=False)
        axes[-1, 0].set_xlabel("value (blue: interval and point estimate; red: the end put into the bound)")
    return figure_of(axes)


def loss_scale(values: np.ndarray) -> tuple[str, dict[str, float], str]:
    """The scale of a loss axis.

    Args:
        values: The losses drawn.

    Returns:
        (scale, its options, a note for the title): "log" when every finite value is positive,
        else "symlog" (linear within the smallest magnitudes), said in the note.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0 or np.all(v > 0):
        return "log", {}, ""
    tiny = np.abs(v[v != 0])
    linthresh = float(np.quantile(tiny, 0.05)) if tiny.size else 1.0
    return "symlog", {"linthresh": linthresh}, " (symlog axis: the loss takes values <= 0)"


def plot_training(result, path: Path):
    """training.png: per run, the losses and the gradient norms along the steps.

    Minibatch loss and F(theta_k) (log axis, or symlog when a value is <= 0); ||g_k||^2 and the
    unbiased ||grad F(theta_k)||^2 records.

    Args:
        result: The :class:`~empirical.conclusion.Result`.
        path: Where the figure is saved.

    Returns:
        The Figure.
    """
    runs = result.runs
    steps = np.arange(1, runs.steps + 1)
    title = (
        f"training: {run_name(result.settings)}, {runs.runs} run(s), seeds {runs.seeds[0]}..{runs.seeds[-1]}"
    )
    thin = {"lw": 0.5, "alpha": 0.4, "color": COLOURS["other"]}
    dots = {"ms": 2, "color": COLOURS["observed"]}
    scale, options, note = loss_scale(np.concatenate([np.ravel(runs.loss), np.ravel(runs.full_loss)]))
    with figure(path, 1, 2, size=(10, 4.4), title=title) as (a1, a2):
        for i in range(runs.runs):
            first = i == 0
            a1.plot(steps, runs.loss[i], **thin, label="minibatch loss" if first else None)
            label = "F(θₖ), full data" if first else None
            a1.plot(runs.record_steps, runs.full_loss[i], "o-", **dots, label=label)
            read = np.isfinite(runs.grad_norm_sq[i])  # a tracker reads ||g_k||^2 at some steps only
            label = "‖gₖ‖² (minibatch)" if first else None
            a2.plot(steps[read], runs.grad_norm_sq[i][read], **thin, label=label)
            label = "unbiased ‖∇F(θₖ)‖² records (> 0 drawn)" if first else None
            a2.plot(runs.record_steps, positive(runs.full_grad_norm_sq[i]), "o-", **dots, label=label)
        a1.set_yscale(scale, **options)
        if scale == "log":  # a loss spans little of a decade: plain numbers, not 7.4 x 10^1
            from matplotlib.ticker import FuncFormatter

            plain = FuncFormatter(lambda v, _: f"{v:.4g}")
            a1.yaxis.set_major_formatter(plain)
            a1.yaxis.set_minor_formatter(plain)
        a1.set(xlabel="step k", ylabel=f"loss per example ({scale})", title=f"loss{note}")
        a2.set(xlabel="step k", ylabel="squared gradient norm (log)", title="gradient norms", yscale="log")
        legend_outside(a1, below=True)
        legend_outside(a2, below=True)
    return figure_of(a1)


def plot_constants_along_run(result, path: Path):
    """constants_along_run.png: one panel per column of the table along the runs, against the step.

    L, sigma2_data, the Monte-Carlo part, M and ||theta||_inf (symlog: linear up to 10): one
    thin line per run (named in the first panel's legend), the runs' constant dashed (the box
    radius for ||theta||_inf of a projected run), the stressed value marked (dotted line and
    star) when the search ran.

    Args:
        result: The :class:`~empirical.conclusion.Result` (with its table along the runs).
        path: Where the figure is saved.

    Returns:
        The Figure.
    """
    stress = result.stress
    along = stress.along
    own = stress.run_constants.named()
    found = {} if stress.search is None else stress.search.named()
    bound = set(result.binding.ends)
    columns = along.columns()
    R = 1 + max(r.run for r in along.rows)
    labels = {r.run: r.label for r in along.rows}
    steps = np.array(sorted({r.step for r in along.rows}), dtype=float)
    title = f"{run_name(result.settings)}: the constants at every snapshot of every run ({R} runs)"
    with figure(path, len(columns), 1, size=(9, 2.0 * len(columns) + 0.8), title=title, sharex=True,
                squeeze=False) as axes:  # fmt: skip
        for ax, column in zip(axes[:, 0], columns, strict=True):
            name = along.mc_name if column == "mc" else column
            values = along.series(column)
            for i in range(R):
                ax.plot(
                    steps[: values.shape[1]], values[i], lw=0.8, color=series_colour(i, R), label=labels[i]
                )
            words = "largest seen" + ("; the bound's" if name in bound and name not in found else "")
            if name in own:
                ax.axhline(own[name].value, ls="--", lw=1.2, color=COLOURS["fit"],
                           label=f"the runs' {name}: {own[name].value:.4g} ({words})")  # fmt: skip
            elif column == "theta_sup" and result.settings.box is not None:
                ax.axhline(result.settings.box, ls="--", lw=1.2, color=COLOURS["fit"],
                           label=f"box radius a = {result.settings.box:g}")  # fmt: skip
            if name in found:
                s = found[name]
                v = s.stressed.value
                ax.axhline(v, ls=":", lw=1.2, color=COLOURS["bound"])
                label = f"stressed {name}: {v:.4g} (gain {s.gain:.1%}; the bound's)"
                ax.plot([steps[-1]], [v], "*", ms=11, color=COLOURS["bound"], zorder=Z_BOUND, label=label)
            ax.set_xscale("symlog", linthresh=10)
            ax.set_title(constant_name(name), loc="left")
            handles, texts = ax.get_legend_handles_labels()
            if ax is not axes[0, 0]:  # the runs are named once, in the first panel's legend
                keep = [j for j, h in enumerate(handles) if h not in ax.lines[:R]]
                handles, texts = [handles[j] for j in keep], [texts[j] for j in keep]
            if handles:
                legend_outside(ax, handles=(handles, texts))
        axes[-1, 0].set_xlabel("step k (symlog axis: linear up to 10)")
    return figure_of(axes)


def write_figures(result, folder: Path) -> tuple[str, ...]:
    """Write the figures of a verify run.

    Args:
        result: The :class:`~empirical.conclusion.Result`.
        folder: Where they go.

    Returns:
        Their file names.
    """
    plot_convergence(result, folder / "convergence.png")
    plot_constants(result, folder / "constants.png")
    plot_training(result, folder / "training.png")
    names = ["convergence.png", "constants.png", "training.png"]
    if result.stress is not None and result.stress.along is not None:
        plot_constants_along_run(result, folder / "constants_along_run.png")
        names.append("constants_along_run.png")
    return tuple(names)
