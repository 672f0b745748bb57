"""Log-axis tick labels in plain text, and a report's figures without mathtext."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatterSciNotation

from empirical.report import figures
from empirical.report.plain_ticks import PlainLogFormatter, plain, plain_log_ticks


@pytest.mark.parametrize(
    ("label", "text"),
    [
        (r"$\mathdefault{10^{-1}}$", "10⁻¹"),
        (r"$\mathdefault{10^{12}}$", "10¹²"),
        (r"$\mathdefault{-2\times10^{-3}}$", "−2×10⁻³"),
        (r"$\mathdefault{0}$", "0"),
        ("", ""),
        (r"$\mathdefault{10^{0.50}}$", r"$\mathdefault{10^{0.50}}$"),  # not an integer power: kept
    ],
)
def test_mathtext_labels_become_the_same_number_in_unicode(label, text):
    assert plain(label) == text


def test_every_log_and_symlog_axis_is_relabelled_with_the_same_ticks():
    fig = Figure()
    a1, a2 = fig.subplots(1, 2)
    a1.loglog([1, 2000], [0.01, 500])
    a2.set_xscale("symlog", linthresh=10)
    a2.plot([0, 2000], [1, 2])
    want = [LogFormatterSciNotation()(v) for v in (0.01, 1.0, 100.0)]
    plain_log_ticks(fig)
    for axis in (a1.xaxis, a1.yaxis, a2.xaxis):
        assert type(axis.get_major_formatter()) is PlainLogFormatter
    assert type(a2.yaxis.get_major_formatter()) is not PlainLogFormatter  # a linear axis is left alone
    fmt = a1.yaxis.get_major_formatter()
    fmt.set_locs([0.01, 1.0, 100.0])
    assert [fmt(v) for v in (0.01, 1.0, 100.0)] == [plain(w) for w in want] == ["10⁻²", "10⁰", "10²"]


def test_a_saved_log_figure_parses_no_mathtext(tmp_path, monkeypatch):
    import matplotlib.mathtext as mathtext

    def refuse(*args, **kwargs):
        raise AssertionError("mathtext parsed")

    monkeypatch.setattr(mathtext.MathTextParser, "parse", refuse)
    with matplotlib.rc_context(figures.STYLE):
        fig = Figure(figsize=(6, 4), dpi=matplotlib.rcParams["savefig.dpi"])
        ax = fig.subplots()
        x = np.arange(1, 2001)
        ax.loglog(x, 1 / x, label=figures.observable_label("grad_norm_sq"))
        ax.set_ylabel(figures.observable_label("gradient_mapping_sq"))
        figures.legend_outside(ax)
        figures.save(fig, tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 0
