"""An assumption row of a theorem checked on a run: its statuses and the :class:`Row` type.

The ids and what each status means: docs/architecture.md, "Assumption ids".
"""

from __future__ import annotations

from dataclasses import dataclass

#: Statuses of an assumption row (docs/architecture.md, "Assumption ids").
HOLDS, ESTIMATED, APPROXIMATE, FAILS, UNCHECKED = "holds", "estimated", "approximate", "fails", "unchecked"
STATUSES = (HOLDS, ESTIMATED, APPROXIMATE, FAILS, UNCHECKED)


@dataclass(frozen=True)
class Row:
    """One assumption of the theorem checked on the run.

    Attributes:
        id: The assumption id (docs/architecture.md, "Assumption ids").
        name: Its display name.
        status: One of :data:`STATUSES`.
        evidence: What the status rests on, in words.

    Raises:
        ValueError: A status not in :data:`STATUSES`.
    """

    id: str
    name: str
    status: str
    evidence: str

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {self.status!r}")
