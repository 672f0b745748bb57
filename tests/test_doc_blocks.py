"""Every Python and shell block of README.md and docs/walkthrough.md runs as written.

``>>>`` blocks by doctest (one namespace per file); other Python blocks by exec in a fresh
namespace in a scratch folder; shell blocks command by command in a subprocess, each
``vaebounds`` command with the sizes its ``<!-- test: args: ... -->`` directive gives
(scripts/walkthrough.py). A block the test cannot run says why in its directive (``skip:``).
"""

from __future__ import annotations

import doctest
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cases import walkthrough_script

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("README.md", "docs/walkthrough.md")
RUNNABLE = ("python", *("bash", "sh", "shell", "console"))


WT = walkthrough_script()


def _cases():
    for doc in DOCS:
        for block in WT.blocks((ROOT / doc).read_text()):
            if block.lang not in RUNNABLE or block.doctest:
                continue
            marks = [pytest.mark.slow] if "slow" in block.directive else []
            yield pytest.param(block, id=f"{doc}:{block.line}", marks=marks)


CASES = list(_cases())


@pytest.mark.parametrize("doc", ["docs/walkthrough.md"])  # README.md's: tests/test_readme.py
def test_doctests(doc):
    text = (ROOT / doc).read_text()
    test = doctest.DocTestParser().get_doctest(text, {}, doc, doc, 0)
    assert test.examples, f"{doc} has no >>> examples"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0


def test_every_runnable_block_is_collected():
    """Python and shell blocks are the README's and the walkthrough's; a block that is skipped says why."""
    assert len(CASES) >= 12
    for case in CASES:
        block = case.values[0]
        if "skip" in block.directive:
            assert block.directive["skip"], f"a skipped block must say why (line {block.line})"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    if argv[0] == "vaebounds":
        argv = [sys.executable, "-m", "empirical.cli", *argv[1:]]
    return subprocess.run(argv, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=900)


def _number_pattern(line: str) -> str:
    """A regex of ``line`` with every number free (the format, not the digits)."""
    number = r"[-+]?\d[\d.]*(?:e[-+]?\d+)?"
    parts = re.split(number, line)
    return number.join(re.escape(p) for p in parts)


def _check_format(stdout: str) -> None:
    """The README's two printed lines have the format of a fresh run's (the verdict words and the
    digits may differ at the smaller size)."""
    readme = (ROOT / "README.md").read_text()
    shown = readme.partition(WT.VERIFY_MARK + "\n```text\n")[2].partition("\n```")[0].splitlines()
    fresh = stdout.strip().splitlines()[-2:]
    assert len(shown) == 2 and len(fresh) == 2
    rest = shown[0].partition(" (exit ")[2]
    assert re.fullmatch(r".+ \(exit " + _number_pattern(rest), fresh[0]), (shown[0], fresh[0])
    assert " Report: " in fresh[1] and shown[1].endswith(" Report: ./vaebounds-report")


@pytest.mark.parametrize("block", CASES)
def test_block_runs(block, tmp_path, monkeypatch):
    if "skip" in block.directive:
        pytest.skip(block.directive["skip"])
    if "needs" in block.directive:
        pytest.importorskip(block.directive["needs"])
    (tmp_path / "scripts").symlink_to(ROOT / "scripts")  # --model scripts/track_example.py:make
    if block.lang == "python":
        monkeypatch.chdir(tmp_path)
        namespace: dict = {"__name__": "doc_block"}
        exec(compile(block.body, f"block at line {block.line}", "exec"), namespace)
        if "class VAE(nn.Module)" in block.body:  # the walkthrough's tracker example
            _check_tracker_numbers(namespace["result"])
        return
    if block.before():
        before = _run(block.before(), tmp_path)
        assert before.returncode in (0, 4), before.stderr
    for argv in block.commands():
        out = _run(argv, tmp_path)
        if block.exit_code is not None:
            assert out.returncode == block.exit_code, f"{argv}: exit {out.returncode}\n{out.stderr[-2000:]}"
        else:
            assert out.returncode in (0, 1, 3, 4), out.stderr[-2000:]
        if "drop-install" in block.directive:
            _check_format(out.stdout)


def _check_tracker_numbers(result) -> None:
    """The walkthrough quotes the numbers this block gives (seeded: the same every time)."""
    numbers = WT.load_numbers()
    assert math.isclose(result.bound, float(numbers["t_bound_raw"]), rel_tol=1e-3)
    assert math.isclose(result.observed.value, float(numbers["t_obs_raw"]), rel_tol=1e-3)
    assert result.verdict.value == numbers["t_verdict"]
