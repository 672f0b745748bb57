"""The README's worked example runs as written; .ci/run runs the README's test command."""

import doctest
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_examples_run():
    parser = doctest.DocTestParser()
    test = parser.get_doctest(README, {}, "README", "README.md", 0)
    assert test.examples, "README has no >>> examples"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"```bash\n(.+?)\n```", README)
    test_command = [c for c in commands if "pytest" in c and "pip install" in c]  # not the fast lane
    assert len(test_command) == 1
    assert test_command[0] in (ROOT / ".ci" / "run").read_text()


def test_ruff_clean():
    pytest.importorskip("ruff", reason="the lint check runs ruff (test extra)")
    for args in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        out = subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr
