"""The report of a verify run: ``report.json`` (keys in design.md),
``report.md`` for a person, and figures.

Exit code (design.md): 0 the bound holds, 1 violated, 3 the bound's
assumptions failed along the run (``holds`` is then ``null``: no verdict).
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from empirical.compare import running_average

REPORTED = ("L", "sigma2_data", "sigma2_mc", "M", "Delta")
FIGURES = ("convergence.png", "constants.png", "training.png")


@dataclass(frozen=True)
class Report:
    """Where the report went, its JSON content and the CLI exit code."""

    folder: Path
    data: dict[str, Any]
    exit_code: int


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("vaebounds", "torch", "sympy", "numpy", "scipy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def exit_code(comparison) -> int:
    if not comparison.assumptions_hold:
        return 3
    return 0 if comparison.holds else 1


def build(result) -> dict[str, Any]:
    """The report.json content (design.md keys, then extras)."""
    s, c, b = result.settings, result.comparison, result.bound
    from theory.symbols import to_latex

    constants = {}
    for name, est in result.constants.items():
        entry = {"value": est.value, "lo": est.lo, "hi": est.hi, "method": est.method}
        entry.update({"confidence": est.confidence, "n_evals": est.n_evals})
        if name in c.binding.ends:
            entry["used"] = c.binding.ends[name]
        constants[name] = entry
    return {
        "model": s.model,
        "optimizer": s.optimizer,
        "data": s.data,
        "steps": s.steps,
        "batch_size": s.batch_size,
        "K": s.K,
        "seed": s.seed,
        "constants": constants,
        "bound": {
            "value": c.bound_value,
            "latex": rf"{b.lhs} \le {to_latex(b.expr)}",
            "reference": b.reference,
            "name": b.name,
            "tight": b.tight,
            "inputs": c.binding.values,
        },
        "empirical": {
            "mean_grad_norm_sq": c.observed.mean,
            "lo": c.observed.lo,
            "hi": c.observed.hi,
            "points": c.observed.points,
            "method": c.observed.method,
        },
        "holds": c.holds if c.assumptions_hold else None,
        "ratio": c.ratio,
        "verdict": c.verdict,
        "assumptions": [{"name": a.name, "status": a.status, "evidence": a.evidence} for a in c.assumptions],
        "rate": {
            "theory": c.rate.theory,
            "theory_exponent": c.rate.theory_exponent,
            "fitted_exponent": _finite_or_none(c.rate.exponent),
            "lo": _finite_or_none(c.rate.lo),
            "hi": _finite_or_none(c.rate.hi),
            "points": c.rate.points,
        },
        "C_gamma": result.fixed["C_gamma"],
        "step_constant_choice": result.extras.get("step_constant_choice"),
        "timings": result.timings,
        "figures": list(FIGURES),
        "versions": versions(),
        "exit_code": exit_code(c),
    }


def _finite_or_none(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def write_report(result, folder: str | Path) -> Report:
    """Write report.json, report.md and the figures into ``folder``."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    data = build(result)
    (out / "report.json").write_text(json.dumps(data, indent=2))
    plot_convergence(result, out / "convergence.png")
    plot_constants(result, out / "constants.png")
    plot_training(result, out / "training.png")
    (out / "report.md").write_text(markdown(result, data))
    return Report(out, data, data["exit_code"])


# ------------------------------------------------------------------ markdown


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|")


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.4g}"


