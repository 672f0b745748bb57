"""The gradient variance split into a data part and a Monte-Carlo part.

sigma2 = sigma2_data / B + sigma2_mc / (B K) for B examples and K draws each (docs/theory.md,
"Objectives"); both parts by the nested estimator, with Student-t intervals over examples
(docs/estimators.md, "The variance split").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch

from empirical.errors import ConfigError, LossError
from empirical.estimators.per_example import (
    ExampleLoss,
    RowStats,
    check_dtypes,
    combine,
    recorder_row_stats,
    vmap_row_stats,
)
from empirical.estimators.results import (
    Estimate,
    Params,
    check_confidence,
    check_params,
    exact,
    mean_interval,
    seeded,
)
from empirical.inputs import MAX_SAMPLES
from empirical.validate import whole

BACKENDS = ("recorder", "vmap")


@dataclass(frozen=True)
class VarianceEstimate:
    """The two parts of the gradient variance (both summed over coordinates), and ||E g||^2.

    Attributes:
        data: sigma2_data.
        mc: sigma2_mc.
        mean_grad_sq: ||E g||^2, bias-corrected.
        n_examples: The examples n.
        mc_samples: The draws per example J.
    """

    data: Estimate
    mc: Estimate
    mean_grad_sq: Estimate
    n_examples: int
    mc_samples: int

    def total(self, batch_size: int, K: int = 1) -> Estimate:
        """The variance of the minibatch gradient, ``sigma2_data / B + sigma2_mc / (B K)``.

        The interval combines the two intervals endpoint-wise (Bonferroni: coverage at least
        ``1 - 2 (1 - confidence)``).

        Args:
            batch_size: B, an integer >= 1.
            K: The draws averaged per example, an integer >= 1.

        Returns:
            The variance.

        Raises:
            ConfigError: B or K not an integer >= 1 (bools and floats such as 1.5 refused).
        """
        batch_size, K = whole("batch_size", batch_size, 1), whole("K", K, 1)
        B = float(batch_size)
        conf = max(1.0 - (1.0 - self.data.confidence) - (1.0 - self.mc.confidence), 1e-9)
        return Estimate(
            self.data.value / B + self.mc.value / (B * K),
            self.data.lo / B + self.mc.lo / (B * K),
            self.data.hi / B + self.mc.hi / (B * K),
            conf,
            f"sigma2_data/B + sigma2_mc/(B K) at B={batch_size}, K={K}",
            self.data.n_evals,
        )


def from_row_stats(
    stats: RowStats,
    *,
    deterministic: bool,
    population: int | None = None,
    confidence: float = 0.95,
    n_evals: int = 0,
    label: str = "",
) -> VarianceEstimate:
    """The nested estimator from per-example statistics.

    Args:
        stats: The per-example statistics.
        deterministic: The loss draws no noise (sigma2_mc = 0).
        population: The size of the data set the examples were drawn from without
            replacement (finite-population correction of ||E g||^2); None = infinite.
        confidence: The intervals' two-sided level.
        n_evals: The evaluations spent.
        label: A prefix of the methods.

    Returns:
        sigma2_data, sigma2_mc and ||E g||^2 with their intervals, clipped at 0.

    Raises:
        ConfigError: Fewer than 2 examples, or fewer than 2 draws for a noisy loss.
    """
    n, J = stats.n, stats.J
    if n < 2:
        raise ConfigError(f"need at least 2 examples, got {n}")
    if not deterministic and J < 2:
        raise ConfigError(f"need mc_samples >= 2 noise draws per example, got {J}")
    where = f"{label}{n} examples x {J} draws"
    dev = stats.sq_mean - 2 * stats.dot_mean + stats.grand_sq  # ||gbar_i - gbar||^2
    if deterministic:
        s2 = torch.zeros(n, dtype=torch.float64)
        mc = exact(0.0, f"{where}: deterministic per-example loss, sigma2_mc = 0", n_evals)
    else:
        s2 = J / (J - 1) * (stats.sq_draw.mean(1) - stats.sq_mean)
        mc = mean_interval(
            s2,
            f"{where}: sigma2_mc = mean_i 1/(J-1) sum_j ||g_ij - gbar_i||^2, t interval over examples",
            confidence,
            n_evals,
            clip_at_zero=True,
        )
    u = n / (n - 1) * dev - s2 / J
    data = mean_interval(
        u,
        f"{where}: sigma2_data = 1/(n-1) sum_i ||gbar_i - gbar||^2 - sigma2_mc/J, "
        "t interval over examples (delta method)",
        confidence,
        n_evals,
        clip_at_zero=True,
    )
    fpc = 1.0 if population is None else max(1.0 - n / population, 0.0)
    bias = fpc * data.value / n + mc.value / (n * J)
    v = 2 * stats.dot_mean - stats.grand_sq  # first-order per-example terms of ||gbar||^2
    raw = mean_interval(v, f"{where}: per-example terms of ||gbar||^2", confidence, n_evals)
    msq = max(stats.grand_sq - bias, 0.0)
    mean_sq = Estimate(
        msq,
        min(max(raw.lo - bias, 0.0), msq),  # mean(v) = ||gbar||^2 up to rounding
        max(raw.hi - bias, msq),
        confidence,
        f"{where}: ||E g||^2 = ||gbar||^2 - Var(gbar), t interval over examples (delta method)",
        n_evals,
    )
    return VarianceEstimate(data, mc, mean_sq, n, 1 if deterministic else J)


def gradient_variance(
    loss: ExampleLoss,
    params: Params,
    data: torch.Tensor,
    noise: Callable[[torch.Generator], torch.Tensor] | None = None,
    mc_samples: int = 4,
    *,
    n_examples: int | None = None,
    generator: torch.Generator | None = None,
    seed: int = 0,
    confidence: float = 0.95,
    chunk_size: int = 64,
) -> VarianceEstimate:
    """sigma2_data and sigma2_mc of ``grad loss(params, x, eps)`` by the nested estimator.

    Per-example gradients by ``torch.func.vmap``.

    Args:
        loss: ``loss(params, x, eps)``.
        params: The point.
        data: The rows (examples).
        noise: ``noise(generator)`` draws one eps; None: the loss is deterministic
            (``eps=None``, mc = 0).
        mc_samples: The draws per example J, >= 2.
        n_examples: The examples drawn without replacement (default: all).
        generator: The generator (default: seeded with ``seed``).
        seed: The seed when no generator is given.
        confidence: The intervals' two-sided level.
        chunk_size: The examples per vmapped call.

    Returns:
        The variance split; ``n_evals`` = n x J gradients.

    Raises:
        ConfigError: Bad options, or data or noise of another floating dtype than params.
        LossError: A noise or gradient that is not a finite tensor, or a loss that draws its own
            random numbers or carries no gradient with respect to params (detached).
    """
    params = check_params(params)
    confidence = check_confidence(confidence)
    gen = seeded(generator, seed)
    X = select_examples(data, n_examples, gen)
    n = X.shape[0]
    if noise is None:
        eps = None
        J = 1
    else:
        if isinstance(mc_samples, int) and not isinstance(mc_samples, bool) and mc_samples < 2:
            raise ConfigError(f"mc_samples must be >= 2 to separate the Monte-Carlo part, got {mc_samples}")
        J = whole("mc_samples", mc_samples, 2, MAX_SAMPLES)
        draws = [noise(gen) for _ in range(n * J)]
        if not all(isinstance(e, torch.Tensor) for e in draws):
            raise LossError("noise(generator) must return a torch.Tensor")
        eps = torch.stack(draws).reshape(n, J, *draws[0].shape)
    check_dtypes(params, X, eps)
    stats = combine(vmap_row_stats(loss, params, X, eps, chunk_size))
    return from_row_stats(
        stats,
        deterministic=noise is None,
        population=data.shape[0],
        confidence=confidence,
        n_evals=n * J,
    )


@dataclass(frozen=True)
class ParameterStats:
    """Per-parameter :class:`RowStats` of a model at a point and what they cost.

    Attributes:
        stats: Parameter name -> its statistics.
        population: The rows of the data set the examples were drawn from.
        n_evals: The per-example gradients spent.
        deterministic: The loss draws no noise.
    """

    stats: dict[str, RowStats]
    population: int
    n_evals: int
    deterministic: bool = False

    def variance(
        self, keys: Iterable[str] | None = None, confidence: float = 0.95, label: str = ""
    ) -> VarianceEstimate:
        """The variance split of some parameters.

        Args:
            keys: The parameters (default all).
            confidence: The intervals' two-sided level.
            label: A prefix of the methods.

        Returns:
            The split (:func:`from_row_stats`).
        """
        return from_row_stats(
            combine(self.stats, keys),
            deterministic=self.deterministic,
            population=self.population,
            confidence=confidence,
            n_evals=self.n_evals,
            label=label,
        )


def vae_row_stats(
    model: object,
    params: Params,
    data: torch.Tensor,
    mc_samples: int = 4,
    *,
    n_examples: int | None = None,
    generator: torch.Generator | None = None,
    seed: int = 0,
    backend: str = "recorder",
) -> ParameterStats:
    """Per-parameter gradient statistics of a VAE (``empirical.models``) at a point.

    Args:
        model: The VAE.
        params: The point.
        data: The rows.
        mc_samples: The draws per example, >= 2 (one for a deterministic loss).
        n_examples: The examples drawn without replacement (default all).
        generator: The generator (default: seeded with ``seed``).
        seed: The seed when no generator is given.
        backend: ``"recorder"`` (BackPACK-style norms from one batched backward) or
            ``"vmap"`` (the brute-force twin through ``model.loss``).

    Returns:
        The statistics of every parameter.

    Raises:
        ConfigError: An unknown backend, or mc_samples < 2.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    if mc_samples < 2:
        raise ConfigError(f"mc_samples must be >= 2 to separate the Monte-Carlo part, got {mc_samples}")
    params = check_params(params)
    gen = seeded(generator, seed)
    X = select_examples(data, n_examples, gen)
    deterministic = bool(getattr(model, "is_deterministic", False))
    n, J = X.shape[0], 1 if deterministic else mc_samples
    eps = model.sample_noise(gen, batch=n * J)
    eps = eps.reshape(n, J, *eps.shape[1:])
    if backend == "recorder":
        stats = recorder_row_stats(model, params, X, eps)
    else:
        stats = vmap_row_stats(model.loss, params, X, eps)
    return ParameterStats(stats, int(data.shape[0]), n * J, deterministic)


