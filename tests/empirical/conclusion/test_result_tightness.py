"""The tightness entry of a result (empirical/conclusion/tightness.py): bound / observed split
into proof x landscape x noise term, computed once by conclude, in report.json and report.md;
"not computed" with the reason for Adam, and with the install command without PEPit."""

from __future__ import annotations

import sys

import pytest
from cases import linear_batched, pep_installed

from empirical.conclusion import conclude
from empirical.conclusion.coverage import OptimizerRun
from empirical.report.content import report_json
from empirical.report.markdown import markdown, tightness_line

INSTALL = 'pip install -e ".[pep]"'


@pytest.fixture(scope="module")
def batched(digits_train):
    """Two batched SGD runs of the linear VAE, 30 steps, and the constants along them."""
    return linear_batched(digits_train, steps=30, C_gamma=0.002)


SGD = OptimizerRun("sgd", "batched SGD", 0.002, steps="sqrt")
needs_pep = pytest.mark.skipif(not pep_installed(), reason=f"the pep extra is not installed ({INSTALL})")


@needs_pep
def test_the_three_factors_multiply_to_the_ratio(batched):
    result = conclude(*batched, SGD)
    t = result.extras["tightness"]
    assert t["computed"], t.get("reason")
    assert t["proof"] * t["landscape"] * t["noise_term"] == pytest.approx(result.ratio, rel=1e-12)
    assert t["ratio"] == pytest.approx(result.ratio, rel=1e-12) and t["bound"] == result.bound
    assert t["proof"] >= 1 - 1e-6  # the bound is never below the exact worst case
    assert t["noise_term"] >= 1  # the variance terms only add
    assert t["bound_noise_free"] == pytest.approx(t["proof"] * t["worst_case"], rel=1e-12)
    assert t["landscape_lo"] <= t["landscape"] <= (t["landscape_hi"] or float("inf"))
    assert t["n"] == 30 and t["formulation"] in ("pepit", "consecutive") and t["fit"] is None
    assert result.timings["tightness"] == t["seconds"] > 0
    line = tightness_line(t)
    assert line.startswith("tightness: bound / observed = ") and "proof" in line and "noise term" in line


@needs_pep
def test_report_json_and_markdown_carry_the_line(batched):
    result = conclude(*batched, SGD)
    data = report_json(result)
    assert data["tightness"] == result.extras["tightness"]
    md = markdown(result, data)
    assert "## Tightness" in md and tightness_line(data["tightness"]) in md
    assert "B(sigma2) / B(0)" in md and "tightness" in md.split("- time:")[1].split("\n")[0]


def test_adam_is_not_computed_and_says_why(batched):
    options = {"betas": (0.9, 0.999), "eps": 1e-8}
    adam = OptimizerRun("adam", "batched Adam (defossez)", 1e-3, "adam-defossez", options, "constant")
    t = conclude(*batched, adam).extras["tightness"]
    assert not t["computed"] and "preconditioner" in t["reason"] and "Adam" in t["reason"]
    assert "not computed" in tightness_line(t)


def test_without_pepit_the_line_says_how_to_install_and_nothing_fails(batched, monkeypatch):
    with_pepit = conclude(*batched, SGD)  # computed or not, the verdict and bound do not depend on PEPit
    monkeypatch.setitem(sys.modules, "PEPit", None)  # `import PEPit` now raises ImportError
    result = conclude(*batched, SGD)
    t = result.extras["tightness"]
    assert not t["computed"] and INSTALL in t["reason"]
    assert result.verdict is with_pepit.verdict and result.bound == with_pepit.bound > 0
    md = markdown(result, report_json(result))
    assert f"not computed: needs the optional pep extra: {INSTALL}" in md
