"""Render registered bounds as Markdown derivations (``derivations/*.md``) and their table.

Each page states its result in one line first, then the statement in the theorem's
own constants with the named sub-expressions below it (:mod:`theory.readable`), the
analysed algorithm, the assumptions, every derivation step, the rate and the
reference (docs/theory.md, "Reading a bound"). The committed files are regenerated
and diffed in a test, so they always match the code.
"""

from __future__ import annotations

from pathlib import Path

import sympy as sp

from theory.algorithms import TORCH
from theory.bound import Bound
from theory.catalog import bound as get_bound
from theory.catalog import registered
from theory.descent import PLACEHOLDER_LATEX
from theory.errors import UnknownNameError
from theory.readable import Readable, readable
from theory.symbols import to_latex
from theory.table import catalogue_page, file_name

#: The page with the table of every theorem (:mod:`theory.table`).
CATALOGUE = "README.md"
#: The largest page written (bytes); tests/theory/test_derive.py holds every page to it.
MAX_PAGE_BYTES = 10_000
#: A step whose statement is longer than this in LaTeX is shown in plain text (about half as long).
LONG_LATEX = 1200
#: The bound itself, where a derivation step reaches it (stated in full at the top of the page).
BOUND = sp.Symbol("B_n")
PLACEHOLDERS = {**PLACEHOLDER_LATEX, BOUND: r"\mathrm{B}_n"}


def _latex(expr: sp.Basic, names: dict | None = None) -> str:
    r"""LaTeX with log(n) written \log n."""
    return to_latex(expr, names).replace(r"\log{\left(n \right)}", r"\log n")


def _compact(expr: sp.Basic) -> tuple[sp.Basic, dict[sp.Basic, str]]:
    """Applied placeholder functions (gamma(k), G(k - 1), EF(k)) as indexed symbols.

    They are shown as gamma_k, G_{k-1}, E F(theta_k).
    """
    names: dict[sp.Basic, str] = {}
    table = {}
    for call in sorted(expr.atoms(sp.core.function.AppliedUndef), key=sp.default_sort_key):
        index = sp.latex(call.args[0])
        head = {"gamma": r"\gamma", "G": "G", "GM": "G^M"}.get(call.func.__name__)
        text = rf"\mathbb{{E}} F(\theta_{{{index}}})" if call.func.__name__ == "EF" else f"{head}_{{{index}}}"
        symbol = sp.Symbol(f"_{call.func.__name__}_{sp.srepr(call.args[0])}")
        table[call], names[symbol] = symbol, text
    return expr.xreplace(table), names


def result_line(b: Bound, r: Readable | None = None) -> str:
    """The result in one line of plain text: left-hand side <= bound, step condition, rate.

    Args:
        b: The bound.
        r: Its readable form (default: computed here).

    Returns:
        The line, in Markdown.
    """
    r = readable(b) if r is None else r
    names = " (names defined below)" if r.where else ""
    limit = "" if b.step_limit is None else f", for C_gamma <= {sp.sstr(r.shorten(b.step_limit))}"
    rate = sp.sstr(b.rate()) if b.has_rate else "the schedule's"
    return f"**Result.** `{b.lhs.text} <= {sp.sstr(r.expr)}`{names}{limit}; rate in n: `{rate}`."


