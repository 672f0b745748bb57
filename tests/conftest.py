import os
import tempfile
from pathlib import Path

import cases
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

settings.register_profile(
    "ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile("dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
# Hypothesis keeps its example database and caches outside the checkout (no test writes there).
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "vaebounds-hypothesis")

# Small models run far faster on one intra-op thread, and on a shared 2-core
# machine two threads contend with everything else (measured 20-200x slower).
try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover - torch is a dependency
    pass


# The shared test cases (tests/cases.py) that tests take as fixtures, built once a session.


@pytest.fixture(scope="session")
def small_npy(tmp_path_factory):
    """The CLI tests' small data file: cases.sigmoid_rows() (SMALL_ROWS x SMALL_COLUMNS) as .npy."""
    return cases.write_small_npy(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's digits, float32 (1797, 64) in [0, 1]: cases.digits()."""
    return cases.digits()


@pytest.fixture(scope="session")
def user_rows(digits):
    """The data of a user's own loop in the tracker tests: the first 400 rows of digits."""
    return digits[:400]


@pytest.fixture(scope="session")
def digits_train():
    """The training rows of digits at verify's default split (1438, 64): cases.digits_train()."""
    return cases.digits_train()


@pytest.fixture(scope="session")
def derivations(tmp_path_factory):
    """Every derivation page, written once a session by ``vaebounds derive --out``:
    (exit code, folder). The derive CLI test and the committed-pages test both read it.
    Under pytest-xdist the first worker to ask writes it into the folder all workers share
    (the parent of each worker's base temporary folder), under a file lock; the others read it."""
    from filelock import FileLock  # a dependency of torch

    from empirical.cli import main

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    folder, code_file = shared / "derivations", shared / "derivations.exit"
    with FileLock(str(shared / "derivations.lock")):
        if not code_file.exists():
            folder.mkdir(exist_ok=True)
            code_file.write_text(str(main(["derive", "--out", str(folder)])))
    return int(code_file.read_text()), folder


def pytest_collection_modifyitems(config, items):
    """The slow tests first (a stable sort, the same order in every xdist worker): under
    ``-n auto`` the longest tests start at once rather than after the short ones, so the
    workers finish together."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
