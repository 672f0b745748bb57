"""benchmarks/tracking.py's ``readme`` case runs the README's empirical.track block as written: the
block it finds is the README's, cut before the runs, and its plain side trains without a tracker."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "vaebounds_bench_tracking", ROOT / "benchmarks" / "tracking.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_block_is_the_readmes_and_the_loop_is_cut_before_the_runs(bench):
    block = bench.readme_block((ROOT / "README.md").read_text())
    assert block in (ROOT / "README.md").read_text() and "tracker.step(" in block
    with pytest.raises(SystemExit, match="2 Python blocks"):
        bench.readme_block(f"```python\n{block}```\n```python\n{block}```\n")
    loop = bench.ReadmeLoop(tracked=False)
    assert callable(loop.ns["run"]) and "result" not in loop.ns  # the head defines, the tail runs
    nested = [c for c in loop.tail.co_consts if hasattr(c, "co_names")]  # the list comprehension
    names = set(loop.tail.co_names).union(*(c.co_names for c in nested))
    assert {"verify_runs", "run"} <= names


def test_the_plain_side_runs_the_block_without_a_tracker(bench):
    loop = bench.ReadmeLoop(tracked=False)
    wall, cpu, apart, result = loop()
    assert wall > 0 and cpu > 0 and apart >= 0 and result is None
    assert loop.finish_wall == 0.0  # no tracker, nothing finished
