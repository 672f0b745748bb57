"""figures.save lays a figure out in one tight-layout pass: the same pixels as matplotlib's two."""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.layout_engine import TightLayoutEngine
from PIL import Image

from empirical.report import figures
from empirical.report.plain_ticks import plain_log_ticks


def _draw() -> Figure:
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
    return fig


def test_one_pass_gives_the_pixels_of_the_two_passes(tmp_path):
    with matplotlib.rc_context(figures.STYLE):
        figures.save(_draw(), tmp_path / "one.png")
        fig = _draw()
        plain_log_ticks(fig)  # as save() labels them
        TightLayoutEngine().execute(fig)  # matplotlib's default: two passes, rect (0, 0, 1, 1)
        crop = fig.get_tightbbox().padded(matplotlib.rcParams["savefig.pad_inches"])
        fig.savefig(tmp_path / "two.png", bbox_inches=crop)
    one, two = (np.asarray(Image.open(tmp_path / f"{n}.png")) for n in ("one", "two"))
    assert one.shape == two.shape and (one == two).all()
