"""Every figure vaebounds draws, in one plotting style (:data:`STYLE`,
:data:`COLOURS`, :func:`figure`): the convergence of a verify run, its
constants, its training curves, a sweep's bound against observed per grid
point, and the notebooks' figures (which draw through :func:`figure` too).

Figures are built on :class:`matplotlib.figure.Figure` directly (no pyplot
state, no backend switch), saved, and shown inline by :func:`show` when a
notebook runs them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from empirical.student import t_quantile

#: The one style: matplotlib rc parameters used for every figure.
STYLE: dict[str, Any] = {
    "figure.dpi": 110,
    "savefig.dpi": 120,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "figure.titlesize": 11,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "lines.linewidth": 1.5,
}
#: What each colour means, in every figure.
COLOURS = {"bound": "tab:red", "observed": "tab:blue", "fit": "black", "other": "tab:gray"}
#: The colour map of a series of settings (e.g. s = 1, 2, 5, 10), light to dark.
SERIES = "viridis"
#: How a point's verdict is marked (sweeps and studies): marker, filled.
VERDICT_MARKERS = {
    "holds at the estimated constants": ("o", True),
    "violated": ("X", True),
    "not covered": ("o", False),
}
#: Axis label of each observable a theorem may bound.
OBSERVABLE_LABELS = {
    "grad_norm_sq": r"weighted average of $\|\nabla F(\theta_j)\|^2$, $j < n$",
    "gradient_mapping_sq": r"weighted average of $\|(\theta_j - \theta_{j+1})/\gamma_{j+1}\|^2$, $j < n$",
}
#: A bound more than this many times above the data is left out of the data's panel.
FAR_ABOVE = 30.0
#: Confidence of the pointwise intervals the figures draw.
CONFIDENCE = 0.95


@contextmanager
def figure(
    path: str | Path,
    rows: int = 1,
    cols: int = 1,
    *,
    size: tuple[float, float],
    title: str | None = None,
    **kw,
) -> Iterator[Any]:
    """Axes (``rows`` x ``cols``) of a figure in :data:`STYLE`, saved to ``path``
    on exit; ``kw`` goes to ``Figure.subplots`` (sharex, squeeze, gridspec_kw ...).
    Drawn once: the tight layout is computed inside the one draw ``savefig`` makes, at
    the resolution it saves at (a separate ``tight_layout()`` would lay every text out at
    the screen resolution first and again at the saving one)."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=size, layout="tight")
        axes = fig.subplots(rows, cols, **kw)
        yield axes
        if title:
            fig.suptitle(title)
        fig.savefig(path)


def show(path: str | Path) -> None:
    """Display a saved figure inline when running in IPython/Jupyter; print its path otherwise."""
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(Image(filename=str(path)))
    else:
        print(f"figure written: {path}")


