"""The optional solvers, imported only when a worst case is computed.

PEPit and cvxpy write and solve the exact program (theory.performance.full); CLARABEL
alone solves the banded one (theory.performance.banded, its linear forms in
theory.performance.forms, whose names are re-exported here).
"""

from __future__ import annotations

from theory.errors import TheoryError
from theory.performance.banded import Banded, Solution, SolverError
from theory.performance.forms import Linear, Vector, combine

__all__ = [
    "INSTALL",
    "Banded",
    "Linear",
    "MissingSolverError",
    "Solution",
    "SolverError",
    "Vector",
    "combine",
    "require",
]

#: The command that installs the optional solvers.
INSTALL = 'pip install -e ".[pep]"'


class MissingSolverError(TheoryError):
    """The optional performance-estimation extra (PEPit and CLARABEL) is not installed."""


def require() -> dict[str, str]:
    """Find PEPit, cvxpy and CLARABEL (the ``pep`` extra) or refuse.

    Each is imported where it is used (the consecutive-conditions program needs CLARABEL only).

    Returns:
        Their versions, {"PEPit": ..., "clarabel": ..., "cvxpy": ...}.

    Raises:
        MissingSolverError: any of them is missing; the message names them and
            the command that installs the extra.
    """
    from importlib import metadata, util

    versions, missing = {}, []
    for name in ("PEPit", "clarabel", "cvxpy"):  # found, not imported: PEPit and cvxpy cost ~1 s
        try:
            found = util.find_spec(name) is not None
            versions[name] = metadata.version(name) if found else ""
        except (ImportError, ValueError, metadata.PackageNotFoundError):
            found = False
        if not found:
            missing.append(name)
    if missing:
        raise MissingSolverError(
            "performance estimation needs the optional extra (PEPit with the CLARABEL solver); "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed: {INSTALL}"
        )
    return versions
