"""The vaebounds command: exit codes, reports, bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest

from empirical.cli import main


def _run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def small_npy(tmp_path_factory):
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("data") / "small.npy"
    W = rng.normal(size=(3, 10))
    X = 1 / (1 + np.exp(-(rng.normal(size=(300, 3)) @ W)))
    np.save(path, X.astype(np.float32))
    return path


@pytest.mark.slow
def test_verify_default_data_writes_report(tmp_path, capsys):
    out = tmp_path / "rep"
    code, stdout, _ = _run(["verify", "--steps", "200", "--out", str(out), "--json", "--quiet"], capsys)
    data = json.loads(stdout)
    assert code == data["exit_code"] == 0, data["assumptions"]
    assert data["holds"] is True and data["ratio"] >= 1
    for key in (
        "model",
        "optimizer",
        "data",
        "steps",
        "batch_size",
        "K",
        "seed",
        "constants",
        "bound",
        "empirical",
        "holds",
        "ratio",
        "assumptions",
        "rate",
        "versions",
    ):
        assert key in data, key
    for name in ("L", "sigma2_data", "sigma2_mc", "M", "Delta"):
        assert {"value", "lo", "hi", "method"} <= set(data["constants"][name])
    assert {"value", "latex", "reference"} <= set(data["bound"])
    assert {"mean_grad_norm_sq", "lo", "hi"} <= set(data["empirical"])
    assert {"theory", "fitted_exponent", "lo", "hi"} <= set(data["rate"])
    for a in data["assumptions"]:
        assert a["status"] in ("holds", "fails", "unchecked")
    assert json.loads((out / "report.json").read_text())["holds"] is True
    md = (out / "report.md").read_text()
    assert "The bound holds" in md and "$$" in md and "convergence.png" in md
    for fig in ("convergence.png", "constants.png", "training.png"):
        assert (out / fig).stat().st_size > 10_000


@pytest.mark.slow
def test_verify_user_npy(small_npy, tmp_path, capsys):
    code, stdout, _ = _run(
        ["verify", "--data", str(small_npy), "--steps", "100", "--out", str(tmp_path), "--json", "--quiet"],
        capsys,
    )
    data = json.loads(stdout)
    assert data["data"] == str(small_npy)
    assert code in (0, 1, 3) and code == data["exit_code"]


@pytest.mark.slow
def test_adam_reports_broken_assumptions(small_npy, tmp_path, capsys):
    code, stdout, _ = _run(
        [
            "verify",
            "--optimizer",
            "adam",
            "--data",
            str(small_npy),
            "--steps",
            "60",
            "--out",
            str(tmp_path),
            "--json",
            "--quiet",
        ],
        capsys,
    )
    data = json.loads(stdout)
    assert code == 3 and data["holds"] is None
    failed = {a["name"] for a in data["assumptions"] if a["status"] == "fails"}
    assert any("step size" in name for name in failed)
    assert "preconditioner from past gradients" in failed


@pytest.mark.slow
def test_estimate_iwae_reports_snr(small_npy, capsys):
    code, stdout, _ = _run(
        ["estimate", "--model", "iwae", "--samples", "3", "--data", str(small_npy), "--json", "--quiet"],
        capsys,
    )
    assert code == 0
    data = json.loads(stdout)
    assert data["K"] == 3
    assert {"L", "sigma2_data", "sigma2_mc", "M", "Delta"} <= set(data["constants"])
    for part in ("decoder", "encoder"):
        assert data["snr"][part]["value"] > 0


@pytest.mark.parametrize(
    "args,pattern",
    [
        (["verify", "--data", "no/such/file.npy"], "no/such/file.npy"),
        (["verify", "--batch-size", "0"], "batch-size"),
        (["verify", "--samples", "-1"], "samples"),
        (["verify", "--model", "transformer"], "transformer"),
        (["verify", "--optimizer", "lbfgs"], "lbfgs"),
        (["estimate", "--steps", "x"], "steps"),
        (["frobnicate"], "frobnicate"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, pattern, capsys):
    code, stdout, err = _run(args, capsys)
    assert code == 2
    assert stdout == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and pattern in lines[0] and "Traceback" not in err


def test_nan_file_exits_2(tmp_path, capsys):
    path = tmp_path / "bad.npy"
    X = np.ones((20, 4))
    X[3, 2] = np.nan
    np.save(path, X)
    code, _, err = _run(["verify", "--data", str(path), "--steps", "10"], capsys)
    assert code == 2 and "bad.npy" in err and len(err.strip().splitlines()) == 1


def test_derive_writes_every_bound(tmp_path, capsys):
    import theory

    code, stdout, _ = _run(["derive", "--out", str(tmp_path)], capsys)
    assert code == 0
    assert len(list(tmp_path.glob("*.md"))) == len(theory.registered())


def test_console_script_bad_input_has_no_traceback(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "empirical.cli", "verify", "--samples", "0"], capture_output=True, text=True
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr


@pytest.mark.slow
def test_relu_breaks_smoothness_and_exits_3(small_npy, tmp_path, capsys):
    code, stdout, _ = _run(
        ["verify", "--activation", "relu", "--data", str(small_npy), "--steps", "40", "--out", str(tmp_path),
         "--json", "--quiet"],
        capsys,
    )  # fmt: skip
    data = json.loads(stdout)
    assert code == 3 and data["holds"] is None and data["verdict"] == "assumptions failed"
    failed = {a["name"]: a["evidence"] for a in data["assumptions"] if a["status"] == "fails"}
    assert "ReLU" in failed["smooth activations (A1)"]


@pytest.mark.slow
def test_box_projection_is_checked(small_npy, tmp_path, capsys):
    code, stdout, _ = _run(
        ["verify", "--box", "0.5", "--data", str(small_npy), "--steps", "40", "--out", str(tmp_path),
         "--json", "--quiet"],
        capsys,
    )  # fmt: skip
    data = json.loads(stdout)
    box = next(a for a in data["assumptions"] if a["name"] == "parameter box (A2)")
    assert box["status"] == "holds" and "a = 0.5" in box["evidence"]
    assert code == data["exit_code"]
