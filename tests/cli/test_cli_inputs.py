"""The inventory of inputs: help, settings, docs and code read the same table;
ranges, limits and messages; names added to a table are accepted."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import cases
import numpy as np
import pytest

from empirical import budget, inputs
from empirical.cli import build_parser, main, settings_from
from empirical.data import load
from empirical.errors import ConfigError, DataError
from empirical.inputs.docs import render
from empirical.inputs.rules import Number, Whole
from empirical.pipeline import pilot as step
from empirical.pipeline.pipeline import prepare
from empirical.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _subparser(command: str) -> argparse.ArgumentParser:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[command]


@pytest.mark.parametrize("command", ["verify", "estimate", "sweep", "derive", "advise"])
def test_help_shows_every_option_with_its_default_from_the_inventory(command):
    text = " ".join(_subparser(command).format_help().split())
    entries = list(inputs.COMMAND_OPTIONS[command])
    if command != "derive":
        entries += list(inputs.SETTINGS)
    defaults = inputs.command_defaults(command)
    for entry in entries:
        assert entry.flag in text, entry.flag
        default = defaults.get(entry.name, entry.default) if entry in inputs.SETTINGS else entry.default
        shown = "none, give at least one" if entry.name == "grid" else entry.default_text(default)
        assert f"(default: {' '.join(shown.split())})" in text, (command, entry.name)


def test_settings_are_the_inventory():
    names = [f.name for f in dataclasses.fields(Settings)]
    assert names == [i.name for i in inputs.SETTINGS] + ["source"]  # the source is derived, not typed
    assert Settings() == Settings(**{i.name: i.default for i in inputs.SETTINGS})


def test_variant_is_one_option_for_adam_and_adagrad_under_its_former_name_too(monkeypatch):
    """``--variant`` picks the adaptive theorem's variant; ``--adam-variant`` stays, and says so."""
    monkeypatch.setenv("COLUMNS", "1000")  # no line break inside --adam-variant
    text = " ".join(_subparser("verify").format_help().split())
    assert "--variant VARIANT, --adam-variant VARIANT" in text
    assert "--adam-variant is the same option under its former name" in text
    args = build_parser().parse_args(["verify", "--optimizer", "adagrad", "--adam-variant", "torch"])
    assert args.variant == "torch"
    with pytest.raises(ConfigError, match="variant"):
        Settings(optimizer="adagrad", variant="delayed")


def test_docs_inputs_page_is_generated_from_the_inventory():
    committed = (ROOT / "docs" / "inputs.md").read_text()
    assert committed == render(), "docs/inputs.md is stale: run `python -m empirical.inputs.docs`"


def test_help_readme_and_code_agree_on_the_step_clip():
    """The pilot's C_gamma is clipped to 1/(L_MARGIN L) = 1/(2L): code, help, README, report."""
    assert step.L_MARGIN == 2.0
    assert "clipped to 1/(2L)" in " ".join(_subparser("verify").format_help().split())
    assert "clipped to 1/(2L)" in (ROOT / "README.md").read_text()
    assert "1/(2 L)" in step.StepChoice(1.0, f"1/({step.L_MARGIN:g} L)").how


