"""No module over 400 lines: every .py file in empirical/, theory/, scripts/, benchmarks/ and
notebooks/ stays small enough to hold one job (the style rule of docs/architecture.md). A
module that grows past the limit is split along its seams, its public names re-exported."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("empirical", "theory", "scripts", "benchmarks", "notebooks")
MAX_LINES = 400


def line_count(path: Path) -> int:
    """Lines as ``wc -l`` counts them: newline characters (a last line without one is not counted)."""
    return path.read_bytes().count(b"\n")


def too_long(root: Path) -> dict[str, int]:
    """Every .py file under ``root``'s FOLDERS over MAX_LINES, with its line count."""
    out = {}
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*.py")):
            n = line_count(path)
            if n > MAX_LINES:
                out[str(path.relative_to(root))] = n
    return out


def test_the_check_sees_a_long_module(tmp_path):
    (tmp_path / "empirical" / "sub").mkdir(parents=True)
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "empirical" / "sub" / "long.py").write_text("x = 1\n" * (MAX_LINES + 1))
    (tmp_path / "empirical" / "at_limit.py").write_text("x = 1\n" * MAX_LINES)
    (tmp_path / "notebooks" / "01_long.py").write_text("# %%\n" * (MAX_LINES + 5))
    (tmp_path / "docs.md").write_text("x\n" * 1000)  # not a module of the checked folders
    assert too_long(tmp_path) == {
        "empirical/sub/long.py": MAX_LINES + 1,
        "notebooks/01_long.py": MAX_LINES + 5,
    }


@pytest.mark.parametrize("folder", FOLDERS)
def test_the_folder_exists(folder):
    assert any((ROOT / folder).rglob("*.py")), f"{folder}/ has no module: is the list of folders stale?"


def test_no_module_over_400_lines():
    long = too_long(ROOT)
    assert not long, f"modules over {MAX_LINES} lines (split them along their seams): {long}"
