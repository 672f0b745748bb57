"""Every notebook in notebooks/ runs top to bottom at the small size (CI), is a
jupytext percent-format notebook, says what it shows in its first cell and ends
with a figure or a table. By default a notebook writes its figures into ./figures/
of the folder it runs in (ignored by git): running one leaves the checkout as it
was, and only scripts/readme_figures.py writes docs/figures/."""

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
    "03_seed_study.py": (
        "nb03-seed-study-curves.png",
        "nb03-seed-study-bounds.png",
        "nb03-seed-study-adam.png",
    ),
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


def _checkout_status() -> str | None:
    """``git status`` of the checkout (every untracked file listed), or None outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
    except FileNotFoundError:
        return None
    return out.stdout if out.returncode == 0 else None


def test_the_notebooks_figures_folder_is_ignored_by_git():
    status = _checkout_status()
    if status is None:
        pytest.skip("not a git checkout")
    paths = ["figures/nb01-bounds.png", "notebooks/figures/nb01-bounds.png", "docs/figures/new.png"]
    out = subprocess.run(["git", "check-ignore", *paths], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.split() == paths[:2]  # docs/figures is not ignored: scripts/readme_figures.py writes it


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_at_the_small_size(path, tmp_path):
    """At its defaults (no VAEBOUNDS_FIGURES), in a scratch working folder: its figures land in
    ./figures/ there, and the checkout is as it was."""
    env = {k: v for k, v in os.environ.items() if k not in ("VAEBOUNDS_FULL", "VAEBOUNDS_FIGURES")}
    env["MPLBACKEND"] = "Agg"
    before = _checkout_status()
    out = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    for end in ENDS_WITH[path.name]:
        if end.endswith(".png"):
            assert (tmp_path / "figures" / end).stat().st_size > 10_000, end
        else:
            assert end in out.stdout
    assert _checkout_status() == before, "running the notebook changed the checkout"