def vae_gradient_variance(
    model: object,
    params: Params,
    data: torch.Tensor,
    mc_samples: int = 4,
    *,
    keys: Iterable[str] | None = None,
    n_examples: int | None = None,
    generator: torch.Generator | None = None,
    seed: int = 0,
    confidence: float = 0.95,
    backend: str = "recorder",
) -> VarianceEstimate:
    """:func:`gradient_variance` for a VAE, restricted to some parameters.

    One "draw" is one call of ``model.sample_noise`` (the model's K samples), so
    ``total(B, 1)`` is the variance of the model's own minibatch gradient and ``total(B, K')``
    that of averaging K' such draws.

    Args:
        model: The VAE.
        params: The point.
        data: The rows.
        mc_samples: The draws per example.
        keys: The parameters (default all).
        n_examples: The examples drawn (default all).
        generator: The generator (default: seeded with ``seed``).
        seed: The seed when no generator is given.
        confidence: The intervals' two-sided level.
        backend: ``"recorder"`` or ``"vmap"``.

    Returns:
        The variance split.
    """
    confidence = check_confidence(confidence)
    ms = vae_row_stats(
        model,
        params,
        data,
        mc_samples,
        n_examples=n_examples,
        generator=generator,
        seed=seed,
        backend=backend,
    )
    return ms.variance(keys, confidence)


def select_examples(data: torch.Tensor, n_examples: int | None, gen: torch.Generator) -> torch.Tensor:
    """Rows of the data drawn without replacement.

    Args:
        data: At least 2 rows.
        n_examples: How many (None or >= N: all rows).
        gen: The generator.

    Returns:
        The rows drawn.

    Raises:
        ConfigError: Bad data or n_examples.
    """
    if not isinstance(data, torch.Tensor) or data.ndim < 1 or data.shape[0] < 2:
        shape = tuple(data.shape) if isinstance(data, torch.Tensor) else type(data).__name__
        raise ConfigError(f"data must be a tensor of at least 2 rows (examples), got {shape}")
    N = int(data.shape[0])
    if n_examples is not None:
        n_examples = whole("n_examples", n_examples, 2)
    if n_examples is None or n_examples >= N:
        return data
    return data[torch.randperm(N, generator=gen)[:n_examples]]
