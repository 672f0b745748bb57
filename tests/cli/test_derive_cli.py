"""vaebounds derive: one page printed or written, every page written, bad names exit 2."""

from empirical.cli import main
from theory.derive import render_one


def test_one_page_is_printed_exactly(capsys, derivations):
    """The printed page is the page ``derive --out`` writes (tests/conftest.py)."""
    _, folder = derivations
    assert main(["derive", "gaussian", "adam", "defossez"]) == 0
    assert capsys.readouterr().out == (folder / "gaussian-adam-defossez.md").read_text()
    assert main(["derive", "generic", "sgd"]) == 0
    out = capsys.readouterr().out
    assert out == (folder / "generic-sgd.md").read_text() and out.splitlines()[2].startswith("**Result.**")


def test_one_page_is_written_alone(tmp_path, capsys):
    assert main(["derive", "iwae", "sgd", "schedule", "--out", str(tmp_path)]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["iwae-sgd-schedule.md"]
    assert capsys.readouterr().out.strip() == str(tmp_path / "iwae-sgd-schedule.md")
    assert (tmp_path / "iwae-sgd-schedule.md").read_text() == render_one("iwae", "sgd", "schedule")


def test_bad_derive_input_exits_2(tmp_path, capsys):
    assert main(["derive", "gaussian"]) == 2
    assert "MODEL OPTIMIZER [VARIANT]" in capsys.readouterr().err
    assert main(["derive", "gaussian", "sgd", "nosuch", "--out", str(tmp_path)]) == 2
    assert "unknown variant 'nosuch'" in capsys.readouterr().err and not list(tmp_path.iterdir())
    assert main(["derive", "nomodel", "sgd"]) == 2
    assert "unknown model" in capsys.readouterr().err
