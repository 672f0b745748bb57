"""Every notebook in notebooks/ runs top to bottom at the small size (CI), is a
jupytext percent-format notebook, says what it shows in its first cell and ends
with a figure or a table. Figures go to a temporary folder (VAEBOUNDS_FIGURES),
so the committed docs/figures/ (regenerated at the full size) stay as they are."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
#: What each notebook must leave behind: the figures it writes, or the table it prints.
ENDS_WITH = {
    "01_bounds.py": ("nb01-bounds.png",),
    "02_your_model.py": ("nb02-your-model-convergence.png", "nb02-your-model-constants.png"),
    "03_seed_study.py": ("nb03-seed-study-curves.png", "nb03-seed-study-bounds.png"),
    "04_property_tests.py": ("| property | strategies |",),
}


def test_every_notebook_is_listed():
    assert {p.name for p in NOTEBOOKS} >= set(ENDS_WITH)
    assert not {p.name for p in NOTEBOOKS} - set(ENDS_WITH) - {"02_your_model.py"}, (
        "add the new notebook here"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_a_jupytext_notebook_that_states_what_it_shows(path):
    jupytext = pytest.importorskip(
        "jupytext", reason="reading the notebooks' format needs jupytext (test extra)"
    )
    notebook = jupytext.read(path)
    assert notebook.metadata["jupytext"]["text_representation"]["format_name"] == "percent"
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and "**What this shows.**" in first.source
    assert notebook.cells[-1].cell_type == "code"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_at_the_small_size(path, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "VAEBOUNDS_FULL"}
    env["VAEBOUNDS_FIGURES"] = str(tmp_path)
    env["MPLBACKEND"] = "Agg"
    out = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    for end in ENDS_WITH[path.name]:
        if end.endswith(".png"):
            assert (tmp_path / end).stat().st_size > 10_000, end
        else:
            assert end in out.stdout
