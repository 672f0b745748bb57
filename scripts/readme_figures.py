"""Write docs/walkthrough.md, every figure in docs/figures and the README's two printed lines,
from real runs: ``vaebounds verify`` (the default run, ``--box 0.005``, ``--optimizer adam``
and ``adagrad``, ``--variant delayed``, ``--model conv --data mnist``), the walkthrough's
tracker example (the block itself, then scripts/track_example.py over 4 runs and with Adam),
the sweep example and the notebooks at their full size (``VAEBOUNDS_FULL=1``). The numbers
are read from each run's report.json (or its Result) and filled into
scripts/walkthrough.md.in (scripts/walkthrough.py); they are kept in
docs/figures/walkthrough.json, so ``--skip`` re-renders with the last numbers of a part.
This script is the only writer of docs/figures.

    python scripts/readme_figures.py [--skip verify,track,sweep,notebooks]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import walkthrough

ROOT = walkthrough.ROOT
FIGURES = ROOT / "docs" / "figures"
PARTS = ("verify", "track", "sweep", "notebooks")
#: The walkthrough's sweep example: vaebounds sweep --grid B=8,32,128 --grid K=1,5 --model iwae --steps 500.
SWEEP = ["--grid", "B=8,32,128", "--grid", "K=1,5", "--model", "iwae", "--steps", "500"]
#: (name, verify's options, {report figure: docs/figures name}).
RUNS = (
    (
        "d",
        [],
        {
            "convergence.png": "verify-convergence.png",
            "constants.png": "verify-constants.png",
            "training.png": "verify-training.png",
            "constants_along_run.png": "verify-constants-along-run.png",
        },
    ),
    ("b", ["--box", "0.005"], {}),
    ("a", ["--optimizer", "adam"], {}),
    ("g", ["--optimizer", "adagrad"], {}),
    ("dl", ["--optimizer", "adam", "--variant", "delayed"], {}),
    (
        "dl2",
        [
            "--optimizer",
            "adam",
            "--variant",
            "delayed",
            "--lr-constant",
            "1e-5",
            "--steps",
            "200",
            "--no-stress",
        ],
        {},
    ),
    (
        "c",
        ["--model", "conv", "--data", "mnist"],
        {
            "convergence.png": "mnist-conv-convergence.png",
            "training.png": "mnist-conv-training.png",
        },
    ),
)


def g(x: float | None, digits: int = 4) -> str:
    """``x`` to ``digits`` significant digits, exponents written as 1.2e5."""
    if x is None:
        return "—"
    return f"{x:.{digits}g}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")


def pct(share: float) -> str:
    return f"{100 * share:.1f} %"


def cli(*args: str, cwd: Path) -> tuple[int, str, str, float]:
    """``vaebounds ARGS`` in a fresh process: exit code, stdout, stderr, wall seconds."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "empirical.cli", *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    return out.returncode, out.stdout, out.stderr, time.perf_counter() - t


def verdict_numbers(p: str, r: dict) -> dict[str, str]:
    """The verdict, bound, observed side and ratio of report.json ``r``, keys prefixed ``p_``."""
    e = r["empirical"]
    return {
        f"{p}_verdict": r["verdict"],
        f"{p}_exit": str(r["exit_code"]),
        f"{p}_bound": g(r["bound"]["value"]),
        f"{p}_obs": g(e["mean_grad_norm_sq"]),
        f"{p}_lo": g(e["lo"]),
        f"{p}_hi": g(e["hi"]),
        f"{p}_ratio": g(r["ratio"], 3),
        f"{p}_runs": str(len(e["per_seed"])),
        f"{p}_per_run": ", ".join(g(v, 3) for v in e["per_seed"]),
        f"{p}_theorem": r["bound"]["name"],
    }


def attribution_numbers(p: str, r: dict) -> dict[str, str]:
    a = r["attribution"]
    top = a["terms"][0]
    return {f"{p}_share": pct(top["share"]), f"{p}_dominant": top["name"]}


def variants_table(r: dict) -> str:
    """One row per variant of an adaptive run: covered, or the ids of the rows that fail (a
    variant that does not apply says why)."""
    rows = []
    for v in r.get("variants") or []:
        reasons = v["reasons"]
        if v["status"] == "covered":
            status = "covered"
        elif len(reasons) == 1 and reasons[0].startswith("does not apply"):
            status = reasons[0]
        else:
            ids = [reason.partition(":")[0] for reason in reasons if not reason.startswith("A-POSTERIORI")]
            measured = any(reason.startswith("A-POSTERIORI") for reason in reasons)
            status = f"{v['status']} (fails: {', '.join(ids)})" + (
                "; its preconditioner's extremes are measured along the run" if measured else ""
            )
        numbers = f"{g(v['bound'], 3)} | {g(v['observed'])} | {g(v['ratio'], 3)}"
        rows.append(f"| `{v['variant']}` | {status} | {numbers} |")
    return "\n".join(rows)


