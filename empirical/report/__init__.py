"""The report of a verify run, written as a whole: ``report.json`` (content),
``report.md`` (markdown), figures (one style), all renamed into place
together (atomic)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from empirical.report.atomic import write_folder
from empirical.report.content import FIGURES, report_json
from empirical.report.figures import write_figures
from empirical.report.markdown import markdown

#: The files of a report folder.
FILES = ("report.json", "report.md", *FIGURES)


@dataclass(frozen=True)
class Report:
    """Where the report went, its JSON content and the exit code of its result."""

    folder: Path
    data: dict[str, Any]
    exit_code: int


def write_report(result, folder: str | Path, command: list[str] | None = None) -> Report:
    """Write report.json, report.md and the figures of ``result`` into ``folder``."""
    data = report_json(result, command)

    def fill(tmp: Path) -> None:
        (tmp / "report.json").write_text(json.dumps(data, indent=2))
        write_figures(result, tmp)
        (tmp / "report.md").write_text(markdown(result, data))

    out = write_folder(folder, fill, FILES)
    return Report(out, data, result.exit_code)


__all__ = ["FILES", "Report", "report_json", "write_report"]
