"""Oracle problems with exactly known constants, and replicated SGD runs on them.

A noisy quadratic and a nonconvex noisy cosine whose L, sigma2, inf F and Delta are
known exactly, and :func:`run_sgd`, which averages an observable over the iterates
with a theorem's own weights (docs/theory.md, "Oracles with known constants"). NumPy
only; randomness is an argument (``numpy.random.Generator``).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from empirical.errors import ConfigError

#: Observables :func:`run_sgd` can average (the names of ``theory.lhs``).
OBSERVABLES = ("grad_norm_sq", "gradient_mapping_sq")


@dataclass(frozen=True)
class Simulation:
    """A replicated estimate of a weighted average over iterates.

    E.g. (1/n) sum_{j<n} E||grad F(theta_j)||^2.

    Attributes:
        mean: The mean over replicates.
        std_error: Its standard error.
        replicates: The number of replicates.
    """

    mean: float
    std_error: float
    replicates: int

    def upper(self, confidence: float = 0.99) -> float:
        """A one-sided upper confidence limit of the average.

        Args:
            confidence: The one-sided confidence.

        Returns:
            mean + z_confidence std_error.
        """
        return self.mean + NormalDist().inv_cdf(confidence) * self.std_error

    def lower(self, confidence: float = 0.99) -> float:
        """A one-sided lower confidence limit of the average.

        Args:
            confidence: The one-sided confidence.

        Returns:
            mean - z_confidence std_error.
        """
        return self.mean - NormalDist().inv_cdf(confidence) * self.std_error


def _positive_steps(step_sizes) -> np.ndarray:
    steps = np.asarray(step_sizes, dtype=float)
    if steps.ndim != 1 or steps.size == 0 or not np.all(np.isfinite(steps) & (steps > 0)):
        raise ConfigError("step_sizes must be a non-empty 1-D array of finite numbers > 0")
    return steps


class _Oracle:
    """What every oracle offers on top of its fields and its ``L``, ``Delta``, ``gradient``.

    The fields are ``noise_variances`` and ``theta0``.
    """

    noise_variances: np.ndarray
    theta0: np.ndarray

    @property
    def sigma2(self) -> float:
        """The noise variance E||g - grad F||^2 = sum of the noise variances, exactly."""
        return float(np.sum(self.noise_variances))

    def constants(self) -> dict[str, float]:
        """The oracle's constants, as a bound takes them.

        Returns:
            ``{"L", "sigma2", "Delta"}``.
        """
        return {"L": self.L, "sigma2": self.sigma2, "Delta": self.Delta}

    def noise(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        """Gaussian gradient noise with the oracle's variances.

        Args:
            rng: The random generator.
            shape: (replicates, dimension).

        Returns:
            The noise, one row per replicate.
        """
        return rng.normal(size=shape) * np.sqrt(self.noise_variances)

    def simulate(
        self,
        n: int,
        C_gamma: float,
        rng: np.random.Generator,
        replicates: int = 200,
        alpha: float = 0.5,
    ) -> Simulation:
        """Replicated SGD with gamma_k = C_gamma k^(-alpha), k = 1..n.

        Args:
            n: The number of steps.
            C_gamma: The step constant.
            rng: The random generator.
            replicates: The number of independent runs.
            alpha: The step-decay exponent.

        Returns:
            The uniform average of ||grad F(theta_j)||^2 over j = 0..n-1.

        Raises:
            ConfigError: n < 1.
        """
        if n < 1:
            raise ConfigError("need n >= 1")
        steps = C_gamma * np.arange(1, n + 1, dtype=float) ** (-alpha)
        return run_sgd(self, steps, np.full(n, 1.0 / n), rng, replicates)


@dataclass(frozen=True)
class NoisyQuadratic(_Oracle):
    """F(theta) = theta^T A theta / 2 with Gaussian gradient noise.

    A = Q diag(lam) Q^T with 0 <= lam_i, so inf F = 0, L = max |lam_i| and
    Delta = F(theta_0); the stochastic gradient is g = A theta + xi with
    xi ~ N(0, Q diag(v) Q^T), so E||g - grad F||^2 = sum(v) = sigma2 exactly.

    Attributes:
        eigenvalues: lam, finite and >= 0.
        rotation: Q, whose columns are the eigenvectors.
        noise_variances: v, the noise variances along the eigenvectors.
        theta0: The start.

    Raises:
        ConfigError: Fields of the wrong shape or out of range.
    """

    eigenvalues: np.ndarray
    rotation: np.ndarray
    noise_variances: np.ndarray
    theta0: np.ndarray

    def __post_init__(self) -> None:
        lam, v = np.asarray(self.eigenvalues), np.asarray(self.noise_variances)
        d = lam.shape[0]
        if lam.ndim != 1 or d == 0 or not np.all(np.isfinite(lam)) or np.any(lam < 0):
            raise ConfigError("eigenvalues must be a non-empty 1-D array of finite numbers >= 0")
        if v.shape != (d,) or np.any(v < 0) or not np.all(np.isfinite(v)):
            raise ConfigError(f"noise_variances must be {d} finite numbers >= 0")
        if self.rotation.shape != (d, d) or self.theta0.shape != (d,):
            raise ConfigError(f"rotation must be {d}x{d} and theta0 of length {d}")

    @classmethod
    def random(
        cls, dim: int, L: float, sigma2: float, rng: np.random.Generator, theta_scale: float = 1.0
    ) -> NoisyQuadratic:
        """A random instance with largest eigenvalue exactly ``L`` and noise trace ``sigma2``.

        Args:
            dim: The dimension.
            L: The largest eigenvalue.
            sigma2: The noise trace.
            rng: The random generator.
            theta_scale: The standard deviation of the start's coordinates.

        Returns:
            The oracle.

        Raises:
            ConfigError: dim < 1, L <= 0 or sigma2 < 0.
        """
        if dim < 1 or not L > 0 or not sigma2 >= 0:
            raise ConfigError("need dim >= 1, L > 0, sigma2 >= 0")
        lam = rng.uniform(0, L, size=dim)
        lam[rng.integers(dim)] = L
        q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
        w = rng.dirichlet(np.ones(dim)) if dim > 1 else np.ones(1)
        theta0 = rng.normal(size=dim) * theta_scale
        return cls(lam, q, sigma2 * w, theta0)

    @property
    def matrix(self) -> np.ndarray:
        """A = Q diag(lam) Q^T."""
        return (self.rotation * self.eigenvalues) @ self.rotation.T

    @property
    def L(self) -> float:
        """The smoothness, max |lam_i|."""
        return float(np.max(np.abs(self.eigenvalues)))

    @property
    def Delta(self) -> float:
        """F(theta_0) - inf F = F(theta_0)."""
        return float(self.value(self.theta0[None, :])[0])

    def value(self, theta: np.ndarray) -> np.ndarray:
        """The objective at each row of ``theta``.

        Args:
            theta: (replicates, dimension) points.

        Returns:
            F(theta), one value per row.
        """
        return 0.5 * np.einsum("ij,jk,ik->i", theta, self.matrix, theta)

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        """The gradient at each row of ``theta``.

        Args:
            theta: (replicates, dimension) points.

        Returns:
            A theta, one row per point.
        """
        return theta @ self.matrix

    def noise(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        """Gaussian gradient noise xi ~ N(0, Q diag(v) Q^T).

        Args:
            rng: The random generator.
            shape: (replicates, dimension).

        Returns:
            The noise, one row per replicate.
        """
        return (rng.normal(size=shape) * np.sqrt(self.noise_variances)) @ self.rotation.T


@dataclass(frozen=True)
class NoisyCosine(_Oracle):
    """F(theta) = sum_i (L / w^2)(1 - cos(w theta_i)) with Gaussian gradient noise (nonconvex).

    grad F_i = (L / w) sin(w theta_i), the Hessian is diag(L cos(w theta_i)) and its
    largest |eigenvalue| over R^d is L exactly (at theta = 0); inf F = 0 (at theta_i in
    (2 pi / w) Z), Delta = F(theta_0); Gaussian gradient noise with variances v_i gives
    sigma2 = sum(v) exactly.

    Attributes:
        smoothness: L.
        frequency: w.
        noise_variances: v_i, per coordinate.
        theta0: The start.

    Raises:
        ConfigError: Fields of the wrong shape or out of range.
    """

    smoothness: float
    frequency: float
    noise_variances: np.ndarray
    theta0: np.ndarray

    def __post_init__(self) -> None:
        v, t = np.asarray(self.noise_variances), np.asarray(self.theta0)
        if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)):
            raise ConfigError("theta0 must be a non-empty 1-D array of finite numbers")
        if v.shape != t.shape or np.any(v < 0) or not np.all(np.isfinite(v)):
            raise ConfigError(f"noise_variances must be {t.size} finite numbers >= 0")
        if not (np.isfinite(self.smoothness) and self.smoothness > 0):
            raise ConfigError(f"smoothness L must be a finite number > 0, got {self.smoothness}")
        if not (np.isfinite(self.frequency) and self.frequency > 0):
            raise ConfigError(f"frequency w must be a finite number > 0, got {self.frequency}")

    @classmethod
    def random(
        cls, dim: int, L: float, sigma2: float, rng: np.random.Generator, frequency: float = 1.0
    ) -> NoisyCosine:
        """A random start in [-pi/w, pi/w]^dim (up to the top of the hump) and noise trace ``sigma2``.

        Args:
            dim: The dimension.
            L: The smoothness.
            sigma2: The noise trace.
            rng: The random generator.
            frequency: w.

        Returns:
            The oracle.

        Raises:
            ConfigError: dim < 1, L <= 0, sigma2 < 0 or frequency <= 0.
        """
        if dim < 1 or not L > 0 or not sigma2 >= 0 or not frequency > 0:
            raise ConfigError("need dim >= 1, L > 0, sigma2 >= 0, frequency > 0")
        w = rng.dirichlet(np.ones(dim)) if dim > 1 else np.ones(1)
        theta0 = rng.uniform(-np.pi, np.pi, size=dim) / frequency
        return cls(float(L), float(frequency), sigma2 * w, theta0)

    @property
    def L(self) -> float:
        """The smoothness L."""
        return float(self.smoothness)

    @property
    def Delta(self) -> float:
        """F(theta_0) - inf F = F(theta_0)."""
        return float(self.value(self.theta0[None, :])[0])

    def value(self, theta: np.ndarray) -> np.ndarray:
        """The objective at each row of ``theta``.

        Args:
            theta: (replicates, dimension) points.

        Returns:
            F(theta), one value per row.
        """
        w = self.frequency
        return np.sum(self.smoothness / w**2 * (1 - np.cos(w * theta)), axis=1)

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        """The gradient at each row of ``theta``.

        Args:
            theta: (replicates, dimension) points.

        Returns:
            (L / w) sin(w theta), elementwise.
        """
        return self.smoothness / self.frequency * np.sin(self.frequency * theta)


def run_sgd(
    oracle,
    step_sizes,
    weights,
    rng: np.random.Generator,
    replicates: int = 200,
    box: float | None = None,
    observable: str = "grad_norm_sq",
) -> Simulation:
    """Replicated SGD under any steps, and a weighted average of an observable over the iterates.

    theta_k = theta_{k-1} - gamma_k g_k, k = 1..n with n = len(step_sizes) (with ``box`` = a:
    theta_k = P_X(...), X = {||theta||_inf <= a}, theta_0 projected into X first).

    Args:
        oracle: The oracle (:class:`NoisyQuadratic`, :class:`NoisyCosine`).
        step_sizes: gamma_1..gamma_n, finite and > 0.
        weights: The weights of iterates j = 0..n-1 (from ``Bound.lhs.weights``: they are
            never re-typed here).
        rng: The random generator.
        replicates: The number of independent runs, >= 2.
        box: The box radius a, or None for plain SGD.
        observable: ``"grad_norm_sq"`` (X_j = ||grad F(theta_j)||^2) or
            ``"gradient_mapping_sq"`` (X_j = ||theta_j - theta_{j+1}||^2 / gamma_{j+1}^2).

    Returns:
        The mean over replicates of sum_j weights[j] X_j, with its standard error.

    Raises:
        ConfigError: Bad steps, weights, replicates, box or observable.
    """
    steps = _positive_steps(step_sizes)
    n = steps.size
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,) or not np.all(np.isfinite(w) & (w >= 0)):
        raise ConfigError(f"weights must be {n} finite numbers >= 0")
    if replicates < 2:
        raise ConfigError("need replicates >= 2")
    if observable not in OBSERVABLES:
        raise ConfigError(f"observable must be one of {', '.join(OBSERVABLES)}, got {observable!r}")
    if box is not None and not (np.isfinite(box) and box > 0):
        raise ConfigError(f"box must be a finite number > 0, got {box}")
    theta = np.tile(oracle.theta0, (replicates, 1)).astype(float)
    if box is not None:
        theta = np.clip(theta, -box, box)
    total = np.zeros(replicates)
    for j in range(n):
        grad = oracle.gradient(theta)
        step = grad + oracle.noise(rng, theta.shape)
        new = theta - steps[j] * step
        if box is not None:
            new = np.clip(new, -box, box)
        if observable == "grad_norm_sq":
            x = np.einsum("ij,ij->i", grad, grad)
        else:
            moved = (theta - new) / steps[j]
            x = np.einsum("ij,ij->i", moved, moved)
        total += w[j] * x
        theta = new
    return Simulation(float(total.mean()), float(total.std(ddof=1) / np.sqrt(replicates)), replicates)
