"""The pipeline's parts: settings and the vocabulary table, the verdict decided
once on the result, the assumption rows by id, and the atomic report."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from dataclasses import fields
from types import SimpleNamespace

import pytest

import theory
from empirical.cli import build_parser
from empirical.compare import Binding, Observed
from empirical.conclusion.result import Row, Verdict, decide
from empirical.conclusion.rows import Evidence, assumption_rows
from empirical.errors import ConfigError
from empirical.pipeline import GRID_AXES, VOCABULARY, Settings
from empirical.report.atomic import write_folder
from theory.assumptions import IDS


def test_vocabulary_is_the_one_translation():
    """Every settings field has one entry; symbols are theory symbols; flags are the CLI's."""
    assert [t.field for t in VOCABULARY] == [f.name for f in fields(Settings)]
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
        ("seeds", 0, "--seeds"),
        ("C_gamma", float("nan"), "--lr-constant"),
        ("beta", -1.0, "--beta"),
        ("s", float("inf"), "--sharpness"),
        ("box", 0.0, "--box"),
        ("holdout", 1.0, "--holdout"),
        ("adam_variant", "amsgrad", "--adam-variant"),
    ],
)
def test_bad_settings_name_field_flag_and_value(field, value, word):
    with pytest.raises(ConfigError, match=word) as err:
        Settings(**{field: value})
    assert field in str(err.value)


def test_settings_round_trip_and_model_options():
    s = Settings(model="beta", K=3, s=2.0, seeds=2, seed=5)
    assert s.seed_list == [5, 6] and s.beta_value == 4.0
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


def _observed(lo: float, hi: float) -> Observed:
    return Observed(
        value=(lo + hi) / 2,
        lo=lo,
        hi=hi,
        confidence=0.95,
        method="test",
        per_run=((lo + hi) / 2,),
        per_run_lo=(lo,),
        per_run_hi=(hi,),
        observable="grad_norm_sq",
    )


def test_verdict_is_decided_by_rows_then_the_upper_end():
    ok = (Row("smooth", "L-smooth", "estimated", "e"), Row("unbiased", "u", "holds", "e"))
    failed = (*ok, Row("momentum", "m", "fails", "beta1 = 0.9"))
    assert decide(ok, _observed(1.0, 2.0), 2.0) is Verdict.HOLDS
    assert decide(ok, _observed(1.0, 2.01), 2.0) is Verdict.VIOLATED
    assert decide(failed, _observed(1.0, 2.0), 100.0) is Verdict.NOT_COVERED
    assert [v.exit_code for v in Verdict] == [0, 1, 3]
    with pytest.raises(ValueError, match="status"):
        Row("smooth", "L-smooth", "proved", "e")


def _evidence(theorem, **over):
    settings = Settings(**over.pop("settings", {}))
    model = SimpleNamespace(activation=settings.activation, s=1.0, loss_lower_bound=58.8, averages_draws=True)
    runs = SimpleNamespace(param_sup_norm=[[0.3, over.pop("sup", 0.4)]])
    est = SimpleNamespace(value=2.0, lo=1.9, hi=2.1, method="m")
    constants = SimpleNamespace(
        L=est,
        R=est,
        delta_is_upper=over.pop("proven", True),
        where="theta_0",
        named=lambda: {"sigma2_data": est, "sigma2_mc": est},
    )
    binding = Binding(
        over.pop("values", {"C_gamma": 0.1, "L": 2.1}),
        over.pop("ends", {"L": "hi"}),
        1.0,
        over.pop("violations", ()),
    )
    options = over.pop("options", {})
    from empirical.conclusion.coverage import choose_theorem
    from empirical.pipeline.pilot import StepChoice
    from empirical.pipeline.pipeline import optimizer_run

    schedule = (
        "sqrt" if settings.optimizer == "sgd" or options.get("adam_variant") == "delayed" else "constant"
    )
    step = StepChoice(0.1, "test", options, schedule)
    row = choose_theorem(settings.model, optimizer_run(settings, step)).algorithm_row
    return Evidence(settings, model, runs, options, constants, binding, theorem.variant == "projected", row)


