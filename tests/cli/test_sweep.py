"""vaebounds sweep: grid, resumability, summary files, executors."""

import json

import numpy as np
import pytest

from empirical.cli import main
from empirical.errors import ConfigError
from empirical.sweep import exit_code, parse_axis, points, run_sweep
from empirical.verify import Settings


@pytest.fixture(scope="module")
def small_npy(tmp_path_factory):
    rng = np.random.default_rng(1)
    path = tmp_path_factory.mktemp("data") / "small.npy"
    X = 1 / (1 + np.exp(-(rng.normal(size=(200, 3)) @ rng.normal(size=(3, 8)))))
    np.save(path, X.astype(np.float32))
    return path


def test_parse_axis_and_points():
    assert parse_axis("B=8,32") == ("batch_size", (8, 32))
    assert parse_axis("C_gamma=0.01") == ("lr_constant", (0.01,))
    grid = dict([parse_axis("B=8,32"), parse_axis("seed=0,1,2")])
    pts = points(Settings(), grid)
    assert len(pts) == 6 and {p.batch_size for p in pts} == {8, 32}
    for bad in ("B", "Q=1", "B=x", "K="):
        with pytest.raises(ConfigError):
            parse_axis(bad)
    with pytest.raises(ConfigError, match="samples"):
        points(Settings(), {"samples": (0,)})


@pytest.mark.slow
def test_sweep_is_resumable(small_npy, tmp_path):
    base = Settings(data=str(small_npy), steps=40)
    grid = {"batch_size": (4, 16)}
    rows = run_sweep(base, grid, tmp_path)
    assert [r["batch_size"] for r in rows] == [4, 16]
    assert all(r["verdict"] in ("holds", "violated", "assumptions failed") for r in rows)
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert len(lines) == 2
    # a larger grid reuses the two finished points and runs only the new one
    said = []
    rows = run_sweep(base, {"batch_size": (4, 16, 32)}, tmp_path, progress=said.append)
    assert "2 already done" in said[0]
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 3
    assert (tmp_path / "summary.csv").read_text().count("\n") == 4
    assert (tmp_path / "sweep.png").stat().st_size > 5_000


@pytest.mark.slow
def test_sweep_cli_and_dask_executor(small_npy, tmp_path, capsys):
    code = main(
        ["sweep", "--data", str(small_npy), "--steps", "30", "--grid", "seed=0,1", "--executor", "dask",
         "--out", str(tmp_path), "--json", "--quiet"]
    )  # fmt: skip
    rows = json.loads(capsys.readouterr().out)
    assert [r["seed"] for r in rows] == [0, 1]
    assert code == exit_code(rows)
    assert exit_code([{"verdict": "holds"}, {"verdict": "assumptions failed"}]) == 3
    assert exit_code([{"verdict": "violated"}, {"verdict": "assumptions failed"}]) == 1


def test_sweep_bad_executor_and_grid_exit_2(capsys):
    assert main(["sweep", "--grid", "B=8", "--executor", "spark", "--out", "/tmp/x-never"]) == 2
    assert "spark" in capsys.readouterr().err
    assert main(["sweep", "--grid", "nope=1"]) == 2
