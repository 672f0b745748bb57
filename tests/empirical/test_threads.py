"""The one torch thread control: threads set and restored, denormals flushed to zero inside
(restored by the outermost block only), and the flush changing no gradient of the models."""

from __future__ import annotations

import pytest
import torch

from empirical import models
from empirical.errors import ConfigError
from empirical.threads import torch_threads


def test_threads_and_denormals_set_inside_and_restored():
    tiny = torch.tensor([1e-40])  # a float32 denormal
    before = torch.get_num_threads()
    assert float(tiny * 1.0) != 0.0
    with torch_threads(1):
        assert torch.get_num_threads() == 1
        assert float(tiny * 1.0) == 0.0  # flushed
        with torch_threads(None):
            assert float(tiny * 1.0) == 0.0
        assert float(tiny * 1.0) == 0.0  # an inner block leaves the outer one's setting alone
    assert torch.get_num_threads() == before and float(tiny * 1.0) != 0.0
    with pytest.raises(ConfigError, match="threads"):
        with torch_threads(0):
            pass


@pytest.mark.parametrize("kind", ["gaussian", "iwae"])
def test_flushing_denormals_changes_no_gradient(digits_train, kind):
    """The soft-clip's far tail goes through denormals (module docstring of empirical.threads);
    the minibatch gradients of the models are bit for bit the same with and without flushing."""
    m = models.make(kind, 64, K=2)
    params = {k: v.requires_grad_(True) for k, v in m.init_params(torch.Generator().manual_seed(0)).items()}
    X = digits_train[:256]
    eps = m.sample_noise(torch.Generator().manual_seed(1), 256)

    def grads() -> list[torch.Tensor]:
        return list(torch.autograd.grad(m.batch_loss(params, X, eps), list(params.values())))

    plain = grads()
    with torch_threads():
        flushed = grads()
    assert all(torch.equal(a, b) for a, b in zip(plain, flushed, strict=True))
