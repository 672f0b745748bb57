"""The pilot's initialisations: the built-in models' PILOT_INITS (their C_gamma unchanged), a
user's module MODULE_PILOT_INITS (its products cost far more); ``choose`` measures exactly those
seeds."""

from __future__ import annotations

from empirical.pipeline import pilot
from empirical.pipeline.pilot import PilotPoint, choose
from empirical.progress import silent
from empirical.settings import Settings


def _recording(seen: list[int]):
    def measure(seed: int) -> PilotPoint:
        seen.append(seed)
        return PilotPoint(2.0 + seed, 10.0, 5.0, True)

    return measure


def test_built_in_pilot_measures_pilot_inits_and_a_module_measures_fewer():
    built_in, module = [], []
    a = choose(Settings(), _recording(built_in), silent)
    b = choose(Settings(), _recording(module), silent, pilot.MODULE_PILOT_INITS)
    assert (
        built_in == list(range(pilot.PILOT_SEED, pilot.PILOT_SEED + pilot.PILOT_INITS)) and len(built_in) == 4
    )
    assert module == list(range(pilot.PILOT_SEED, pilot.PILOT_SEED + pilot.MODULE_PILOT_INITS))
    assert pilot.MODULE_PILOT_INITS < pilot.PILOT_INITS and pilot.MODULE_PILOT_EXAMPLES < pilot.PILOT_EXAMPLES
    assert (
        f"{pilot.PILOT_INITS} initialisations" in a.how
        and f"{pilot.MODULE_PILOT_INITS} initialisations" in b.how
    )
    assert b.C_gamma > a.C_gamma  # the largest L over fewer initialisations (L = 2 + seed here) is smaller
