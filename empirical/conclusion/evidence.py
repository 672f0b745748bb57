"""What the assumption checks look at: :class:`Evidence`, one bundle per conclusion.

The settings, the runs, the optimizer, the constants and their binding, the stress search;
the rows read it (:mod:`empirical.conclusion.rows`). The assumptions themselves are in
docs/theory.md, "Assumptions".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from empirical.compare import Binding
from empirical.conclusion.assumption_row import Row
from empirical.conclusion.coverage import OptimizerRun
from empirical.settings import BUILT_IN, Settings

if TYPE_CHECKING:
    from empirical.estimators.along_run import AlongRun
    from empirical.estimators.constants import Constants
    from empirical.estimators.stress import StressResult
    from empirical.train.recording import TrainRun

__all__ = ["Evidence", "stressed_constants"]


@dataclass(frozen=True)
class Evidence:
    """What the assumption checks look at.

    Attributes:
        settings: The settings of the runs.
        runs: The runs: their model, the parameters' sup-norms, how the minibatches were drawn.
        optimizer: The optimizer as the theorems see it.
        constants: The estimated constants (stressed when the search ran).
        binding: The constants bound into the theorem (:func:`empirical.compare.bind`).
        projected_theorem: Whether the theorem is the projected one.
        algorithm_row: The ``algorithm`` row of the theorem choice
            (:mod:`empirical.conclusion.coverage`).
        along: The table of the constants along the runs (None when not measured).
        search: The stress search (None when not run).
    """

    settings: Settings
    runs: TrainRun
    optimizer: OptimizerRun
    constants: Constants
    binding: Binding
    projected_theorem: bool
    algorithm_row: Row | None = None
    along: AlongRun | None = None
    search: StressResult | None = None

    @property
    def model(self) -> Any:
        """The model trained: an :mod:`empirical.models` VAE or a user's ``torch.nn.Module``."""
        return self.runs.model

    @property
    def user_module(self) -> bool:
        """A user's module (``conv``, ``FILE.py:NAME``, an own loop): rows say what is known of its loop."""
        return self.settings.source != BUILT_IN

    @property
    def relu(self) -> bool:
        """The model has ReLU activations (f'' undefined at 0: F is not L-smooth)."""
        return getattr(self.model, "activation", None) == "relu"

    @property
    def max_sup_norm(self) -> float:
        """Max over runs and records of ||theta_k||_inf."""
        return float(np.max(self.runs.param_sup_norm))

    @property
    def noise_sup(self) -> float | None:
        """The largest |eps_j| the loss can draw.

        A built-in model's (None for Gaussian noise), or the ``noise_bound`` a user's module
        declares (None when it declares none).
        """
        if not self.user_module:
            return getattr(self.model, "noise_sup", None)
        declared = getattr(self.model, "noise_bound", None)
        if isinstance(declared, int | float) and not isinstance(declared, bool) and 0 <= declared < np.inf:
            return float(declared)
        return None


def stressed_constants(ev: Evidence) -> dict[str, Any]:
    """The stressed constants by name.

    Args:
        ev: The evidence.

    Returns:
        Name -> :class:`empirical.estimators.stress.Stressed`; empty when the search did not run.
    """
    return {} if ev.search is None else ev.search.named()
