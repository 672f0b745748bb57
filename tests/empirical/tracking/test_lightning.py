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


class TwoSteps(Module):
    """Manual optimization stepping the optimizer twice in each training_step."""

    def __init__(self, D: int) -> None:
        super().__init__(D)
        self.automatic_optimization = False

    def training_step(self, batch, batch_idx):
        opt = self.optimizers()
        for _ in range(2):
            opt.zero_grad()
            self.manual_backward(user_loss(self, batch[0]).mean())
            opt.step()


@pytest.mark.slow
def test_two_optimizer_steps_in_one_batch_are_refused_at_its_end(user_rows, tmp_path):
    """The callback sees one optimizer step per batch: two (manual optimization) are refused at the
    end of the first batch, saying so."""
    from empirical.errors import TrackingError
    from empirical.tracking.lightning import TrackerCallback

    torch.manual_seed(0)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(user_rows), batch_size=32)
    trainer = pl.Trainer(
        max_steps=4, callbacks=[TrackerCallback(user_loss, loader)], accelerator="cpu", logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        default_root_dir=str(tmp_path),
    )  # fmt: skip
    with pytest.raises(TrackingError, match="^TrackerCallback: 2 optimizer steps in training batch 0: "):
        trainer.fit(TwoSteps(user_rows.shape[1]), loader)


def test_without_lightning_the_import_names_the_extra():
    """Without the package the import failed with a bare ModuleNotFoundError from line 25."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'lightning':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import empirical.tracking.lightning\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "needs the lightning package: pip install 'vaebounds[lightning]'" in proc.stderr.splitlines()[-1]
