"""What ``vaebounds advise`` prints and writes: the summary, advice.json and advice.png.

advice.png (with ``--check``) shows both sides against the gradient evaluations spent; the
folder is written as a whole (:mod:`empirical.report.atomic`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from empirical.advice.recommend import Advice, Setting
from empirical.advice.request import Request

#: The files of an advice folder.
ADVICE_FILES = ("advice.json", "advice.png")
#: What the summary calls the two decisions' quantities.
OBSERVED_NAME = "observed average of ||grad F||^2"
ELBO_NAME = "held-out -ELBO at theta_n"


def _setting(s: Setting) -> str:
    return f"n = {s.n}, B = {s.B}, K = {s.K}, C_gamma = {s.C_gamma:.4g}"


def _gain(x: float | None) -> str:
    return "bound ratio not defined" if x is None else f"bound x {x:.3g}"


def _interval(mean: float, lo: float, hi: float) -> str:
    return f"{mean:.4g} [{lo:.4g}, {hi:.4g}]"


def summary(request: Request, advice: Advice, check=None, skipped: str | None = None) -> str:
    """The human summary, for stdout.

    Args:
        request: The checked request.
        advice: The advice.
        check: The check (with ``--check``), or None.
        skipped: Why the check was skipped, if it was.

    Returns:
        The text.
    """
    s = request.settings
    c0 = next(c for c in advice.constants if c.K == s.K)
    lines = [
        f"vaebounds advise: {advice.theorem} on {s.data}, budget {request.budget} gradient evaluations "
        "(n B K)",
        f"pilot at theta_0 (K = {c0.K}): L = {c0.L:.4g} (the step rule keeps a margin of 2 on it), "
        f"sigma2_data = {c0.sigma2_data:.4g}, {'sigma2_mc_K' if s.model == 'iwae' else 'sigma2_mc'} = "
        f"{c0.sigma2_mc:.4g}, Delta = {c0.Delta:.4g}",
        f"default: {_setting(advice.default)}; bound {advice.default.bound:.4g}",
        f"advice:  {_setting(advice.advice)}; bound {advice.advice.bound:.4g} ({_gain(advice.gain)})",
    ]
    for r in advice.recommendations:
        shown = ", ".join(
            f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}" for k, v in r.values.items()
        )
        lines.append(f"- {r.name}: {shown} ({_gain(r.gain)}): {r.reasoning}")
    lines += [f"note: {n}" for n in advice.notes]
    if skipped:
        lines.append(f"check: {skipped}")
    if check is None:
        return "\n".join(lines)
    d, a = check.default, check.advice
    lines += [
        "",
        f"check: {s.runs} runs per side (seeds {s.seed}..{s.seed + s.runs - 1}), the same budget "
        f"(default {d.setting.evaluations}, advice {a.setting.evaluations} gradient evaluations)",
    ]
    do, ao = d.result.observed, a.result.observed
    sides = (
        (
            OBSERVED_NAME,
            check.observed,
            (do.value, do.lo, do.hi),
            (ao.value, ao.lo, ao.hi),
            "verify's interval",
        ),
        (ELBO_NAME, check.elbo, check.elbo.default_interval, check.elbo.advice_interval, "t over runs"),
    )
    for name, comp, left, right, how in sides:
        lines.append(
            f"  {name}: default {_interval(*left)}, advice {_interval(*right)} "
            f"({comp.confidence:.0%}, {how}); difference {comp.difference:.4g} "
            f"[{comp.lo:.4g}, {comp.hi:.4g}], p = {comp.p_value:.2g}: {comp.decision.upper()}"
        )
    lines.append(
        f"  bound at the estimated constants: default {d.result.bound:.4g}, advice {a.result.bound:.4g} "
        f"(x {a.result.bound / d.result.bound:.3g}; predicted from the pilot: x {advice.gain:.3g})"
    )
    lines.append(f"  time: default {d.seconds:.0f} s, advice {a.seconds:.0f} s")
    lines += [f"  note: {n}" for n in check.notes]
    lines.append(f"  method: {check.observed.method}.")
    lines.append(
        f"The advice {check.observed.decision} on the theorem's quantity; on the held-out -ELBO it "
        f"{check.elbo.decision}."
    )
    return "\n".join(lines)


def advice_json(
    request: Request, advice: Advice, check=None, skipped: str | None = None, command=None, timings=None
) -> dict[str, Any]:
    """The advice.json content.

    Args:
        request: The checked request.
        advice: The advice.
        check: The check, or None.
        skipped: Why the check was skipped, if it was.
        command: The command line.
        timings: Seconds spent, by part.

    Returns:
        The JSON-ready dict.
    """
    from empirical.report.content import versions

    return {
        "settings": request.settings.as_dict(),
        "budget": request.budget,
        "default_steps": request.default_steps,
        "advice": advice.as_dict(),
        "check": None if check is None else check.as_dict(),
        "check_skipped": skipped,
        "command": command,
        "timings": dict(timings or {}),
        "versions": versions(),
    }


def draw(check, path: Path) -> None:
    """Draw advice.png.

    Each side's running average of the theorem's quantity against the gradient evaluations
    spent (runs, their mean and t-band), and each run's held-out -ELBO.

    Args:
        check: The check.
        path: The file.
    """
    from empirical.report import figures

    colours = {"default": figures.COLOURS["other"], "advice": figures.COLOURS["observed"]}
    with figures.figure(
        path, 1, 2, size=(11.0, 4.0), title="The advice and the default, same budget"
    ) as axes:
        left, right = axes
        bands = []
        for side in (check.default, check.advice):
            r, st = side.result, side.setting
            x = np.asarray(r.extras["horizons"], dtype=float) * st.B * st.K
            label = f"{side.name} (B = {st.B}, K = {st.K})"
            bands.append(figures.draw_runs(left, x, r.extras["running_averages"], colours[side.name], label))
        left.set_xscale("log")
        left.set_xlabel("gradient evaluations spent (m B K after m steps)")
        left.set_ylabel(figures.observable_label(check.default.result.theorem.lhs.observable))
        for band in bands:
            figures.band_to_bottom(left, band)
        figures.legend_outside(left, below=True)
        for i, side in enumerate((check.default, check.advice)):
            values = np.asarray(side.elbo)
            mean, lo, hi = (check.elbo.default_interval, check.elbo.advice_interval)[i]
            right.plot(np.full(values.size, i), values, "o", color=colours[side.name], alpha=0.6, label=None)
            right.errorbar([i + 0.15], [mean], yerr=[[mean - lo], [hi - mean]], fmt="s", capsize=4,
                           color=colours[side.name], label=f"{side.name}: mean, 95% t over runs")  # fmt: skip
        right.set_xticks([0, 1], ["default", "advice"])
        right.set_xlim(-0.5, 1.5)
        right.set_ylabel("held-out -ELBO at theta_n (each run)")
        right.set_title(f"held-out -ELBO: {check.elbo.decision}")
        left.set_title(f"theorem's quantity: {check.observed.decision}")
        figures.legend_outside(right, below=True)


def write_advice(target: Path, data: dict[str, Any], check=None) -> Path:
    """Write advice.json (and advice.png with a check) into a folder, as a whole.

    Args:
        target: The folder.
        data: The advice.json content.
        check: The check, or None.

    Returns:
        The folder written.
    """
    import json

    from empirical.report.atomic import write_folder

    def fill(tmp: Path) -> None:
        (tmp / "advice.json").write_text(json.dumps(data, indent=2))
        if check is not None:
            draw(check, tmp / "advice.png")

    return write_folder(target, fill, ADVICE_FILES)
