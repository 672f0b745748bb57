"""Every package of the source tree is in the distribution (pyproject.toml lists them)."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_distributed():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for pkg in ("theory", "empirical")
        for init in (ROOT / pkg).rglob("__init__.py")
    }
    assert found == listed, (sorted(found - listed), sorted(listed - found))
