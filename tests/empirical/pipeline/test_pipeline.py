"""The built-in models' front end (empirical/pipeline/pipeline.py): what it refuses, and the
optimizer of its batched runs as the theorems see it."""

from __future__ import annotations

import pytest

from empirical.errors import ConfigError
from empirical.pipeline import pipeline
from empirical.pipeline.pilot import choose
from empirical.progress import silent
from empirical.settings import Settings


def test_the_pipeline_trains_the_built_in_models_only():
    with pytest.raises(ConfigError, match="empirical.runner"):
        pipeline.verify(Settings(model="conv", steps=5))
    with pytest.raises(ConfigError, match="steps"):
        pipeline.verify(Settings(steps=1))


@pytest.mark.parametrize(
    "settings, algorithm, implementation, steps",
    [
        (Settings(C_gamma=0.1), "", "batched SGD", "sqrt"),
        (Settings(optimizer="adam"), "adam-defossez", "batched Adam (defossez)", "constant"),
        (Settings(optimizer="adam", variant="torch"), "torch.optim.Adam", "batched Adam (torch)", "constant"),
        (Settings(optimizer="adam", variant="delayed"), "adam-delayed", "batched Adam (delayed)", "sqrt"),
        (Settings(optimizer="adagrad"), "adagrad-defossez", "batched Adagrad (defossez)", "constant"),
    ],
)
def test_the_batched_optimizer_as_the_theorems_see_it(settings, algorithm, implementation, steps):
    step = choose(settings, None, silent)
    run = pipeline.optimizer_run(settings, step)
    assert (run.family, run.algorithm, run.implementation, run.steps) == (
        settings.optimizer,
        algorithm,
        implementation,
        steps,
    )
    assert run.lr == step.C_gamma and run.box is None
    if settings.optimizer != "sgd":
        assert run.options["eps"] == 1e-8
    boxed = pipeline.optimizer_run(
        Settings(C_gamma=0.1, box=0.5), choose(Settings(C_gamma=0.1), None, silent)
    )
    assert boxed.box == 0.5