def test_version(capsys):
    assert main(["--version"]) == 0
    assert re.fullmatch(r"vaebounds \S+\n", capsys.readouterr().out)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["verify", "--model", "nosuch"], "model (--model) must be one of"),
        (["verify", "--optimizer", "nosuch"], "optimizer (--optimizer) must be one of"),
        (["sweep", "--grid", "B=8", "--executor", "ray"], "executor"),
        (
            ["verify", "--adam-variant", "delayed"],
            "variant (--variant) 'delayed' picks a variant of --optimizer adam or adagrad; sgd has none",
        ),
        (["verify", "--box", "1e-300"], "box (--box) must be a finite number in [1e-12, 1e6], got 1e-300"),
        (["verify", "--model", "linear", "--hidden", "8"], "the linear VAE has no hidden layer (got 8)"),
        (
            ["verify", "--model", "conv", "--latent-dim", "4"],
            "latent_dim (--latent-dim) applies to the built-in",
        ),
        (
            ["verify", "--latent-dim", "0"],
            "latent_dim (--latent-dim) must be an integer in [1, 10**6], got 0",
        ),
        (  # its --help offered a user's module, which estimate then refused after importing torch
            ["estimate", "--model", "conv", "--data", "mnist"],
            "model (--model) must be one of gaussian, linear, beta, iwae (conv and FILE.py:NAME are measured "
            "by verify, whose report holds their constants); got 'conv'",
        ),
        (["estimate", "--model", "mine.py:make"], "got 'mine.py:make'"),
    ],
)
def test_unknown_names_are_refused_before_torch_is_imported(argv, words):
    code = (
        "import sys; from empirical.cli import main; rc = main(sys.argv[1:]); "
        "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and words in proc.stderr


def test_a_name_added_to_its_table_is_accepted(monkeypatch):
    """Adding a model, a form of model name or an optimizer is one line in one table."""
    with pytest.raises(ConfigError):
        Settings(model="vqvae")
    monkeypatch.setitem(inputs.MODELS, "vqvae", ("gaussian", {}))
    assert Settings(model="vqvae").model == "vqvae"
    with pytest.raises(ConfigError):
        Settings(model="hub:org/vae")
    forms = (*inputs.MODEL_FORMS, ("hub:NAME", lambda t: t.startswith("hub:")))
    monkeypatch.setattr(inputs, "MODEL_FORMS", forms)
    assert Settings(model="hub:org/vae").model == "hub:org/vae"
    monkeypatch.setattr(inputs, "OPTIMIZERS", (*inputs.OPTIMIZERS, "rmsprop"))
    assert Settings(optimizer="rmsprop").optimizer == "rmsprop"
    assert "rmsprop" in _subparser("verify").format_help()


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("seed", 2**63, "seed (--seed) must be an integer in [0, 2**63 - 1], got 9223372036854775808"),
        ("seed", -1, "got -1"),
        ("steps", 10**40, "got a 41-digit integer"),
        ("batch_size", True, "got True"),
        ("beta", math.nan, "beta (--beta) must be a finite number in [0, 1e6], got nan"),
        ("box", math.inf, "got inf"),
        ("box", -0.0, "got -0.0"),
        ("s", 1e308, "got 1e+308"),
        ("holdout", 1.0, "in [0, 1)"),
        ("K", 10**9, "[1, 10**4]"),
        ("box", 1e-13, "box (--box) must be a finite number in [1e-12, 1e6], got 1e-13"),
        ("hidden", 0, "hidden (--hidden) must be an integer in [1, 10**6], got 0"),
    ],
)
def test_out_of_range_settings_name_the_input_the_value_and_the_range(field, value, words):
    with pytest.raises(ConfigError) as err:
        Settings(**{field: value})
    assert words in str(err.value)


def test_negative_zero_is_zero_where_zero_is_allowed():
    s = Settings(beta=-0.0, holdout=-0.0)
    assert math.copysign(1.0, s.beta) == 1.0 and s.holdout == 0.0


def test_command_line_text_is_read_strictly():
    rule = Whole(0, 10)
    for text in ("1e3", "2.0", "0x10", "", "nan"):
        with pytest.raises(ConfigError):
            rule.parse("--steps", text)
    with pytest.raises(ConfigError, match="5000-digit"):
        rule.parse("--steps", "9" * 5000)
    assert rule.parse("--steps", "1_0") == 10
    with pytest.raises(ConfigError, match="got 'x'"):
        Number(0.0, 1.0).parse("--box", "x")


