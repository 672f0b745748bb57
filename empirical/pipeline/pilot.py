"""The step constant C_gamma of a run, and the optimizer options.

The one pilot, for the built-in models and for a user's module alike.

Unless given, SGD's C_gamma comes from a pilot estimate of L, sigma2 and
Delta at :data:`PILOT_INITS` initialisations drawn with the seeds
:data:`PILOT_SEED`, ..., on :data:`PILOT_EXAMPLES` rows: C_gamma = min(C*, 1/(L_MARGIN L)) with
C* = sqrt(2 Delta / (L sigma2 (1 + log n))) the minimiser of the SGD bound
(:func:`theory.rates.optimal_step_constant` on the generic SGD theorem), each
constant the largest upper end over the pilot points and sigma2 the variance
of a (B, K) step (theory.models.common). L_MARGIN allows sup L along the runs
to exceed L at initialisation; the step condition is checked afterwards
against L estimated along the runs (a run that breaks it is not covered). The
pilot does not depend on ``seed``, so every run of a setting uses the same
C_gamma and run i of ``--seeds R`` is the run of ``--seed seed+i``. How the
constants are measured at one initialisation depends on the model
(:func:`vae_pilot` here; a user's module: :func:`empirical.user_model.module_pilot`);
the margin, the seeds, the rows and the rule (:func:`from_pilot`) are these.

``--optimizer adam`` runs the seed paper's setting, lr = 1e-3 (unless given),
betas (0.9, 0.999), eps = 1e-8, with a constant step: the algorithm of
Défossez et al. by default (``--variant defossez``, the theorem it is
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

from empirical.progress import Progress
from empirical.settings import Settings

#: Margin between the pilot L at theta_0 and the L used to clip C_gamma.
L_MARGIN = 2.0
#: Seed of the pilot's first initialisation and of its examples (independent of the runs' seeds).
PILOT_SEED = 0
#: Initialisations the pilot looks at (L varies several-fold between them on small models).
PILOT_INITS = 4
#: Examples and noise draws per example of the pilot's estimates.
PILOT_EXAMPLES, PILOT_DRAWS = 256, 4
#: A user's module (``conv``, ``FILE.py:make``), whose Hessian-vector products and per-example
#: gradients cost far more than the built-in VAEs': the initialisations and rows of its pilot,
#: and Lanczos's relative tolerance there. The pilot takes Lanczos's upper end |theta| +
#: residual, so the looser tolerance widens L's interval instead of biasing it down, and the
#: Hessian of a mean over fewer rows tends to have the larger top eigenvalue.
MODULE_PILOT_INITS, MODULE_PILOT_EXAMPLES, MODULE_PILOT_TOL = 2, 64, 1e-2
#: The seed paper's Adam setting.
SEED_ADAM: dict[str, Any] = {"C_gamma": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8}
#: Adagrad's setting: torch's default lr, eps inside the square root as analysed.
ADAGRAD: dict[str, Any] = {"C_gamma": 1e-2, "eps": 1e-8}


@dataclass(frozen=True)
class StepChoice:
    """The step of the runs.

    Attributes:
        C_gamma: The step constant.
        how: How it was chosen, in words.
        optimizer_options: The optimizer's other options (``betas``, ``eps``, ``variant``).
        schedule: ``"sqrt"`` (gamma_k = C_gamma k^(-1/2)) or ``"constant"`` (gamma_k = C_gamma).
    """

    C_gamma: float
    how: str
    optimizer_options: dict[str, Any] = field(default_factory=dict)
    schedule: str = "sqrt"


@dataclass(frozen=True)
class PilotPoint:
    """What the pilot measured at one initialisation (upper ends of the intervals).

    Attributes:
        L: The top |eigenvalue| of the Hessian.
        sigma2: The variance of a (B, K) step's gradient.
        Delta: F(theta_0) minus the proven lower bound (else the loss itself).
        proven: Whether Delta rests on a proven lower bound.
        sigma2_data: sigma2's data part, where measured (``vaebounds advise`` moves B and K with it).
        sigma2_mc: sigma2's Monte-Carlo part as :func:`empirical.conclusion.values.step_variance`
            takes it: per variational sample for a loss averaging its K draws, sigma2_mc_K for IWAE.
    """

    L: float
    sigma2: float
    Delta: float
    proven: bool
    sigma2_data: float | None = None
    sigma2_mc: float | None = None


def choose(
    settings: Settings,
    measure: Callable[[int], PilotPoint] | None,
    progress: Progress,
    inits: int = PILOT_INITS,
) -> StepChoice:
    """The step constant and optimizer options of ``settings`` (module docstring).

    Args:
        settings: the optimizer, its variant, C_gamma if given, the steps n.
        measure: the pilot's measurement at the initialisation of a seed (:func:`vae_pilot`,
            :func:`empirical.user_model.module_pilot`); called only when SGD's C_gamma is not
            given.
        progress: the progress callback.
        inits: the initialisations the pilot measures (PILOT_INITS; a user's module:
            MODULE_PILOT_INITS).

    Returns:
        The :class:`StepChoice`: Adam's and Adagrad's settings, a given C_gamma, or
        :func:`from_pilot` of the measurements at seeds PILOT_SEED..PILOT_SEED + inits - 1.
    """
    if settings.optimizer == "adam":
        opts = {"betas": SEED_ADAM["betas"], "eps": SEED_ADAM["eps"], "variant": settings.variant}
        schedule = "sqrt" if settings.variant == "delayed" else "constant"
        if settings.C_gamma is not None:
            return StepChoice(settings.C_gamma, "given", opts, schedule)
        return StepChoice(SEED_ADAM["C_gamma"], "the seed paper's Adam setting", opts, schedule)
    if settings.optimizer == "adagrad":
        opts = {"eps": ADAGRAD["eps"], "variant": settings.variant}
        if settings.C_gamma is not None:
            return StepChoice(settings.C_gamma, "given", opts, "constant")
        return StepChoice(ADAGRAD["C_gamma"], "torch's default Adagrad step", opts, "constant")
    if settings.C_gamma is not None:
        return StepChoice(settings.C_gamma, "given")
    if measure is None:
        raise ValueError("the pilot needs a measurement to choose SGD's C_gamma")
    return from_pilot([measure(PILOT_SEED + i) for i in range(inits)], settings.steps)


def from_pilot(points: list[PilotPoint], steps: int) -> StepChoice:
    """SGD's C_gamma = min(C*, 1/(L_MARGIN L)) from the largest upper ends over the points.

    Args:
        points: the pilot's measurements, one per initialisation.
        steps: n, the iterations of the runs.

    Returns:
        C* = sqrt(2 Delta / (L sigma2 (1 + log n))) at L_MARGIN L (the minimiser of the generic
        SGD bound, :func:`theory.rates.optimal_step_constant`), clipped to 1/(L_MARGIN L); only
        1/(L_MARGIN L) when Delta has no proven lower bound or sigma2 is 0.
    """
    L = max(p.L for p in points)
    sigma2 = max(p.sigma2 for p in points)
    Delta = max(p.Delta for p in points)
    if not all(p.proven for p in points) or Delta <= 0 or sigma2 <= 0:
        return StepChoice(
            1.0 / (L_MARGIN * L), f"1/({L_MARGIN:g} L) from a pilot (no proven Delta or no noise)"
        )
    from theory.rates import optimal_step_constant_of  # derived once, cached (theory.rates.step_cache)

    how = f"min(C*, 1/({L_MARGIN:g} L)) from a pilot at {len(points)} initialisations"
    values = {"L": L_MARGIN * L, "sigma2": sigma2, "Delta": Delta, "n": max(steps, 1)}
    return StepChoice(float(optimal_step_constant_of("generic", "sgd", None, values)), how)


def vae_pilot(
    settings: Settings, model: Any, X: torch.Tensor, progress: Progress
) -> Callable[[int], PilotPoint]:
    """The pilot's measurement for a VAE of :mod:`empirical.models` on the training rows ``X``.

    Args:
        settings: B (and the box, whose projection theta_0 gets too).
        model: the VAE.
        X: the training rows.
        progress: the progress callback.

    Returns:
        seed -> :class:`PilotPoint` at ``model.init_params`` of that seed: L the top Hessian
        eigenvalue of the fixed-noise loss on PILOT_EXAMPLES rows (Lanczos), sigma2 from the
        nested variance estimator (PILOT_DRAWS draws per row) through
        :func:`empirical.conclusion.values.step_variance`, Delta = F(theta_0) minus the model's
        proven lower bound (else the loss itself).
    """
    from empirical.conclusion.values import step_variance
    from empirical.errors import LossError
    from empirical.estimators import delta, loss_at, smoothness, uses_proven_bound, vae_gradient_variance
    from empirical.estimators.constants import per_variational_sample
    from empirical.estimators.variance import select_examples

    progress(
        f"pilot estimates at {PILOT_INITS} initialisations ({model.n_params} parameters, {X.shape[0]} rows)"
    )
    Xs = select_examples(X, PILOT_EXAMPLES, torch.Generator().manual_seed(PILOT_SEED))
    eps = model.sample_noise(torch.Generator().manual_seed(PILOT_SEED + 1), batch=Xs.shape[0])
    averages = getattr(model, "averages_draws", True)

    def measure(seed: int) -> PilotPoint:
        theta = model.init_params(torch.Generator().manual_seed(seed))
        if settings.box is not None:
            theta = {k: p.clamp(-settings.box, settings.box) for k, p in theta.items()}
        try:
            L = smoothness(lambda p: model.batch_loss(p, Xs, eps), theta, seed=PILOT_SEED).hi
        except LossError as err:  # the first loss evaluated: say where, and what to change
            raise LossError(not_finite_at_init(err, seed, X, settings.activation)) from None
        v = vae_gradient_variance(model, theta, X, PILOT_DRAWS, n_examples=PILOT_EXAMPLES, seed=PILOT_SEED)
        mc = per_variational_sample(v.mc, model) if averages else v.mc
        sigma2 = step_variance(v.data, mc, settings.batch_size, model.K if averages else None).hi
        F0 = loss_at(model, theta, Xs, PILOT_DRAWS, seed=PILOT_SEED + 2)
        gap = delta(F0, getattr(model, "loss_lower_bound", None), F0.value)
        return PilotPoint(L, sigma2, gap.hi, uses_proven_bound(gap), v.data.hi, mc.hi)

    return measure


def not_finite_at_init(err: Exception, seed: int, X: torch.Tensor, activation: str | None = None) -> str:
    """The message of a loss that is not finite at an initialisation, before any step.

    Args:
        err: The error the loss's check raised.
        seed: The pilot's seed of that initialisation.
        X: The training rows.
        activation: The hidden layers' activation (``"relu"`` is unbounded).

    Returns:
        One line: where (the pilot, that seed), the largest |value| of the data, and what to change.
    """
    largest = float(X.abs().max())
    also = " or keep the bounded default activation (--activation softclip)" if activation == "relu" else ""
    return (
        f"the pilot's initialisation with seed {seed}, before any training step: {err}; the data's largest "
        f"|value| is {largest:.4g}: rescale the data (e.g. standardise each column){also}"
    )
