"""vaebounds sweep: grid, resumability, summary files, executors."""

import json

import pytest

from empirical.cli import main
from empirical.conclusion import combined_exit_code
from empirical.errors import ConfigError
from empirical.settings import Settings
from empirical.sweep import check_grid, parse_axis, points, run_sweep


def test_parse_axis_and_points():
    """Grid names are the theory's (B, K, beta, s, C_gamma) and seed, mapped by the vocabulary table."""
    assert parse_axis("B=8,32") == ("batch_size", (8, 32))
    assert parse_axis("C_gamma=0.01") == ("C_gamma", (0.01,))
    assert parse_axis("K=1,5") == ("K", (1, 5))
    grid = dict([parse_axis("B=8,32"), parse_axis("seed=0,1,2")])
    pts = list(points(Settings(), grid))
    assert len(pts) == 6 == check_grid(Settings(), grid) and {p.batch_size for p in pts} == {8, 32}
    for bad in ("B", "Q=1", "B=x", "K=", "batch_size=8", "lr_constant=0.1", "B=8,8"):
        with pytest.raises(ConfigError):
            parse_axis(bad)
    with pytest.raises(ConfigError, match="samples"):
        check_grid(Settings(), {"K": (0,)})
    with pytest.raises(ConfigError, match=r"K \(--samples\) > 1 applies to the gaussian, beta and iwae"):
        check_grid(Settings(model="linear"), {"batch_size": (8, 16), "K": (1, 2)})


@pytest.mark.slow
def test_sweep_is_resumable(small_npy, tmp_path):
    base = Settings(data=str(small_npy), steps=40, runs=4)  # 4 runs: a verdict (2 are too few here)
    grid = {"batch_size": (4, 16)}
    rows = run_sweep(base, grid, tmp_path)
    assert [r["batch_size"] for r in rows] == [4, 16]
    assert all(r["exit_code"] == 0 and r["verdict"] == "holds at the estimated constants" for r in rows)
    assert all(len(r["per_seed"]) == 4 and r["observed_hi"] <= r["bound"] for r in rows)
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert len(lines) == 2
    # a larger grid reuses the two finished points and runs only the new one
    said = []
    rows = run_sweep(base, {"batch_size": (4, 16, 32)}, tmp_path, progress=said.append)
    assert "2 already done" in said[0]
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 3
    summary = (tmp_path / "summary.csv").read_text().splitlines()
    assert len(summary) == 4 and summary[0].startswith("B,")
    assert (tmp_path / "sweep.png").stat().st_size > 5_000
    (tmp_path / "results.jsonl").write_text('{"no key": 1}\n')
    with pytest.raises(ConfigError, match="line 1"):
        run_sweep(base, grid, tmp_path)


@pytest.mark.slow
def test_sweep_cli_prints_the_rows_in_grid_order_with_the_combined_exit_code(small_npy, tmp_path, capsys):
    """The local executor; the same with Dask (rows finishing in any order) is in test_sweep_dask.py."""
    code = main(
        [
            "sweep",
            "--data",
            str(small_npy),
            "--steps",
            "30",
            "--seeds",
            "2",
            "--grid",
            "seed=0,1",
            "--executor",
            "local",
            "--no-stress",  # the rows' order and exit code, not the stress search
            "--out",
            str(tmp_path),
            "--json",
            "--quiet",
        ]
    )
    rows = json.loads(capsys.readouterr().out)
    assert [r["seed"] for r in rows] == [0, 1]
    assert code == combined_exit_code(r["exit_code"] for r in rows)


def test_combined_exit_code():
    """1 (a violation anywhere) > 3 (a point without a verdict) > 4 (an inconclusive point) > 0."""
    assert (
        combined_exit_code([0, 3]) == 3
        and combined_exit_code([1, 3, 0]) == 1
        and combined_exit_code([0]) == 0
        and combined_exit_code([0, 4]) == 4
        and combined_exit_code([4, 3]) == 3
        and combined_exit_code([4, 1]) == 1
    )


def test_approximate_ok_reaches_every_point_and_keys_it(small_npy, tmp_path, monkeypatch):
    """run_sweep(approximate_ok=True) summarises each point with approximate_ok and keys its rows
    apart from the rows of a sweep without it (the verdict differs), so neither resumes the other."""
    import empirical.sweep as sweep

    base = Settings(data=str(small_npy), steps=10, runs=1)
    seen = []

    def fake(settings, approximate_ok=False):
        seen.append(approximate_ok)
        key = sweep.key(settings, approximate_ok)
        return {**settings.as_dict(), "key": key, "verdict": "holds", "ratio": 2.0, "exit_code": 0}

    monkeypatch.setattr(sweep, "summarise", fake)
    monkeypatch.setattr(sweep, "write_summary", lambda rows, folder, axes: None)
    grid = {"batch_size": (4, 8)}
    run_sweep(base, grid, tmp_path)
    run_sweep(base, grid, tmp_path, approximate_ok=True)
    assert seen == [False, False, True, True]
    assert sweep.key(base, True) != sweep.key(base) and json.loads(sweep.key(base, True))["approximate_ok"]


