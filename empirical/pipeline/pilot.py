"""The step constant C_gamma of a run, and the optimizer options.

Unless given, SGD's C_gamma comes from a pilot estimate of L, sigma2 and
Delta at :data:`PILOT_INITS` initialisations drawn with the seeds
:data:`PILOT_SEED`, ...: C_gamma = min(C*, 1/(L_MARGIN L)) with
C* = sqrt(2 Delta / (L sigma2 (1 + log n))) the minimiser of the SGD bound
(:func:`theory.rates.optimal_step_constant` on the generic SGD theorem), each
constant the largest upper end over the pilot points and sigma2 the variance
of a (B, K) step (theory.models.common). L_MARGIN allows sup L along the runs
to exceed L at initialisation; the step condition is checked afterwards
against L estimated along the runs (a run that breaks it is not covered). The
pilot does not depend on ``seed``, so every run of a setting uses the same
C_gamma and run i of ``--seeds R`` is the run of ``--seed seed+i``.

``--optimizer adam`` runs the seed paper's setting, lr = 1e-3 (unless given),
betas (0.9, 0.999), eps = 1e-8, with a constant step: the algorithm of
Défossez et al. by default (``--adam-variant defossez``, the theorem it is
compared with), ``torch.optim.Adam`` (``torch``), or the delayed
preconditioner with gamma_k = C_gamma k^(-1/2) of the seed paper's form
(``delayed``). ``--optimizer adagrad`` runs Défossez et al.'s Adagrad (or
``torch``'s) with the constant step lr = 1e-2 (torch's default) and eps = 1e-8
(docs/theory.md, "Adam and Adagrad (Défossez et al.)").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

#: Margin between the pilot L at theta_0 and the L used to clip C_gamma.
L_MARGIN = 2.0
#: Seed of the pilot's first initialisation and of its examples (independent of the runs' seeds).
PILOT_SEED = 0
#: Initialisations the pilot looks at (L varies several-fold between them on small models).
PILOT_INITS = 4
#: Examples and noise draws per example of the pilot's estimates.
PILOT_EXAMPLES, PILOT_DRAWS = 256, 4
#: The seed paper's Adam setting.
SEED_ADAM: dict[str, Any] = {"C_gamma": 1e-3, "betas": (0.9, 0.999), "adam_eps": 1e-8}
#: Adagrad's setting: torch's default lr, eps inside the square root as analysed.
ADAGRAD: dict[str, Any] = {"C_gamma": 1e-2, "adam_eps": 1e-8}


@dataclass(frozen=True)
class StepChoice:
    """C_gamma, how it was chosen, the optimizer's other options and the schedule
    (``"sqrt"``: gamma_k = C_gamma k^(-1/2); ``"constant"``: gamma_k = C_gamma)."""

    C_gamma: float
    how: str
    optimizer_options: dict[str, Any] = field(default_factory=dict)
    schedule: str = "sqrt"


def step_variance(model: Any, sigma2_data: float, mc: float, batch_size: int) -> float:
    """sigma2 of a (B, K) step: the model's variance expression of theory.models.common
    (sigma2_mc per sample for models that average their draws, sigma2_mc_K for IWAE)."""
    from theory.models.common import iwae_variance, variance_split

    if getattr(model, "averages_draws", True):
        values = {"sigma2_data": sigma2_data, "sigma2_mc": mc, "B": batch_size, "K": model.K}
        expr = variance_split
    else:
        values = {"sigma2_data": sigma2_data, "sigma2_mc_K": mc, "B": batch_size}
        expr = iwae_variance
    return float(expr.subs({sym: values[sym.name] for sym in expr.free_symbols}))


def choose(settings: Any, model: Any, X: torch.Tensor, progress: Callable[[str], None]) -> StepChoice:
    """The step constant and optimizer options of ``settings`` (module docstring)."""
    if settings.optimizer == "adam":
        opts = {"betas": SEED_ADAM["betas"], "adam_eps": SEED_ADAM["adam_eps"]}
        opts["adam_variant"] = settings.adam_variant
        schedule = "sqrt" if settings.adam_variant == "delayed" else "constant"
        if settings.C_gamma is not None:
            return StepChoice(settings.C_gamma, "given", opts, schedule)
        return StepChoice(SEED_ADAM["C_gamma"], "the seed paper's Adam setting", opts, schedule)
    if settings.optimizer == "adagrad":
        opts = {"adam_eps": ADAGRAD["adam_eps"], "adam_variant": settings.adam_variant}
        if settings.C_gamma is not None:
            return StepChoice(settings.C_gamma, "given", opts, "constant")
        return StepChoice(ADAGRAD["C_gamma"], "torch's default Adagrad step", opts, "constant")
    if settings.C_gamma is not None:
        return StepChoice(settings.C_gamma, "given")
    L, sigma2, Delta, proven = pilot(settings, model, X, progress)
    how = f"min(C*, 1/({L_MARGIN:g} L)) from a pilot at {PILOT_INITS} initialisations"
    if not proven or Delta <= 0 or sigma2 <= 0:
        return StepChoice(
            1.0 / (L_MARGIN * L), f"1/({L_MARGIN:g} L) from a pilot (no proven Delta or no noise)"
        )
    import theory
    from theory.rates import optimal_step_constant

    values = {"L": L_MARGIN * L, "sigma2": sigma2, "Delta": Delta, "n": max(settings.steps, 1)}
    return StepChoice(float(optimal_step_constant(theory.bound("generic", "sgd"), values)), how)


def pilot(
    settings: Any, model: Any, X: torch.Tensor, progress: Callable[[str], None]
) -> tuple[float, float, float, bool]:
    """(L, sigma2 of a (B, K) step, Delta, whether Delta rests on a proven lower
    bound): the largest upper ends over :data:`PILOT_INITS` initialisations."""
    from empirical.estimators import delta, loss_at, model_gradient_variance, smoothness, uses_proven_bound
    from empirical.estimators.constants import per_variational_sample
    from empirical.estimators.variance import select_examples

    progress(
        f"pilot estimates at {PILOT_INITS} initialisations ({model.n_params} parameters, {X.shape[0]} rows)"
    )
    Xs = select_examples(X, PILOT_EXAMPLES, torch.Generator().manual_seed(PILOT_SEED))
    eps = model.sample_noise(torch.Generator().manual_seed(PILOT_SEED + 1), batch=Xs.shape[0])
    Ls, sigma2s, Deltas, proven = [], [], [], True
    for i in range(PILOT_INITS):
        theta = model.init_params(torch.Generator().manual_seed(PILOT_SEED + i))
        if settings.box is not None:
            theta = {k: p.clamp(-settings.box, settings.box) for k, p in theta.items()}
        Ls.append(smoothness(lambda p: model.batch_loss(p, Xs, eps), theta, seed=PILOT_SEED).hi)
        v = model_gradient_variance(model, theta, X, PILOT_DRAWS, n_examples=PILOT_EXAMPLES, seed=PILOT_SEED)
        mc = per_variational_sample(v.mc, model) if getattr(model, "averages_draws", True) else v.mc
        sigma2s.append(step_variance(model, v.data.hi, mc.hi, settings.batch_size))
        F0 = loss_at(model, theta, Xs, PILOT_DRAWS, seed=PILOT_SEED + 2)
        gap = delta(F0, getattr(model, "loss_lower_bound", None), F0.value)
        proven = proven and uses_proven_bound(gap)
        Deltas.append(gap.hi)
    return max(Ls), max(sigma2s), max(Deltas), proven
