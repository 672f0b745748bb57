"""The figures' computations (intervals, pooling, axis choices) against closed
forms, the sweep figure drawn from rows alone, and what a paper needs of every
figure, read off the Figure objects: titles in words, legends outside the
axes, the loss on a log axis, a visible interval band reaching the bottom of a
log axis when its lower end is <= 0, the rate of a constant bound said in
words, and one style dict a user can override."""

import dataclasses

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.image import imread
from scipy import stats

import theory
from empirical import inputs
from empirical.compare import RateFit
from empirical.pipeline import verify
from empirical.report import figures, names, sweep_figure, verify_figures
from empirical.settings import Settings
from theory.catalog import registered

HOLDS, VIOLATED, NOT_COVERED = "holds at the estimated constants", "violated", "not covered"


def test_t_band_is_the_student_interval_of_the_mean_at_every_index():
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(5, 7))
    mean, lo, hi = figures.t_band(samples, 0.9)
    for j in range(7):
        a, b = stats.t.interval(0.9, 4, loc=samples[:, j].mean(), scale=stats.sem(samples[:, j]))
        assert mean[j] == pytest.approx(samples[:, j].mean()) and (lo[j], hi[j]) == pytest.approx((a, b))
    one = figures.t_band(samples[:1])
    assert np.array_equal(one[0], one[1]) and np.array_equal(one[0], one[2])


@pytest.mark.parametrize(
    "values, log",
    [
        ((8, 32, 128), True),
        ((1, 10, 100, 1000), True),
        ((0.5, 1, 4), False),
        ((1, 5, 10), False),
        ((1, 2), False),
        ((1, 8), True),
        ((0, 1, 10), False),
        ((3,), False),
    ],  # fmt: skip
)
def test_log_axis_only_for_geometric_grids(values, log):
    assert sweep_figure.is_geometric(values) is log


def _row(B, seed, per_seed, bound, verdict):
    mean, lo, hi = (float(v[0]) for v in figures.t_band(np.asarray(per_seed)[:, None]))
    return {"B": B, "seed": seed, "per_seed": per_seed, "observed": mean, "observed_lo": lo - 0.01,
            "observed_hi": hi + 0.01, "bound": bound, "verdict": verdict}  # fmt: skip


def test_seeds_are_pooled_over_every_run_and_the_worst_verdict_wins():
    rows = [
        _row(8, 0, [1.0, 2.0], 10.0, HOLDS),
        _row(8, 1, [3.0, 4.0], 14.0, NOT_COVERED),
        _row(32, 0, [1.0, 1.5], 9.0, HOLDS),
        _row(32, 1, [2.0, 2.5], 9.5, VIOLATED),
    ]
    pooled = {r["B"]: r for r in sweep_figure.pool_seeds(rows, ["B", "seed"])}
    a, b = stats.t.interval(0.95, 3, loc=2.5, scale=stats.sem([1.0, 2.0, 3.0, 4.0]))
    assert pooled[8]["observed"] == pytest.approx(2.5) and pooled[8]["runs"] == 4
    assert (pooled[8]["observed_lo"], pooled[8]["observed_hi"]) == pytest.approx((a, b))
    assert (pooled[8]["bound"], pooled[8]["bound_lo"], pooled[8]["bound_hi"]) == (12.0, 10.0, 14.0)
    assert pooled[8]["verdict"] == NOT_COVERED and pooled[32]["verdict"] == VIOLATED
    # without a seed axis a point keeps its own reported interval
    alone = sweep_figure.pool_seeds(rows[:1], ["B"])[0]
    assert (alone["observed_lo"], alone["observed_hi"]) == (rows[0]["observed_lo"], rows[0]["observed_hi"])


def test_a_bound_far_above_the_data_is_detected():
    data = np.array([[10.0, 5.0, -1.0], [12.0, 4.0, 2.0]])
    assert verify_figures.far_above(np.array([1e4, 1e3, 500.0]), data)
    assert not verify_figures.far_above(np.array([1e4, 1e3, 100.0]), data)  # 100 < 30 x 12
    assert not verify_figures.far_above(np.array([np.nan, np.inf, -1.0]), data)


