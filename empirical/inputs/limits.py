"""The limits of every size a user gives, checked before anything is allocated, and the data set names.

Listed in docs/inputs.md, "Sizes". Imports nothing heavy.
"""

from __future__ import annotations

from empirical.inputs import rules

#: Built-in data sets of ``--data``; any other value is a file with one of DATA_SUFFIXES.
DATA_NAMES = ("digits", "mnist", "ppca")
DATA_SUFFIXES = (".npy", ".csv")

#: Seeds are integers in [0, SEED_MAX] (torch.Generator.manual_seed takes 64-bit signed values).
SEED_MAX = rules.SEED_MAX
MAX_STEPS = 10**8
MAX_BATCH = 10**6
MAX_SAMPLES = 10**4
MAX_SEEDS = 1024
#: Largest budget of ``vaebounds advise`` (gradient evaluations n B K; 10**12 is years of a
#: 2-core machine on the smallest model).
MAX_BUDGET = 10**12
#: Largest value of a real-valued setting (beta, s, box, C_gamma).
MAX_REAL = 1e6
#: Largest --stress-margin: the stress search's box widened by ten widths on each side is far
#: beyond the region the runs visited (the bound's constants are about that region).
MAX_STRESS_MARGIN = 10.0
#: Smallest box radius (--box): the projected runs' iterates, their differences and their
#: gradients scale with a and are computed in float32, whose normal numbers end at 1.2e-38;
#: below about 1e-20 they underflow to 0 and the constants cannot be estimated (measured on
#: digits: 1e-19 runs, 1e-30 does not). 1e-12 keeps a wide margin.
MIN_BOX = 1e-12
#: Most points of a sweep grid (the product of its axes' sizes), counted before any point is
#: built: each point is a verify run of seconds to minutes, so 10**4 points are days of work
#: already; split a larger study into several sweeps (each resumable).
MAX_GRID_POINTS = 10**4
#: Largest data dimension, latent dimension and hidden width of a model.
MAX_WIDTH = 10**6
#: The built-in models' latent dimension when the data has at least this many columns (else
#: the number of columns), and their hidden width (empirical.models.DEFAULTS reads both).
LATENT_DEFAULT = 8
HIDDEN_DEFAULT = 64
#: Largest number of parameters of one model (4 GB in float32).
MAX_PARAMS = 10**9
#: Largest |x| of a data value: the estimators sum squared per-example
#: gradients in float32, which overflow or lose all precision above this.
MAX_ABS_DATA = 1e6
#: Fewest training rows (after the held-out split): the constants' intervals are
#: Student-t intervals over rows and sigma2_data is a variance over rows.
MIN_TRAIN_ROWS = 10
#: Largest data file (bytes), checked before it is read.
MAX_FILE_BYTES = 2**30
#: Largest number of values (rows x columns) of a data set: 512 MiB in float32.
MAX_DATA_VALUES = 2**27
#: Largest memory a run may allocate by the estimate of empirical.budget (bytes).
MAX_BYTES = 8 * 2**30
#: The inputs each part of a run's memory grows with (empirical.budget names it in its message).
PART_INPUTS = {
    "data": "the rows x columns of --data",
    "record noise": "the data rows, --samples (K) and --seeds",
    "record activations": "--samples (K), --seeds and the model's widths",
    "step activations": "--batch-size, --samples (K) and --seeds",
    "estimator activations": "--samples (K) and the model's widths",
    "parameters": "the model's size and --seeds",
    "history": "--steps and --seeds",
}
