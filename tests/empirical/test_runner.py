"""Which front end trains a setting (empirical/runner.py): the built-in models go to the batched
pipeline, conv and FILE.py:NAME to the user-model driver; an own loop's settings are refused."""

from __future__ import annotations

import pytest

import empirical.pipeline.pipeline as pipeline_module
import empirical.user_model as user_model_module
from empirical import runner
from empirical.errors import ConfigError
from empirical.settings import Settings


class Reached(Exception):
    pass


def test_the_source_picks_the_front_end(monkeypatch, small_npy):
    calls = []

    def built_in(settings, progress, **_):
        calls.append(("pipeline", settings.model))
        raise Reached

    def user(settings, X, progress, *_, **__):
        calls.append(("user_model", settings.model, tuple(X.shape)))
        raise Reached

    monkeypatch.setattr(pipeline_module, "verify", built_in)
    monkeypatch.setattr(user_model_module, "verify_user_model", user)
    for model in ("gaussian", "conv"):
        with pytest.raises(Reached):
            runner.verify(Settings(model=model, data=str(small_npy), steps=5))
    assert calls == [("pipeline", "gaussian"), ("user_model", "conv", (160, 8))]  # the training rows


def test_an_own_loop_and_a_replaced_module_are_refused():
    own = Settings.own_loop("VAE (user module)", "torch.optim.SGD", "user data (9 rows x 2)", 10, 4, 0, 1)
    with pytest.raises(ConfigError, match="own loop"):
        runner.verify(own)
    with pytest.raises(ConfigError, match="model="):
        runner.verify(Settings(model="conv", steps=5), model=object())