def printed_lines(stdout: str) -> str:
    """verify's two printed lines, the report's folder written as ./vaebounds-report."""
    lines = stdout.strip().splitlines()[-2:]
    head, _, _ = lines[1].rpartition(" Report: ")
    return f"{lines[0]}\n{head} Report: ./vaebounds-report"


def adam_doctest(r: dict) -> dict[str, str]:
    """The walkthrough's attribution doctest at the adam run's constants (3 digits), its outputs
    computed here by theory.attribution."""
    import theory

    inputs = r["bound"]["inputs"]
    values = {"d": int(inputs["d"]), "R": float(g(inputs["R"], 3)), "L": float(g(inputs["L"], 3))}
    values["Delta"] = float(g(inputs["Delta"], 3))
    a = theory.attribution(
        theory.bound("generic", "adam", "defossez"), n=int(inputs["n"]), **values,
        alpha_step=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
    )  # fmt: skip
    elasticities = {q: round(a.elasticity(q), 2) for q in ("d", "R", "1/(1 - beta2)", "Delta")}
    out = {f"a_{k}": str(v) for k, v in values.items()}
    out["a_steps"] = str(int(inputs["n"]))
    out["a_doctest_value"] = repr((f"{a.value:.3g}", a.dominant.name, round(a.dominant.share, 2)))
    out["a_doctest_elasticities"] = repr(elasticities)
    out["a_elasticities"] = ", ".join(
        f"{v:.2f} in {k}"
        for k, v in sorted(r["attribution"]["elasticities"].items(), key=lambda kv: -abs(kv[1]))[:5]
    )
    return out


def verify_part(out: Path) -> dict[str, str]:
    numbers: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for p, options, figures in RUNS:
            folder = Path(tmp) / p
            code, stdout, stderr, seconds = cli("verify", *options, "--out", str(folder), cwd=ROOT)
            print(f"verify {' '.join(options)}: exit {code} in {seconds:.0f} s\n{stdout.strip()}")
            if code == 2:
                numbers[f"{p}_exit"] = "2"
                numbers[f"{p}_error"] = stderr.strip().splitlines()[-1].removeprefix("vaebounds: error: ")
                continue
            r = json.loads((folder / "report.json").read_text())
            numbers.update(verdict_numbers(p, r))
            numbers[f"{p}_seconds"] = f"{seconds:.0f}"
            if r.get("attribution"):
                numbers.update(attribution_numbers(p, r))
            numbers[f"{p}_variants"] = variants_table(r)
            numbers[f"{p}_failed"] = (
                ", ".join(a["id"] for a in r["assumptions"] if a["status"] == "fails") or "none"
            )
            numbers[f"{p}_C_gamma"] = g(r["C_gamma"])
            numbers[f"{p}_params"] = f"{r['n_params']:,}".replace(",", " ")
            t = r["timings"]
            parts = ("training", "tracking", "deferred records", "estimation")
            numbers[f"{p}_timings"] = ", ".join(f"{k} {t[k]:.0f} s" for k in parts if k in t)
            for source, target in figures.items():
                shutil.copyfile(folder / source, out / target)
                print(f"  wrote {out / target}")
            if p == "d":
                numbers.update(default_numbers(r, stdout))
            if p == "a":
                numbers.update(adam_doctest(r))
    return numbers


def default_numbers(r: dict, stdout: str) -> dict[str, str]:
    """What only the default run's paragraph quotes."""
    at_run = r["stress"]["verdicts"]["at_run_constants"]
    L = r["constants"]["L"]
    delta = next(t for t in r["attribution"]["terms"] if t["name"].startswith("Delta"))
    rate = r["rate"]
    return {
        "d_lines": printed_lines(stdout),
        "d_bound_run": g(at_run["bound"]),
        "d_verdict_run": (
            "the same verdict" if at_run["verdict"] == r["verdict"] else f"the verdict *{at_run['verdict']}*"
        ),
        "d_L_run": g(L["hi"]),
        "d_L_stressed": g(L["stressed"]["hi"]),
        "d_L_gain": pct(L["stress_gain"]),
        "d_delta_share": pct(delta["share"]),
        "d_exp": f"{rate['fitted_exponent']:.3f}",
        "d_exp_lo": f"{rate['lo']:.3f}",
        "d_exp_hi": f"{rate['hi']:.3f}",
        "d_C_choice": r["step_constant_choice"],
        "d_steps": str(r["steps"]),
        "d_B": str(r["batch_size"]),
        "d_rows": str(r["rows"]),
    }