def test_sweep_bad_executor_and_grid_exit_2(capsys):
    assert main(["sweep", "--grid", "B=8", "--executor", "spark", "--out", "/tmp/x-never"]) == 2
    assert "spark" in capsys.readouterr().err
    assert main(["sweep", "--grid", "nope=1"]) == 2


def test_a_truncated_last_line_is_reported_and_its_point_runs_again(small_npy, tmp_path, monkeypatch):
    """A write cut short leaves a partial last line: named with its file, dropped, rerun."""
    import empirical.sweep as sweep

    base = Settings(data=str(small_npy), steps=10, runs=1)
    ran = []

    def fake(settings):
        ran.append(settings.batch_size)
        return {
            **settings.as_dict(),
            "key": sweep.key(settings),
            "verdict": "holds",
            "ratio": 2.0,
            "exit_code": 0,
        }

    monkeypatch.setattr(sweep, "summarise", fake)
    monkeypatch.setattr(sweep, "write_summary", lambda rows, folder, axes: None)
    grid = {"batch_size": (4, 8, 16)}
    run_sweep(base, grid, tmp_path)
    results = tmp_path / "results.jsonl"
    lines = results.read_text().splitlines()
    results.write_text(lines[0] + "\n" + lines[1] + "\n" + lines[2][:25])  # kill -9 mid-write
    said, ran[:] = [], []
    rows = run_sweep(base, grid, tmp_path, progress=said.append)
    assert any(str(results) in m and "line 3" in m and "incomplete" in m for m in said), said
    assert ran == [16] and [r["batch_size"] for r in rows] == [4, 8, 16]
    assert [json.loads(line)["batch_size"] for line in results.read_text().splitlines()] == [4, 8, 16]
    results.write_text(lines[0] + "\n{not json\n" + lines[2] + "\n")  # a bad line inside: refused
    with pytest.raises(ConfigError, match=r"results.jsonl, line 2"):
        run_sweep(base, grid, tmp_path)


def test_bad_grids_are_refused_before_anything_is_written(tmp_path, capsys):
    for grid in (["C_gamma=-1"], ["B=8,8"], ["B=8", "B=16"], ["K=1,99999999999999999999999"]):
        argv = ["sweep", *(f"--grid={g}" for g in grid), "--out", str(tmp_path / "s")]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--grid" in err, err
    assert not (tmp_path / "s").exists()


# ------------------------------------------------------------ issue 21: items 3 and 7


