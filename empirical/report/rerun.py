"""``vaebounds verify --from report.json``: the settings of a report, checked
so that the re-run is the same run (docs/inputs.md, "report.json")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from empirical.errors import ConfigError
from empirical.inputs.rules import usable_path
from empirical.settings import OWN_LOOP


def settings_of_report(path: str | Path) -> dict[str, Any]:
    """The ``settings`` of a report.json; a data file it names must still hold
    the same bytes (sha256), else the numbers could not be reproduced."""
    where = f"--from {path}"
    path = usable_path("--from", path)
    if not path.is_file():
        raise ConfigError(f"{where}: no such file" if not path.exists() else f"{where}: not a file")
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{where}: not a JSON file ({err})") from None
    settings = data.get("settings") if isinstance(data, dict) else None
    if not isinstance(settings, dict):
        raise ConfigError(f"{where}: not a report.json of vaebounds verify (no 'settings' object)")
    if settings.get("source") == OWN_LOOP:
        raise ConfigError(
            f"{where}: the report of runs tracked in your own loop (empirical.track); the CLI cannot "
            "re-run them: run your loop again"
        )
    record = data.get("data_set")
    if isinstance(record, dict) and record.get("sha256"):
        _same_file(where, settings.get("data"), record)
    return dict(settings)


def _same_file(where: str, name: Any, record: dict[str, Any]) -> None:
    from empirical.data import file_sha256

    file = Path(str(name)).expanduser()
    if not file.is_file():
        raise ConfigError(f"{where}: its data file {name} is missing (it was {record.get('path')})")
    if file_sha256(file) != record["sha256"]:
        raise ConfigError(
            f"{where}: the data file {name} changed since the report (sha256 differs): "
            "the run cannot be reproduced"
        )
