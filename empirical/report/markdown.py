"""``report.md``.

The verdict first, then the numbers, the theorem, the constants, the assumption rows and the
figures, for a person.

The verdict it states: docs/decision.md; the theorems: docs/theory.md.
"""

from __future__ import annotations

from typing import Any

from empirical.report.md_cells import cell, number
from empirical.report.stress_md import along_section, growth_section, stress_section

#: The decision rule in one paragraph (docs/decision.md).
RULE = (
    "Rule (docs/decision.md): the verdict compares the bound with a 95% interval for the expectation "
    "over runs of the theorem's left-hand side (each end the wider of the Student-t end and a lognormal "
    "pivot's, unclipped): **holds** (exit 0) when its upper end is at most the bound, **violated** "
    "(exit 1) when its lower end is above it, **inconclusive** (exit 4) when the bound lies inside it "
    "or there is one run (one run cannot estimate an expectation: train at least 2); **not covered** "
    "(exit 3) when an assumption row fails, or is only approximate without `--approximate-ok` "
    "(`approximate_ok=True`), the comparison then given for reference."
)


def _used(entry: dict[str, Any]) -> str:
    """Which end entered the bound, and of which estimate (the runs' or the stressed one)."""
    end = entry.get("used", "—")
    return f"{end} of the stressed value" if entry.get("bound_at") == "stressed" else end


def _run_line(result, data: dict[str, Any]) -> str:
    """n, B, K and the step of the run, as far as they are known."""
    s, fixed = result.settings, result.fixed
    parts = [f"n = {s.steps}", f"B = {s.batch_size}"]
    if s.K is not None:
        parts.append(f"K = {s.K}")
    if fixed.get("C_gamma") is not None and data.get("step_constant_choice"):
        parts.append(f"C_γ = {fixed['C_gamma']:.4g} ({data['step_constant_choice']})")
    if "S1" in fixed and result.theorem.lhs.uses_steps:
        parts.append(
            f"steps taken: S1 = {fixed['S1']:.4g}, S2 = {fixed['S2']:.4g}, γ_max = {fixed['gamma_max']:.4g}"
        )
    return ", ".join(parts)


def _attribution(entry: dict[str, Any] | None) -> list[str]:
    """Which term of the bound carries its value (theory.attribution)."""
    if not entry:
        return []
    return [
        "",
        "## Where the bound's value comes from",
        "",
        f"The bound split into its terms at the constants used (the largest first; dominant: "
        f"**{entry['dominant']}**), and the elasticity d log(bound) / d log(quantity) of each quantity "
        "(1: the bound is proportional to it; 1 - beta1 and 1/(1 - beta2) are the scales of the Adam "
        "parameters near 1).",
        "",
        entry["table"],
    ]


def tightness_line(entry: dict[str, Any] | None) -> str:
    """The report's tightness line (docs/theory.md, "Performance estimation").

    Args:
        entry: report.json's ``tightness`` (None: not computed).

    Returns:
        bound / observed = proof x landscape x noise term, or why not.
    """
    if not entry:
        return "tightness: not computed (this result has no tightness entry)."
    if not entry["computed"]:
        return f"tightness of {entry['theorem']}: {entry['reason']}."
    e = entry
    band = ""
    if e["landscape_lo"] is not None:  # no upper end when the observed interval reaches 0
        hi = "∞)" if e["landscape_hi"] is None else f"{e['landscape_hi']:.3g}]"
        band = f" [{e['landscape_lo']:.3g}, {hi}"
    return (
        f"tightness: bound / observed = {e['ratio']:.4g} = proof {e['proof']:.4g} × landscape "
        f"{e['landscape']:.4g}{band} × noise term {e['noise_term']:.4g} "
        f"(worst case W = {e['worst_case']:.4g}, B(0) = {e['bound_noise_free']:.4g}, "
        f"B(σ²) = {e['bound']:.4g}; {e['how']})."
    )


def _tightness(entry: dict[str, Any] | None) -> list[str]:
    """The tightness line and what its three factors mean (empirical.conclusion.tightness)."""
    lines = ["", "## Tightness", "", tightness_line(entry)]
    if entry and entry.get("computed"):
        d = entry["definitions"]
        lines += [
            "",
            f"- proof = {cell(d['proof'])};",
            f"- landscape = {cell(d['landscape'])} (in brackets: at the ends of the observed interval);",
            f"- noise term = {cell(d['noise_term'])}.",
            "",
            "The three multiply to bound / observed exactly. Worst case by "
            f"{cell(entry['solver'])}, {entry['seconds']:.2g} s.",
        ]
    return lines


def _variants(rows: list[dict[str, Any]] | None, pre: dict[str, Any] | None, optimizer: str) -> list[str]:
    """Every registered theorem of the adaptive optimizer on this run, side by side."""
    if not rows:
        return []
    lines = [
        "",
        f"## Every {optimizer.capitalize()} theorem on this run",
        "",
        "Each bound at the same estimated constants, against the observed side weighted as that theorem "
        "says; `covered` when the run meets the theorem's assumptions, `approximate` when the algorithm "
        "differs in named details, `not covered` otherwise (its number is then no verdict).",
        "",
        "| variant | theorem | bound | observed | ratio | status | why |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        obs = (
            "—"
            if r["observed"] is None
            else f"{number(r['observed'])} [{number(r['observed_lo'])}, {number(r['observed_hi'])}]"
        )
        why = cell("; ".join(r["reasons"]))
        lines.append(
            f"| {r['variant']}{' (a-posteriori)' if r['a_posteriori'] else ''} | {r['theorem']} | "
            f"{number(r['bound'])} | {obs} | {number(r['ratio'])} | {r['status']} | {why} |"
        )
    if pre:
        lines += [
            "",
            f"A-posteriori: lambda_min = {pre['lambda_min']:.4g}, lambda_max = {pre['lambda_max']:.4g}, "
            f"{pre['method']}.",
        ]
    return lines


