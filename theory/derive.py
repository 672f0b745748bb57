"""Render every registered bound as a Markdown derivation (``derivations/*.md``).

The committed files are regenerated and diffed in a test, so they always
match the code that derives them.
"""

from __future__ import annotations

from pathlib import Path

import sympy as sp

from theory.bound import Bound
from theory.catalog import bound as get_bound
from theory.catalog import registered
from theory.descent import PLACEHOLDER_LATEX
from theory.symbols import to_latex


def file_name(model: str, optimizer: str, variant: str) -> str:
    """``model-optimizer[-variant].md``."""
    return "-".join(p for p in (model, optimizer, variant) if p) + ".md"


def render(b: Bound) -> str:
    """A Markdown page: statement, assumptions, steps, final form, rate, reference."""
    out = [f"# {b.name}", ""]
    out += [
        f"*{'Tight' if b.tight else 'Loose'} constants* "
        f"(model `{b.model}`, optimizer `{b.optimizer}`"
        + (f", variant `{b.variant}`" if b.variant else "")
        + ").",
        "",
        "## Statement",
        "",
        f"$$ {b.latex()} $$",
        "",
    ]
    if b.step_limit is not None:
        out += [f"for $C_\\gamma \\le {to_latex(b.step_limit)}$.", ""]
    out += [
        f"Left-hand side: observable `{b.lhs.observable}`, weight of iterate $j$: "
        f"${to_latex(b.lhs.weight)}$ (normalised over $j = 0..n-1$).",
        "",
        "## Assumptions",
        "",
    ]
    out += [f"- **{a.name}** (`{a.id}`): ${a.statement}$" for a in b.assumptions]
    out.append("")
    if b.definitions:
        out += ["## Definitions", ""]
        out += [f"- ${to_latex(sym)} = {to_latex(val)}$" for sym, val in b.definitions]
        out.append("")
    if b.steps:
        out += ["## Derivation", ""]
        for i, step in enumerate(b.steps, 1):
            out += [
                f"{i}. **{step.title}**: {step.justification}",
                "",
                f"   $$ {to_latex(step.statement, PLACEHOLDER_LATEX)} $$",
                "",
            ]
    out += [
        "## Final form",
        "",
        "```",
        sp.sstr(b.expr),
        "```",
        "",
        "## Rate",
        "",
        f"Leading order in $n$ (constants dropped): ${to_latex(b.rate())}$."
        if b.has_rate
        else "The bound depends on the steps through $S_1$ and $S_2$: its rate in $n$ is the schedule's.",
        "",
    ]
    if b.notes:
        out += ["## Notes", ""]
        out += [f"- {note}" for note in b.notes]
        out.append("")
    out += ["## Reference", "", b.reference, ""]
    return "\n".join(out)


def write_derivations(out_dir: str | Path = "derivations") -> list[Path]:
    """Write one file per registered bound into ``out_dir`` (created if needed);
    return the paths written. Stale ``*.md`` files in ``out_dir`` are removed."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for model, optimizer, variant in registered():
        path = out / file_name(model, optimizer, variant)
        path.write_text(render(get_bound(model, optimizer, variant or None)))
        written.append(path)
    keep = {p.name for p in written}
    for stale in out.glob("*.md"):
        if stale.name not in keep and stale.name != "README.md":
            stale.unlink()
    return written


if __name__ == "__main__":  # python -m theory.derive [DIR]
    import sys

    for p in write_derivations(sys.argv[1] if len(sys.argv) > 1 else "derivations"):
        print(p)
