"""The memory a verify / estimate run would allocate, estimated before anything is allocated.

And its limit (docs/inputs.md, "Sizes"). It is an estimate of the order of what a run
needs, not a count; ``benchmarks/budget.py`` prints measured peak memory against it.
Imports no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from empirical.errors import ConfigError
from empirical.inputs.limits import MAX_BYTES, PART_INPUTS

FLOAT = 4
#: Values of one row's forward pass kept for the backward pass, per unit of width.
ACTIVATION_FACTOR = 6
#: Copies of the parameters per run during training (iterate, gradient, two
#: optimizer states, previous iterate, temporaries of the vmapped step).
STATE_COPIES = 8
#: Snapshots per run (empirical.train.recording.SNAPSHOTS plus theta_0, theta_n).
SNAPSHOT_COPIES = 18
#: Rows per chunk of a full-data gradient (empirical.train.batched.FULL_CHUNK).
FULL_CHUNK = 4096
#: Lanczos vectors (float64) and per-example gradients the estimators keep.
LANCZOS_VECTORS, PER_EXAMPLE_GRADS = 102, 64
#: Rows x draws of the per-example statistics of the estimators (256 x 4).
STAT_ROWS = 1024
#: Bytes of history per step and run (Python floats in lists, then float64
#: arrays), and per step (the step size and list headers).
HISTORY_PER_RUN, HISTORY_PER_STEP = 3 * 32 + 3 * 8, 3 * 64


@dataclass(frozen=True)
class Footprint:
    """The estimated bytes of each part of a run.

    Attributes:
        parts: Part name -> bytes.
    """

    parts: dict[str, int]

    @property
    def total(self) -> int:
        """The total of the parts, in bytes."""
        return sum(self.parts.values())


def footprint(
    *,
    rows: int,
    columns: int,
    n_params: int,
    widths: Sequence[int],
    latent: int,
    runs: int,
    batch_size: int,
    K: int,
    steps: int,
) -> Footprint:
    """The estimated allocations of a run, by part, in bytes (float32 = 4 bytes).

    The dominant allocations: the data (the rows, their float32 copy and the training
    split, 3 N D); the noise of the recorded full-data gradients (two independent draws
    per run and row, 2 R N K d_z) and the activations of one chunk of rows for the 2R
    parameter copies; one training step (the activations of R minibatches of B rows x K
    draws); the estimators' activations; the parameters (R runs x iterate, gradient,
    optimizer state and temporaries, their snapshots, the 2R copies of the records, the
    Lanczos vectors and 64 per-example gradients of the estimators); the per-step history.

    Args:
        rows: The data rows N.
        columns: The data columns D.
        n_params: The model's parameters.
        widths: The model's hidden widths.
        latent: The latent dimension d_z.
        runs: The runs R.
        batch_size: The batch size B.
        K: The samples per example.
        steps: The steps per run.

    Returns:
        The footprint, one part per allocation above.
    """
    unit = columns + 2 * sum(widths) + 4 * latent  # values per row and draw in one forward pass
    act = FLOAT * ACTIVATION_FACTOR * unit
    chunk = min(rows, FULL_CHUNK)
    return Footprint(
        {
            "data": 3 * rows * columns * FLOAT,
            "record noise": 2 * runs * rows * K * latent * FLOAT,
            "record activations": 2 * runs * chunk * K * act,
            "step activations": runs * batch_size * K * act,
            "estimator activations": STAT_ROWS * K * act,
            "parameters": n_params
            * FLOAT
            * (runs * (STATE_COPIES + SNAPSHOT_COPIES + 4) + 2 * LANCZOS_VECTORS + PER_EXAMPLE_GRADS),
            "history": steps * (runs * HISTORY_PER_RUN + HISTORY_PER_STEP),
        }
    )


def check(fp: Footprint, limit: int = MAX_BYTES, what: str = "this run") -> None:
    """Refuse a run whose estimated memory exceeds a limit.

    Args:
        fp: The run's footprint.
        limit: The limit in bytes.
        what: What the run is, for the message.

    Raises:
        ConfigError: The total exceeds ``limit``; the message names the largest part and
            the inputs it grows with.
    """
    if fp.total <= limit:
        return
    name, largest = max(fp.parts.items(), key=lambda kv: kv[1])
    raise ConfigError(
        f"{what} would allocate about {_gib(fp.total)}, above the limit of {_gib(limit)}; the largest "
        f"part, {name} ({_gib(largest)}), grows with {PART_INPUTS[name]}: lower it"
    )


def _gib(b: int) -> str:
    return f"{b / 2**30:.3g} GiB" if b >= 2**27 else f"{b / 2**20:.3g} MiB"