def markdown(result, data: dict[str, Any]) -> str:
    """The report as Markdown (report.md).

    Args:
        result: The :class:`~empirical.conclusion.Result`.
        data: Its report.json content.

    Returns:
        The Markdown text.
    """
    s, obs, rate = result.settings, result.observed, data["rate"]
    verdict = f"**{result.headline}**"
    if result.verdict.value == "not covered":
        verdict += " The comparison below is reported for reference: it is no verdict."
    seeds = data["seeds"]
    if obs.covers_runs:
        spread = (
            f"mean over {obs.runs} runs (seeds {seeds[0]}..{seeds[-1]}), the decision rule's "
            f"{obs.confidence:.0%} interval for the expectation over runs, unclipped"
        )
    elif obs.widened:
        spread = (
            f"one run (seed {seeds[0]}): its quadrature bracket widened by the records' Monte-Carlo noise "
            f"({obs.confidence:.0%}); it covers this run's average, not run-to-run spread"
        )
    else:
        spread = (
            f"one run (seed {seeds[0]}): the interval covers the quadrature between records only, "
            "not run-to-run spread"
        )
    title = f"{s.model} VAE" if s.model in ("gaussian", "linear", "beta", "iwae") else s.model
    optimizer = s.optimizer.upper() if s.optimizer in ("sgd", "adam", "adagrad") else s.optimizer
    theory_exponent = "—" if rate["theory_exponent"] is None else f"{rate['theory_exponent']:g}"
    lines = [
        f"# vaebounds report — {title}, {optimizer}, {s.data}",
        "",
        verdict,
        "",
        RULE,
        "",
        "| | value |",
        "|---|---|",
        f"| bound | {number(result.bound_value)} |",
        f"| observed {cell(result.theorem.lhs.text)} | {number(obs.value)} "
        f"[{number(obs.lo)}, {number(obs.hi)}] "
        f"({spread}) |",
        f"| per run | {', '.join(number(v) for v in obs.per_run)} |",
        f"| ratio bound / observed | {number(result.ratio)} |",
        f"| fitted rate exponent | {number(rate['fitted_exponent'])} "
        f"[{number(rate['lo'])}, {number(rate['hi'])}] "
        f"(theory: {cell(rate['theory'])}, exponent {theory_exponent}) |",
        "",
        "## The theorem",
        "",
        f"{result.theorem.name} ({'tight' if result.theorem.tight else 'loose'} constants), "
        + _run_line(result, data)
        + ".",
        "",
        f"$$ {data['bound']['latex']} $$",
        "",
        f"Reference: {result.theorem.reference}",
        "",
        "## Constants",
        "",
        "Each estimated constant enters the bound at the end of its interval that makes the bound "
        "larger. Constants marked *sup* are lower estimates of suprema (the largest value seen along "
        "the runs); Delta marked *low* is a lower estimate of F(θ_0) − F* (no proven lower bound of F): "
        "the verdict is at these estimates, it is not a proof. The values below are the runs' own; "
        "where the bound is at a stressed value, the next section gives it.",
        "",
        "| constant | value | interval | used | method |",
        "|---|---|---|---|---|",
    ]
    for name, e in data["constants"].items():
        label = f"{name} *sup*" if e["lower_estimate_of_supremum"] else name
        if name == "Delta" and not result.constants.delta_is_upper:
            label = f"{name} *low*"
        lines.append(
            f"| {label} | {number(e['value'])} | [{number(e['lo'])}, {number(e['hi'])}] | {_used(e)} | "
            f"{cell(e['method'])} |"
        )
    lines += stress_section(data)
    lines += ["", "## Assumptions checked on the runs", "", "| id | assumption | status | evidence |"]
    lines.append("|---|---|---|---|")
    for r in result.assumptions:
        lines.append(f"| `{r.id}` | {cell(r.name)} | {r.status} | {cell(r.evidence)} |")
    lines += growth_section(data)
    lines += along_section(data)
    lines += _attribution(result.extras.get("attribution"))
    lines += _tightness(result.extras.get("tightness"))
    lines += _variants(
        result.extras.get("variants"), result.extras.get("preconditioner"), result.theorem.optimizer
    )
    lines += [
        "",
        "## Figures",
        "",
        "![convergence](convergence.png)",
        "",
        "The theorem's weighted average up to n, per run (thin) and their mean (thick), against the bound "
        "at every n with the same constants; the dashed line is the fitted slope.",
        "",
        "![constants](constants.png)",
        "",
        "![training](training.png)",
        "",
        "## Run",
        "",
        f"- observed: {obs.method}.",
        "- time: " + ", ".join(f"{part} {seconds:.1f} s" for part, seconds in data["timings"].items()),
        "- versions: " + ", ".join(f"{k} {v}" for k, v in data["versions"].items()),
        "",
    ]
    return "\n".join(lines)
