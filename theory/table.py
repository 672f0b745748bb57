"""The README table of registered theorems: model x optimizer x rate x reference x tight/loose."""

from __future__ import annotations

import sympy as sp

from theory.catalog import bound, registered


def _short(reference: str) -> str:
    """The first clause of a reference (authors, title, venue)."""
    return reference.split(";")[0].strip()


def theorem_table() -> str:
    """A Markdown table with one row per registered (model, optimizer, variant)."""
    rows = [
        "| model | optimizer | variant | rate | reference | constants |",
        "|---|---|---|---|---|---|",
    ]
    for model, optimizer, variant in registered():
        b = bound(model, optimizer, variant or None)
        rate = sp.sstr(b.rate()).replace("|", "\\|") if b.has_rate else "schedule's (S1, S2)"
        rows.append(
            f"| {model} | {optimizer} | {variant or 'default'} | `{rate}` | {_short(b.reference)} | "
            f"{'tight' if b.tight else 'loose'} |"
        )
    return "\n".join(rows) + "\n"
