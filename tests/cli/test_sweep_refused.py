"""A refused sweep prints exactly one line, its error, on stderr and exits 2 before any progress
line: every check (the grid's size and values, option clashes, the data, model and memory at
the largest point, the executor) comes before the point count is said."""

import sys

import pytest

from empirical.cli import main
from empirical.sweep import RESULTS


def refused(argv, capsys) -> str:
    """Run ``vaebounds sweep ARGV``; assert exit 2, nothing on stdout, one stderr line; return it."""
    assert main(["sweep", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err
    assert lines[0].startswith("vaebounds: error: "), err
    assert "sweep:" not in err, err  # no progress line (point count, incomplete row) before it
    return lines[0]


def test_too_many_points(tmp_path, capsys):
    B = ",".join(str(b) for b in range(1, 102))
    C = ",".join(f"{c}e-3" for c in range(1, 101))
    line = refused(["--grid", f"B={B}", "--grid", f"C_gamma={C}", "--out", str(tmp_path / "s")], capsys)
    assert "10100 points" in line and "limit of 10000" in line
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--grid", "C_gamma=0.1,-1"], "C_gamma"),
        (["--grid", "B=8,abc"], "--grid B"),
        (["--grid", "B=8", "--batch-size", "8"], "both set batch_size"),
        (["--grid", "K=1,2", "--model", "linear"], "not linear"),
    ],
)
def test_bad_values_and_option_clashes(argv, said, tmp_path, capsys):
    assert said in refused([*argv, "--out", str(tmp_path / "s")], capsys)
    assert not (tmp_path / "s").exists()


def test_the_largest_point_too_large_for_memory(tmp_path, capsys):
    """Each value of B is allowed on its own; the largest point's memory is refused, and that
    refusal comes before the point count (it came after it)."""
    line = refused(["--grid", "B=8,1000000", "--steps", "2", "--out", str(tmp_path / "s")], capsys)
    assert "GiB" in line and "--batch-size" in line
    assert not (tmp_path / "s").exists()


def test_refused_on_a_resumed_sweep_with_an_incomplete_row(tmp_path, capsys):
    """The note on an interrupted write of results.jsonl is progress too: not said before the error."""
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / RESULTS).write_text('{"key": "interrupted wr')
    line = refused(["--grid", "B=8,1000000", "--steps", "2", "--out", str(folder)], capsys)
    assert "GiB" in line


def test_dask_missing(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "empirical.sweep_dask", None)  # import fails: Dask not installed
    argv = ["--grid", "B=8,16", "--steps", "2", "--executor", "dask", "--out", str(tmp_path / "s")]
    assert "vaebounds[dist]" in refused(argv, capsys)
    assert not (tmp_path / "s").exists()
