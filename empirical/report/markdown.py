"""``report.md``: the verdict first, then the numbers, the theorem, the
constants, the assumption rows and the figures, for a person."""

from __future__ import annotations

from typing import Any

from empirical.pipeline.result import Verdict


def _cell(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.4g}"


def markdown(result, data: dict[str, Any]) -> str:
    """The report as Markdown (``data``: the report.json content)."""
    s, obs, rate = result.settings, result.observed, data["rate"]
    verdict = f"**{result.headline}**"
    if result.verdict is Verdict.NOT_COVERED:
        verdict += " The comparison below is reported, but it is no verdict."
    seeds = data["seeds"]
    spread = (
        f"mean over {obs.runs} runs (seeds {seeds[0]}..{seeds[-1]}), {obs.confidence:.0%} Student-t "
        "interval over runs"
        if obs.covers_runs
        else f"one run (seed {seeds[0]}): the interval covers the quadrature between records only, "
        "not run-to-run spread"
    )
    lines = [
        f"# vaebounds report — {s.model} VAE, {s.optimizer.upper()}, {s.data}",
        "",
        verdict,
        "",
        "| | value |",
        "|---|---|",
        f"| bound | {_fmt(result.bound_value)} |",
        f"| observed {_cell(result.theorem.lhs.text)} | {_fmt(obs.value)} [{_fmt(obs.lo)}, {_fmt(obs.hi)}] "
        f"({spread}) |",
        f"| per run | {', '.join(_fmt(v) for v in obs.per_run)} |",
        f"| ratio bound / observed | {_fmt(result.ratio)} |",
        f"| fitted rate exponent | {_fmt(rate['fitted_exponent'])} [{_fmt(rate['lo'])}, {_fmt(rate['hi'])}] "
        f"(theory: {_cell(rate['theory'])}, exponent {rate['theory_exponent']:g}) |",
        "",
        "## The theorem",
        "",
        f"{result.theorem.name} ({'tight' if result.theorem.tight else 'loose'} constants), "
        f"n = {s.steps}, B = {s.batch_size}, K = {s.K}, C_γ = {result.fixed['C_gamma']:.4g} "
        f"({data['step_constant_choice']}).",
        "",
        f"$$ {data['bound']['latex']} $$",
        "",
        f"Reference: {result.theorem.reference}",
        "",
        "## Constants",
        "",
        "Each estimated constant enters the bound at the end of its interval that makes the bound "
        "larger. Constants marked *sup* are lower estimates of suprema (the largest value seen along "
        "the runs): the verdict holds at these estimates, it is not a proof.",
        "",
        "| constant | value | interval | used | method |",
        "|---|---|---|---|---|",
    ]
    for name, e in data["constants"].items():
        label = f"{name} *sup*" if e["lower_estimate_of_supremum"] else name
        lines.append(
            f"| {label} | {_fmt(e['value'])} | [{_fmt(e['lo'])}, {_fmt(e['hi'])}] | {e.get('used', '—')} | "
            f"{_cell(e['method'])} |"
        )
    lines += ["", "## Assumptions checked on the runs", "", "| id | assumption | status | evidence |"]
    lines.append("|---|---|---|---|")
    for r in result.assumptions:
        lines.append(f"| `{r.id}` | {_cell(r.name)} | {r.status} | {_cell(r.evidence)} |")
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
        f"- time: training {result.timings['training']:.1f} s, "
        f"estimation {result.timings['estimation']:.1f} s, theory {result.timings['theory']:.1f} s",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in data["versions"].items()),
        "",
    ]
    return "\n".join(lines)
