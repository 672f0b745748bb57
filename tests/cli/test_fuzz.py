"""Fuzz the command line: random argument lists built from the inventory
(valid values, huge integers, negative zero, NaN, inf, junk text, files of
every bad shape, bad output folders). Every outcome is either bad input
(exit 2, one line on stderr, nothing on stdout) or a run that starts with
settings inside the inventory's ranges; nothing else (no traceback).

The runs are stopped where training would begin (the pipeline's data
loading, model building and memory check still run): validate-only paths.
A handful of real end-to-end runs are in test_cli.py.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest
from cases import write_bad_files
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import empirical.pipeline.pipeline as pipeline_module
import empirical.sweep as sweep_module
import theory.derive as derive_module
from empirical import inputs
from empirical.cli import main
from empirical.inputs.rules import Choice, Flag, Number, Whole

NASTY = (
    "99999999999999999999999", "9" * 5000, "-1", "-0", "-0.0", "0", "0.0", "nan", "NaN", "inf", "-inf",
    "1e308", "1e-320", "", " ", "abc", "0x10", "1_000", "2**63", "9223372036854775808",
    "9223372036854775807", "18446744073709551616", "1e3", "2.5", "\x00", "--", "-5e-324", "\u0663",
)  # fmt: skip
COMMANDS = ("verify", "estimate", "sweep", "derive")


class Reached(BaseException):
    """The run got past every input check (raised where training would start)."""

    def __init__(self, settings):
        self.settings = settings


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    out = {name: str(path) for name, path in write_bad_files(folder).items()}
    (folder / "afile").write_text("x")
    (folder / "foreign").mkdir()
    (folder / "foreign" / "notes.txt").write_text("keep me")
    report = {"settings": {"data": out["good.npy"], "steps": 5, "seeds": 1}}
    (folder / "report.json").write_text(json.dumps(report))
    (folder / "bad_report.json").write_text("{not json")
    (folder / "no_settings.json").write_text("[1, 2]")
    out.update(
        afile=str(folder / "afile"),
        under_file=str(folder / "afile" / "sub"),
        foreign=str(folder / "foreign"),
        report=str(folder / "report.json"),
        bad_report=str(folder / "bad_report.json"),
        no_settings=str(folder / "no_settings.json"),
        root=str(folder),
    )
    return out


@pytest.fixture()
def stubbed(monkeypatch, files):
    """Stop every command where the real work would begin (in a scratch working folder, so
    a relative --out such as ``NaN`` lands there and never in the checkout)."""
    monkeypatch.chdir(files["root"])

    def verify(settings, progress=None, **_):
        pipeline_module.prepare(settings)
        raise Reached(settings)

    def estimate_constants(settings, progress=None):
        pipeline_module.prepare(settings)
        raise Reached(settings)

    def summarise(settings):
        pipeline_module.prepare(settings)
        raise Reached(settings)

    def render_into(out):
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "generic-sgd.md").write_text("stub\n")
        return [Path(out) / "generic-sgd.md"]

    monkeypatch.setattr(pipeline_module, "verify", verify)
    monkeypatch.setattr(pipeline_module, "estimate_constants", estimate_constants)
    monkeypatch.setattr(sweep_module, "summarise", summarise)
    monkeypatch.setattr(derive_module, "write_derivations", render_into)


def _valid(rule) -> st.SearchStrategy[str]:
    if isinstance(rule, Whole):
        return st.integers(rule.lo, rule.hi if rule.hi is not None else 10**6).map(str)
    if isinstance(rule, Number):
        hi = rule.hi if math.isfinite(rule.hi) else 1e6
        return st.floats(rule.lo, hi, allow_nan=False, exclude_max=rule.hi_open).map(repr)
    if isinstance(rule, Choice):
        return st.sampled_from(rule.table() or ("none",))
    return st.text(max_size=5)


def _value(entry: inputs.Input, files: dict[str, str], counter) -> st.SearchStrategy[str]:
    nasty = st.sampled_from(NASTY)
    if entry.name == "data":
        names = ["good.npy", "good.csv", *[k for k in files if k.endswith((".npy", ".csv", ".txt"))]]
        return st.one_of(st.sampled_from(("digits", "ppca", *(files[n] for n in names))), nasty)
    if entry.name == "out":
        fresh = st.builds(lambda: str(Path(files["root"]) / f"out{next(counter)}"))
        odd = st.sampled_from((files["afile"], files["under_file"], files["foreign"], ""))
        return st.one_of(fresh, fresh, odd, nasty)
    if entry.name == "from":
        return st.sampled_from(
            (
                files["report"],
                files["bad_report"],
                files["no_settings"],
                files["good.npy"],
                files["missing.npy"],
            )
        )
    if entry.name == "grid":
        axis = st.sampled_from((*inputs.GRID_NAMES, "Q", "batch_size", ""))
        values = st.lists(st.one_of(st.integers(1, 64).map(str), nasty), min_size=0, max_size=3)
        return st.builds(lambda a, v: f"{a}={','.join(v)}", axis, values)
    if entry.name == "executor":
        return st.one_of(st.just("local"), nasty)
    return st.one_of(_valid(entry.rule), nasty)


@st.composite
def argv(draw, files, counter):
    if draw(st.integers(0, 30)) == 0:
        return draw(
            st.sampled_from((["--version"], [], ["nope"], ["verify", "--nope", "1"], ["verify", "--steps"]))
        )
    command = draw(st.sampled_from(COMMANDS))
    entries = list(inputs.COMMAND_OPTIONS[command])
    if command != "derive":
        entries += list(inputs.SETTINGS)
    chosen = draw(st.lists(st.sampled_from(entries), max_size=6, unique_by=lambda e: e.name))
    if command == "sweep" and not any(e.name == "grid" for e in chosen) and draw(st.booleans()):
        chosen.append(next(e for e in entries if e.name == "grid"))
    out = [command]
    for entry in chosen:
        if isinstance(entry.rule, Flag):
            out.append(entry.flag)
        else:
            out += [entry.flag, draw(_value(entry, files, counter))]
    if "--out" not in out:  # never write into the working folder
        out += ["--out", str(Path(files["root"]) / f"out{next(counter)}")]
    return out


def _in_inventory(s, command: str) -> None:
    for entry in inputs.SETTINGS:
        value = getattr(s, entry.name)
        if value is None:
            assert entry.optional, entry.name
        else:  # raises if outside the documented range
            inputs.command_rule(command, entry.name).check(entry.name, value)


@pytest.mark.slow  # over 5 s: CI runs it, the fast lane leaves it out
@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_argument_list_is_refused_in_one_line_or_runs_in_range(files, stubbed, capsys, data):
    args = data.draw(argv(files, _COUNTER))
    capsys.readouterr()
    try:
        code = main(args)
    except Reached as reached:
        _in_inventory(reached.settings, args[0])
        event("reached the run")
        return
    out, err = capsys.readouterr()
    if code == 2:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("vaebounds: error: "), (args, err)
        assert "Traceback" not in err and out == "", (args, out)
        event("refused (exit 2)")
        return
    assert code == 0, (args, code, err)
    assert args[0] in ("--version", "derive"), args


_COUNTER = itertools.count()
