"""Oracle problems with exactly known constants (docs/theory.md, "Oracles with
known constants"), and replicated SGD runs on them. NumPy only; randomness is
an argument (``numpy.random.Generator``).

Noisy quadratic: F(theta) = (1/2) theta^T A theta with A = Q diag(lam) Q^T,
0 <= lam_i, so inf F = 0, L = max |lam_i|, Delta = F(theta_0); the stochastic
gradient is g = A theta + xi with xi ~ N(0, Q diag(v) Q^T), so
E||g - grad F||^2 = sum(v) = sigma2 exactly.

Noisy cosine (nonconvex): F(theta) = sum_i (L / w^2) (1 - cos(w theta_i)), so
grad F_i = (L / w) sin(w theta_i), the Hessian is diag(L cos(w theta_i)) and
its largest |eigenvalue| over R^d is L exactly (at theta = 0); inf F = 0
(at theta_i in (2 pi / w) Z), Delta = F(theta_0); Gaussian gradient noise
with variances v_i gives sigma2 = sum(v) exactly.

:func:`run_sgd` runs replicated SGD theta_k = theta_{k-1} - gamma_k g_k (or
its projection onto the box ||theta||_inf <= a) under any steps and averages
an observable over the iterates with given weights (the weights come from
``theory``'s ``Bound.lhs.weights``: they are never re-typed here).
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
    """Replicated estimate of a weighted average over iterates (e.g.
    (1/n) sum_{j<n} E||grad F(theta_j)||^2): the mean over replicates and its
    standard error."""

    mean: float
    std_error: float
    replicates: int

    def upper(self, confidence: float = 0.99) -> float:
        """One-sided upper confidence limit mean + z_conf * std_error."""
        return self.mean + NormalDist().inv_cdf(confidence) * self.std_error

    def lower(self, confidence: float = 0.99) -> float:
        return self.mean - NormalDist().inv_cdf(confidence) * self.std_error


def _positive_steps(step_sizes) -> np.ndarray:
    steps = np.asarray(step_sizes, dtype=float)
    if steps.ndim != 1 or steps.size == 0 or not np.all(np.isfinite(steps) & (steps > 0)):
        raise ConfigError("step_sizes must be a non-empty 1-D array of finite numbers > 0")
    return steps


class _Oracle:
    """What every oracle offers on top of its fields ``noise_variances`` and
    ``theta0`` and its ``L``, ``Delta``, ``gradient``."""

    noise_variances: np.ndarray
    theta0: np.ndarray

    @property
    def sigma2(self) -> float:
        return float(np.sum(self.noise_variances))

    def constants(self) -> dict[str, float]:
        return {"L": self.L, "sigma2": self.sigma2, "Delta": self.Delta}

    def noise(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        return rng.normal(size=shape) * np.sqrt(self.noise_variances)

    def simulate(
        self,
        n: int,
        C_gamma: float,
        rng: np.random.Generator,
        replicates: int = 200,
        alpha: float = 0.5,
    ) -> Simulation:
        """Replicated SGD with gamma_k = C_gamma k^(-alpha), k = 1..n, and the
        uniform average of ||grad F(theta_j)||^2 over j = 0..n-1."""
        if n < 1:
            raise ConfigError("need n >= 1")
        steps = C_gamma * np.arange(1, n + 1, dtype=float) ** (-alpha)
        return run_sgd(self, steps, np.full(n, 1.0 / n), rng, replicates)


@dataclass(frozen=True)
class NoisyQuadratic(_Oracle):
    """F(theta) = theta^T A theta / 2 with Gaussian gradient noise; see module doc.
    ``noise_variances`` are along the eigenvectors (the columns of ``rotation``)."""

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
        """A random instance with largest eigenvalue exactly ``L`` and noise trace ``sigma2``."""
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
        return (self.rotation * self.eigenvalues) @ self.rotation.T

    @property
    def L(self) -> float:
        return float(np.max(np.abs(self.eigenvalues)))

    @property
    def Delta(self) -> float:
        return float(self.value(self.theta0[None, :])[0])

    def value(self, theta: np.ndarray) -> np.ndarray:
        return 0.5 * np.einsum("ij,jk,ik->i", theta, self.matrix, theta)

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        return theta @ self.matrix

    def noise(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        return (rng.normal(size=shape) * np.sqrt(self.noise_variances)) @ self.rotation.T


@dataclass(frozen=True)
class NoisyCosine(_Oracle):
    """F(theta) = sum_i (L / w^2)(1 - cos(w theta_i)) with Gaussian gradient noise
    (nonconvex; see module doc): L, inf F = 0, Delta and sigma2 exactly known."""

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
        """A random start in [-pi/w, pi/w]^dim (up to the top of the hump) and noise trace ``sigma2``."""
        if dim < 1 or not L > 0 or not sigma2 >= 0 or not frequency > 0:
            raise ConfigError("need dim >= 1, L > 0, sigma2 >= 0, frequency > 0")
        w = rng.dirichlet(np.ones(dim)) if dim > 1 else np.ones(1)
        theta0 = rng.uniform(-np.pi, np.pi, size=dim) / frequency
        return cls(float(L), float(frequency), sigma2 * w, theta0)

    @property
    def L(self) -> float:
        return float(self.smoothness)

    @property
    def Delta(self) -> float:
        return float(self.value(self.theta0[None, :])[0])

    def value(self, theta: np.ndarray) -> np.ndarray:
        w = self.frequency
        return np.sum(self.smoothness / w**2 * (1 - np.cos(w * theta)), axis=1)

    def gradient(self, theta: np.ndarray) -> np.ndarray:
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
    """``replicates`` independent runs of theta_k = theta_{k-1} - gamma_k g_k
    (with ``box`` = a: theta_k = P_X(...), X = {||theta||_inf <= a}, theta_0
    projected into X first), k = 1..n with n = len(step_sizes), and the
    weighted average sum_j weights[j] X_j over iterates j = 0..n-1, X_j =
    ||grad F(theta_j)||^2 or, for ``"gradient_mapping_sq"``,
    ||theta_j - theta_{j+1}||^2 / gamma_{j+1}^2."""
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