def test_rows_follow_the_assumption_ids_of_the_theorem():
    b = theory.bound("gaussian", "sgd", expand=False)
    rows = assumption_rows(b, _evidence(b))
    assert [r.id for r in rows] == [a.id for a in b.assumptions] + ["smooth-activations", "box"]
    assert all(r.id in IDS for r in rows)
    status = {r.id: r.status for r in rows}
    assert status == {
        "smooth": "estimated",
        "lower-bounded": "holds",
        "unbiased": "holds",
        "bounded-variance": "estimated",
        "algorithm": "holds",
        "step-size": "estimated",
        "variance-split": "holds",
        "smooth-activations": "holds",
        "box": "unchecked",
    }


def test_rows_fail_where_the_theorem_does_not_apply():
    b = theory.bound("gaussian", "sgd", expand=False)
    relu = {r.id: r.status for r in assumption_rows(b, _evidence(b, settings={"activation": "relu"}))}
    assert relu["smooth"] == relu["smooth-activations"] == "fails"
    no_bound = {r.id: r.status for r in assumption_rows(b, _evidence(b, proven=False))}
    assert no_bound["lower-bounded"] == "estimated"
    violation = theory.Violation("step-size", "step size", "C_gamma <= 1/L fails (1 > 0.5)")
    broken = {r.id: r for r in assumption_rows(b, _evidence(b, violations=(violation,)))}
    assert broken["step-size"].status == "fails" and "1 > 0.5" in broken["step-size"].evidence
    adam = theory.bound("gaussian", "adam", expand=False)
    opts = {"betas": (0.9, 0.999), "adam_eps": 1e-8, "adam_variant": "torch"}
    rows = {
        r.id: r.status
        for r in assumption_rows(adam, _evidence(adam, settings={"optimizer": "adam"}, options=opts))
    }
    assert rows["preconditioner"] == rows["momentum"] == "fails" and rows["algorithm"] == "approximate"
    projected_adam = {
        r.id: r.status
        for r in assumption_rows(
            adam, _evidence(adam, settings={"optimizer": "adam", "box": 0.1}, options=opts)
        )
    }
    assert projected_adam["algorithm"] == "fails"


def test_projected_theorem_rows_check_the_box_exactly():
    b = theory.bound("gaussian", "sgd", "projected", expand=False)
    values = {"gamma_max": 0.1, "L": 2.1}
    inside = {
        r.id: r for r in assumption_rows(b, _evidence(b, settings={"box": 0.5}, sup=0.5, values=values))
    }
    assert inside["box"].status == "holds" and "a = 0.5" in inside["box"].evidence
    assert inside["algorithm"].status == "holds" and "box" in [a.id for a in b.assumptions]
    outside = {
        r.id: r for r in assumption_rows(b, _evidence(b, settings={"box": 0.5}, sup=0.6, values=values))
    }
    assert outside["box"].status == "fails"


def test_report_folder_is_written_as_a_whole(tmp_path):
    target = tmp_path / "report"

    def fill(folder):
        (folder / "report.json").write_text(json.dumps({"n": 1}))
        (folder / "report.md").write_text("one")

    write_folder(target, fill, ("report.json", "report.md"))
    assert json.loads((target / "report.json").read_text()) == {"n": 1}

    def broken(folder):
        (folder / "report.json").write_text(json.dumps({"n": 2}))
        raise KeyboardInterrupt  # interrupted half way

    with pytest.raises(KeyboardInterrupt):
        write_folder(target, broken, ("report.json", "report.md"))
    # the previous report is intact and no temporary folder is left behind
    assert json.loads((target / "report.json").read_text()) == {"n": 1}
    assert (target / "report.md").read_text() == "one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    (target / "mine.txt").write_text("keep")
    with pytest.raises(ConfigError, match="other files"):
        write_folder(target, fill, ("report.json", "report.md"))
    with pytest.raises(ConfigError, match="not a folder"):
        write_folder(target / "mine.txt", fill, ())
    with pytest.raises(ConfigError, match="must be a path"):
        write_folder("", fill, ())


def test_result_fields_are_frozen():
    from empirical.conclusion.result import Result

    assert dataclasses.is_dataclass(Result) and Result.__dataclass_params__.frozen