def test_an_upper_end_far_above_the_runs_is_drawn_as_an_arrow():
    """A few very different runs can put the decision rule's upper end hundreds of decades up
    (1.7e294 over runs near 1e18, on unscaled data): drawn to its end, the log axis cannot scale
    (matplotlib overflows and shows [1, 10], none of the data); an arrow keeps the runs in view."""
    runs = np.array([[1e18, 2e18], [1e10, 3e10]])
    assert verify_figures.open_top(np.inf, runs)
    assert verify_figures.open_top(1.7e294, runs)
    assert verify_figures.open_top(2.1e24, runs) and not verify_figures.open_top(1.9e24, runs)  # 1e6 x 2e18
    assert not verify_figures.open_top(5.0, np.array([[1.0, 2.0]]))
    assert not verify_figures.open_top(5.0, np.array([[-1.0, 0.0]]))  # nothing positive: only inf is open


def test_only_the_constants_the_bound_uses_are_drawn():
    named = {"L": 1, "sigma2_data": 2, "sigma2_mc": 3, "M": 4, "R": 5, "Delta": 6}
    assert verify_figures.constants_used(named, {"Delta": "hi", "L": "hi", "sigma2_mc": "lo"}) == [
        "L",
        "sigma2_mc",
        "Delta",
    ]


def test_sweep_figure_from_rows(tmp_path):
    rows = [_row(B, seed, [1.0 + seed, 2.0], 50.0 / B, HOLDS if B < 128 else VIOLATED)
            for B in (8, 32, 128) for seed in (0, 1)]  # fmt: skip
    for r in rows:
        r["K"] = 1 if r["seed"] == 0 else 2
    for r in rows:
        r.update(model="gaussian", optimizer="sgd", variant="defossez", box=None, activation="softclip")
    fig = sweep_figure.plot_sweep(rows, ["B", "K"], tmp_path / "sweep.png")
    assert (tmp_path / "sweep.png").stat().st_size > 10_000
    assert fig.get_suptitle().startswith("sweep, Gaussian VAE, SGD: bound and observed")
    _assert_legends_outside(fig)


def test_a_sweep_figure_draws_at_most_its_panel_limit_and_says_so(tmp_path):
    rows = [_row(B, 0, [1.0, 2.0], 10.0, HOLDS) | {"K": K} for B in (8, 32) for K in range(1, 21)]
    fig = sweep_figure.plot_sweep(rows, ["B", "K"], tmp_path / "sweep.png")
    assert sum(ax.get_visible() for ax in fig.axes) == sweep_figure.MAX_PANELS == 12
    assert "the first 12 of 20 panels" in fig.get_suptitle()


# ------------------------------------------------------------ what a paper needs


@pytest.fixture(scope="module")
def sgd_result(small_npy):
    return verify(Settings(data=str(small_npy), steps=30, runs=2))


@pytest.fixture(scope="module")
def adam_result(small_npy):
    return verify(Settings(data=str(small_npy), steps=30, runs=2, optimizer="adam"))


