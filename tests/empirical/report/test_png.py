"""empirical.report.png: one tight-layout pass laid out as matplotlib's two, the saved image the
drawing cropped to its ink padded by savefig.pad_inches, the fallbacks, the minor ticks."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.layout_engine import TightLayoutEngine
from PIL import Image

from empirical.report import figures, png
from empirical.report.plain_ticks import plain_log_ticks


def _draw(far: str = "") -> Figure:
    with matplotlib.rc_context(figures.STYLE):
        fig = Figure(figsize=(8, 5), dpi=matplotlib.rcParams["savefig.dpi"])
        a1, a2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.4]})
        x = np.arange(1, 2001)
        a1.loglog(x, 5 / np.sqrt(x), label="‖∇F(θⱼ)‖² observed")
        a1.set_ylabel("a long label of the observable")
        a1.set_title("observed runs and the bound")
        figures.legend_outside(a1)
        a2.plot(x, np.log(x), label="ratio")
        a2.set(xlabel="iterations n", ylabel="ratio")
        figures.legend_outside(a2, below=True)
        fig.suptitle("a title\non two lines")
        if far == "text":  # beyond the figure's right edge: the pixels of the canvas cannot hold it
            fig.text(1.3, 0.5, "a note far to the right")
        if far == "legend":
            a2.legend(["far"], loc="upper left", bbox_to_anchor=(3.0, 1.0))
    return fig


def _ink(image: np.ndarray) -> tuple[int, int, int, int]:
    ink = (image != image[0, 0]).any(axis=2)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return rows[0], image.shape[0] - 1 - rows[-1], cols[0], image.shape[1] - 1 - cols[-1]


def test_one_layout_pass_places_the_axes_where_matplotlibs_two_passes_do():
    with matplotlib.rc_context(figures.STYLE):
        one, two = _draw(), _draw()
        for fig in (one, two):
            plain_log_ticks(fig)
            png.sparse_minor_ticks(fig)
        engine = TightLayoutEngine()
        engine._params["rect"] = None  # as save(): one pass
        engine.execute(one)
        TightLayoutEngine().execute(two)  # matplotlib's default: two passes, rect (0, 0, 1, 1)
    for a, b in zip(one.axes, two.axes, strict=True):
        np.testing.assert_allclose(a.get_position().bounds, b.get_position().bounds, rtol=0, atol=1e-12)


def test_the_saved_image_is_the_drawing_padded_by_pad_inches_on_every_side(tmp_path):
    with matplotlib.rc_context(figures.STYLE):
        png.save(_draw(), tmp_path / "ours.png")
        fig = _draw()
        plain_log_ticks(fig)
        png.sparse_minor_ticks(fig)
        TightLayoutEngine().execute(fig)
        fig.savefig(tmp_path / "tight.png", bbox_inches="tight")
        pad = round(matplotlib.rcParams["savefig.pad_inches"] * matplotlib.rcParams["savefig.dpi"])
    ours, tight = (np.asarray(Image.open(tmp_path / f"{n}.png")) for n in ("ours", "tight"))
    assert _ink(ours) == (pad, pad, pad, pad)
    # matplotlib's crop pads the artists' boxes, a pixel or two off their ink either way
    assert all(abs(t - o) <= 4 for o, t in zip(ours.shape[:2], tight.shape[:2], strict=True))
    assert ours.shape[2] == 4 and ours.dtype == np.uint8


@pytest.mark.parametrize("far", ["text", "legend"])
def test_a_drawing_beyond_the_figure_falls_back_to_matplotlibs_crop(far, tmp_path):
    with matplotlib.rc_context(figures.STYLE):
        fig = _draw(far)
        width = fig.get_figwidth() * fig.dpi
        png.save(fig, tmp_path / "far.png")
    image = np.asarray(Image.open(tmp_path / "far.png"))
    assert image.shape[1] > width  # what lies beyond the right edge is in the image


def test_a_transparent_style_is_saved_by_matplotlib_with_its_transparency(tmp_path):
    with matplotlib.rc_context({**figures.STYLE, "savefig.transparent": True}):
        png.save(_draw(), tmp_path / "clear.png")
    image = np.asarray(Image.open(tmp_path / "clear.png"))
    assert image[0, 0, 3] == 0


def test_ink_box_pads_the_drawn_pixels_and_refuses_a_drawing_at_the_edge():
    image = np.full((20, 30, 4), 255, dtype=np.uint8)
    assert png.ink_box(image, 2) is None  # nothing drawn
    image[5:8, 10:12] = (0, 0, 0, 255)
    assert png.ink_box(image, 2) == (3, 10, 8, 14)
    assert png.ink_box(image, 50) == (0, 20, 0, 30)  # the pad stops at the image
    image[19, 0] = (1, 2, 3, 255)
    assert png.ink_box(image, 2) is None  # touches the edge: may go beyond it


@pytest.mark.parametrize("channel", range(4))
def test_ink_box_sees_a_pixel_differing_from_the_background_in_any_one_channel(channel):
    image = np.full((20, 30, 4), 200, dtype=np.uint8)
    image[7, 13, channel] = 201
    assert png.ink_box(image, 0) == (7, 8, 13, 14)
    rng = np.random.default_rng(channel)
    noisy = rng.integers(0, 256, size=(40, 50, 4), dtype=np.uint8)
    noisy[0, :], noisy[-1, :], noisy[:, 0], noisy[:, -1] = noisy[0, 0], noisy[0, 0], noisy[0, 0], noisy[0, 0]
    ink = (noisy != noisy[0, 0]).any(axis=2)  # the channel-by-channel twin
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    assert png.ink_box(noisy, 0) == (rows[0], rows[-1] + 1, cols[0], cols[-1] + 1)


@pytest.mark.parametrize(
    ("scale", "limits", "minor"),
    [("log", (1, 2000), False), ("log", (1, 50), True), ("symlog", (0, 2000), False),
     ("symlog", (0, 50), True), ("linear", (0, 2000), True)],
)  # fmt: skip
def test_minor_ticks_only_on_log_axes_shorter_than_two_decades(scale, limits, minor):
    with matplotlib.rc_context(figures.STYLE):
        fig = Figure()
        ax = fig.subplots()
        ax.plot(np.linspace(*limits, 50), np.linspace(*limits, 50))
        ax.set_xscale(scale, **({"linthresh": 10} if scale == "symlog" else {}))
        ax.set_xlim(*limits)
        before = len(ax.xaxis.get_minor_locator()())
        png.sparse_minor_ticks(fig)
        after = len(ax.xaxis.get_minor_locator()())
    lo = {"log": limits[0], "symlog": 10, "linear": limits[1]}[scale]  # symlog: linear up to 10
    assert png.decades(ax.xaxis) == pytest.approx(np.log10(limits[1] / lo))
    if scale != "linear":
        assert before > 0
    assert (after > 0) == (minor and before > 0)
