"""A report reproduces its run: report.json holds every setting, the data
file's sha256 and rows, the held-out split and the command;
``vaebounds verify --from report.json`` re-runs it with the same numbers."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from cases import SMALL_COLUMNS, SMALL_ROWS

import empirical.pipeline.pipeline as pipeline_module
from empirical.cli import main


class Reached(BaseException):
    def __init__(self, settings):
        self.settings = settings


@pytest.fixture(scope="module")
def first(small_npy, tmp_path_factory):
    out = tmp_path_factory.mktemp("first") / "report"
    argv = [
        "verify",
        "--data",
        str(small_npy),
        "--steps",
        "30",
        "--seeds",
        "2",
        "--seed",
        "5",
        "--beta",
        "0.5",
    ]
    argv += ["--sharpness", "2", "--holdout", "0.25", "--out", str(out), "--quiet"]
    code = main(argv)  # two runs of 30 steps: the bound lies inside the interval over 2 runs
    assert code == json.loads((out / "report.json").read_text())["exit_code"] == 4
    return out / "report.json", argv


def test_report_json_records_every_setting_the_data_and_the_command(first, small_npy):
    path, argv = first
    data = json.loads(path.read_text())
    s = data["settings"]
    assert (s["beta"], s["s"], s["holdout"], s["seed"], s["runs"], s["box"]) == (0.5, 2.0, 0.25, 5, 2, None)
    assert {"model", "optimizer", "activation", "K", "batch_size", "steps", "C_gamma", "variant"} <= set(s)
    record = data["data_set"]
    assert record["sha256"] == hashlib.sha256(small_npy.read_bytes()).hexdigest()
    held_out = round(0.25 * SMALL_ROWS)
    assert (record["rows"], record["training_rows"], record["held_out_rows"]) == (
        SMALL_ROWS,
        SMALL_ROWS - held_out,
        held_out,
    )
    assert record["columns"] == SMALL_COLUMNS and record["holdout"] == 0.25 and record["split_seed"] == 0
    assert data["rows"] == SMALL_ROWS - held_out and data["command"] == ["vaebounds", *argv]
    assert {"python", "torch", "numpy", "vaebounds"} <= set(data["versions"])


@pytest.mark.slow
def test_verify_from_report_reproduces_its_numbers(first, tmp_path):
    path, _ = first
    before = json.loads(path.read_text())
    assert (
        main(["verify", "--from", str(path), "--out", str(tmp_path / "again"), "--quiet"])
        == before["exit_code"]
    )
    after = json.loads((tmp_path / "again" / "report.json").read_text())
    assert after["settings"] == before["settings"] and after["data_set"] == before["data_set"]
    assert after["C_gamma"] == before["C_gamma"]
    assert after["bound"]["value"] == before["bound"]["value"]
    for key in ("mean_grad_norm_sq", "lo", "hi", "per_seed"):
        assert after["empirical"][key] == before["empirical"][key], key
    assert {k: v["value"] for k, v in after["constants"].items()} == {
        k: v["value"] for k, v in before["constants"].items()
    }


def test_options_given_with_from_replace_the_reports_values(first, tmp_path, monkeypatch):
    path, _ = first

    def stop(settings, progress=None, **_):
        raise Reached(settings)

    monkeypatch.setattr(pipeline_module, "verify", stop)
    with pytest.raises(Reached) as reached:
        main(["verify", "--from", str(path), "--seeds", "3", "--out", str(tmp_path / "o")])
    s = reached.value.settings
    assert (s.runs, s.seed, s.beta, s.holdout, s.steps) == (3, 5, 0.5, 0.25, 30)


def test_from_refuses_the_report_of_an_own_loop(tmp_path, capsys):
    """Runs tracked in a user's own loop (empirical.track) cannot be re-run by the CLI."""
    from empirical.settings import Settings

    own = Settings.own_loop("TinyVAE (user module)", "torch.optim.SGD", "user data (9 rows x 2)", 10, 4, 0, 1)
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"settings": own.as_dict(), "bound": {}, "empirical": {}, "verdict": "holds"}))
    code = main(["verify", "--from", str(path), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "own loop" in err and len(err.strip().splitlines()) == 1


def test_from_refuses_a_changed_data_file_and_bad_reports(first, small_npy, tmp_path, capsys):
    path, _ = first
    report = json.loads(path.read_text())
    changed = tmp_path / "changed.npy"
    np.save(changed, np.load(small_npy)[::-1])
    report["settings"]["data"] = str(changed)
    (tmp_path / "report.json").write_text(json.dumps(report))
    cases = {
        str(tmp_path / "report.json"): "changed since the report",
        str(tmp_path / "nope.json"): "no such file",
        str(small_npy): "not a JSON file",
    }
    (tmp_path / "list.json").write_text("[1]")
    cases[str(tmp_path / "list.json")] = "is a JSON array, not the report.json of a verify run"
    (tmp_path / "other.json").write_text('{"settings": {}, "model": "gaussian"}')
    cases[str(tmp_path / "other.json")] = (
        "is a JSON object with the keys model, settings, not the report.json"
    )
    cases[str(tmp_path)] = "is a folder; give the report.json of a verify run"
    for where, words in cases.items():
        assert main(["verify", "--from", where, "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err, (where, err)
    assert not (tmp_path / "o").exists()


def test_from_refuses_an_estimate_json_and_a_sweeps_results_naming_them(small_npy, tmp_path, capsys):
    """Both hold a 'settings' object; an estimate.json used to be accepted as a report."""
    assert main(["estimate", "--data", str(small_npy), "--out", str(tmp_path / "e"), "--quiet"]) == 0
    estimate = tmp_path / "e" / "estimate.json"
    row = {"key": "{}", "exit_code": 0, "settings": {}, "verdict": "holds"}
    (tmp_path / "results.jsonl").write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n")
    (tmp_path / "one.jsonl").write_text(json.dumps(row))
    capsys.readouterr()
    for path, words in (
        (estimate, "is an estimate.json of vaebounds estimate (constants, no bound or verdict), not the "
                   "report.json of a verify run"),
        (tmp_path / "results.jsonl", "is a sweep's results.jsonl, not the report.json of a verify run"),
        (tmp_path / "one.jsonl", "is a result row of vaebounds sweep, not the report.json of a verify run"),
    ):  # fmt: skip
        assert main(["verify", "--from", str(path), "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"--from {path} {words}" in err, err
    assert not (tmp_path / "o").exists()


def test_another_optimizer_given_with_from_drops_the_reports_variant(first, tmp_path, monkeypatch, capsys):
    """An Adam report re-run with --optimizer sgd: SGD has no variant, so the report's is not carried
    over; one given on the command line with SGD is refused, named."""
    path, _ = first
    report = json.loads(path.read_text())
    report["settings"].update(optimizer="adam", variant="delayed")
    adam = tmp_path / "report.json"
    adam.write_text(json.dumps(report))

    def stop(settings, progress=None, **_):
        raise Reached(settings)

    monkeypatch.setattr(pipeline_module, "verify", stop)
    with pytest.raises(Reached) as reached:
        main(["verify", "--from", str(adam), "--optimizer", "sgd", "--out", str(tmp_path / "o")])
    assert (reached.value.settings.optimizer, reached.value.settings.variant) == ("sgd", "defossez")
    with pytest.raises(Reached) as reached:
        main(["verify", "--from", str(adam), "--seeds", "3", "--out", str(tmp_path / "o")])
    assert reached.value.settings.variant == "delayed"
    argv = ["verify", "--from", str(adam), "--optimizer", "sgd", "--adam-variant", "torch"]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2
    assert "variant (--variant) 'torch' picks a variant of --optimizer adam or adagrad" in (
        capsys.readouterr().err
    )


def test_another_model_given_with_from_takes_its_own_source(first, tmp_path):
    """The report's source (built-in) was kept: --model FILE.py:make was refused with 'source must be
    'user module' ... got 'built-in'', and back from a user's module to gaussian alike."""
    from empirical.cli import build_parser
    from empirical.cli_parser import resolve
    from empirical.report.rerun import settings_of_report

    base = {**settings_of_report(first[0]), "beta": None, "s": None}  # options a user's module refuses
    make = tmp_path / "mine.py"
    make.write_text("def make(data_dim):\n    raise NotImplementedError\n")
    mine = resolve(build_parser().parse_args(["verify", "--model", f"{make}:make"]), base)
    assert (mine.model, mine.source) == (f"{make}:make", "user module")
    back = resolve(build_parser().parse_args(["verify", "--model", "gaussian"]), {**base, **mine.as_dict()})
    assert (back.model, back.source) == ("gaussian", "built-in")


def test_from_finds_a_relative_data_file_at_its_recorded_path(first, tmp_path, monkeypatch):
    """A report made with --data d.npy in one folder was refused from another ('its data file d.npy
    is missing (it was /abs/d.npy)') although the recorded file was there, with the same bytes."""
    from empirical.report.rerun import settings_of_report

    data = json.loads(first[0].read_text())
    recorded = data["data_set"]["path"]
    data["settings"]["data"] = "small.npy"  # as given, relative to the folder the report was made in
    report = tmp_path / "report.json"
    report.write_text(json.dumps(data))
    monkeypatch.chdir(tmp_path)  # no small.npy here
    assert settings_of_report(report)["data"] == recorded


@pytest.mark.parametrize("steps", ["abc", 2.5, 1])
def test_a_reports_bad_steps_are_refused_with_verifys_range(first, tmp_path, steps):
    """It quoted the settings' general range [0, 10**8]; verify needs at least 2."""
    from empirical.cli import build_parser
    from empirical.cli_parser import resolve
    from empirical.errors import ConfigError

    base = {**json.loads(first[0].read_text())["settings"], "steps": steps}
    with pytest.raises(ConfigError, match=r"steps \(the report's\) must be an integer in \[2, 10\*\*8\]"):
        resolve(build_parser().parse_args(["verify"]), base)