def _assert_legends_outside(fig):
    """No legend's box overlaps the box of any visible axes (so none covers the bound) or an x label."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    assert legends
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            if ax.get_visible():
                assert not box.overlaps(ax.get_window_extent(renderer)), legend.get_texts()[0].get_text()
                assert not box.overlaps(ax.xaxis.label.get_window_extent(renderer)), ax.xaxis.label


def _band(ax):
    (band,) = [c for c in ax.collections if "t-interval" in str(c.get_label())]
    return band


@pytest.mark.parametrize(
    "settings, title",
    [
        (Settings(), "Gaussian VAE, SGD"),
        (Settings(model="linear"), "linear VAE, SGD"),
        (Settings(model="iwae", optimizer="adagrad"), "IWAE, Adagrad (Défossez et al.'s form)"),
        (Settings(model="beta", optimizer="adam", variant="delayed"),
         "β-VAE (β = 4), Adam, delayed preconditioner"),
        (Settings(optimizer="adam", variant="torch", activation="relu"),
         "Gaussian VAE (ReLU), Adam (torch.optim.Adam)"),
        (Settings(box=0.5), "Gaussian VAE, projected SGD (a = 0.5)"),
        (Settings(model="conv"), "convolutional VAE, SGD"),
    ],
)  # fmt: skip
def test_titles_name_the_run_in_words(settings, title):
    assert names.run_name(settings) == title


def test_every_model_optimizer_variant_and_theorem_has_a_plain_name():
    """One naming table: nothing the CLI can run, and no theorem, falls back to its code name."""
    for model in inputs.MODELS:
        assert model in names.MODEL_NAMES
    assert inputs.CONV in names.MODEL_NAMES
    variants = {"sgd": (None,), "adam": inputs.ADAM_VARIANTS, "adagrad": inputs.ADAGRAD_VARIANTS}
    for optimizer in inputs.OPTIMIZERS:
        for variant in variants[optimizer]:
            assert (optimizer, variant) in names.OPTIMIZER_NAMES
    for model, optimizer, variant in registered():
        assert names.theorem_key(optimizer, variant) in names.THEOREM_NAMES
        name = names.theorem_name(theory.bound(model, optimizer, variant=variant or None))
        assert "/" not in name and name.endswith(")")
    assert names.run_name({"model": "tmp/vae.py:make", "optimizer": "torch.optim.SGD"}) == (
        "your model vae.py:make, torch.optim.SGD"
    )


def test_convergence_figure_titles_legends_band_and_log_axis(sgd_result, tmp_path):
    fig = verify_figures.plot_convergence(sgd_result, tmp_path / "c.png")
    top, bottom = fig.axes
    assert fig.get_suptitle().startswith("Gaussian VAE, SGD: 2 run(s)")
    assert top.get_yscale() == "log" and bottom.get_yscale() == "log"
    labels = [t.get_text() for t in top.get_legend().get_texts()]
    assert not any("/" in label.split("(")[0] for label in labels if label.startswith("bound"))
    _assert_legends_outside(fig)
    band = _band(top)
    runs = [line for line in top.get_lines() if line.get_label() == "observed: each run"]
    (mean,) = [line for line in top.get_lines() if line.get_label().startswith("observed: mean")]
    assert band.get_alpha() == figures.BAND_ALPHA >= 0.25
    assert runs and all(line.get_zorder() < band.get_zorder() < mean.get_zorder() for line in runs)


def test_the_bound_line_is_drawn_with_the_theorem_named_and_no_legend_over_it(sgd_result, tmp_path):
    """The bound drawn near the data (a result whose bound curve is 3 x the observed runs)."""
    avg = np.asarray(sgd_result.extras["running_averages"])
    near = dataclasses.replace(sgd_result, extras={**sgd_result.extras, "bound_curve": 3 * avg.max(0)})
    fig = verify_figures.plot_convergence(near, tmp_path / "c.png")
    (bound,) = [line for line in fig.axes[0].get_lines() if line.get_label().startswith("bound")]
    assert bound.get_label() == "bound: SGD theorem (Surendran et al.)"
    _assert_legends_outside(fig)


def test_a_band_whose_lower_end_is_not_positive_reaches_the_bottom_of_the_log_axis(sgd_result, tmp_path):
    base = np.asarray(sgd_result.extras["running_averages"])[0]
    spread = np.stack([base, 0.1 * base])  # two runs far apart: the t-interval's lower end is < 0
    assert np.all(figures.t_band(spread)[1] < 0)
    result = dataclasses.replace(sgd_result, extras={**sgd_result.extras, "running_averages": spread})
    fig = verify_figures.plot_convergence(result, tmp_path / "c.png")
    ax = fig.axes[0]
    band = _band(ax)
    assert band.get_label().endswith("(lower end <= 0: drawn to the bottom)")
    lowest = min(path.vertices[:, 1].min() for path in band.get_paths())
    assert lowest == pytest.approx(ax.get_ylim()[0], rel=1e-12)


def test_a_constant_rate_in_n_is_said_in_words(adam_result, tmp_path):
    assert adam_result.rate.theory == "1"
    fig = verify_figures.plot_convergence(adam_result, tmp_path / "c.png")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    (slope,) = [label for label in labels if label.startswith("fitted slope")]
    assert slope.endswith("(theory: bound constant in n, slope 0)") and "(theory: 1)" not in slope
    sgd = RateFit(-0.5, -0.6, -0.4, "log(n)/sqrt(n)", -0.5, 10)
    assert verify_figures.rate_text(sgd) == "theory: log(n)/sqrt(n), slope -0.5"
    schedule = RateFit(-0.4, -0.5, -0.3, "the schedule's (through S1 and S2)", float("nan"), 10)
    assert verify_figures.rate_text(schedule) == "theory: the schedule's (through S1 and S2)"


def test_training_loss_on_a_log_axis_or_symlog_when_it_is_not_positive(sgd_result, tmp_path):
    fig = verify_figures.plot_training(sgd_result, tmp_path / "t.png")
    loss, norms = fig.axes
    assert loss.get_yscale() == "log" and norms.get_yscale() == "log"
    assert fig.get_suptitle().startswith("training: Gaussian VAE, SGD")
    _assert_legends_outside(fig)
    runs = sgd_result.runs
    shifted = dataclasses.replace(runs, loss=runs.loss - 1e3, full_loss=runs.full_loss - 1e3)
    fig = verify_figures.plot_training(dataclasses.replace(sgd_result, runs=shifted), tmp_path / "t.png")
    assert fig.axes[0].get_yscale() == "symlog"
    assert fig.axes[0].get_title() == "loss (symlog axis: the loss takes values <= 0)"


def test_the_style_is_one_dict_a_user_overrides(sgd_result, tmp_path, monkeypatch):
    fig = verify_figures.plot_constants(sgd_result, tmp_path / "a.png")
    assert fig.axes[0].title.get_fontsize() == figures.STYLE["axes.titlesize"] == 10
    width = imread(tmp_path / "a.png").shape[1]
    monkeypatch.setitem(figures.STYLE, "savefig.dpi", figures.STYLE["savefig.dpi"] // 2)
    verify_figures.plot_constants(sgd_result, tmp_path / "b.png")
    assert imread(tmp_path / "b.png").shape[1] == pytest.approx(width / 2, abs=2)
    monkeypatch.setitem(figures.STYLE, "axes.titlesize", 17)
    fig = verify_figures.plot_constants(sgd_result, tmp_path / "c.png")
    assert fig.axes[0].title.get_fontsize() == 17


def test_an_infinite_upper_end_is_drawn_as_an_arrow_and_written_as_inf(sgd_result, tmp_path):
    """The rule's upper end may be inf (a lognormal end that overflows): the figure says so in its
    label and draws no bar to infinity; report.json writes the end as the string "inf" (strict
    JSON, float() reads it back)."""
    import json
    import math

    from empirical.report.content import json_number, report_json

    obs = dataclasses.replace(sgd_result.observed, hi=math.inf)
    result = dataclasses.replace(sgd_result, observed=obs)
    fig = verify_figures.plot_convergence(result, tmp_path / "c.png")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(
        label.startswith("observed at n:") and label.endswith(", inf] (^: to inf)") for label in labels
    )
    data = report_json(result)
    text = json.dumps(data, allow_nan=False)  # no Infinity token anywhere
    assert json.loads(text)["empirical"]["hi"] == "inf" and float(data["empirical"]["hi"]) == math.inf
    assert (json_number(-math.inf), json_number(2.5)) == ("-inf", 2.5)
    with pytest.raises(ValueError, match="NaN"):
        json_number(math.nan)


def test_constants_along_run_one_thin_line_per_run_the_runs_value_dashed_the_stressed_marked(
    sgd_result, tmp_path
):
    fig = verify_figures.plot_constants_along_run(sgd_result, tmp_path / "a.png")
    along, search = sgd_result.stress.along, sgd_result.stress.search
    assert fig.get_suptitle().startswith("Gaussian VAE, SGD: the constants at every snapshot of every run")
    assert [ax.get_title(loc="left") for ax in fig.axes] == [
        names.constant_name(along.mc_name if c == "mc" else c) for c in along.columns()
    ]
    _assert_legends_outside(fig)
    for ax, column in zip(fig.axes, along.columns(), strict=True):
        assert ax.get_xscale() == "symlog"
        runs = [line for line in ax.get_lines() if line.get_label().startswith("seed ")]
        assert [line.get_label() for line in runs] == ["seed 0", "seed 1"]
        for i, line in enumerate(runs):  # each run's values at its snapshots, against the step
            np.testing.assert_array_equal(line.get_ydata(), along.series(column)[i])
        name = along.mc_name if column == "mc" else column
        dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
        if name in sgd_result.stress.run_constants.named():
            (own,) = dashed
            assert own.get_ydata()[0] == sgd_result.stress.run_constants.named()[name].value
        if name in search.named():
            (star,) = [line for line in ax.get_lines() if line.get_marker() == "*"]
            assert star.get_ydata()[0] == search.named()[name].stressed.value
            assert star.get_label().startswith(f"stressed {name}: ")
