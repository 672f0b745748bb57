"""A command imports only what it uses (issue 24): ``--help`` and a refusal load no torch;
``verify`` on the built-in models trains without scipy.stats, scikit-learn, pandas,
matplotlib or torch._dynamo (``torch.func.grad`` imports it on its first call), never loads
scipy.optimize or scipy.interpolate (the growth fit has its own spline and minimiser), and loads
matplotlib for its report only (20 steps: beyond 10 the report's tightness program needs CLARABEL
only, not PEPit, cvxpy and pandas). Each case runs in a fresh interpreter."""

from __future__ import annotations

import pytest
from cases import fresh

HEAVY = (
    "scipy.stats",
    "scipy.optimize",
    "scipy.interpolate",
    "sklearn",
    "pandas",
    "matplotlib",
    "torch._dynamo",
)


@pytest.mark.parametrize("argv", [["--help"], ["verify", "--steps", "0"], ["verify", "--model", "nope"]])
def test_help_and_refusals_load_no_torch(argv):
    seen = fresh(
        "import json, sys\n"
        "from empirical.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(m for m in ('torch', 'numpy', 'sympy', 'scipy') if m in sys.modules)))\n"
    )
    assert seen == []


@pytest.mark.slow
def test_verify_trains_without_heavy_imports_and_loads_matplotlib_for_its_report(tmp_path):
    seen = fresh(
        "import json, sys\n"
        "import empirical.train.loop as loop\n"
        f"HEAVY = {HEAVY!r}\n"
        "seen = {}\n"
        "train = loop._train\n"
        "def spy(*args, **kwargs):\n"
        "    seen['training'] = sorted(m for m in HEAVY if m in sys.modules)\n"
        "    return train(*args, **kwargs)\n"
        "loop._train = spy\n"
        "from empirical.cli import main\n"
        f"argv = ['verify', '--steps', '20', '--seeds', '1', '--quiet', '--out', {str(tmp_path / 'r')!r}]\n"
        "seen['exit'] = main(argv)\n"
        "seen['end'] = sorted(m for m in HEAVY if m in sys.modules)\n"
        "print(json.dumps(seen))\n"
    )
    assert seen["exit"] != 2 and (tmp_path / "r" / "report.json").is_file()  # a finished verification
    assert seen["training"] == []
    assert seen["end"] == ["matplotlib"]