@pytest.mark.parametrize(
    "grid, option, words",
    [
        ("B=8,16", ["--batch-size", "16"], "--grid B=8,16 and --batch-size 16 both set batch_size; give one"),
        ("seed=0,1", ["--seed", "3"], "--grid seed=0,1 and --seed 3 both set seed; give one"),
        (
            "C_gamma=0.1",
            ["--lr-constant", "0.2"],
            "--grid C_gamma=0.1 and --lr-constant 0.2 both set C_gamma",
        ),
    ],
)
def test_a_grid_axis_and_the_same_option_are_refused_together(grid, option, words, tmp_path, capsys):
    """The axis used to replace the option silently at every point."""
    assert main(["sweep", "--grid", grid, *option, "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    "grid, words",
    [
        (["seed=" + ",".join(map(str, range(20_000)))],
         "--grid has 20000 points (seed: 20000), above the limit"),
        (["B=" + ",".join(map(str, range(1, 201))), "K=" + ",".join(map(str, range(1, 101)))],
         "--grid has 20000 points (B: 200 x K: 100), above the limit of 10000; split the study"),
    ],
)  # fmt: skip
def test_a_grid_above_its_size_limit_is_refused_at_once(grid, words, tmp_path, capsys):
    argv = ["sweep", *(f"--grid={g}" for g in grid), "--out", str(tmp_path / "s")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err
    assert not (tmp_path / "s").exists()


class Stop(BaseException):
    pass


@pytest.fixture
def lazy_sweep(monkeypatch):
    """Counts Settings built and prepare calls; points "run" instantly, every third stops the sweep."""
    import empirical.pipeline.pipeline as pipeline_module
    import empirical.sweep as sweep

    counts = {"settings": 0, "prepare": 0, "points": 0}
    original = Settings.__post_init__

    def counted(self):
        counts["settings"] += 1
        original(self)

    def prepare(settings, *args, **kwargs):
        counts["prepare"] += 1

    def summarise(settings):
        counts["points"] += 1
        if counts["points"] % 3 == 0:
            raise Stop()
        return {
            **settings.as_dict(),
            "key": sweep.key(settings),
            "verdict": "holds",
            "ratio": 2.0,
            "exit_code": 0,
        }

    monkeypatch.setattr(Settings, "__post_init__", counted)
    monkeypatch.setattr(pipeline_module, "prepare", prepare)
    monkeypatch.setattr(sweep, "summarise", summarise)
    return counts


GRID_10K = ["B=" + ",".join(map(str, range(1, 101))), "seed=" + ",".join(map(str, range(100)))]


def test_a_large_grid_says_its_size_at_once_then_one_line_per_finished_point(lazy_sweep, tmp_path, capsys):
    """10 000 points: each axis value checked once (200 settings, not 10 000), the data and
    memory once, the count printed before the first point runs, then a line per point."""
    argv = ["sweep", *(f"--grid={g}" for g in GRID_10K), "--out", str(tmp_path / "s")]
    with pytest.raises(Stop):
        main(argv)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "vaebounds: sweep: 10000 points (B: 100 x seed: 100), 0 already done, 10000 to run",
        "vaebounds: sweep: point 1/10000 done (B=1, seed=0): holds, ratio 2",
        "vaebounds: sweep: point 2/10000 done (B=1, seed=1): holds, ratio 2",
    ]
    assert lazy_sweep["prepare"] == 1
    assert lazy_sweep["settings"] <= 1 + 200 + 1 + 3  # the base, each axis value, the largest point, 3 points
    assert len((tmp_path / "s" / "results.jsonl").read_text().splitlines()) == 2
    # resumed: the two finished points are counted, not run again
    with pytest.raises(Stop):
        main([*argv, "--quiet"])
    assert capsys.readouterr().err == ""  # --quiet: no progress at all
    assert len((tmp_path / "s" / "results.jsonl").read_text().splitlines()) == 4
    with pytest.raises(Stop):
        main(argv)
    assert capsys.readouterr().err.splitlines()[0] == (
        "vaebounds: sweep: 10000 points (B: 100 x seed: 100), 4 already done, 9996 to run"
    )


def test_a_sweep_of_a_users_module_checks_its_data_without_building_a_built_in_model(
    small_npy, tmp_path, monkeypatch
):
    """The data check used to build the point's built-in model: KeyError 'conv', a traceback."""
    import empirical.sweep as sweep

    ran = []

    def summarise(settings):
        ran.append(settings.seed)
        return {
            **settings.as_dict(),
            "key": sweep.key(settings),
            "verdict": "holds",
            "ratio": 2.0,
            "exit_code": 0,
        }

    monkeypatch.setattr(sweep, "summarise", summarise)
    monkeypatch.setattr(sweep, "write_summary", lambda rows, folder, axes: None)
    rows = run_sweep(Settings(model="conv", data=str(small_npy), steps=10), {"seed": (0, 1)}, tmp_path)
    assert ran == [0, 1] and [r["seed"] for r in rows] == [0, 1]


def test_a_point_whose_training_diverges_is_not_covered_and_the_sweep_goes_on(
    small_npy, tmp_path, monkeypatch
):
    """A diverging step stopped the sweep with exit 2 half-way (no summary, no figure), and
    resuming hit the same point again: it is now a row, not covered, with the message."""
    import empirical.runner as runner
    from empirical.errors import DivergenceError

    real = runner.verify
    ran = []

    def verify(settings, **kw):
        ran.append(settings.C_gamma)
        if settings.C_gamma > 0.1:
            raise DivergenceError("training diverged at step 1 (run of seed 0): full-data loss 4e4")
        return real(settings, **kw)

    monkeypatch.setattr(runner, "verify", verify)
    base = Settings(data=str(small_npy), steps=20, runs=2, stress=False)
    grid = {"C_gamma": (0.001, 0.5)}
    rows = run_sweep(base, grid, tmp_path)
    good, bad = rows
    assert good["ratio"] > 0 and good.get("diverged") is None
    assert (bad["verdict"], bad["exit_code"], bad["bound"], bad["ratio"]) == ("not covered", 3, None, None)
    assert bad["diverged"].startswith("training diverged at step 1")
    assert combined_exit_code(r["exit_code"] for r in rows) == 3
    summary = (tmp_path / "summary.csv").read_text().splitlines()
    assert summary[0].endswith(",verdict,diverged") and summary[2].startswith(
        "0.5,0.5,,,,,,not covered,training"
    )
    assert (tmp_path / "sweep.png").stat().st_size > 0
    ran.clear()
    assert run_sweep(base, grid, tmp_path) == rows and ran == []  # resumed: nothing runs again