def test_the_memory_estimate_refuses_oversized_runs_before_allocating(tmp_path, capsys):
    small = budget.footprint(rows=1438, columns=64, n_params=9936, widths=(64,), latent=8, runs=4,
                             batch_size=32, K=1, steps=2000)  # fmt: skip
    assert small.total < 100 * 2**20  # the default run: far below the limit
    big = budget.footprint(rows=1438, columns=64, n_params=9936, widths=(64,), latent=8, runs=4,
                           batch_size=32, K=10**4, steps=2000)  # fmt: skip
    with pytest.raises(ConfigError, match=r"above the limit of 8 GiB.*--samples"):
        budget.check(big)
    code = main(["verify", "--samples", "10000", "--steps", "2", "--out", str(tmp_path / "r")])
    assert code == 2 and "would allocate" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_too_few_training_rows_are_refused_with_the_reason(tmp_path, capsys):
    path = tmp_path / "ten.npy"
    np.save(path, np.random.default_rng(0).random((10, 64)))
    code = main(["verify", "--data", str(path), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "10 rows, 8 for training" in err and "at least 10 training rows" in err
    assert not (tmp_path / "r").exists()


def test_a_loss_not_finite_at_initialisation_says_where_and_what_to_change(tmp_path, capsys):
    """Unscaled wine data (values up to 1680) through ReLU layers overflows the built-in VAE's loss
    at its first evaluation, the pilot's: one line naming the pilot's seed, the data's scale and
    the remedy, exit 2, no report."""
    from sklearn.datasets import load_wine

    path = tmp_path / "wine.npy"
    np.save(path, load_wine().data)
    argv = ["verify", "--data", str(path), "--activation", "relu", "--steps", "5", "--quiet"]
    code = main([*argv, "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    for words in ("pilot's initialisation with seed", "before any training step", "not finite",
                  "largest |value| is 1680", "standardise each column", "--activation softclip"):  # fmt: skip
        assert words in err, (words, err)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "name, words",
    [
        ("folder", "is a folder"),
        ("zero.npy", "not a readable .npy file"),
        ("empty.csv", "the CSV file is empty"),
        ("header.csv", "has no data rows"),
        ("huge.npy", "|x| <= 1e+06"),
        ("x.txt", "unsupported file type"),
    ],
)
def test_bad_data_files_give_one_clear_error_and_no_warning(tmp_path, name, words):
    (tmp_path / "folder").mkdir()
    (tmp_path / "zero.npy").write_bytes(b"")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("a,b\n")
    np.save(tmp_path / "huge.npy", np.full((20, 4), 1e30))
    (tmp_path / "x.txt").write_text("1,2\n")
    with warnings.catch_warnings(), pytest.raises(DataError) as err:
        warnings.simplefilter("error")  # a warning would be a second line on the terminal
        load(str(tmp_path / name))
    assert words in str(err.value)


# ------------------------------------------------------------- issue 21: items 3 and 7


@pytest.mark.slow  # over 5 s: CI runs it, the fast lane leaves it out
def test_the_smallest_box_allowed_verifies(small_npy, tmp_path, capsys):
    """--box 1e-300 underflowed float32 to 0 after 11 s ("all points along the run are
    identical"); the range now starts at 1e-12, and that end runs."""
    argv = ["verify", "--data", str(small_npy), "--box", "1e-12", "--steps", "20", "--seeds", "2"]
    assert main([*argv, "--out", str(tmp_path / "r"), "--quiet"]) == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "r" / "report.json").read_text())["settings"]["box"] == 1e-12


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_data_naming_a_special_file_is_refused_without_opening_it(tmp_path, special):
    """A FIFO made verify hang; a subprocess with a timeout turns a hang into a failure."""
    path = tmp_path / "pipe.csv"
    if special == "fifo":
        os.mkfifo(path)
    else:
        path = Path(special)
    argv = ["verify", "--data", str(path), "--out", str(tmp_path / "r")]
    proc = subprocess.run(
        [sys.executable, "-m", "empirical.cli", *argv], capture_output=True, text=True, timeout=120
    )
    kind = "FIFO (named pipe)" if special == "fifo" else "character device"
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert f"data (--data) {path} is a {kind}, not a regular file" in proc.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.slow  # over 5 s: CI runs it, the fast lane leaves it out
def test_a_six_column_csv_verifies_with_the_defaults(tmp_path, capsys):
    """No option sets the latent size: the built-in models take min(8, columns)."""
    six = tmp_path / "six.csv"
    np.savetxt(six, cases.sigmoid_rows(d=6), delimiter=",")
    argv = ["verify", "--data", str(six), "--steps", "30", "--seeds", "2", "--out", str(tmp_path / "r")]
    assert main([*argv, "--quiet", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model_options"]["latent_dim"] == 6 and report["model_options"]["hidden"] == [64]
    assert (report["settings"]["latent_dim"], report["settings"]["hidden"]) == (None, None)
    code = main([*argv[:-1], str(tmp_path / "r7"), "--latent-dim", "7"])
    assert code == 2 and "latent_dim (--latent-dim) must be at most the data's 6 columns" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "r7").exists()


def test_latent_dim_and_hidden_set_the_built_in_model(small_npy):
    args = build_parser().parse_args(
        ["verify", "--data", str(small_npy), "--latent-dim", "3", "--hidden", "16"]
    )
    settings = settings_from(args)
    assert (settings.latent_dim, settings.hidden) == (3, 16)
    model = prepare(settings).model
    assert (model.latent_dim, model.hidden) == (3, (16,))
    assert prepare(dataclasses.replace(settings, model="linear", hidden=None)).model.latent_dim == 3


def test_the_default_model_is_unchanged():
    """digits has 64 columns: latent 8 and one hidden layer of 64, as before --latent-dim existed."""
    assert Settings().model_options() == ("gaussian", {"activation": "softclip", "K": 1})
    model = prepare(Settings()).model
    assert (model.latent_dim, model.hidden, model.n_params) == (8, (64,), 9936)
