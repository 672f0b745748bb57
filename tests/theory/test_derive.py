"""The committed derivations are exactly what the code generates."""

from pathlib import Path

from theory.catalog import registered
from theory.derive import file_name, write_derivations

ROOT = Path(__file__).resolve().parents[2]


def test_committed_derivations_are_current(tmp_path):
    written = write_derivations(tmp_path)
    assert len(written) == len(registered())
    for path in written:
        committed = ROOT / "derivations" / path.name
        assert committed.exists(), f"{path.name} is not committed: run `vaebounds derive`"
        assert committed.read_text() == path.read_text(), f"{path.name} is stale: run `vaebounds derive`"
    names = {file_name(*key) for key in registered()}
    extra = {p.name for p in (ROOT / "derivations").glob("*.md")} - names - {"README.md"}
    assert not extra, f"derivations without a bound: {extra}"


def test_each_page_has_every_section(tmp_path):
    for path in write_derivations(tmp_path):
        text = path.read_text()
        for heading in ("## Statement", "## Assumptions", "## Final form", "## Rate", "## Reference"):
            assert heading in text, (path.name, heading)
