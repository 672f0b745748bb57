"""The examples in the theory package's docstrings run as written."""

import doctest
import importlib
import pkgutil

import pytest

import theory

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(theory.__path__, "theory.") if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, name
