"""What ``vaebounds advise`` is asked, checked before any work (no torch).

The settings of the default run, the budget of gradient evaluations and whether to check
the advice by runs (docs/advise.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from empirical import inputs
from empirical.errors import ConfigError
from empirical.settings import BUILT_IN, Settings

#: The advice proposes at most this many times the default's steps unless --max-steps says.
STEPS_FACTOR = 4


@dataclass(frozen=True)
class Request:
    """A checked request of ``vaebounds advise``.

    Attributes:
        settings: The default run's settings.
        budget: The gradient evaluations n B K (B rows of K draws per step); the default's n is
            floor(budget / (B K)).
        max_steps: The most steps the advice may propose.
        check: Run both sides.
    """

    settings: Settings
    budget: int
    max_steps: int
    check: bool = False

    @property
    def default_steps(self) -> int:
        """The default's steps n = floor(budget / (B K))."""
        return self.budget // (self.settings.batch_size * self.settings.K)


def request_of(
    settings: Settings,
    budget: int | None = None,
    max_steps: int | None = None,
    *,
    steps_given: bool = False,
    check: bool = False,
) -> Request:
    """The checked request.

    Args:
        settings: the default run's settings (a built-in model trained by SGD, no --box).
        budget: gradient evaluations n B K; None: the default run's, steps x batch_size x K.
        max_steps: the most steps the advice may propose (at least the default's n); None:
            STEPS_FACTOR x the default's n.
        steps_given: whether --steps was given too (then it must agree with the budget).
        check: whether both sides will be run (then R >= 2 runs and held-out rows are needed).

    Returns:
        The :class:`Request`.

    Raises:
        ConfigError: one line naming the input and what is allowed.
    """
    s = settings
    if s.source != BUILT_IN:
        raise ConfigError(
            f"advise covers the built-in models (its runs go through the batched pipeline); model (--model) "
            f"{s.model} is a user's module: use verify"
        )
    if s.optimizer != "sgd":
        raise ConfigError(
            f"advise recommends SGD's C_gamma and the split of the budget between n, B and K, from the SGD "
            f"theorem; optimizer (--optimizer) {s.optimizer} has no such advice: use --optimizer sgd"
        )
    if s.box is not None:
        raise ConfigError(
            "advise uses SGD's default theorem (gamma_k = C_gamma k^(-1/2)); box (--box) trains projected "
            "SGD, whose theorem it does not cover: leave --box out"
        )
    per_step = s.batch_size * s.K
    entry = inputs.option("advise", "budget")
    if budget is None:
        budget = s.steps * per_step
    else:
        budget = entry.check(budget)
        if steps_given and budget != s.steps * per_step:
            raise ConfigError(
                f"budget (--budget) {budget} and steps (--steps) {s.steps} disagree: the default run spends "
                f"n B K = {s.steps * per_step}; give one of them"
            )
    n0 = budget // per_step
    if n0 < 2:
        raise ConfigError(
            f"budget (--budget) {budget} is too small: a step of the default costs B K = {per_step} gradient "
            f"evaluations and a run needs at least 2 steps, so at least {2 * per_step}"
        )
    if n0 > inputs.MAX_STEPS:
        raise ConfigError(
            f"budget (--budget) {budget} gives the default {n0} steps, above the limit {inputs.MAX_STEPS} "
            "of steps (--steps)"
        )
    if max_steps is None:
        max_steps = min(STEPS_FACTOR * n0, inputs.MAX_STEPS)
    else:
        max_steps = inputs.option("advise", "max_steps").check(max_steps)
        if max_steps < n0:
            raise ConfigError(
                f"max_steps (--max-steps) {max_steps} is below the default's n = {n0} (budget {budget} / "
                f"(B K) = {per_step}): give at least {n0}"
            )
    if check and s.runs < 2:
        raise ConfigError(
            f"--check compares both sides over runs: runs (--seeds) must be at least 2, got {s.runs}"
        )
    if check and s.holdout == 0:
        raise ConfigError("--check reports the held-out -ELBO: holdout (--holdout) must be above 0")
    return Request(s, budget, max_steps, check)
