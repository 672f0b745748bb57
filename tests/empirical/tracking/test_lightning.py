"""The Lightning callback (empirical/tracking/lightning.py): a Trainer.fit tracked like a plain
loop; skipped without the optional lightning extra."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cases import user_loss, user_vae

from empirical.tracking.plan import reads_norm

pl = pytest.importorskip("lightning.pytorch", reason="the optional lightning extra is not installed")


class Module(pl.LightningModule):
    def __init__(self, D: int) -> None:
        super().__init__()
        self.vae = user_vae(D)

    def forward(self, x):
        return self.vae(x)

    def training_step(self, batch, batch_idx):
        return user_loss(self, batch[0]).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.02)


@pytest.mark.slow
def test_a_lightning_fit_is_tracked_and_verified(user_rows, tmp_path):
    """30 optimizer steps of a shuffled DataLoader: 30 steps tracked, B from the loader, the
    records ending at step 30, the unbiased row approximate (shuffling is without replacement)."""
    from empirical.tracking.lightning import TrackerCallback

    torch.manual_seed(0)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(user_rows), batch_size=32, shuffle=True
    )
    callback = TrackerCallback(user_loss, loader, seed=0)
    trainer = pl.Trainer(
        max_steps=30, callbacks=[callback], accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(tmp_path),
    )  # fmt: skip
    trainer.fit(Module(user_rows.shape[1]), loader)
    result = callback.verify()
    assert result.runs.steps == 30 and result.records[-1][0] == 30
    assert result.runs.options["batch_size"] == 32 and result.theorem.name == "generic/sgd/schedule"
    assert {r.id: r.status for r in result.assumptions}["unbiased"] == "approximate"
    read = [k - 1 for k in range(1, 31) if reads_norm(k)]  # the steps whose ||g_k||^2 is read
    assert np.isfinite(result.runs.grad_norm_sq[0, read]).all()  # read after Lightning's closure
