"""Writing a figure to PNG: laid out once, drawn once, cropped to what it draws.

matplotlib's ``savefig(bbox_inches="tight")`` with a layout engine lays every text out three
times: the engine (twice with its default rect), the crop (``Figure.get_tightbbox``) and the
drawing. :func:`save` lays the figure out in one pass of the tight layout, draws it once on an
Agg canvas and crops the drawn pixels to the box of everything that differs from the
background, padded by ``savefig.pad_inches``: the box ``bbox_inches="tight"`` would give, read
from the pixels instead of from a second layout of every text (issue 24: fixed costs). When
something is drawn up to the canvas's edge, a legend or a text lies beyond it (which the
pixels cannot show), or the style asks for what the canvas does not draw (a transparent or other
saving face colour), it falls back to ``savefig`` with the crop computed by matplotlib.

Minor ticks: on a log (or symlog) axis spanning at least :data:`MINOR_DECADES` decades, the
major ticks label every decade and the unlabelled minor ticks between them are not drawn
(creating and placing them was a quarter of a report's drawing); a shorter log axis keeps
matplotlib's minor ticks, whose labels it needs.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

#: zlib level of the saved PNGs: 3 writes them a third faster than PIL's default 6, within a
#: few per cent of its size (the pixels are the same).
PNG_COMPRESSION = 3
#: Log axes spanning at least this many decades draw no minor ticks (module docstring).
MINOR_DECADES = 2.0


def decades(axis: Any) -> float:
    """How many decades the log part of a log or symlog axis spans (0 for any other scale).

    Args:
        axis: A matplotlib XAxis or YAxis, its limits set (autoscaled).

    Returns:
        log10(hi / lo) over the part of the view on the log scale (beyond ``linthresh`` on a
        symlog axis, on either side of 0).
    """
    scale = axis.get_scale()
    if scale not in ("log", "symlog"):
        return 0.0
    lo, hi = sorted(abs(v) for v in axis.get_view_interval())
    if scale == "symlog":
        floor = axis.get_transform().linthresh
        lo_all, hi_all = sorted(axis.get_view_interval())
        if lo_all < 0 < hi_all:  # both sides: the longer one
            lo, hi = floor, max(-lo_all, hi_all)
        lo = max(lo, floor)
    if not (lo > 0 and hi > lo and math.isfinite(hi)):
        return 0.0
    return math.log10(hi / lo)


def sparse_minor_ticks(fig: Any) -> None:
    """No minor ticks on the log axes of ``fig`` spanning at least :data:`MINOR_DECADES` decades.

    Args:
        fig: A Figure whose data is drawn (the axes' limits are read).
    """
    from matplotlib.ticker import NullLocator

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if decades(axis) >= MINOR_DECADES:
                axis.set_minor_locator(NullLocator())


def ink_box(pixels: np.ndarray, pad: int) -> tuple[int, int, int, int] | None:
    """The rows and columns of an image holding anything but its background, padded.

    Args:
        pixels: (H, W, 4) uint8 RGBA pixels (an Agg canvas's buffer); the background is the
            colour of the top-left pixel.
        pad: Pixels added on every side.

    Returns:
        (top, bottom, left, right) as slice ends, or None when the drawing touches an edge
        of the image (it may go beyond it) or nothing is drawn.
    """
    # Each pixel's 4 bytes compared as one 32-bit word: the same pixels as comparing the
    # channels one by one, a hundredth of the time on a report's figure.
    words = np.ascontiguousarray(pixels, dtype=np.uint8).view(np.uint32)[..., 0]
    ink = words != words[0, 0]
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return None
    h, w = ink.shape
    if rows[0] == 0 or cols[0] == 0 or rows[-1] == h - 1 or cols[-1] == w - 1:
        return None
    return (
        max(rows[0] - pad, 0),
        min(rows[-1] + 1 + pad, h),
        max(cols[0] - pad, 0),
        min(cols[-1] + 1 + pad, w),
    )


def texts_inside(fig: Any, renderer: Any) -> bool:
    """Whether every legend and free text of ``fig`` lies on its canvas, as drawn.

    The tight layout keeps each axes with its ticks, labels, title and legends inside the
    figure; a legend or a text placed beyond the figure (which no pixel of the canvas shows,
    so :func:`ink_box` cannot see it) is what this checks, from the extents the drawing laid out.

    Args:
        fig: A drawn Figure.
        renderer: The renderer it was drawn with.

    Returns:
        True when all of them are within the canvas (to half a pixel).
    """
    artists = [*fig.texts, *fig.legends]
    for ax in fig.axes:
        artists += [*ax.texts, *([ax.get_legend()] if ax.get_legend() is not None else [])]
    width, height = fig.bbox.width, fig.bbox.height
    for artist in artists:
        if not artist.get_visible() or (hasattr(artist, "get_text") and not artist.get_text()):
            continue
        box = artist.get_window_extent(renderer)
        if box.x0 < -0.5 or box.y0 < -0.5 or box.x1 > width + 0.5 or box.y1 > height + 0.5:
            return False
    return True


def save(fig: Any, path: str | Path) -> None:
    """Save ``fig`` laid out once, drawn once and cropped to its drawing (module docstring).

    Args:
        fig: A Figure without a layout engine, whose ``dpi`` is the saving one.
        path: Where the image goes.
    """
    import matplotlib
    from matplotlib.layout_engine import TightLayoutEngine

    from empirical.report.plain_ticks import plain_log_ticks

    plain_log_ticks(fig)  # no mathtext (empirical.report.plain_ticks)
    sparse_minor_ticks(fig)
    engine = TightLayoutEngine()
    # One pass of the tight layout: with its default rect (0, 0, 1, 1) matplotlib runs it twice,
    # the second time with the margins of the first as the rect, over the same unmoved axes, so
    # the same boxes give the same result; without a rect the first pass is the result.
    engine._params["rect"] = None
    engine.execute(fig)
    rc = matplotlib.rcParams
    pad = rc["savefig.pad_inches"]
    if (
        not rc["savefig.transparent"]
        and rc["savefig.facecolor"] == "auto"
        and rc["savefig.edgecolor"] == "auto"
    ):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from PIL import Image

        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        pixels = np.asarray(canvas.buffer_rgba())
        box = ink_box(pixels, round(pad * fig.dpi))
        if box is not None and texts_inside(fig, canvas.get_renderer()):
            top, bottom, left, right = box
            image = Image.fromarray(np.ascontiguousarray(pixels[top:bottom, left:right]))
            image.save(path, format="png", compress_level=PNG_COMPRESSION, dpi=(fig.dpi, fig.dpi))
            return
    crop = fig.get_tightbbox().padded(pad)
    fig.savefig(path, bbox_inches=crop, pil_kwargs={"compress_level": PNG_COMPRESSION})
