"""Which theorem covers an optimizer run.

The one dispatch from an optimizer and its hyperparameters to a theorem of :mod:`theory.catalog`
and the ``algorithm`` assumption row (docs/architecture.md, "Which theorem covers an optimizer";
docs/theory.md, "What is and is not covered"). The CLI's batched runs and
:func:`empirical.track` both reach :func:`choose_theorem` through
:func:`empirical.conclusion.conclude`.

- SGD without momentum, weight decay, nesterov or maximize: SGD under any
  step sequence (``"schedule"``: the steps actually taken), the default SGD
  theorem for the CLI's gamma_k = C_gamma k^(-1/2), projected SGD with a box;
  with momentum or weight decay the same theorem is reported, not covered.
- Adam: Défossez et al. (2022) (``"defossez"``) with the run's lr, betas and
  eps; their algorithm holds, ``torch.optim.Adam`` is approximate (the
  differences named by :meth:`theory.algorithms.Algorithm.differences`);
  amsgrad, weight decay, maximize or a changing lr are not covered. The
  CLI's delayed-preconditioner Adam keeps the seed paper's form.
- Adagrad: Défossez et al.'s Adagrad; ``torch.optim.Adagrad`` with eps = 0
  and initial_accumulator_value > 0 is exactly theirs, otherwise approximate;
  lr_decay or weight decay are not covered.
- Anything else: no registered theorem analyses it (not covered); the SGD
  bound under the steps taken is shown for reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from empirical.conclusion.assumption_row import APPROXIMATE, FAILS, HOLDS, Row

if TYPE_CHECKING:
    from theory.bound import Bound

ALGORITHM_NAME = "algorithm matches the theorem"
#: Steps of the run: given by the CLI's formula C_gamma k^(-1/2), constant, or as recorded.
STEP_RULES = ("sqrt", "constant", "recorded")


@dataclass(frozen=True)
class OptimizerRun:
    """The optimizer of a run, as the theorems see it.

    ``family``: sgd, adam, adagrad or other; ``implementation``: what ran (e.g.
    ``"torch.optim.Adam"``, ``"empirical.optim.DefossezAdam"``, ``"batched Adam
    (defossez)"``); ``algorithm``: its :class:`theory.algorithms.Algorithm` name
    for an adaptive method (``"adam-defossez"``, ``"torch.optim.Adam"``,
    ``"adam-delayed"``, ...); ``lr``: the step constant or alpha (the first step
    taken for a recorded run); ``options``: the other hyperparameters under
    torch's names (betas, eps, momentum, weight_decay, ...); ``steps``: one of
    :data:`STEP_RULES`; ``lr_range``: the smallest and largest step taken;
    ``groups_agree``: every parameter group took the same step at every step.
    """

    family: str
    implementation: str
    lr: float
    algorithm: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    steps: str = "recorded"
    lr_range: tuple[float, float] | None = None
    groups_agree: bool = True
    box: float | None = None

    def option(self, name: str, default: Any = 0) -> Any:
        """One hyperparameter of the optimizer.

        Args:
            name: Its name (``betas``, ``eps``, ``momentum``, ...).
            default: The value when the optimizer has none (or None).

        Returns:
            The value.
        """
        value = self.options.get(name, default)
        return default if value is None else value

    @property
    def constant_lr(self) -> bool:
        """True when every step used the same lr (a constant schedule, or a range of one value)."""
        if self.steps == "constant":
            return True
        if self.lr_range is None:
            return self.steps != "sqrt"
        lo, hi = self.lr_range
        return math.isclose(lo, hi, rel_tol=1e-12)


@dataclass(frozen=True)
class TheoremChoice:
    """The theorem of a run, its ``algorithm`` row and the optimizer's values to bind.

    Attributes:
        theorem: The theorem covering the run (or shown for reference when none does).
        algorithm_row: Whether the algorithm run is the analysed one: holds, approximate or fails.
        values: alpha_step, beta1, beta2, eps of an adaptive theorem (empty for SGD).
    """

    theorem: Bound
    algorithm_row: Row
    values: dict[str, float]

    @property
    def covered(self) -> bool:
        """True unless the ``algorithm`` row fails (the theorem does not analyse the run)."""
        return self.algorithm_row.status != FAILS


def choose_theorem(model: str, run: OptimizerRun) -> TheoremChoice:
    """The theorem covering ``run`` for ``model`` (the dispatch of the module docstring).

    Args:
        model: A name of :data:`theory.MODELS`; "generic" for a user's module.
        run: The optimizer as the theorems see it.

    Returns:
        The theorem, its ``algorithm`` row and the optimizer's values to bind.
    """
    import theory

    family = run.family
    if family == "adam":
        if run.algorithm == "adam-delayed":
            return TheoremChoice(
                theory.bound(model, "adam", None, expand=False), _delayed_row(run), _adaptive(run)
            )
        theorem = theory.bound(model, "adam", "defossez", expand=False)
        return TheoremChoice(theorem, _adaptive_row(run, "adam-defossez"), _adaptive(run))
    if family == "adagrad":
        theorem = theory.bound(model, "adagrad", None, expand=False)
        return TheoremChoice(theorem, _adaptive_row(run, "adagrad-defossez"), _adaptive(run))
    variant = "projected" if run.box is not None else ("schedule" if run.steps == "recorded" else None)
    theorem = theory.bound(model, "sgd", variant, expand=False)
    if family == "sgd":
        return TheoremChoice(theorem, _sgd_row(run), {})
    return TheoremChoice(
        theorem,
        Row(
            "algorithm",
            ALGORITHM_NAME,
            FAILS,
            f"{run.implementation}: no registered theorem analyses it (covered: SGD without momentum or "
            "weight decay under any steps, Adam and Adagrad as analysed by Défossez et al.); the SGD bound "
            "under the steps taken is shown for reference only",
        ),
        {},
    )


def _adaptive(run: OptimizerRun) -> dict[str, float]:
    """The hyperparameters of an adaptive theorem: alpha_step = lr, beta1, beta2, eps."""
    out = {"alpha_step": float(run.lr)}
    betas = run.options.get("betas")
    if betas is not None:
        out.update(beta1=float(betas[0]), beta2=float(betas[1]))
    eps = run.option("eps", None)
    if run.family == "adagrad" and run.option("eps", 0.0) == 0.0:
        eps = run.option("initial_accumulator_value", 0.0)  # torch's Adagrad with eps inside: the offset
    if eps is not None:
        out["eps"] = float(eps)
    return out


def _common_reasons(run: OptimizerRun) -> list[str]:
    reasons = []
    if not run.groups_agree:
        reasons.append("its parameter groups took different step sizes (the theorems need one common step)")
    if run.option("weight_decay"):
        reasons.append(f"weight_decay = {run.option('weight_decay'):g}")
    if run.option("maximize", False):
        reasons.append("maximize = True")
    return reasons


def _sgd_row(run: OptimizerRun) -> Row:
    reasons = _common_reasons(run)
    if run.option("momentum"):
        reasons.append(f"momentum = {run.option('momentum'):g}")
    if run.option("nesterov", False):
        reasons.append("nesterov = True")
    if reasons:
        return Row(
            "algorithm",
            ALGORITHM_NAME,
            FAILS,
            f"{run.implementation} with {', '.join(reasons)}: the theorem analyses plain SGD "
            "(no momentum, no weight decay)",
        )
    what = "projected SGD" if run.box is not None else "plain SGD"
    steps = {
        "sqrt": "gamma_k = C_gamma k^(-1/2)",
        "constant": "a constant step",
        "recorded": "the step sizes read from the optimizer at every step",
    }[run.steps]
    evidence = f"{what} ({run.implementation}) with {steps}, no momentum, no weight decay"
    return Row("algorithm", ALGORITHM_NAME, HOLDS, evidence)


def _adaptive_row(run: OptimizerRun, analysed: str) -> Row:
    from theory.algorithms import ALGORITHMS, TORCH

    reasons = _common_reasons(run)
    if run.option("amsgrad", False):
        reasons.append("amsgrad = True")
    if run.option("lr_decay"):
        reasons.append(f"lr_decay = {run.option('lr_decay'):g} (a decaying step)")
    if not run.constant_lr:
        lo, hi = run.lr_range if run.lr_range is not None else (math.nan, math.nan)
        reasons.append(f"the step changed during the run (from {lo:.4g} to {hi:.4g}; an LR scheduler)")
    title = ALGORITHMS[analysed].title
    if reasons:
        return Row(
            "algorithm", ALGORITHM_NAME, FAILS,
            f"{run.implementation} with {', '.join(reasons)}: the theorem analyses {title} with a constant "
            "step alpha",
        )  # fmt: skip
    if run.algorithm == analysed:
        return Row("algorithm", ALGORITHM_NAME, HOLDS, f"{run.implementation} runs {title} exactly: "
                   f"{ALGORITHMS[analysed].update_text}")  # fmt: skip
    torch_twin = TORCH[run.family]
    if run.algorithm == torch_twin.name:
        if (run.family == "adagrad" and run.option("eps", 0.0) == 0.0
                and run.option("initial_accumulator_value", 0.0) > 0):  # fmt: skip
            return Row("algorithm", ALGORITHM_NAME, HOLDS, f"{run.implementation} with eps = 0 and "
                       "initial_accumulator_value = eps of the theorem runs it exactly")  # fmt: skip
        return Row(
            "algorithm",
            ALGORITHM_NAME,
            APPROXIMATE,
            f"{run.implementation} is close to, not the same as, {title}: "
            + "; ".join(_differences(analysed, torch_twin.name))
            + ". The theorem is bound with the run's lr, betas and eps as they are",
        )
    return Row("algorithm", ALGORITHM_NAME, FAILS, f"{run.implementation} is not {title}")


def _delayed_row(run: OptimizerRun) -> Row:
    b1 = run.options.get("betas", (0.0, 0.0))[0]
    if b1 > 0:
        return Row(
            "algorithm",
            ALGORITHM_NAME,
            APPROXIMATE,
            f"delayed preconditioner as analysed; the first moment is bias-corrected (beta1 = {b1:g})",
        )
    return Row("algorithm", ALGORITHM_NAME, HOLDS, "delayed preconditioner from past gradients, beta1 = 0")


def _differences(analysed: str, other: str) -> tuple[str, ...]:
    """The named differences between two algorithms (theory.algorithms, which computes them once)."""
    from theory.algorithms import ALGORITHMS, TORCH

    by_name = {**ALGORITHMS, **{a.name: a for a in TORCH.values()}}
    return by_name[analysed].differences(by_name[other])
