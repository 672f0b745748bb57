"""What the stress search and the constants along the run evaluate at a point.

The curvature loss and the gradient-variance probe, for any problem and for the built-in VAEs,
read by :mod:`empirical.estimators.stress` and :mod:`empirical.estimators.along_run` (the
estimators themselves: docs/estimators.md; why they are searched: docs/theory.md, "Stressed
constants").

* :class:`SearchProblem`: ``loss`` (the deterministic loss whose Hessian's top
  |eigenvalue| is L's estimate, noise held fixed), ``fresh_loss(generator)`` (the same loss
  on a fresh noise draw), ``like`` (names, shapes, dtypes of the parameters) and an
  optional :class:`VarianceProbe`.
* :class:`VarianceProbe`: ``at(params, draw)`` gives sigma2_data, the Monte-Carlo part and
  M by the project's nested estimator on a sample of examples and noise (``draw = 0``: the
  fixed sample, other draws: fresh ones); ``objective(params)`` is a differentiable twin of
  sigma2_data + sigma2_mc_draw on a subsample of the fixed sample (the ascent's direction
  only: steps are accepted on ``at``'s values).

For the built-in VAEs (:func:`vae_problem`) the examples, the fixed noise and the variance
sample are exactly those of :func:`empirical.estimators.constants.estimate` with the same
``seed``, so values at a shared point coincide with the pipeline's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from empirical.errors import ConfigError
from empirical.estimators.constants import per_variational_sample
from empirical.estimators.norms import max_seen
from empirical.estimators.results import Estimate, Params, ScalarLoss, check_confidence, check_params, seeded
from empirical.estimators.variance import select_examples, vae_row_stats
from empirical.inputs.rules import Whole


@dataclass(frozen=True)
class VarianceAt:
    """The gradient-variance constants at one point.

    Attributes:
        data: sigma2_data.
        mc: The Monte-Carlo part (named by the probe's ``mc_name``).
        M: The largest per-(example, draw) gradient norm seen.
        objective: The bound's combination sigma2_data + sigma2_mc_draw (the per-example
            variance of one model draw: B times the variance of a B-example step's gradient).
        n_evals: Per-example gradients spent.
    """

    data: Estimate
    mc: Estimate
    M: Estimate
    objective: float
    n_evals: int


class VarianceProbe(Protocol):
    """Gradient variance at a point (module docstring)."""

    mc_name: str

    def at(self, params: Params, draw: int = 0) -> VarianceAt:
        """The nested estimator at ``params``.

        Args:
            params: The point.
            draw: The sample: 0 the fixed one, others fresh ones.

        Returns:
            sigma2_data, the Monte-Carlo part, M and their combination there.
        """
        ...

    def objective(self, params: Params) -> torch.Tensor:
        """A differentiable twin of sigma2_data + sigma2_mc_draw on a fixed subsample.

        Args:
            params: The point.

        Returns:
            A scalar tensor (the ascent's direction only).
        """
        ...

    @property
    def objective_evals(self) -> int:
        """Per-example gradients one gradient of :meth:`objective` costs."""
        ...


@dataclass(frozen=True)
class SearchProblem:
    """The losses and probe the search evaluates (module docstring)."""

    loss: ScalarLoss
    fresh_loss: Callable[[torch.Generator], ScalarLoss]
    like: Params
    variance: VarianceProbe | None = None
    what: str = "the fixed-noise loss"

    def __post_init__(self) -> None:
        object.__setattr__(self, "like", check_params(self.like))


def nested_objective(g: torch.Tensor) -> torch.Tensor:
    """The nested estimate sigma2_data^ + sigma2_mc_draw^ of per-(example, draw) gradients.

    The point values of :func:`empirical.estimators.variance.from_row_stats` (before its clip at
    0), as one differentiable tensor.

    With gbar_i = mean_j g_ij, gbar = mean_i gbar_i, s_i^2 = 1/(J-1) sum_j ||g_ij - gbar_i||^2:
    sigma2_mc^ = mean_i s_i^2 and sigma2_data^ = 1/(n-1) sum_i ||gbar_i - gbar||^2 - sigma2_mc^/J
    (J = 1: a deterministic loss, sigma2_mc^ = 0).

    Args:
        g: The gradients, (n, J, d), n >= 2.

    Returns:
        sigma2_data^ + sigma2_mc^, a differentiable scalar.

    Raises:
        ConfigError: Fewer than 2 examples.
    """
    n, J = int(g.shape[0]), int(g.shape[1])
    if n < 2:
        raise ConfigError(f"need at least 2 examples, got {n}")
    gbar = g.mean(1)
    mc = ((g - gbar[:, None]) ** 2).sum(-1).sum(1).mean() / (J - 1) if J > 1 else g.new_zeros(())
    data = ((gbar - gbar.mean(0)) ** 2).sum(-1).sum() / (n - 1) - mc / J
    return data + mc


@dataclass(frozen=True, eq=False)
class VAEProbe:
    """:class:`VarianceProbe` of a built-in VAE (:mod:`empirical.models`).

    ``at(params, draw)``: :func:`~empirical.estimators.variance.vae_row_stats` (BackPACK-style
    norms) on ``n_examples`` rows x ``mc_samples`` draws drawn with ``seeded(None, seed, draw)``
    (draw 0 = the sample :func:`~empirical.estimators.constants.estimate` uses), the Monte-Carlo
    part per variational sample for models that average their K draws (``sigma2_mc``) and at
    the K used otherwise (``sigma2_mc_K``), M = the largest per-(example, draw) gradient norm.
    ``objective``: :func:`nested_objective` on the first ``n_grad`` examples of the fixed
    sample (per-example gradients by ``vmap``), for the ascent's direction.

    Args:
        model: The VAE.
        data: Its training rows.
        n_examples: Rows of the variance sample.
        mc_samples: Noise draws per row (J >= 2).
        n_grad: Rows of the differentiable subsample (>= 2).
        seed: The seed of the samples (the fixed one is ``estimate``'s).
        confidence: The intervals' two-sided level.

    Raises:
        ConfigError: mc_samples or n_grad below 2, or a bad confidence.
    """

    model: Any
    data: torch.Tensor
    n_examples: int = 256
    mc_samples: int = 4
    n_grad: int = 64
    seed: int = 0
    confidence: float = 0.95
    mc_name: str = field(init=False)
    _sample: tuple[torch.Tensor, torch.Tensor] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        Whole(2, None).check("option mc_samples", self.mc_samples)
        Whole(2, None).check("option n_grad", self.n_grad)
        check_confidence(self.confidence)
        averages = bool(getattr(self.model, "averages_draws", True))
        object.__setattr__(self, "mc_name", "sigma2_mc" if averages else "sigma2_mc_K")
        gen = seeded(None, self.seed)  # as vae_row_stats draws it
        X = select_examples(self.data, self.n_examples, gen)
        n = int(X.shape[0])
        J = 1 if getattr(self.model, "is_deterministic", False) else int(self.mc_samples)
        eps = self.model.sample_noise(gen, batch=n * J)
        k = min(self.n_grad, n)
        object.__setattr__(self, "_sample", (X[:k], eps.reshape(n, J, *eps.shape[1:])[:k]))

    def at(self, params: Params, draw: int = 0) -> VarianceAt:
        """The nested estimator at ``params`` on sample ``draw``.

        Args:
            params: The point.
            draw: The sample, drawn with ``seeded(None, seed, draw)`` (0: the fixed one).

        Returns:
            sigma2_data, the Monte-Carlo part (per variational sample, or at the K used), M
            and their combination.
        """
        ms = vae_row_stats(
            self.model, params, self.data, self.mc_samples, n_examples=self.n_examples,
            generator=seeded(None, self.seed, draw),
        )  # fmt: skip
        v = ms.variance(confidence=self.confidence, label=f"sample {draw}: ")
        mc = per_variational_sample(v.mc, self.model) if self.mc_name == "sigma2_mc" else v.mc
        sq = torch.stack([s.sq_draw for s in ms.stats.values()]).sum(0)
        M = max_seen(sq.sqrt().numpy(), f"per-(example, draw) gradient norm, sample {draw}", 0)
        return VarianceAt(v.data, mc, M, v.data.value + v.mc.value, ms.n_evals)

    def objective(self, params: Params) -> torch.Tensor:
        """The nested objective of the fixed subsample's per-example gradients.

        Args:
            params: The point.

        Returns:
            :func:`nested_objective` of the (n_grad, J, d) gradients, differentiable in params.
        """
        X, eps = self._sample
        n, J = int(X.shape[0]), int(eps.shape[1])
        loss = self.model.loss

        def one(p: Params, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
            return loss(p, x, e).reshape(())

        # Every (example, draw) gets its own expanded copy of the parameters and one backward
        # of the losses' sum, kept in the graph, gives each its gradient (as vmap(grad(one))
        # would, without torch.func.grad, whose first call imports torch._dynamo).
        leaves = {k: v if v.requires_grad else v.detach().requires_grad_(True) for k, v in params.items()}
        copies = {k: v.expand(n * J, *v.shape) for k, v in leaves.items()}
        rows, draws = X.repeat_interleave(J, 0), eps.reshape(n * J, *eps.shape[2:])
        losses = torch.func.vmap(one)(copies, rows, draws)
        grads = torch.autograd.grad(losses.sum(), list(copies.values()), create_graph=True, allow_unused=True)
        g = torch.cat(
            [
                (torch.zeros_like(c) if d is None else d).reshape(n, J, -1)
                for c, d in zip(copies.values(), grads, strict=True)
            ],
            -1,
        )
        return nested_objective(g.to(torch.float64))

    @property
    def objective_evals(self) -> int:
        """Per-example gradients (and their derivatives) one :meth:`objective` gradient costs."""
        return 2 * int(self._sample[1].shape[0]) * int(self._sample[1].shape[1])


def vae_problem(
    model: Any,
    data: torch.Tensor,
    *,
    n_examples: int = 256,
    mc_samples: int = 4,
    n_grad: int = 64,
    seed: int = 0,
    confidence: float = 0.95,
    variance: bool = True,
    keys: Sequence[str] | None = None,
) -> SearchProblem:
    """The :class:`SearchProblem` of a built-in VAE, with the examples and fixed noise of ``estimate``.

    The same rows and noise as :func:`empirical.estimators.constants.estimate` with the same
    ``seed`` and ``n_examples``, so values at a shared point coincide with the pipeline's.

    Args:
        model: The VAE.
        data: Its training rows.
        n_examples: rows of the curvature loss and of the variance sample.
        mc_samples: noise draws per example of the variance sample (J >= 2).
        n_grad: examples of the variance ascent's differentiable subsample.
        seed: The seed of the rows and of the noise.
        confidence: The intervals' two-sided level.
        variance: False leaves the variance probe out (L only).
        keys: the parameters' order in the flat snapshots (a TrainRun's ``param_keys``;
            default the model's ``param_shapes`` order).

    Returns:
        ``loss(p) = model.batch_loss(p, X, eps_fixed)`` with X the ``n_examples`` rows drawn
        with ``seeded(None, seed)`` and eps_fixed drawn with ``seeded(None, seed, 1)``;
        ``fresh_loss(gen)`` the same rows under ``model.sample_noise(gen, ...)``.
    """
    if hasattr(model, "check_data"):
        model.check_data(data)
    X = select_examples(data, n_examples, seeded(None, seed))
    eps_fixed = model.sample_noise(seeded(None, seed, 1), batch=X.shape[0])

    def loss(p: Params) -> torch.Tensor:
        return model.batch_loss(p, X, eps_fixed)

    def fresh_loss(gen: torch.Generator) -> ScalarLoss:
        eps = model.sample_noise(gen, batch=X.shape[0])
        return lambda p: model.batch_loss(p, X, eps)

    shapes = model.param_shapes
    like = {k: torch.zeros(shapes[k], dtype=model.dtype) for k in (shapes if keys is None else keys)}
    probe = None
    if variance:
        probe = VAEProbe(model, data, n_examples, mc_samples, n_grad, seed, confidence)
    what = f"the loss on {X.shape[0]} rows with fixed noise (seed {seed})"
    return SearchProblem(loss, fresh_loss, like, probe, what)
