"""``vaebounds advise``: the advice on stdout, --json, --out (advice.json, advice.png), --check
on a tiny setting, and bad input refused with one line and exit 2 before any work."""

from __future__ import annotations

import json

import pytest

from empirical.cli import main


def _run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def _tiny(small_npy):
    return [
        "advise",
        "--data",
        str(small_npy),
        "--steps",
        "20",
        "--batch-size",
        "4",
        "--seeds",
        "2",
        "--quiet",
    ]


@pytest.mark.slow
def test_check_on_a_tiny_setting_prints_both_sides_and_writes_the_folder(small_npy, tmp_path, capsys):
    out = tmp_path / "advice"
    code, stdout, stderr = _run([*_tiny(small_npy), "--check", "--out", str(out), "--json"], capsys)
    assert code == 0, stderr
    data = json.loads(stdout)
    assert data == json.loads((out / "advice.json").read_text())
    assert data["budget"] == 20 * 4 * 1 and data["default_steps"] == 20
    advice = data["advice"]
    assert advice["default"]["n"] == 20 and advice["default"]["B"] == 4
    assert advice["advice"]["evaluations"] <= data["budget"] and advice["advice"]["n"] <= 4 * 20
    assert {r["name"] for r in advice["recommendations"]} == {"C_gamma", "split"}
    for r in advice["recommendations"]:
        assert r["reasoning"] and (r["gain"] is None or r["gain"] > 0)
    check = data["check"]
    for quantity in ("observed", "held_out_elbo"):
        c = check[quantity]
        assert len(c["advice"]) == len(c["default"]) == 2
        assert c["advice_lo"] <= c["advice_mean"] <= c["advice_hi"]
        assert c["lo"] <= c["difference"] <= c["hi"]
        assert c["decision"] in ("helped", "did not help", "could not be told apart")
        assert "Welch" in c["method"]
    assert check["advice"]["n"] == advice["advice"]["n"] and check["default"]["n"] == 20
    assert (out / "advice.png").stat().st_size > 10_000
    for line in ("default:", "advice:", "check:", "held-out -ELBO", "The advice"):
        assert line in stderr  # --json: the summary goes to stderr


def test_advice_without_check_prints_the_recommendations(small_npy, capsys):
    code, stdout, _ = _run(_tiny(small_npy), capsys)
    assert code == 0
    assert "- C_gamma: " in stdout and "- split: " in stdout and "bound x" in stdout
    assert "check:" not in stdout


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--optimizer", "adam"], "SGD"),
        (["--budget", "50"], "too small"),
        (["--budget", "abc"], "budget"),
        (["--budget", "6400", "--steps", "300"], "disagree"),
        (["--max-steps", "100"], "below the default"),
        (["--check", "--seeds", "1"], "at least 2"),
        (["--check", "--holdout", "0"], "held-out"),
        (["--box", "1"], "box"),
        (["--model", "conv"], "built-in"),
    ],
)
def test_bad_input_is_refused_before_any_work(args, pattern, tmp_path, capsys):
    out = tmp_path / "advice"
    code, stdout, stderr = _run(["advise", *args, "--out", str(out)], capsys)
    assert code == 2 and stdout == ""
    assert stderr.startswith("vaebounds: error:") and len(stderr.strip().splitlines()) == 1
    assert pattern in stderr
    assert not out.exists()