def markdown(result, data: dict[str, Any]) -> str:
    s, c = result.settings, result.comparison
    verdict = {
        "holds": "**The bound holds**: the observed average gradient norm² (upper end of its interval) "
        "is below the bound.",
        "violated": "**The bound is violated**: the observed average gradient norm² exceeds the bound.",
        "assumptions failed": "**No verdict: assumptions of the theorem failed along the run** "
        "(the comparison below is reported, but the theorem does not apply).",
    }[c.verdict]
    lines = [
        f"# vaebounds report — {s.model} VAE, {s.optimizer.upper()}, {s.data}",
        "",
        verdict,
        "",
        "| | value |",
        "|---|---|",
        f"| bound | {_fmt(c.bound_value)} |",
        f"| observed (1/n) Σ ‖∇F(θ_k)‖² | {_fmt(c.observed.mean)} "
        f"[{_fmt(c.observed.lo)}, {_fmt(c.observed.hi)}] |",
        f"| ratio bound / observed | {_fmt(c.ratio)} |",
        f"| fitted rate exponent | {_fmt(data['rate']['fitted_exponent'])} "
        f"[{_fmt(data['rate']['lo'])}, {_fmt(data['rate']['hi'])}] (theory: {c.rate.theory}, exponent "
        f"{c.rate.theory_exponent:g}) |",
        "",
        "## The theorem",
        "",
        f"{result.bound.name} ({'tight' if result.bound.tight else 'loose'} constants), "
        f"n = {s.steps}, B = {s.batch_size}, K = {s.K}, C_γ = {result.fixed['C_gamma']:.4g} "
        f"({data['step_constant_choice']}).",
        "",
        f"$$ {data['bound']['latex']} $$",
        "",
        f"Reference: {result.bound.reference}",
        "",
        "## Constants",
        "",
        "Each estimated constant enters the bound at the end of its interval that makes the bound "
        "larger (sign of the bound's derivative).",
        "",
        "| constant | value | interval | used | method |",
        "|---|---|---|---|---|",
    ]
    for name, e in data["constants"].items():
        lines.append(
            f"| {name} | {_fmt(e['value'])} | [{_fmt(e['lo'])}, {_fmt(e['hi'])}] | {e.get('used', '—')} | "
            f"{_cell(e['method'])} |"
        )
    lines += [
        "",
        "## Assumptions checked along the run",
        "",
        "| assumption | status | evidence |",
        "|---|---|---|",
    ]
    for a in c.assumptions:
        lines.append(f"| {_cell(a.name)} | {a.status} | {_cell(a.evidence)} |")
    lines += [
        "",
        "## Figures",
        "",
        "![convergence](convergence.png)",
        "",
        "Running average of ‖∇F(θ_k)‖² against n (log-log) with the bound evaluated at every n "
        "with the same constants; the dashed line is the fitted slope.",
        "",
        "![constants](constants.png)",
        "",
        "![training](training.png)",
        "",
        "## Run",
        "",
        f"- observed: {c.observed.method}. The theorem bounds an expectation over runs; this "
        "verdict is for one trajectory (seed), and its interval covers the quadrature between "
        "records, not run-to-run spread (`vaebounds sweep --grid seed=...` for several runs).",
        f"- time: training {result.timings['training']:.1f} s, "
        f"estimation {result.timings['estimation']:.1f} s, "
        f"theory {result.timings['theory']:.1f} s",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in data["versions"].items()),
        "",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------ figures


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_convergence(result, path: Path) -> None:
    """Observed running average vs n with the bound curve (log-log)."""
    plt = _plt()
    run, c, b = result.run, result.comparison, result.bound
    bias = result.extras.get("mc_bias", 0.0)
    ns, avg = running_average(run.record_steps, run.full_grad_norm_sq - bias, result.settings.steps)
    f = b.numpy()
    values = {k: v for k, v in c.binding.values.items() if k != "n"}
    curve = np.asarray(f(**{a: values[a] for a in f.args if a != "n"}, n=ns), dtype=float) * np.ones_like(ns)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.loglog(ns, curve, color="tab:red", lw=2, label=f"bound ({b.name}, rate {c.rate.theory})")
    ax.loglog(ns, np.maximum(avg, 1e-300), "o-", color="tab:blue", ms=3, label="observed running average")
    if np.isfinite(c.rate.exponent):
        keep = ns >= 0.1 * result.settings.steps
        ax.loglog(
            ns[keep],
            np.exp(c.rate.intercept) * ns[keep] ** c.rate.exponent,
            "--",
            color="black",
            lw=1,
            label=f"fitted slope {c.rate.exponent:.2f} [{c.rate.lo:.2f}, {c.rate.hi:.2f}] "
            f"(theory {c.rate.theory_exponent:g} with log factor)",
        )
    ax.set_xlabel("iterations n")
    ax.set_ylabel(r"$\frac{1}{n}\sum_{k<n} \|\nabla F(\theta_k)\|^2$")
    ax.set_title(
        f"{result.settings.model} VAE, {result.settings.optimizer}: {c.verdict} "
        f"(bound/observed = {c.ratio:.3g})"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_constants(result, path: Path) -> None:
    """Each estimated constant's interval relative to its point estimate, labelled
    with the numbers; the end put into the bound is marked."""
    plt = _plt()
    names = list(result.constants)
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(names) + 1.2))
    for i, name in enumerate(names):
        e = result.constants[name]
        scale = e.value if e.value != 0 else 1.0
        lo, hi = e.lo / scale, e.hi / scale
        ax.plot([lo, hi], [i, i], "-", color="tab:blue", lw=3, solid_capstyle="butt")
        ax.plot([1.0], [i], "o", color="tab:blue")
        used = result.comparison.binding.ends.get(name)
        if used:
            ax.plot([hi if used == "hi" else lo], [i], "|", color="tab:red", ms=18, mew=3)
        label = f"{e.value:.4g}  [{e.lo:.4g}, {e.hi:.4g}]" + (f"  used: {used}" if used else "")
        ax.annotate(
            label, (max(hi, 1.0), i), xytext=(8, 0), textcoords="offset points", va="center", fontsize=8
        )
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel("interval relative to the point estimate (red: end used in the bound)")
    right = max(e.hi / (e.value or 1.0) for e in result.constants.values())
    ax.set_xlim(min(0.8, min(e.lo / (e.value or 1.0) for e in result.constants.values()) - 0.05), right + 0.6)
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_title("estimated constants with their intervals", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_training(result, path: Path) -> None:
    """Minibatch loss and gradient norm² per step; full loss at the record steps."""
    plt = _plt()
    run = result.run
    steps = np.arange(1, run.steps + 1)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
    a1.plot(steps, run.loss, lw=0.5, alpha=0.6, label="minibatch loss")
    a1.plot(run.record_steps, run.full_loss, "o-", ms=3, label="full loss F")
    a1.set_xlabel("step")
    a1.set_ylabel("-ELBO per example")
    a1.legend(fontsize=8)
    a2.semilogy(steps, run.grad_norm_sq, lw=0.5, alpha=0.6, label=r"$\|g_k\|^2$ (minibatch)")
    a2.semilogy(run.record_steps, run.full_grad_norm_sq, "o-", ms=3, label=r"$\|\nabla F(\theta_k)\|^2$")
    a2.set_xlabel("step")
    a2.legend(fontsize=8)
    for ax in (a1, a2):
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
