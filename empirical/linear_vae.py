"""The linear VAE: a Gaussian decoder W z + mu and an encoder V (x - mu), in closed form or by Monte Carlo.

Built by :func:`empirical.models.make` (kind ``linear``); its objective is in docs/theory.md,
"Objectives".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from empirical.nets import Params, Recorder
from empirical.vae import LOG_2PI, VAE, gaussian_log_lik, kl_analytic, log_q_minus_log_p

__all__ = ["LinearVAE"]


@dataclass(frozen=True)
class LinearVAE(VAE):
    """p(x|z) = N(W z + mu, c^2 I), q(z|x) = N(V (x - mu), diag(e^{logs})).

    Parameters dec.W (D, d), dec.mu (D,), enc.V (d, D), enc.logs (d,). With ``closed_form`` the
    per-example loss is -ELBO in closed form, m = V (x - mu), S = diag(e^{logs}):
    (D/2) log(2 pi c^2) + (||x - mu - W m||^2 + sum_j S_j ||W_:j||^2)/(2 c^2)
    + beta (1/2)(tr S + ||m||^2 - d - log det S), and eps is ignored; otherwise the
    reconstruction term is the K-sample Monte-Carlo average. dec.mu enters the encoder too,
    so every key is in :attr:`other_keys`.

    Attributes:
        closed_form: The loss in closed form (deterministic).
    """

    closed_form: bool = True
    kind = "linear"

    @property
    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """W, mu, V and logs by key."""
        D, d = self.data_dim, self.latent_dim
        return {"dec.W": (D, d), "dec.mu": (D,), "enc.V": (d, D), "enc.logs": (d,)}

    @property
    def is_deterministic(self) -> bool:
        """True in closed form."""
        return self.closed_form

    def init_params(self, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Draw the start: W, V ~ N(0, 1/D) entries; mu = 0; logs = 0 (S = I).

        Args:
            generator: The source of randomness.

        Returns:
            The parameters.
        """
        D, d = self.data_dim, self.latent_dim
        W = torch.randn((D, d), generator=generator, dtype=torch.float64) / math.sqrt(D)
        V = torch.randn((d, D), generator=generator, dtype=torch.float64) / math.sqrt(D)
        params = {"dec.W": W, "dec.mu": torch.zeros(D), "enc.V": V, "enc.logs": torch.zeros(d)}
        return {k: v.to(self.dtype) for k, v in params.items()}

    def truth_params(self, W: torch.Tensor, mu: torch.Tensor) -> dict[str, torch.Tensor]:
        """The decoder at (W, mu) and the ELBO-optimal encoder for it.

        V = M^{-1} W^T, S_j = c^2 / M_jj with M = W^T W + c^2 I (the exact posterior mean; the
        best diagonal variances, exact when W has orthogonal columns).

        Args:
            W: The true loadings, (D, d).
            mu: The true mean, (D,).

        Returns:
            The parameters.
        """
        W64, c2 = W.double(), self.c**2
        M = W64.T @ W64 + c2 * torch.eye(self.latent_dim, dtype=torch.float64)
        V = torch.linalg.solve(M, W64.T)
        logs = torch.log(c2 / torch.diagonal(M))
        params = {"dec.W": W64, "dec.mu": mu.double(), "enc.V": V, "enc.logs": logs}
        return {k: v.to(self.dtype) for k, v in params.items()}

    def batch_losses(
        self, params: Params, X: torch.Tensor, eps: torch.Tensor, recorder: Recorder | None = None
    ) -> torch.Tensor:
        """The per-example losses (the class docstring; arguments as :meth:`VAE.batch_losses`)."""
        W, mu, V, logs = params["dec.W"], params["dec.mu"], params["enc.V"], params["enc.logs"]
        centred = X - mu
        m = centred @ V.T  # (B, d)
        S = logs.exp()
        const = 0.5 * self.data_dim * (LOG_2PI + 2.0 * math.log(self.c))
        if self.closed_form:
            resid = centred - m @ W.T
            trace = ((W**2).sum(0) * S).sum()
            rec = const + 0.5 * ((resid**2).sum(-1) + trace) / self.c**2
            kl = kl_analytic(m, logs.expand_as(m))
            return rec + self.beta * kl
        z = m.unsqueeze(1) + S.sqrt() * eps  # (B, K, d)
        rec = -gaussian_log_lik(X.unsqueeze(1), z @ W.T + mu, self.c).mean(-1)
        if self.kl == "analytic":
            kl = kl_analytic(m, logs.expand_as(m))
        else:
            kl = log_q_minus_log_p(z, eps, logs).mean(-1)
        return rec + self.beta * kl

    @property
    def loss_lower_bound(self) -> float:
        """(D/2) log(2 pi c^2): -log N(x; ., c^2 I) >= it, beta KL >= 0 (in expectation for ``kl="mc"``)."""
        return 0.5 * self.data_dim * math.log(2.0 * math.pi * self.c**2)
