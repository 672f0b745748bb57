"""A PyTorch Lightning ``Callback`` that tracks a ``Trainer.fit`` run with :func:`empirical.track`.

It needs the optional ``lightning`` package (``pip install -e ".[lightning]"``; it installs
beside the pinned torch without replacing it); the tracker is described in
docs/architecture.md, "The tracker".

    callback = TrackerCallback(loss, train_loader, seed=0)
    trainer = lightning.Trainer(max_steps=2000, callbacks=[callback])
    trainer.fit(module, train_loader)
    result = callback.verify()          # the same Result as the CLI's

``loss(module, x)`` returns the per-example losses of the LightningModule on rows ``x``;
``data`` is the training DataLoader (or the rows: tensor, NumPy array). The tracker starts at
``on_train_start`` on the trainer's one optimizer (Lightning steps it with a closure: the tracker
reads the gradients after the closure ran) and follows every optimizer step in
``on_train_batch_end``. Lightning's loader usually shuffles once per epoch: sampling without
replacement, so the ``unbiased`` row is approximate (:mod:`empirical.tracking.accept`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

try:
    import lightning.pytorch as pl
except ImportError as err:  # the optional extra
    raise ImportError(
        "empirical.tracking.lightning needs the lightning package: pip install 'vaebounds[lightning]' "
        '(or pip install -e ".[lightning]" in a checkout)'
    ) from err

from empirical.errors import ConfigError, TrackingError
from empirical.tracking.tracker import Tracker, track


class TrackerCallback(pl.Callback):
    """Tracks the fit it is given to (module docstring); :meth:`verify` after ``fit``.

    Args:
        loss: ``loss(module, x)``, the per-example losses (len(x),), drawing its noise from
            torch's global RNG.
        data: The training DataLoader, or the rows F is the mean loss over.
        seed: The tracker's seed.
        **options: The options of :func:`empirical.track` (``callback=``, ``tensorboard=``, ...).
    """

    def __init__(self, loss: Callable, data: Any, seed: int = 0, **options: Any) -> None:
        super().__init__()
        self.loss, self.data, self.seed, self.options = loss, data, seed, options
        self.tracker: Tracker | None = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Start the tracker on the trainer's one optimizer.

        Args:
            trainer: The Lightning trainer.
            pl_module: The module it fits.

        Raises:
            ConfigError: A trainer with more than one optimizer.
        """
        if len(trainer.optimizers) != 1:
            raise ConfigError(
                f"TrackerCallback follows one optimizer; the trainer has {len(trainer.optimizers)}"
            )
        self.tracker = track(
            pl_module, self.loss, self.data, trainer.optimizers[0], self.seed, **self.options
        )

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        """Hand the step's loss to the tracker (nothing while gradients accumulate).

        Args:
            trainer: The Lightning trainer.
            pl_module: The module it fits.
            outputs: The training step's output (its ``loss``).
            batch: The batch.
            batch_idx: Its index.

        Raises:
            TrackingError: More than one optimizer step in the batch (manual optimization stepping
                twice): the tracker follows every step, and the callback sees one per batch.
        """
        if self.tracker is None or self.tracker.pending == 0:  # accumulating gradients: no step yet
            return
        if self.tracker.pending > 1:
            raise TrackingError(
                f"TrackerCallback: {self.tracker.pending} optimizer steps in training batch {batch_idx}: it "
                "follows one optimizer step per batch; step the optimizer once per training_step"
            )
        value = outputs.get("loss") if isinstance(outputs, dict) else outputs
        self.tracker.step(value)

    def verify(self, **options: Any):
        """The verification of the tracked fit.

        Args:
            **options: Those of :meth:`empirical.tracking.Tracker.verify`.

        Returns:
            The :class:`~empirical.conclusion.Result`.

        Raises:
            TrackingError: Called before ``trainer.fit``.
        """
        if self.tracker is None:
            raise TrackingError("TrackerCallback.verify() before trainer.fit(): nothing was tracked")
        return self.tracker.verify(**options)
