"""The settings (empirical/settings.py): the vocabulary table, validation naming the field,
its flag and the value, the source of the runs, and the names report.json files used before."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields

import pytest

import theory
from empirical.cli import build_parser
from empirical.errors import ConfigError
from empirical.settings import GRID_AXES, VOCABULARY, Settings


def test_vocabulary_is_the_one_translation():
    """Every settings field has one entry; symbols are theory symbols; flags are the CLI's."""
    assert [t.field for t in VOCABULARY] + ["source"] == [f.name for f in fields(Settings)]
    for t in VOCABULARY:
        if t.symbol is not None:
            assert t.symbol in theory.symbols.REGISTRY, t
    flags = {
        a.option_strings[0] for a in build_parser()._subparsers._group_actions[0].choices["verify"]._actions
    }
    assert {t.flag for t in VOCABULARY} <= flags
    assert set(GRID_AXES) == {"B", "K", "beta", "s", "C_gamma", "seed"}
    assert {name: t.field for name, t in GRID_AXES.items()}["B"] == "batch_size"


def test_settings_names_come_from_the_theorem_catalogue():
    from empirical.settings import MODELS, OPTIMIZERS

    assert set(MODELS) <= set(theory.MODELS) and set(OPTIMIZERS) <= set(theory.OPTIMIZERS)


@pytest.mark.parametrize(
    "field, value, word",
    [
        ("model", "vit", "--model"),
        ("steps", -1, "--steps"),
        ("steps", 10**12, "--steps"),
        ("batch_size", 2.5, "--batch-size"),
        ("K", 0, "--samples"),
        ("seed", 2**63, "--seed"),
        ("runs", 0, "--seeds"),
        ("C_gamma", float("nan"), "--lr-constant"),
        ("beta", -1.0, "--beta"),
        ("s", float("inf"), "--sharpness"),
        ("box", 0.0, "--box"),
        ("holdout", 1.0, "--holdout"),
        ("variant", "amsgrad", "--variant"),
    ],
)
def test_bad_settings_name_field_flag_and_value(field, value, word):
    with pytest.raises(ConfigError, match=word) as err:
        Settings(**{field: value})
    assert field in str(err.value)


def test_settings_round_trip_and_model_options():
    s = Settings(model="beta", K=3, s=2.0, runs=2, seed=5)
    assert s.seeds == [5, 6] and s.runs == 2 and s.beta_value == 4.0
    assert s.model_options() == ("gaussian", {"beta": 4.0, "activation": "softclip", "K": 3, "s": 2.0})
    assert Settings.from_mapping(s.as_dict()) == s
    with pytest.raises(ConfigError, match="unknown setting"):
        Settings.from_mapping({"lr_constant": 0.1})
    with pytest.raises(ConfigError, match="linear"):
        Settings(model="linear", K=2)


def test_settings_import_no_torch():
    code = "import sys, empirical.settings, empirical.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_source_says_where_the_runs_come_from():
    assert Settings().source == "built-in" and Settings(model="conv").source == "user module"
    assert Settings(model="conv").theorem_model == "generic" and Settings().theorem_model == "gaussian"
    with pytest.raises(ConfigError, match="source must be 'built-in'"):
        Settings(source="user module")
    own = Settings.own_loop("TinyVAE (user module)", "torch.optim.SGD", "user data (4 rows x 2)", 10, 4, 3, 2)
    assert own.source == "own loop" and own.is_user_model and own.seeds == [3, 4] and own.K is None
    assert Settings.from_mapping(own.as_dict()) == own
    with pytest.raises(ConfigError, match="box"):
        Settings(**{**own.as_dict(), "box": 0.1})
    with pytest.raises(ConfigError, match="steps"):
        Settings.own_loop("m", "o", "d", 0.5, 4, 0, 1)


def test_report_files_written_before_the_renames_are_read():
    """report.json files of earlier versions name the count of runs ``seeds`` and the variant
    ``adam_variant`` in their settings."""
    old = {**Settings(optimizer="adam").as_dict(), "seeds": 3, "adam_variant": "torch"}
    del old["runs"], old["variant"], old["source"]
    s = Settings.from_mapping(old)
    assert (s.runs, s.variant, s.source) == (3, "torch", "built-in")
    assert Settings.from_mapping({"seeds": 1, "runs": 2}).runs == 2  # the new name wins


def test_the_stress_settings():
    """--no-stress and --stress-margin: typed values in range; a user's module is not searched, so a
    margin for it is refused; an own loop checks them too; reports without them read the defaults."""
    assert Settings().stress is True and Settings().stress_margin == 0.0
    assert Settings(stress=False, stress_margin=0.5).as_dict()["stress_margin"] == 0.5
    for bad in ({"stress": "no"}, {"stress": 0}, {"stress_margin": -0.1}, {"stress_margin": 11.0},
                {"stress_margin": float("nan")}):  # fmt: skip
        with pytest.raises(ConfigError, match="stress"):
            Settings(**bad)
    with pytest.raises(ConfigError, match="not searched"):
        Settings(model="conv", stress_margin=0.1)
    assert Settings(model="conv", stress=False).stress is False  # nothing to skip: accepted, reported
    own = Settings.own_loop("m", "o", "d", 10, 4, 0, 1)
    with pytest.raises(ConfigError, match="stress_margin"):
        Settings(**{**own.as_dict(), "stress_margin": -1.0})
    old = Settings().as_dict()
    del old["stress"], old["stress_margin"]
    assert Settings.from_mapping(old) == Settings()
