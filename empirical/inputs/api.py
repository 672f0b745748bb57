"""The arguments of the public functions, with their ranges (listed in
docs/inputs.md); the functions check their arguments against these entries."""

from __future__ import annotations

import math
from typing import Any

from empirical.inputs.limits import (
    HIDDEN_DEFAULT,
    LATENT_DEFAULT,
    MAX_BATCH,
    MAX_PARAMS,
    MAX_REAL,
    MAX_SAMPLES,
    MAX_SEEDS,
    MAX_STEPS,
    MAX_WIDTH,
    SEED_MAX,
)
from empirical.inputs.rules import Choice, Input, Number, Text, Whole

#: Arguments of the public functions, by function: (argument, rule, meaning).
API: dict[str, tuple[Input, ...]] = {
    "empirical.models.make": (
        Input("kind", Choice(lambda: ("linear", "gaussian", "iwae")), None, "the model family"),
        Input("data_dim", Whole(1, MAX_WIDTH), None, "columns of the data"),
        Input(
            "latent_dim",
            Whole(1, MAX_WIDTH),
            None,
            "latent dimension (at most data_dim)",
            optional=True,
            unset=f"min({LATENT_DEFAULT}, data_dim)",
        ),  # fmt: skip
        Input("hidden", Whole(1, MAX_WIDTH), (HIDDEN_DEFAULT,), "width of each hidden layer"),
        Input("K", Whole(1, MAX_SAMPLES), 1, "variational samples"),
        Input("c", Number(0.0, MAX_REAL), 1.0, "decoder standard deviation"),
        Input("beta", Number(0.0, MAX_REAL, closed=True), 1.0, "KL weight"),
        Input("s", Number(0.0, MAX_REAL), 1.0, "soft-clip sharpness"),
        Input("n_params", Whole(1, MAX_PARAMS), None, "parameters of the model (checked before allocation)"),
    ),
    "empirical.train.train": (
        Input("steps", Whole(1, MAX_STEPS), None, "iterations"),
        Input("batch_size", Whole(1, MAX_BATCH), 128, "batch size"),
        Input("C_gamma", Number(0.0, math.inf), None, "step constant"),
        Input("box", Number(0.0, math.inf), None, "box radius", optional=True),
        Input("seed", Whole(0, SEED_MAX), 0, "seed of the first run"),
        Input("seeds", Whole(1, MAX_SEEDS), 1, "runs R"),
    ),
    "empirical.track": (
        Input("seed", Whole(0, SEED_MAX), 0, "seed of the record gradients' rows and noise"),
        Input("batch_size", Whole(1, MAX_BATCH), None, "B of the user's minibatches", optional=True),
        Input("record_growth", Number(1.0, 10.0, closed=True), 1.3, "record steps grow by this factor"),
        Input("record_gradients", Whole(3, MAX_SAMPLES), 4, "full-data gradients m per record (jackknife)"),
        Input("record_rows", Whole(1, MAX_BATCH), None, "rows per record gradient", optional=True),
        Input("snapshots", Whole(2, MAX_SAMPLES), 8, "parameter snapshots kept besides theta_0"),
    ),
    "empirical.data.load": (
        Input(
            "name_or_path",
            Text("a data set name, a .npy/.csv path, or an array"),
            None,
            "the data (every file rule above; arrays: numeric, 2-D, finite, |x| <= 1e6)",
        ),
    ),
    "empirical.estimators (every public function)": (
        Input("confidence", Number(0.0, 1.0, hi_open=True), 0.95, "level of the interval"),
        Input("seed", Whole(0, SEED_MAX), 0, "seed of the draws"),
        Input("n_examples", Whole(1, MAX_BATCH), None, "rows used (default: all, or 256)", optional=True),
        Input("mc_samples", Whole(1, MAX_SAMPLES), 4, "noise draws per row"),
    ),
    "theory.Bound.evaluate / numpy, theory.rates": (
        Input(
            "each constant",
            Text("a real number (numpy: an array) in its symbol's domain"),
            None,
            "bools, strings, NaN, inf, values too large for a float and values outside the domain "
            "(n = -1, B = 2.5) raise theory.errors.AssumptionViolation; unknown names UnknownNameError",
        ),
    ),
}


def api_entry(function: str, name: str) -> Input:
    """The inventory entry ``name`` of ``function`` (its rule and its default)."""
    for entry in API[function]:
        if entry.name == name:
            return entry
    raise KeyError(f"{function} has no inventory entry {name!r}")


def check_api(function: str, name: str, value: Any) -> Any:
    """``value`` checked against the inventory entry ``name`` of ``function``."""
    return api_entry(function, name).check(value, f"option {name}")
