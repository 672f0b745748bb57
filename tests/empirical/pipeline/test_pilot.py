"""The one pilot (empirical/pipeline/pilot.py): SGD's C_gamma = min(C*, 1/(2L)) from the largest
upper ends over the initialisations, against the closed form of the generic SGD bound's
minimiser; Adam's and Adagrad's settings; the VAE's measurement at each initialisation."""

from __future__ import annotations

import math

import pytest

from empirical.models import make
from empirical.pipeline import pilot
from empirical.pipeline.pilot import L_MARGIN, PilotPoint, choose, from_pilot
from empirical.progress import silent
from empirical.settings import Settings


def c_star(L: float, sigma2: float, Delta: float, n: int) -> float:
    """The minimiser of (C^2 L sigma2 (1 + log n) + 2 Delta) / (C sqrt(n)) over C."""
    return math.sqrt(2 * Delta / (L * sigma2 * (1 + math.log(n))))


def test_the_step_is_the_bounds_minimiser_clipped_to_one_over_margin_L():
    assert L_MARGIN == 2.0
    noisy = [PilotPoint(3.0, 50.0, 5.0, True), PilotPoint(1.0, 20.0, 4.0, True)]  # the largest of each
    step = from_pilot(noisy, 1000)
    assert step.C_gamma == pytest.approx(c_star(L_MARGIN * 3.0, 50.0, 5.0, 1000), rel=1e-12)
    assert step.C_gamma < 1 / (L_MARGIN * 3.0) and "2 initialisations" in step.how
    quiet = from_pilot([PilotPoint(3.0, 0.7, 5.0, True)], 1000)  # C* above 1/(2L): clipped
    assert c_star(L_MARGIN * 3.0, 0.7, 5.0, 1000) > 1 / (L_MARGIN * 3.0)
    assert quiet.C_gamma == pytest.approx(1 / (L_MARGIN * 3.0), rel=1e-12)
    unproven = from_pilot([PilotPoint(3.0, 50.0, 5.0, True), PilotPoint(2.0, 50.0, 5.0, False)], 1000)
    assert unproven.C_gamma == 1 / (L_MARGIN * 3.0) and "no proven Delta" in unproven.how


def test_adaptive_and_given_steps_need_no_pilot():
    def never(seed):
        raise AssertionError("no pilot for a given or adaptive step")

    adam = choose(Settings(optimizer="adam"), never, silent)
    assert (adam.C_gamma, adam.schedule) == (1e-3, "constant")
    assert adam.optimizer_options == {"betas": (0.9, 0.999), "eps": 1e-8, "variant": "defossez"}
    delayed = choose(Settings(optimizer="adam", variant="delayed", C_gamma=0.01), never, silent)
    assert (delayed.C_gamma, delayed.schedule, delayed.how) == (0.01, "sqrt", "given")
    adagrad = choose(Settings(optimizer="adagrad", variant="torch"), never, silent)
    assert (adagrad.C_gamma, adagrad.optimizer_options) == (1e-2, {"eps": 1e-8, "variant": "torch"})
    assert choose(Settings(C_gamma=0.05), never, silent).C_gamma == 0.05


def test_the_vae_pilot_measures_each_initialisation(digits_train):
    """Each seed its own initialisation (L differs), the same rows; Delta from the model's proven
    lower bound; sigma2 of a (B, K) step, smaller at a larger B."""
    model = make("gaussian", digits_train.shape[1])
    measure = pilot.vae_pilot(Settings(batch_size=8), model, digits_train, silent)
    a, b = measure(pilot.PILOT_SEED), measure(pilot.PILOT_SEED + 1)
    assert a.proven and b.proven and a.L != b.L and a.Delta > 0 and a.sigma2 > 0
    assert measure(pilot.PILOT_SEED) == a  # seeded: the same point again
    wide = pilot.vae_pilot(Settings(batch_size=64), model, digits_train, silent)(pilot.PILOT_SEED)
    assert wide.L == a.L and wide.sigma2 == pytest.approx(a.sigma2 * 8 / 64, rel=1e-12)
