"""Property tests of the estimators against brute-force twins on random small problems."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from empirical import models
from empirical.estimators import smoothness
from empirical.estimators.per_example import RowStats, recorder_row_stats, vmap_row_stats
from empirical.estimators.variance import from_row_stats

F64 = torch.float64


@given(n=st.integers(2, 40), seed=st.integers(0, 2**31 - 1), scale=st.floats(1e-3, 1e3))
def test_lanczos_matches_dense_eigenvalues_of_random_symmetric_matrices(n, seed, scale):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(n, n, generator=g, dtype=F64) * scale
    A = 0.5 * (A + A.T)
    truth = float(torch.linalg.eigvalsh(A).abs().max())
    est = smoothness(
        lambda p: 0.5 * p["x"] @ A @ p["x"], {"x": torch.randn(n, generator=g, dtype=F64)}, tol=1e-6
    )
    assert est.value == pytest.approx(truth, rel=1e-3)
    assert est.value <= truth * (1 + 1e-9)  # a Rayleigh quotient never exceeds the spectral radius
    assert est.n_evals - 1 <= n


@given(
    kind=st.sampled_from(["gaussian", "iwae"]),
    hidden=st.lists(st.integers(1, 12), min_size=1, max_size=2),
    latent=st.integers(1, 3),
    K=st.integers(1, 4),
    J=st.integers(2, 3),
    n=st.integers(2, 5),
    decoder=st.sampled_from(["gaussian", "bernoulli"]),
    activation=st.sampled_from(["softclip", "relu"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_backpack_statistics_equal_the_vmap_twin(kind, hidden, latent, K, J, n, decoder, activation, seed):
    D = 6
    m = models.make(kind, D, hidden=tuple(hidden), latent_dim=min(latent, D), K=K, decoder=decoder,
                    activation=activation, dtype="float64")  # fmt: skip
    g = torch.Generator().manual_seed(seed)
    params = m.init_params(g)
    X = torch.rand(n, D, generator=g, dtype=F64)
    eps = m.sample_noise(g, batch=n * J).reshape(n, J, K, m.latent_dim)
    fast, slow = recorder_row_stats(m, params, X, eps), vmap_row_stats(m.loss, params, X, eps)
    for k in params:
        for f in ("sq_draw", "sq_mean", "dot_mean"):
            torch.testing.assert_close(getattr(fast[k], f), getattr(slow[k], f), rtol=1e-8, atol=1e-12)


@given(n=st.integers(2, 12), J=st.integers(2, 5), p=st.integers(1, 6), seed=st.integers(0, 2**31 - 1))
def test_nested_estimator_equals_its_formula_on_explicit_gradients(n, J, p, seed):
    rng = np.random.default_rng(seed)
    g = torch.from_numpy(
        rng.normal(size=(n, J, p)) * rng.uniform(0.1, 3, size=(1, 1, p)) + rng.normal(size=p)
    )
    gbar = g.mean(1)
    G = gbar.mean(0)
    stats = RowStats((g * g).sum(-1), (gbar * gbar).sum(-1), gbar @ G, float(G @ G))
    v = from_row_stats(stats, deterministic=False)
    s2 = ((g - gbar[:, None]) ** 2).sum(-1).sum(1) / (J - 1)
    mc = float(s2.mean())
    data = float(((gbar - G) ** 2).sum(-1).sum() / (n - 1)) - mc / J
    assert v.mc.value == pytest.approx(max(mc, 0.0), rel=1e-9, abs=1e-12)
    assert v.data.value == pytest.approx(max(data, 0.0), rel=1e-9, abs=1e-12)
