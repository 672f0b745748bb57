"""Render every registered bound as a Markdown derivation (``derivations/*.md``).

The committed files are regenerated and diffed in a test, so they always
match the code that derives them.
"""

from __future__ import annotations

from pathlib import Path

import sympy as sp

from theory.bound import Bound
from theory.registry import bound as get_bound
from theory.registry import registered
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
    out += ["## Assumptions", ""]
    out += [f"- **{a.name}**: ${a.statement}$" for a in b.assumptions]
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
                f"   $$ {to_latex(step.statement)} $$",
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
        f"Leading order in $n$ (constants dropped): ${to_latex(b.rate())}$.",
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
