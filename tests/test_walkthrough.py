"""docs/walkthrough.md and the README's printed lines are what scripts/readme_figures.py wrote:
the template filled with the numbers of its runs (docs/figures/walkthrough.json), not edited by
hand; the README is a first page; the links of both lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cases import walkthrough_script

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
WALKTHROUGH = ROOT / "docs" / "walkthrough.md"


WT = walkthrough_script()


def test_readme_is_a_first_page():
    text = README.read_text()
    assert len(text.splitlines()) <= 150
    for entry in ("theory.bound(", "vaebounds verify", "empirical.track"):
        assert entry in text
    assert 'python -m pytest -m "not slow"' in text


def test_readme_gives_the_exit_codes_once():
    text = README.read_text()
    rows = re.findall(r"^\| ([0-4]) \| (\w+)", text, re.M)
    assert [code for code, _ in rows] == ["0", "1", "2", "3", "4"]
    assert [word for _, word in rows] == ["holds", "violated", "bad", "not", "inconclusive"]
    assert "| 0 |" not in WALKTHROUGH.read_text()


def test_walkthrough_is_the_template_filled_with_the_measured_numbers():
    numbers = WT.load_numbers()
    assert numbers, "docs/figures/walkthrough.json is missing: run python scripts/readme_figures.py"
    assert WALKTHROUGH.read_text() == WT.render(WT.TEMPLATE.read_text(), numbers), (
        "docs/walkthrough.md differs from scripts/walkthrough.md.in filled with "
        "docs/figures/walkthrough.json: edit the template and run python scripts/readme_figures.py"
    )


def test_readme_prints_the_default_runs_lines():
    numbers = WT.load_numbers()
    text = README.read_text()
    assert WT.with_verify_lines(text, numbers["d_lines"]) == text
    assert numbers["d_lines"] in WALKTHROUGH.read_text()


def test_render_refuses_a_missing_number():
    with pytest.raises(KeyError, match="b, c"):
        WT.render("{{a}} {{b}} {{c}}", {"a": "1"})
    assert WT.render("x {{a}} y", {"a": "1"}) == "x 1 y"


def test_directives_are_read():
    text = "<!-- test: slow; args: --steps 20 --seeds 2; exit: 3 -->\n```bash\nvaebounds verify  # c\n```\n"
    (block,) = WT.blocks(text)
    assert block.directive == {"slow": "", "args": "--steps 20 --seeds 2", "exit": "3"}
    assert block.commands() == [["vaebounds", "verify", "--steps", "20", "--seeds", "2"]]
    assert block.exit_code == 3
    install = "<!-- test: drop-install -->\n```bash\npython -m pip install -e . && vaebounds verify\n```\n"
    assert WT.blocks(install)[0].commands() == [["vaebounds", "verify"]]


@pytest.mark.parametrize("doc", [README, WALKTHROUGH], ids=lambda p: p.name)
def test_links_and_figures_exist(doc):
    text = re.sub(r"^```.*?^```", "", doc.read_text(), flags=re.M | re.S)  # links, not code
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if not t.startswith(("http://", "https://"))]
    assert local
    for target in local:
        assert (doc.parent / target).exists(), f"{doc.name} links to {target}, which does not exist"


def test_every_figure_in_docs_figures_is_shown():
    """docs/figures holds what the walkthrough shows (scripts/readme_figures.py writes both)."""
    shown = set(re.findall(r"\]\(figures/([^)]+)\)", WALKTHROUGH.read_text()))
    assert {p.name for p in (ROOT / "docs" / "figures").glob("*.png")} == shown
