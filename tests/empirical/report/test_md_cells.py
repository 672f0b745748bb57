"""report.md's numbers read from report.json, where an infinite interval end is "inf"."""

import json

import pytest

from empirical.report import markdown as md
from empirical.report.content import json_number
from empirical.report.md_cells import cell, number
from empirical.report.stress_md import growth_section


@pytest.mark.parametrize(
    ("x", "text"),
    [(None, "—"), (3.14159, "3.142"), (1e20, "1e+20"), ("inf", "inf"), ("-inf", "-inf"), (-0.5, "-0.5")],
)
def test_number_prints_four_digits_and_reads_back_an_infinite_end(x, text):
    assert number(x) == text


def test_number_reads_every_end_json_number_writes():
    for x in (float("inf"), float("-inf"), 2.5):
        assert number(json.loads(json.dumps(json_number(x)))) == f"{x:.4g}"


def test_cell_escapes_bars_and_line_breaks():
    assert cell("a|b\nc") == "a\\|b c"


def _estimate(value: float) -> dict:
    return {"value": value, "lo": value / 2, "hi": value * 2}


def test_the_growth_section_prints_an_observed_interval_with_infinite_ends():
    """Two runs far apart give the decision rule's interval an infinite end; report.json keeps it
    as "inf"/"-inf" and the section prints it (a verify on unscaled wine data stopped here)."""
    data = {
        "growth": {
            "fit": {"A": _estimate(1.0), "G": _estimate(0.5), "confidence": 0.95},
            "A_upper": 2.0, "G_upper": 1.0, "sigma2": 3.0, "step_condition": None, "applies": True,
            "observed": {"value": 1.7e19, "lo": "-inf", "hi": "inf"}, "comparator_note": "",
            "theorem": "generic/sgd/growth", "bound": 5.0, "comparator": "generic/sgd",
            "bounded_variance_bound": 6.0, "smaller": "growth condition",
        }
    }  # fmt: skip
    text = "\n".join(growth_section(data))
    assert "(observed 1.7e+19 [-inf, inf])" in text
    # A_upper, G_upper were "upper values": they are estimates of the A, G the theorem needs
    assert "upper ends A_upper = 2, G_upper = 1 (one-sided, 95% each, of a fit to the variance" in text
    assert "not bounds of them" in text and "| growth condition, at the estimates A_upper, G_upper |" in text


def test_the_variants_table_prints_an_observed_interval_with_an_infinite_end():
    row = {
        "variant": "defossez", "a_posteriori": False, "theorem": "generic/adam/defossez", "bound": 4.0,
        "observed": 2.0, "observed_lo": "-inf", "observed_hi": 9.0, "ratio": 2.0, "status": "covered",
        "reasons": ["a | b"],
    }  # fmt: skip
    lines = md._variants([row], None, "adam")
    assert lines[-1] == "| defossez | generic/adam/defossez | 4 | 2 [-inf, 9] | 2 | covered | a \\| b |"
