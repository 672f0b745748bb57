"""report.md's sections on the stress step and the growth condition.

The verdicts at the runs' and at the stressed constants side by side, how much each constant
rose, the constants along the runs (where each was largest, and their figure), and the
growth-condition bound beside the bounded-variance one. Read from report.json's content
(:mod:`empirical.report.content`).

The mathematics: docs/theory.md, "Stressed constants" and "The growth condition on a run".
"""

from __future__ import annotations

from typing import Any

from empirical.report.md_cells import cell, number

#: What a stressed constant is, and is not (docs/theory.md, "Stressed constants").
MEANING = (
    "Stressed: a projected-ascent search of the box each run's snapshots span (widened by the margin) "
    "for larger values than the snapshots showed, the point found re-evaluated on fresh noise; the "
    "stressed value is the larger of the runs' value and that re-evaluation. It is still a lower "
    "estimate of the supremum the theorem needs, not a proof; the gain says how much the largest value "
    "seen understated what the region holds."
)


def stress_section(data: dict[str, Any]) -> list[str]:
    """report.md's section "Stressed constants".

    Args:
        data: The report.json content.

    Returns:
        The section's lines: both verdicts, and each constant's runs' value, stressed value and gain.
    """
    stress = data.get("stress")
    if stress is None:
        return []
    lines = ["", "## Stressed constants", ""]
    if not stress["searched"]:
        return [*lines, f"stress: {stress['reason']}."]
    v = stress["verdicts"]
    lines += [
        f"The bound is evaluated at the stressed constants (box margin {stress['margin']:g}, "
        f"{stress['n_evals']} evaluations). {MEANING}",
        "",
        "| evaluated at | bound | verdict (exit code) |",
        "|---|---|---|",
    ]
    for key, what in (
        ("at_run_constants", "the runs' constants"),
        ("at_stressed_constants", "the stressed constants"),
    ):
        if key in v:
            e = v[key]
            lines.append(f"| {what} | {number(e['bound'])} | {e['verdict']} ({e['exit_code']}) |")
    lines += [
        "",
        "| constant | the runs' (largest at the snapshots) | found (fresh draws) | stressed | gain "
        "| where found |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in stress["constants"].items():
        u, f, st, w = s["used"], s["found"], s["stressed"], s["where"]
        where = f"{w['label']}, from {w['start']}, {w['steps']} ascent steps"
        lines.append(
            f"| {name} | {number(u['value'])} [{number(u['lo'])}, {number(u['hi'])}] | {number(f['value'])} "
            f"[{number(f['lo'])}, {number(f['hi'])}] | {number(st['value'])} | {s['stress_gain']:.1%} "
            f"| {cell(where)} |"
        )
    return lines


def along_section(data: dict[str, Any]) -> list[str]:
    """report.md's section "The constants along the runs".

    Args:
        data: The report.json content.

    Returns:
        The section's lines: where each constant was largest, and the figure.
    """
    along = data.get("constants_along_run")
    if along is None:
        return []
    rows = along["rows"]
    runs = len({r["run"] for r in rows})
    lines = [
        "",
        "## The constants along the runs",
        "",
        f"Measured at every snapshot of every run ({len(rows)} snapshots, {runs} runs; report.json "
        "`constants_along_run`). Largest values seen:",
        "",
        "| constant | largest | where |",
        "|---|---|---|",
    ]
    for name, r in along["largest"].items():
        lines.append(f"| {name} | {number(r['value'])} | {r['label']}, step {r['step']} |")
    return [*lines, "", "![constants along the runs](constants_along_run.png)"]


def growth_section(data: dict[str, Any]) -> list[str]:
    """report.md's section "The growth condition".

    Args:
        data: The report.json content.

    Returns:
        The section's lines: the fit, the step condition, both bounds and which is smaller.
    """
    g = data.get("growth")
    if g is None:
        return []
    lines = ["", "## The growth condition", ""]
    if g["fit"] is None:
        return [*lines, f"Not fitted: {g['why_no_fit']}."]
    fit = g["fit"]
    lines.append(
        f"Fit of E‖g − ∇F‖² ≤ A + G ‖∇F‖² to the records: A = {number(fit['A']['value'])} "
        f"[{number(fit['A']['lo'])}, {number(fit['A']['hi'])}], G = {number(fit['G']['value'])} "
        f"[{number(fit['G']['lo'])}, {number(fit['G']['hi'])}]; upper ends "
        f"A_upper = {number(g['A_upper'])}, "
        f"G_upper = {number(g['G_upper'])} (one-sided, {fit['confidence']:.0%} each, of a fit to the "
        "variance along the runs: estimates of the A and G the theorem needs at every iterate, not "
        "bounds of them); the bounded-variance form's σ² (a step's minibatch gradient) = "
        f"{number(g['sigma2'])}."
    )
    step = g["step_condition"]
    if step is not None:
        lines += [
            "",
            f"Step condition γ_max ≤ 1/(L (1 + G_upper)): {step['gamma_max']:.4g} ≤ {step['limit']:.4g} at "
            f"L = {step['L']:.4g}: {'holds' if step['holds'] else 'fails'} (at the estimate, not proved).",
        ]
    if not g["applies"]:
        return [*lines, "", f"Growth-condition bound: {g['why_not']}."]
    obs = g["observed"]
    note = f" ({g['comparator_note']})" if g["comparator_note"] else ""
    lines += [
        "",
        "Both bound the γ-weighted average Σ γ_k ‖∇F(θ_{k−1})‖² / S1 (observed "
        f"{number(obs['value'])} [{number(obs['lo'])}, {number(obs['hi'])}]), at the same Δ, L and step "
        "sums; the "
        "verdict above stays on the theorem the dispatch picked.",
        "",
        "| bound | theorem | value |",
        "|---|---|---|",
        f"| growth condition, at the estimates A_upper, G_upper | {g['theorem']} | {number(g['bound'])} |",
        f"| bounded variance, at σ² | {g['comparator']} | "
        f"{number(g['bounded_variance_bound'])}{cell(note)} |",
        "",
        f"Smaller: **{g['smaller']}**.",
    ]
    return lines
