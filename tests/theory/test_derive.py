"""The committed derivations are exactly what the code generates, each states its
result in one line first, and none is over MAX_PAGE_BYTES."""

from pathlib import Path

import pytest

import theory
from theory.catalog import registered
from theory.derive import MAX_PAGE_BYTES, file_name, render_one, write_derivations

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pages(derivations):
    """Every page as ``vaebounds derive --out`` wrote it (once a session, tests/conftest.py)."""
    _, folder = derivations
    return sorted(folder.glob("*.md"))


def test_committed_derivations_are_current(pages):
    """Every page and the table of theorems (README.md): regenerated, diffed."""
    assert len(pages) == len(registered()) + 1 and any(p.name == "README.md" for p in pages)
    for path in pages:
        committed = ROOT / "derivations" / path.name
        assert committed.exists(), f"{path.name} is not committed: run `vaebounds derive`"
        assert committed.read_text() == path.read_text(), f"{path.name} is stale: run `vaebounds derive`"
    names = {file_name(*key) for key in registered()}
    extra = {p.name for p in (ROOT / "derivations").glob("*.md")} - names - {"README.md"}
    assert not extra, f"derivations without a bound: {extra}"


def test_each_page_states_its_result_first_and_has_every_section(pages):
    for path in (p for p in pages if p.name != "README.md"):
        text = path.read_text()
        lines = text.splitlines()
        assert lines[0].startswith("# ") and lines[1] == "" and lines[2].startswith("**Result.** `"), (
            path.name
        )
        for heading in ("## Statement", "## Assumptions", "## Final form", "## Rate", "## Reference"):
            assert heading in text, (path.name, heading)


def test_no_page_is_over_the_size_limit(pages):
    """Every derivation page (README.md is the table of them all: it grows with the catalogue)."""
    sizes = {path.name: len(path.read_bytes()) for path in pages if path.name != "README.md"}
    over = {name: size for name, size in sizes.items() if size > MAX_PAGE_BYTES}
    assert not over, over


def test_one_page_is_written_alone(tmp_path, pages):
    (tmp_path / "keep.md").write_text("not a derivation")
    written = write_derivations(tmp_path, only=("gaussian", "adam", "defossez"))
    assert [p.name for p in written] == ["gaussian-adam-defossez.md"]
    assert written[0].read_text() == render_one("gaussian", "adam", "defossez")
    assert written[0].read_text() == next(p for p in pages if p.name == written[0].name).read_text()
    assert (tmp_path / "keep.md").exists()


@pytest.mark.parametrize(
    "only, error",
    [
        (("nomodel", "sgd", ""), "unknown model"),
        (("gaussian", "sgd", "nosuch"), "unknown variant 'nosuch'"),
    ],
)
def test_one_unknown_page_is_a_named_error(tmp_path, only, error):
    with pytest.raises(theory.UnknownNameError, match=error):
        write_derivations(tmp_path, only=only)
    assert not list(tmp_path.glob("*.md"))


def test_model_pages_link_the_generic_derivation(pages):
    text = (ROOT / "derivations" / "gaussian-adam-defossez.md").read_text()
    assert "Step 1 is the generic theorem's derivation, [generic-adam-defossez.md]" in text
    assert "(see Where)" in text and "$J_{e} = " in text


def test_the_table_has_a_row_per_theorem_and_each_reference_once(pages):
    text = next(p for p in pages if p.name == "README.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "](" in line]
    assert len(rows) == len(registered())
    for key in registered():
        assert f"]({file_name(*key)})" in text, key
    references = [line for line in text.splitlines() if line[:1].isdigit() and ". " in line]
    assert len(references) == len(set(references)) and len(references) < len(rows) / 3
    assert text.count("Défossez, Bottou, Bach, Usunier") == 1
    assert "| generic | sgd | [growth](generic-sgd-growth.md) | `schedule's (S1, S2)` | tight | [" in text


def test_an_algorithms_differences_are_computed_once_for_every_page_that_names_them():
    """Every page of an adaptive bound names how its algorithm differs from torch's: 38 pages, 4
    pairs; the second page of a pair reads the first one's answer (Algorithm.differences is
    cached), the answer computed."""
    from theory import algorithms as A

    A.Algorithm.differences.cache_clear()
    linear, gaussian = render_one("linear", "adam"), render_one("gaussian", "adam")
    info = A.Algorithm.differences.cache_info()
    assert (info.misses, info.hits) == (1, 1)
    labels = A.DELAYED_ADAM.difference_labels(A.TORCH_ADAM)
    computed = A.Algorithm.differences.__wrapped__(A.DELAYED_ADAM, A.TORCH_ADAM)
    assert A.DELAYED_ADAM.differences(A.TORCH_ADAM) == computed
    for page in (linear, gaussian):
        assert f"it differs from `torch.optim.Adam` in: {', '.join(labels)}" in page
