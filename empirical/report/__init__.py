"""The report of a verify run, written as a whole.

``report.json`` (content), ``report.md`` (markdown), figures (one style), all renamed into place
together (atomic). The writers load matplotlib only when a report is written, so checking an
output folder (:mod:`empirical.report.atomic`) is quick.

What a report holds: docs/architecture.md, "Verdict" and "Observed side"; the mathematics it
reports: docs/theory.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from empirical.report.content import FIGURES

#: The files of a report folder.
FILES = ("report.json", "report.md", *FIGURES)


@dataclass(frozen=True)
class Report:
    """Where the report went, its JSON content and the exit code of its result.

    Attributes:
        folder: The report's folder.
        data: report.json's content.
        exit_code: The result's exit code.
    """

    folder: Path
    data: dict[str, Any]
    exit_code: int


def write_report(result, folder: str | Path, command: list[str] | None = None) -> Report:
    """Write report.json, report.md and the figures of ``result`` into ``folder``.

    The folder is written as a whole (a previous report there is replaced); the time this takes
    (matplotlib's import included) is the ``report`` part of the timings written.

    Args:
        result: The :class:`~empirical.conclusion.Result`.
        folder: The output folder.
        command: The command line recorded in report.json.

    Returns:
        The :class:`Report`.
    """
    import time

    started = time.perf_counter()
    import json

    from empirical.report.atomic import write_folder
    from empirical.report.content import report_json
    from empirical.report.markdown import markdown
    from empirical.report.verify_figures import write_figures

    data = report_json(result, command)

    def fill(tmp: Path) -> None:
        write_figures(result, tmp)
        # the report's own time (content, figures) is a part of the timings it reports
        data["timings"]["report"] = data["timings"].get("report", 0.0) + time.perf_counter() - started
        (tmp / "report.json").write_text(json.dumps(data, indent=2))
        (tmp / "report.md").write_text(markdown(result, data))

    out = write_folder(folder, fill, FILES)
    return Report(out, data, result.exit_code)


def __getattr__(name: str):
    if name == "report_json":
        from empirical.report.content import report_json

        return report_json
    raise AttributeError(name)


__all__ = ["FILES", "Report", "report_json", "write_report"]