def _track_example():
    spec = importlib.util.spec_from_file_location("track_example", ROOT / "scripts" / "track_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def result_numbers(p: str, result) -> dict[str, str]:
    o = result.observed
    return {
        f"{p}_theorem": result.theorem.name,
        f"{p}_verdict": result.verdict.value,
        f"{p}_exit": str(result.exit_code),
        f"{p}_bound": g(result.bound),
        f"{p}_obs": g(o.value),
        f"{p}_lo": g(o.lo),
        f"{p}_hi": g(o.hi),
        f"{p}_ratio": g(result.ratio, 3),
    }


def track_part(out: Path) -> dict[str, str]:
    """The walkthrough's tracker block (run as written, in a scratch folder), then
    scripts/track_example.py over 4 runs and with torch.optim.Adam."""
    import torch

    torch.set_num_threads(1)
    block = next(
        b for b in walkthrough.blocks(walkthrough.TEMPLATE.read_text()) if "class VAE(nn.Module)" in b.body
    )
    namespace: dict = {"__name__": "walkthrough_block"}
    here = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            t = time.perf_counter()
            exec(compile(block.body, "walkthrough tracker block", "exec"), namespace)
            print(f"tracker block: {time.perf_counter() - t:.0f} s")
        finally:
            os.chdir(here)
    result = namespace["result"]
    info = result.extras["tracker"]
    (k0, v0), (k1, v1) = result.records[0], result.records[-1]
    numbers = result_numbers("t", result)
    numbers.update(
        {
            "t_records": str(len(result.records)),
            "t_first": f"({k0}, {g(v0)})",
            "t_last": f"({k1}, {g(v1, 3)})",
            "t_B": str(info["batch_size"]),
            "t_B_how": info["batch_how"],
            "t_overhead": pct(info["overhead"]),
            "t_bound_raw": repr(result.bound),
            "t_obs_raw": repr(result.observed.value),
        }
    )
    example = _track_example()
    runs = 4
    numbers.update(result_numbers("t4", example.run("sgd", runs)))
    numbers.update({"t4_runs": str(runs), "t4_last": str(runs - 1)})
    adam = example.run("adam", 1)
    numbers.update(result_numbers("ta", adam))
    numbers["ta_rows"] = ", ".join(f"`{r.id}` {r.status}" for r in adam.assumptions if r.status != "holds")
    return numbers


def sweep_part(out: Path) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        code, stdout, stderr, seconds = cli("sweep", *SWEEP, "--out", tmp, cwd=ROOT)
        print(f"sweep: exit {code} in {seconds:.0f} s")
        if code == 2:
            raise SystemExit(f"the sweep example failed: {stderr.strip()}")
        rows = [json.loads(line) for line in (Path(tmp) / "results.jsonl").read_text().splitlines() if line]
        shutil.copyfile(Path(tmp) / "sweep.png", out / "sweep.png")
    table = [
        f"| {r['batch_size']} | {r['K']} | {g(r['bound'])} | {g(r['observed'])} [{g(r['observed_lo'])}, "
        f"{g(r['observed_hi'])}] | {r['verdict']} |"
        for r in sorted(rows, key=lambda r: (r["batch_size"], r["K"]))
    ]
    return {"s_rows": "\n".join(table), "s_seconds": f"{seconds:.0f}"}


def notebooks_part(out: Path) -> dict[str, str]:
    """Run every notebook at its full size with its figures written into ``out``."""
    env = {**os.environ, "VAEBOUNDS_FULL": "1", "VAEBOUNDS_FIGURES": str(out), "MPLBACKEND": "Agg"}
    env["PYTHONPATH"] = str(ROOT)
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        t = time.perf_counter()
        subprocess.run([sys.executable, str(path)], env=env, check=True, cwd=path.parent)
        print(f"ran {path.name} at the full size in {time.perf_counter() - t:.0f} s")
    return {}


def versions() -> dict[str, str]:
    import torch

    return {"versions": f"torch {torch.__version__}, Python {platform.python_version()}"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip", default="", help=f"comma-separated parts to skip, of {', '.join(PARTS)}")
    args = parser.parse_args(argv)
    skip = {p for p in args.skip.split(",") if p}
    if skip - set(PARTS):
        parser.error(f"--skip takes parts of {', '.join(PARTS)}, got {args.skip!r}")
    FIGURES.mkdir(parents=True, exist_ok=True)
    numbers = walkthrough.load_numbers()
    numbers.update(versions())
    parts = {"verify": verify_part, "track": track_part, "sweep": sweep_part, "notebooks": notebooks_part}
    for part, run in parts.items():
        if part not in skip:
            numbers.update(run(FIGURES))
            walkthrough.save_numbers(numbers)  # after each part: an interrupted run keeps what it measured
    walkthrough.write_all(numbers)
    print(f"wrote {walkthrough.WALKTHROUGH}, {walkthrough.NUMBERS} and the README's printed lines")


if __name__ == "__main__":
    main()
