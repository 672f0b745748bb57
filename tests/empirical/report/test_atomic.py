"""A report folder is written as a whole (empirical/report/atomic.py): an interrupted write
leaves the previous report intact and no temporary folder behind."""

from __future__ import annotations

import json

import pytest

from empirical.errors import ConfigError
from empirical.report.atomic import write_folder


def test_report_folder_is_written_as_a_whole(tmp_path):
    target = tmp_path / "report"

    def fill(folder):
        (folder / "report.json").write_text(json.dumps({"n": 1}))
        (folder / "report.md").write_text("one")

    write_folder(target, fill, ("report.json", "report.md"))
    assert json.loads((target / "report.json").read_text()) == {"n": 1}

    def broken(folder):
        (folder / "report.json").write_text(json.dumps({"n": 2}))
        raise KeyboardInterrupt  # interrupted half way

    with pytest.raises(KeyboardInterrupt):
        write_folder(target, broken, ("report.json", "report.md"))
    # the previous report is intact and no temporary folder is left behind
    assert json.loads((target / "report.json").read_text()) == {"n": 1}
    assert (target / "report.md").read_text() == "one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    (target / "mine.txt").write_text("keep")
    with pytest.raises(ConfigError, match="other files"):
        write_folder(target, fill, ("report.json", "report.md"))
    with pytest.raises(ConfigError, match="not a folder"):
        write_folder(target / "mine.txt", fill, ())
    with pytest.raises(ConfigError, match="must be a path"):
        write_folder("", fill, ())
