"""Oracle problems with exactly known constants (theory-reference §5).

Noisy quadratic: F(theta) = (1/2) theta^T A theta with A = Q diag(lam) Q^T,
0 <= lam_i, so inf F = 0, L = max |lam_i|, Delta = F(theta_0); the stochastic
gradient is g = A theta + xi with xi ~ N(0, Q diag(v) Q^T), so
E||g - grad F||^2 = sum(v) = sigma2 exactly. NumPy only; randomness is an
argument (``numpy.random.Generator``).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from empirical.errors import ConfigError


@dataclass(frozen=True)
class Simulation:
    """Replicated estimate of (1/n) sum_{k=0}^{n-1} E||grad F(theta_k)||^2."""

    mean: float
    std_error: float
    replicates: int

    def upper(self, confidence: float = 0.99) -> float:
        """One-sided upper confidence limit mean + z_conf * std_error."""
        return self.mean + NormalDist().inv_cdf(confidence) * self.std_error

    def lower(self, confidence: float = 0.99) -> float:
        return self.mean - NormalDist().inv_cdf(confidence) * self.std_error


@dataclass(frozen=True)
class NoisyQuadratic:
    """F(theta) = theta^T A theta / 2 with Gaussian gradient noise; see module doc."""

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
    def sigma2(self) -> float:
        return float(np.sum(self.noise_variances))

    @property
    def Delta(self) -> float:
        return float(0.5 * self.theta0 @ self.matrix @ self.theta0)

    def constants(self) -> dict[str, float]:
        return {"L": self.L, "sigma2": self.sigma2, "Delta": self.Delta}

    def simulate(
        self,
        n: int,
        C_gamma: float,
        rng: np.random.Generator,
        replicates: int = 200,
        alpha: float = 0.5,
    ) -> Simulation:
        """Run ``replicates`` independent SGD paths theta_k = theta_{k-1} - gamma_k g_k,
        gamma_k = C_gamma k^(-alpha), k = 1..n, and average ||grad F(theta_k)||^2
        over k = 0..n-1 (design.md convention)."""
        if n < 1 or replicates < 2:
            raise ConfigError("need n >= 1 and replicates >= 2")
        A = self.matrix
        noise_factor = self.rotation * np.sqrt(self.noise_variances)
        theta = np.tile(self.theta0, (replicates, 1))
        total = np.zeros(replicates)
        for k in range(1, n + 1):
            grad = theta @ A
            total += np.einsum("ij,ij->i", grad, grad)
            xi = rng.normal(size=theta.shape) @ noise_factor.T
            theta = theta - C_gamma * k ** (-alpha) * (grad + xi)
        avg = total / n
        return Simulation(float(avg.mean()), float(avg.std(ddof=1) / np.sqrt(replicates)), replicates)
