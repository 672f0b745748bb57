"""``vaebounds verify --from report.json``.

The settings of a report, checked so that the re-run is the same run (docs/inputs.md,
"report.json").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from empirical.errors import ConfigError
from empirical.inputs.files import file_kind
from empirical.inputs.rules import usable_path
from empirical.settings import OWN_LOOP

#: The keys every report.json of verify has besides its settings (empirical.report.content).
REPORT_KEYS = ("bound", "empirical", "verdict")


def settings_of_report(path: str | Path) -> dict[str, Any]:
    """The ``settings`` of a report.json (``vaebounds verify --from``).

    Args:
        path: The report.json of a verify run.

    Returns:
        The settings by field name.

    Raises:
        ConfigError: A file that is not a report, or a data file it names whose bytes changed
            (sha256): the numbers could not be reproduced.
    """
    where = f"--from {path}"
    path = usable_path("--from", path)
    if not path.exists():
        raise ConfigError(f"{where}: no such file")
    kind = file_kind(path)
    if kind != "regular file":
        raise ConfigError(f"{where} is a {kind}; give the report.json of a verify run")
    try:
        text = path.read_text()
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        if isinstance(err, json.JSONDecodeError) and _first_line_is_row(text):
            raise ConfigError(
                f"{where} is a sweep's results.jsonl, not the report.json of a verify run; give one"
            ) from None
        raise ConfigError(f"{where}: not a JSON file ({err}); give the report.json of a verify run") from None
    if not _is_report(data):
        raise ConfigError(f"{where} is {_what(data)}, not the report.json of a verify run; give one")
    settings = data["settings"]
    if settings.get("source") == OWN_LOOP:
        raise ConfigError(
            f"{where}: the report of runs tracked in your own loop (empirical.track); the CLI cannot "
            "re-run them: run your loop again"
        )
    record = data.get("data_set")
    settings = dict(settings)
    if isinstance(record, dict) and record.get("sha256"):
        settings["data"] = _same_file(where, settings.get("data"), record)
    return settings


def _is_report(data: Any) -> bool:
    """True for the content of a verify report.json: a 'settings' object and :data:`REPORT_KEYS`."""
    return (
        isinstance(data, dict)
        and isinstance(data.get("settings"), dict)
        and all(k in data for k in REPORT_KEYS)
    )


def _first_line_is_row(text: str) -> bool:
    """True when the first line of ``text`` is a result row of vaebounds sweep."""
    try:
        first = json.loads(text.split("\n", 1)[0])
    except json.JSONDecodeError:
        return False
    return isinstance(first, dict) and "key" in first and "exit_code" in first


def _what(data: Any) -> str:
    """What a JSON document that is no verify report looks like, for the message."""
    if isinstance(data, dict) and "constants" in data and "snr" in data and "bound" not in data:
        return "an estimate.json of vaebounds estimate (constants, no bound or verdict)"
    if isinstance(data, dict) and "key" in data and "exit_code" in data:
        return "a result row of vaebounds sweep"
    if isinstance(data, dict):
        keys = ", ".join(sorted(map(str, data))[:5])
        return f"a JSON object with the keys {keys or '(none)'}" + (", ..." if len(data) > 5 else "")
    return f"a JSON {type(data).__name__.replace('dict', 'object').replace('list', 'array')}"


def _same_file(where: str, name: Any, record: dict[str, Any]) -> Any:
    """The data file of a report, checked (the same bytes).

    ``name``, or the path recorded beside it when ``name`` is relative to another working
    folder than this one.
    """
    from empirical.data import file_sha256

    file = Path(str(name)).expanduser()
    recorded = record.get("path")
    if not file.is_file() and isinstance(recorded, str) and Path(recorded).is_file():
        file = name = Path(recorded)  # the report was written from another folder
    if not file.is_file():
        raise ConfigError(f"{where}: its data file {name} is missing (it was {recorded})")
    if file_sha256(file) != record["sha256"]:
        raise ConfigError(
            f"{where}: the data file {name} changed since the report (sha256 differs): "
            "the run cannot be reproduced"
        )
    return str(name)