def render(b: Bound) -> str:
    """The derivation page of a bound.

    Args:
        b: The bound.

    Returns:
        Markdown: result line, statement, named sub-expressions, algorithm, assumptions,
        derivation, final form, rate, notes, reference.
    """
    r = readable(b, tuple(step.statement for step in b.steps))
    out = [f"# {b.name}", "", result_line(b, r), ""]
    out += [
        f"*{'Tight' if b.tight else 'Loose'} constants* "
        f"(model `{b.model}`, optimizer `{b.optimizer}`"
        + (f", variant `{b.variant}`" if b.variant else "")
        + ").",
        "",
        "## Statement",
        "",
        f"$$ {b.lhs.latex} \\le {_latex(r.expr)} $$",
        "",
    ]
    if b.step_limit is not None:
        out += [f"for $C_\\gamma \\le {to_latex(r.shorten(b.step_limit))}$.", ""]
    out += [
        f"Left-hand side: observable `{b.lhs.observable}`, weight of iterate $j$: "
        f"${to_latex(b.lhs.weight)}$ (normalised over $j = 0..n-1$).",
        "",
    ]
    if r.where:
        out += ["## Where", ""]
        out += [f"- ${to_latex(n.symbol)} = {_latex(n.expr)}$: {n.meaning}" for n in r.where]
        out.append("")
    if b.algorithm is not None:
        out += _algorithm(b)
    out += ["## Assumptions", ""]
    out += [f"- **{a.name}** (`{a.id}`): ${a.statement}$" for a in b.assumptions]
    out.append("")
    if b.steps:
        out += ["## Derivation", "", "$\\mathrm{B}_n$ is the bound stated above.", ""]
        # the bound, and its readable form (which unfolds to b.expr itself: a tested invariant of
        # theory.readable, so its unfolding, seconds of SymPy on 24 of the pages, is not a key)
        final = {b.expr: BOUND, r.expr: BOUND}
        if b.unexpanded is not None:
            final[b.unexpanded] = BOUND
        defined = {n.symbol: n.expr for n in r.where}
        shared = _generic_steps(b)
        if shared is not None:
            page, count = shared
            which = "Step 1 is" if count == 1 else f"Steps 1-{count} are"
            out += [f"{which} the generic theorem's derivation, [{page}]({page}).", ""]
        for i, step in enumerate(b.steps, 1):
            if shared is not None and i <= shared[1]:
                continue
            out += [f"{i}. **{step.title}**: {step.justification}", ""]
            names = _definitions(step.statement, defined)
            if names:
                out += ["   Defines " + ", ".join(f"${to_latex(s)}$" for s in names) + " (see Where).", ""]
            else:
                shown, names = _compact(r.shorten(step.statement).xreplace(final))
                latex = _latex(shown, {**PLACEHOLDERS, **names})
                out += [f"   $$ {latex} $$" if len(latex) <= LONG_LATEX else f"   `{sp.sstr(shown)}`", ""]
    out += ["## Final form", "", "```", sp.sstr(r.expr)]
    out += [
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


def _generic_steps(b: Bound) -> tuple[str, int] | None:
    """(page, count) when the first ``count`` steps of a model's bound are a generic theorem's derivation.

    That page shows them; None for a generic bound or when no generic derivation matches.
    """
    if b.model == "generic":
        return None
    best = None
    for model, optimizer, variant in registered():
        if model != "generic" or optimizer != b.optimizer:
            continue
        steps = get_bound(model, optimizer, variant or None).steps
        if steps and b.steps[: len(steps)] == steps and (best is None or len(steps) > best[1]):
            best = (file_name(model, optimizer, variant), len(steps))
    return best


def _definitions(statement: sp.Basic, defined: dict[sp.Symbol, sp.Expr]) -> list[sp.Symbol]:
    """The names a step defines, when its statement is only name = (its entry under Where)."""
    parts = statement.args if isinstance(statement, sp.Tuple) else (statement,)
    names = []
    for part in parts:
        if not (isinstance(part, sp.Eq) and part.lhs in defined and part.rhs == defined[part.lhs]):
            return []
        names.append(part.lhs)
    return names


def _algorithm(b: Bound) -> list[str]:
    a, torch = b.algorithm, TORCH[b.algorithm.optimizer]
    labels = a.difference_labels(torch)
    differs = f"; it differs from `{torch.name}` in: {', '.join(labels)}" if labels else ""
    return [
        f"Algorithm `{a.name}` (`theory.algorithms`), the `algorithm` assumption below{differs} "
        "(`Algorithm.differences` says how).",
        "",
    ]


def render_one(model: str, optimizer: str, variant: str | None = None) -> str:
    """The derivation page of one registered (model, optimizer, variant).

    Args:
        model: The model name.
        optimizer: The optimizer name.
        variant: The variant name (None or "" for the default).

    Returns:
        The page in Markdown (:func:`render`).
    """
    return render(get_bound(model, optimizer, variant))


def page(model: str, optimizer: str, variant: str | None = None) -> tuple[str, str]:
    """The file name and text of the page of one registered (model, optimizer, variant).

    Args:
        model: The model name.
        optimizer: The optimizer name.
        variant: The variant name (None or "" for the default).

    Returns:
        (file name, text).

    Raises:
        UnknownNameError: An unknown or unregistered combination, naming the valid choices.
    """
    key = (model, optimizer, variant or "")
    if key not in registered():
        get_bound(model, optimizer, variant or None)  # raises the error naming the valid choices
        raise UnknownNameError(f"({model}, {optimizer}, {variant}) is not registered")
    return file_name(*key), render_one(*key)


def write_derivations(
    out_dir: str | Path = "derivations", only: tuple[str, str, str] | None = None
) -> list[Path]:
    """Write the derivation pages and their table.

    Without ``only``: one file per registered bound into ``out_dir``, the table of them
    all into its README.md (:func:`theory.table.catalogue_page`), and stale ``*.md``
    files there removed. With ``only``: that one page, and nothing removed.

    Args:
        out_dir: The folder (created if needed).
        only: One (model, optimizer, variant) to write.

    Returns:
        The paths written.
    """
    out = Path(out_dir)
    if only is not None:
        name, text = page(*only)
        out.mkdir(parents=True, exist_ok=True)
        path = out / name
        path.write_text(text)
        return [path]
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for model, optimizer, variant in registered():
        path = out / file_name(model, optimizer, variant)
        path.write_text(render(get_bound(model, optimizer, variant or None)))
        written.append(path)
    keep = {p.name for p in written}
    for stale in out.glob("*.md"):
        if stale.name not in keep and stale.name != CATALOGUE:
            stale.unlink()
    (out / CATALOGUE).write_text(catalogue_page())
    return [*written, out / CATALOGUE]


if __name__ == "__main__":  # python -m theory.derive [DIR]
    import sys

    for p in write_derivations(sys.argv[1] if len(sys.argv) > 1 else "derivations"):
        print(p)