def t_band(samples: np.ndarray, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, lo, hi) over the first axis (runs) of ``samples``: the Student-t
    interval of the mean at every later index; lo = hi = mean with one run."""
    samples = np.atleast_2d(np.asarray(samples, dtype=float))
    mean = samples.mean(0)
    R = samples.shape[0]
    if R < 2:
        return mean, mean.copy(), mean.copy()
    half = t_quantile(confidence, R - 1) * samples.std(0, ddof=1) / math.sqrt(R)
    return mean, mean - half, mean + half


def series_colour(i: int, count: int) -> tuple[float, ...]:
    """The colour of the i-th of ``count`` settings in a series (:data:`SERIES`)."""
    from matplotlib import colormaps

    return colormaps[SERIES](0.85 * (1 - i / max(count - 1, 1)))


def observable_label(observable: str) -> str:
    return OBSERVABLE_LABELS.get(observable, observable.replace("_", " "))


def positive(values: np.ndarray) -> np.ndarray:
    """``values`` with the non-positive ones as NaN (not drawn on a log axis)."""
    values = np.asarray(values, dtype=float)
    return np.where(values > 0, values, np.nan)


def draw_runs(ax, x, samples, colour: str = COLOURS["observed"], label: str = "observed", log: bool = True):
    """Runs (rows of ``samples``) against ``x``: each thin, their mean thick,
    the pointwise t-interval of the mean over runs as a band (two runs or more)."""
    samples = np.atleast_2d(np.asarray(samples, dtype=float))
    mean, lo, hi = t_band(samples)
    shown = positive if log else np.asarray
    R = samples.shape[0]
    for i, row in enumerate(samples):
        ax.plot(
            x, shown(row), color=colour, lw=0.5, alpha=0.5, label=f"{label}: each run" if i == 0 else None
        )
    if R > 1:
        band = f"{label}: {CONFIDENCE:.0%} t-interval over runs"
        if log and np.any(lo <= 0):  # a log axis cannot show 0: the band runs to the bottom
            floor = 0.5 * np.nanmin(positive(samples))
            lo = np.where(lo > 0, lo, floor)
            band += " (lower end <= 0 drawn at the bottom)"
        ax.fill_between(x, shown(lo), shown(hi), color=colour, alpha=0.2, lw=0, label=band)
    ax.plot(x, shown(mean), color=colour, lw=2, label=f"{label}: mean of {R} run(s)")
    if log:
        ax.set_yscale("log")


# ------------------------------------------------------------------ verify


def far_above(curve: np.ndarray, samples: np.ndarray) -> bool:
    """True when the bound's smallest finite value is more than :data:`FAR_ABOVE`
    times the largest positive observed value: drawn together, the data would be squashed."""
    curve = np.asarray(curve, dtype=float)
    ok = np.isfinite(curve) & (curve > 0)
    top = np.nanmax(positive(samples)) if np.any(np.asarray(samples) > 0) else np.nan
    return bool(ok.any() and np.isfinite(top) and curve[ok].min() > FAR_ABOVE * top)


def plot_convergence(result, path: Path) -> None:
    """Top: the theorem's weighted average up to n, each run thin, the mean
    with its pointwise t-interval over runs as a band, the final observed
    interval, the fitted slope, and the bound when it is within
    :data:`FAR_ABOVE` of the data. Bottom: bound / observed mean against n."""
    ns, avg = np.asarray(result.extras["horizons"]), np.asarray(result.extras["running_averages"])
    curve = np.asarray(result.extras["bound_curve"])
    obs, rate, R = result.observed, result.rate, avg.shape[0]
    ok = np.isfinite(curve) & (curve > 0)
    far = far_above(curve, avg)
    title = (
        f"{result.settings.model}, {result.settings.optimizer}, {R} run(s)\n{result.verdict.value}; "
        f"bound/observed = {result.ratio:.3g}"
    )
    ratios = {"height_ratios": [3, 1.4]}
    with figure(path, 2, 1, size=(7, 6), title=title, sharex=True, gridspec_kw=ratios) as (a1, a2):
        draw_runs(a1, ns, avg)
        a1.set_xscale("log")
        yerr = [[obs.value - obs.lo], [obs.hi - obs.value]]
        label = f"observed at n: {obs.value:.4g} [{obs.lo:.4g}, {obs.hi:.4g}]"
        a1.errorbar(
            [ns[-1]], [obs.value], yerr=yerr, fmt="o", color=COLOURS["observed"], capsize=3, label=label
        )
        if np.isfinite(rate.exponent):
            keep = ns >= 0.1 * result.settings.steps
            label = f"fitted slope {rate.exponent:.2f} [{rate.lo:.2f}, {rate.hi:.2f}] (theory: {rate.theory})"
            fit = np.exp(rate.intercept) * ns[keep] ** rate.exponent
            a1.plot(ns[keep], fit, "--", color=COLOURS["fit"], lw=1, label=label)
        if ok.any() and not far:
            a1.plot(ns[ok], curve[ok], color=COLOURS["bound"], lw=2, label=f"bound ({result.theorem.name})")
        elif far:
            text = f"bound at n: {result.bound_value:.3g}, far above (see the ratio below)"
            a1.text(0.98, 0.97, text, transform=a1.transAxes, ha="right", va="top", color=COLOURS["bound"])
        a1.set_ylabel(observable_label(result.theorem.lhs.observable))
        a1.set_title("observed runs" + ("" if far else " and the bound at every horizon"))
        a1.legend(loc="best", framealpha=0.85)
        mean = avg.mean(0)
        a2.loglog(
            ns,
            positive(curve / np.where(ok, mean, np.nan)),
            color=COLOURS["bound"],
            label="bound / observed mean",
        )
        a2.axhline(1.0, color=COLOURS["fit"], lw=1, ls=":", label="ratio 1: below it the bound is violated")
        a2.set(xlabel="iterations n", ylabel="bound / observed")
        a2.legend(loc="best")


def constants_used(named: dict[str, Any], ends: dict[str, str]) -> list[str]:
    """The estimated constants the bound uses (those bound at an interval end), in estimation order."""
    return [name for name in named if name in ends]


def plot_constants(result, path: Path) -> None:
    """One panel per constant the bound uses, on its own axis fitted to its
    interval: the point estimate, the interval, the end put into the bound."""
    named, ends = result.constants.named(), result.binding.ends
    names = constants_used(named, ends)
    lower = set(result.constants.lower_estimates)
    with figure(
        path,
        len(names),
        1,
        size=(7, 0.95 * len(names) + 0.9),
        squeeze=False,
        title="estimated constants the bound uses, with their intervals",
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
                fontsize=9,
                loc="left",
            )
            ax.grid(axis="y", visible=False)
        axes[-1, 0].set_xlabel("value (blue: interval and point estimate; red: the end put into the bound)")


def plot_training(result, path: Path) -> None:
    """Per run: minibatch loss and F(theta_k); ||g_k||^2 and the unbiased ||grad F(theta_k)||^2 records."""
    runs = result.runs
    steps = np.arange(1, runs.steps + 1)
    title = (
        f"training: {result.settings.model}, {result.settings.optimizer}, {runs.runs} run(s), "
        f"seeds {runs.seeds[0]}..{runs.seeds[-1]}"
    )
    thin = {"lw": 0.5, "alpha": 0.4, "color": COLOURS["other"]}
    dots = {"ms": 2, "color": COLOURS["observed"]}
    with figure(path, 1, 2, size=(10, 3.8), title=title) as (a1, a2):
        for i in range(runs.runs):
            first = i == 0
            a1.plot(steps, runs.loss[i], **thin, label="minibatch loss" if first else None)
            label = r"$F(\theta_k)$, full data" if first else None
            a1.plot(runs.record_steps, runs.full_loss[i], "o-", **dots, label=label)
            a2.plot(steps, runs.grad_norm_sq[i], **thin, label=r"$\|g_k\|^2$ (minibatch)" if first else None)
            label = r"unbiased $\|\nabla F(\theta_k)\|^2$ records (> 0 drawn)" if first else None
            a2.plot(runs.record_steps, positive(runs.full_grad_norm_sq[i]), "o-", **dots, label=label)
        a1.set(xlabel="step k", ylabel="loss per example (training objective)", title="loss")
        a2.set(xlabel="step k", ylabel="squared gradient norm (log)", title="gradient norms", yscale="log")
        a1.legend()
        a2.legend()


def write_figures(result, folder: Path) -> tuple[str, ...]:
    """The three figures of a verify run into ``folder``; their file names."""
    plot_convergence(result, folder / "convergence.png")
    plot_constants(result, folder / "constants.png")
    plot_training(result, folder / "training.png")
    return ("convergence.png", "constants.png", "training.png")


# ------------------------------------------------------------------- sweep


def is_geometric(values: Sequence[float]) -> bool:
    """True when positive values grow by a roughly constant factor (a log axis fits them)."""
    v = np.sort(np.asarray(values, dtype=float))
    if v.size < 2 or v[0] <= 0:
        return False
    ratios = v[1:] / v[:-1]
    return bool(v[-1] / v[0] >= 4 and np.all(ratios > 1.5) and ratios.max() / ratios.min() <= 1.5)


def pool_seeds(rows: Sequence[dict[str, Any]], axes: Sequence[str]) -> list[dict[str, Any]]:
    """Rows of the same grid point apart from ``seed`` pooled: the observed mean
    and t-interval over every run of every seed point, the bound's mean and
    range, and the verdict of the pool (violated if one is, else not covered
    if one is, else holds)."""
    keys = [a for a in axes if a != "seed"]
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(r[a] for a in keys), []).append(r)
    out = []
    for point, members in groups.items():
        runs = np.concatenate([np.asarray(r["per_seed"], dtype=float) for r in members])
        if len(members) == 1:  # the point's own interval, exactly as reported
            mean, lo, hi = ([members[0][k]] for k in ("observed", "observed_lo", "observed_hi"))
        else:
            mean, lo, hi = t_band(runs[:, None])
        bounds = np.array([r["bound"] for r in members], dtype=float)
        verdicts = {r["verdict"] for r in members}
        verdict = next(
            v for v in ("violated", "not covered", "holds at the estimated constants") if v in verdicts
        )
        out.append(
            {
                **dict(zip(keys, point, strict=True)),
                "observed": float(mean[0]),
                "observed_lo": float(lo[0]),
                "observed_hi": float(hi[0]),
                "bound": float(bounds.mean()),
                "bound_lo": float(bounds.min()),
                "bound_hi": float(bounds.max()),
                "verdict": verdict,
                "runs": int(runs.size),
            }
        )
    return out


def interval_bars(ax, x, rows: Sequence[dict[str, Any]], key: str, **kw) -> None:
    """``row[key]`` against x with error bars to ``row[key + "_lo"]``, ``row[key + "_hi"]``."""
    y = np.array([r[key] for r in rows], dtype=float)
    lo, hi = (np.array([r[f"{key}_{end}"] for r in rows], dtype=float) for end in ("lo", "hi"))
    ax.errorbar(x, y, yerr=[y - lo, hi - y], capsize=3, **kw)


def mark_verdicts(ax, x, y, verdicts: Sequence[str]) -> None:
    """Observed points marked by verdict (:data:`VERDICT_MARKERS`)."""
    for verdict, (marker, filled) in VERDICT_MARKERS.items():
        idx = [i for i, v in enumerate(verdicts) if v == verdict]
        face = COLOURS["observed"] if filled else "white"
        if idx:
            x_, y_ = np.asarray(x)[idx], np.asarray(y)[idx]
            ax.plot(x_, y_, marker, ms=7, ls="none", mew=1.5, color=COLOURS["observed"], mfc=face,
                    label=f"observed: {verdict}")  # fmt: skip


def plot_sweep(rows: Sequence[dict[str, Any]], axes: Sequence[str], path: Path) -> None:
    """Bound and observed mean with its interval against the first numeric grid
    axis (log where the grid is geometric), one panel per combination of the
    other axes, seeds pooled (:func:`pool_seeds`), each point marked by verdict."""
    keys = [a for a in axes if a != "seed"]
    x_axis = keys[0] if keys else None
    panels: dict[tuple, list[dict[str, Any]]] = {}
    for r in pool_seeds(rows, axes):
        panels.setdefault(tuple((a, r[a]) for a in keys[1:]), []).append(r)
    observable = rows[0].get("observable", "grad_norm_sq") if rows else "grad_norm_sq"
    cols = min(len(panels), 3)
    seeds = f"; seeds pooled over {len({r['seed'] for r in rows})} seed points" if "seed" in axes else ""
    title = f"sweep: bound and observed at each grid point{seeds}"
    size = (4.6 * cols, 3.8 * math.ceil(len(panels) / cols))
    with figure(
        path, math.ceil(len(panels) / cols), cols, size=size, squeeze=False, sharey=True, title=title
    ) as grid:
        for ax, (fixed, members) in zip(grid.flat, panels.items(), strict=False):
            members.sort(key=lambda r: r[x_axis] if x_axis else 0)
            x = [r[x_axis] if x_axis else 0 for r in members]
            interval_bars(
                ax, x, members, "bound", fmt="s--", color=COLOURS["bound"], label="bound (range over seeds)"
            )
            label = f"observed mean, {CONFIDENCE:.0%} t-interval over runs"
            interval_bars(ax, x, members, "observed", fmt="-", color=COLOURS["observed"], label=label)
            mark_verdicts(ax, x, [r["observed"] for r in members], [r["verdict"] for r in members])
            ax.set_yscale("log")
            if x_axis and is_geometric(x):
                ax.set_xscale("log")
            if x_axis:
                ax.set_xticks(x, [f"{v:g}" for v in x])
            ax.set_xlabel(x_axis or "all grid points pooled")
            ax.set_title(", ".join(f"{a} = {v:g}" for a, v in fixed) or "bound vs observed")
        for ax in grid[:, 0]:
            ax.set_ylabel(observable_label(observable))
        for ax in list(grid.flat)[len(panels) :]:
            ax.set_visible(False)
        grid.flat[0].legend()
