"""What the stress search returns: its budget, and each stressed constant with where it was found.

:class:`StressBudget` (how hard :func:`empirical.estimators.stress.stress` pushes),
:class:`Found`, :class:`Stressed` (one constant: the runs' value, the search's, the larger)
and :class:`StressResult`. The search and why it never lowers a constant: docs/theory.md,
"Stressed constants", and :mod:`empirical.estimators.stress`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

import torch

from empirical.estimators.norms import combine_max
from empirical.estimators.results import Estimate
from empirical.inputs.rules import Number, Whole

__all__ = ["Found", "StressBudget", "StressResult", "Stressed"]


@dataclass(frozen=True)
class StressBudget:
    """How hard the search pushes (module docstring).

    With the defaults the table along the runs and the search together cost at most 30 % of
    ``vaebounds verify`` on the default run (benchmarks/verify.py prints the ratio).

    Attributes:
        segment_points: Points screened on each segment between consecutive snapshots.
        screen_products: At most this many Hessian-vector products per screened point.
        screen_around: Segments beside each run's this many largest snapshots (0: every one).
        starts: Ascents, from the best screened points.
        steps: Accepted steps per ascent, at most.
        backtracks: Step halvings per trial, at most.
        first_move: The first trial's largest move, a fraction of the box's width, in (0, 1).
        products: A cap on the ascents' gradients, Hessian-vector and third-order products.
        fresh: Noise draws (>= 2) re-evaluating the end point.
        variance_steps: Ascent steps on the variance (0: the candidates only).

    Raises:
        ConfigError: A count below its minimum or ``first_move`` outside (0, 1).
    """

    segment_points: int = 1
    screen_products: int = 3
    screen_around: int = 2
    starts: int = 2
    steps: int = 12
    backtracks: int = 10
    first_move: float = 0.5
    products: int = 600
    fresh: int = 3
    variance_steps: int = 2

    def __post_init__(self) -> None:
        names = (
            "segment_points",
            "screen_around",
            "starts",
            "steps",
            "backtracks",
            "products",
            "variance_steps",
        )
        for name in names:
            Whole(0, None).check(f"option budget.{name}", getattr(self, name))
        Whole(1, None).check("option budget.screen_products", self.screen_products)
        Whole(2, None).check("option budget.fresh", self.fresh)
        Number(0.0, 1.0, closed=False).check("option budget.first_move", self.first_move)


@dataclass(frozen=True)
class Found:
    """Where a stressed value was found.

    Attributes:
        run: The run whose box holds the point.
        label: The run's label (its seed).
        start: The start of the ascent (a snapshot, or a point of a segment).
        steps: Accepted ascent steps from it.
        point: The flat parameters (not reported).
    """

    run: int
    label: str
    start: str
    steps: int
    point: torch.Tensor = field(compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """report.json's ``where``: run, label, start, steps (not the point)."""
        return {"run": self.run, "label": self.label, "start": self.start, "steps": self.steps}


@dataclass(frozen=True)
class Stressed:
    """One stressed constant: the runs' value, the search's, and the larger of the two.

    Attributes:
        name: The theory symbol (L, sigma2_data, the Monte-Carlo part's name).
        used: The runs' value, before the search.
        found: The fresh re-evaluation at the search's best point.
        where: Where that point is.
        searched: The value at the found point on the search's own fixed noise / sample (the
            one the snapshots were valued on).
        screened: The largest snapshot value on that same noise: searched - screened is what
            the ascent gained before the fresh draws.
        n_evals: Evaluations spent on this constant.
    """

    name: str
    used: Estimate
    found: Estimate
    where: Found
    searched: float
    screened: float
    n_evals: int

    @cached_property
    def stressed(self) -> Estimate:
        """The found and used values combined when found is larger, else used (module docstring).

        Both are lower estimates of one supremum: :func:`empirical.estimators.norms.combine_max`
        takes found's value and each interval end the larger of the two, so none falls below used's.
        """
        if not self.found.value > self.used.value:
            return self.used
        return combine_max([self.found, self.used], f"stressed {self.name}")

    @property
    def gain(self) -> float:
        """The relative gain stressed / used - 1 >= 0 (0 when used is 0)."""
        return self.stressed.value / self.used.value - 1.0 if self.used.value > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """report.json's entry: used, stressed, found, gain, where, the values on the search's noise."""
        return {
            "used": self.used.as_dict(), "stressed": self.stressed.as_dict(), "found": self.found.as_dict(),
            "stress_gain": self.gain, "where": self.where.as_dict(), "searched": self.searched,
            "screened": self.screened, "n_evals": self.n_evals,
        }  # fmt: skip


@dataclass(frozen=True)
class StressResult:
    """What the search found, one :class:`Stressed` per constant.

    Attributes:
        L: The stressed top |eigenvalue| of the Hessian.
        sigma2_data: The stressed data part of the variance (None without a variance probe).
        mc: The stressed Monte-Carlo part, named ``mc_name`` (None without a variance probe).
        mc_name: The Monte-Carlo part's theory name.
        margin: The boxes' widening.
        budget: The budget searched with.
        n_evals: Evaluations the search spent beyond the table along the run.
    """

    L: Stressed
    sigma2_data: Stressed | None
    mc: Stressed | None
    mc_name: str
    margin: float
    budget: StressBudget
    n_evals: int

    def named(self) -> dict[str, Stressed]:
        """Every stressed constant under its theory symbol name.

        Returns:
            ``L``, then ``sigma2_data`` and the Monte-Carlo part when searched.
        """
        out = {"L": self.L}
        if self.sigma2_data is not None and self.mc is not None:
            out.update({"sigma2_data": self.sigma2_data, self.mc_name: self.mc})
        return out

    def as_dict(self) -> dict[str, Any]:
        """report.json's ``stress``: each constant (:meth:`Stressed.as_dict`), margin, budget, n_evals."""
        out: dict[str, Any] = {name: s.as_dict() for name, s in self.named().items()}
        out.update(margin=self.margin, budget=asdict(self.budget), n_evals=self.n_evals)
        return out
