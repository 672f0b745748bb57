"""The one plotting style of every figure vaebounds draws, and the pieces the figures share.

The style: :data:`STYLE`, :data:`COLOURS`, :func:`figure`; the pieces: runs with their
interval band, legends outside the axes, interval bars, verdict marks. A verify report's
figures (:mod:`empirical.report.verify_figures`), a sweep's (:mod:`empirical.report.sweep_figure`)
and the notebooks' draw through them.

Figures are built on :class:`matplotlib.figure.Figure` directly (no pyplot
state, no backend switch), saved, and shown inline by :func:`show` when a
notebook runs them. The plotting functions return the Figure they saved.

Every figure is drawn inside ``matplotlib.rc_context(STYLE)``: to change the
paper style (fonts, sizes, resolution) for every later figure, update this
one dict, e.g. ``figures.STYLE.update({"font.size": 12, "savefig.dpi": 300})``.
Titles and legends name models, optimizers and theorems in words
(:mod:`empirical.report.names`); legends sit outside the axes, never over the
data or the bound.

What the figures show: docs/architecture.md, "Observed side".
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from empirical.report.png import save
from empirical.student import t_quantile

#: The one style: matplotlib rc parameters applied to every figure when it is drawn
#: (``matplotlib.rc_context``). Update it to restyle every later figure (module docstring).
STYLE: dict[str, Any] = {
    "figure.dpi": 110,
    "savefig.dpi": 120,
    "savefig.bbox": "tight",  # keeps the legends placed outside the axes
    "legend.framealpha": 0.85,
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
    "inconclusive": ("s", False),
    "not covered": ("o", False),
}
#: Axis label of each observable a theorem may bound.
OBSERVABLE_LABELS = {
    "grad_norm_sq": "weighted average of ‖∇F(θⱼ)‖², j < n",
    "gradient_mapping_sq": "weighted average of ‖(θⱼ − θⱼ₊₁)/γⱼ₊₁‖², j < n",
}
#: Confidence of the pointwise intervals the figures draw.
CONFIDENCE = 0.95
#: Layers: single runs under the interval band, under the mean, under the bound.
Z_RUNS, Z_BAND, Z_MEAN, Z_BOUND = 1.0, 2.0, 3.0, 4.0
#: Opacity of an interval band over runs.
BAND_ALPHA = 0.3


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
    """Axes (``rows`` x ``cols``) of a figure in :data:`STYLE`, saved to ``path`` on exit.

    Laid out once, drawn once and cropped to its drawing (:func:`empirical.report.png.save`).

    Args:
        path: Where the figure is saved.
        rows: Rows of panels.
        cols: Columns of panels.
        size: (width, height) in inches.
        title: The figure's title.
        **kw: Options of ``Figure.subplots`` (sharex, squeeze, gridspec_kw ...).

    Yields:
        The axes (one, or an array of them).
    """
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=size, dpi=matplotlib.rcParams["savefig.dpi"])
        axes = fig.subplots(rows, cols, **kw)
        yield axes
        if title:
            fig.suptitle(title)
        save(fig, path)


def figure_of(axes: Any) -> Any:
    """The Figure of an Axes or an array of them.

    Args:
        axes: An Axes or an array of them.

    Returns:
        Their Figure.
    """
    return np.ravel(np.asarray(axes, dtype=object))[0].figure


def legend_outside(ax, below: bool = False, handles: tuple[list, list] | None = None, **kw) -> Any:
    """The legend of ``ax`` outside its axes.

    To the right of them, or ``below`` them (under the x label), so that it never covers the
    data or the bound.

    Args:
        ax: The axes whose entries (or ``handles``: (artists, labels)) are listed.
        below: Under the axes rather than to their right.
        handles: Entries gathered from another axes (a grid of panels).
        **kw: More options of ``Axes.legend``.

    Returns:
        The Legend.
    """
    where: dict[str, Any] = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0)}
    if below:  # under the tick labels and the x label, whose heights are read from the style
        import matplotlib
        from matplotlib.font_manager import FontProperties
        from matplotlib.transforms import ScaledTranslation

        rc = matplotlib.rcParams
        text = sum(
            FontProperties(size=rc[k]).get_size_in_points() for k in ("xtick.labelsize", "axes.labelsize")
        )
        points = text + rc["xtick.major.size"] + rc["xtick.major.pad"] + rc["axes.labelpad"] + 6
        shift = ScaledTranslation(0, -points / 72, ax.figure.dpi_scale_trans)
        where = {"loc": "upper center", "bbox_to_anchor": (0.5, 0.0), "bbox_transform": ax.transAxes + shift}
    return ax.legend(*(handles or ()), borderaxespad=0.0, **where, **kw)


def show(path: str | Path) -> None:
    """Display a saved figure inline when running in IPython/Jupyter; print its path otherwise.

    Args:
        path: The saved figure.
    """
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
    """The mean over runs and its Student-t interval, at every index.

    Args:
        samples: (R, ...) values, runs first.
        confidence: The interval's two-sided level.

    Returns:
        (mean, lo, hi) over the first axis; lo = hi = mean with one run.
    """
    samples = np.atleast_2d(np.asarray(samples, dtype=float))
    mean = samples.mean(0)
    R = samples.shape[0]
    if R < 2:
        return mean, mean.copy(), mean.copy()
    half = t_quantile(confidence, R - 1) * samples.std(0, ddof=1) / math.sqrt(R)
    return mean, mean - half, mean + half


def series_colour(i: int, count: int) -> tuple[float, ...]:
    """The colour of the i-th of ``count`` settings in a series (:data:`SERIES`).

    Args:
        i: The setting's index.
        count: The settings in the series.

    Returns:
        An RGBA colour.
    """
    from matplotlib import colormaps

    return colormaps[SERIES](0.85 * (1 - i / max(count - 1, 1)))


def observable_label(observable: str) -> str:
    """The axis label of an observable a theorem bounds (its name when no label is known)."""
    return OBSERVABLE_LABELS.get(observable, observable.replace("_", " "))


def positive(values: np.ndarray) -> np.ndarray:
    """``values`` with the non-positive ones as NaN (not drawn on a log axis).

    Args:
        values: The values.

    Returns:
        A float array.
    """
    values = np.asarray(values, dtype=float)
    return np.where(values > 0, values, np.nan)


@dataclass
class Band:
    """The interval band of :func:`draw_runs`.

    Attributes:
        artist: The band drawn.
        x: Its x values.
        lo: The lower ends over runs, as computed (possibly <= 0).
        hi: The upper ends.
        clipped: Whether a log axis cannot show a lower end.
    """

    artist: Any
    x: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    clipped: bool


def draw_runs(
    ax, x, samples, colour: str = COLOURS["observed"], label: str = "observed", log: bool = True
) -> Band | None:
    """Runs against ``x``: each thin, their mean thick, the t-interval of the mean as a band.

    On a log axis a lower end <= 0 is drawn to the bottom of the axes once everything is drawn
    (:func:`band_to_bottom`), and the legend says so.

    Args:
        ax: The axes.
        x: The x values.
        samples: (R, len(x)), one row per run.
        colour: The colour.
        label: The legend entry of the mean.
        log: Whether the y axis is logarithmic.

    Returns:
        The band (two runs or more), else None.
    """
    samples = np.atleast_2d(np.asarray(samples, dtype=float))
    mean, lo, hi = t_band(samples)
    shown = positive if log else np.asarray
    R = samples.shape[0]
    for i, row in enumerate(samples):
        ax.plot(x, shown(row), color=colour, lw=0.5, alpha=0.5, zorder=Z_RUNS,
                label=f"{label}: each run" if i == 0 else None)  # fmt: skip
    band = None
    if R > 1:
        text = f"{label}: {CONFIDENCE:.0%} t-interval over runs"
        clipped = bool(log and np.any(lo <= 0))  # a log axis cannot show 0: the band runs to the bottom
        drawn = lo
        if clipped:
            drawn = np.where(lo > 0, lo, 0.5 * np.nanmin(positive(samples)))
            text += " (lower end <= 0: drawn to the bottom)"
        artist = ax.fill_between(x, shown(drawn), shown(hi), color=colour, alpha=BAND_ALPHA, lw=0,
                                 zorder=Z_BAND, label=text)  # fmt: skip
        band = Band(artist, np.asarray(x, dtype=float), lo, hi, clipped)
    ax.plot(x, shown(mean), color=colour, lw=2, zorder=Z_MEAN, label=f"{label}: mean of {R} run(s)")
    if log:
        ax.set_yscale("log")
    return band


def band_to_bottom(ax, band: Band | None) -> None:
    """Extend a band whose lower end is <= 0 down to the bottom of the log axis.

    Called once everything is drawn on ``ax`` (whatever else set the axis' range), which is
    then fixed.

    Args:
        ax: The axes.
        band: The band of :func:`draw_runs` (None: nothing to do).
    """
    if band is None or not band.clipped:
        return
    bottom = ax.get_ylim()[0]
    band.artist.set_data(band.x, np.where(band.lo > 0, band.lo, bottom), positive(band.hi))
    ax.set_ylim(bottom=bottom)


# ------------------------------------------------- sweeps and studies


def interval_bars(ax, x, rows: Sequence[dict[str, Any]], key: str, **kw) -> None:
    """``row[key]`` against x with error bars to ``row[key + "_lo"]``, ``row[key + "_hi"]``.

    Args:
        ax: The axes.
        x: One x per row.
        rows: The rows.
        key: The value's key.
        **kw: Options of ``Axes.errorbar``.
    """
    y = np.array([r[key] for r in rows], dtype=float)
    lo, hi = (np.array([r[f"{key}_{end}"] for r in rows], dtype=float) for end in ("lo", "hi"))
    ax.errorbar(x, y, yerr=[y - lo, hi - y], capsize=3, **kw)


def mark_verdicts(ax, x, y, verdicts: Sequence[str]) -> None:
    """Observed points marked by verdict (:data:`VERDICT_MARKERS`).

    Args:
        ax: The axes.
        x: The x values.
        y: The observed values.
        verdicts: Each point's verdict.
    """
    for verdict, (marker, filled) in VERDICT_MARKERS.items():
        idx = [i for i, v in enumerate(verdicts) if v == verdict]
        face = COLOURS["observed"] if filled else "white"
        if idx:
            x_, y_ = np.asarray(x)[idx], np.asarray(y)[idx]
            ax.plot(x_, y_, marker, ms=7, ls="none", mew=1.5, color=COLOURS["observed"], mfc=face,
                    label=f"observed: {verdict}")  # fmt: skip
