"""``import theory`` imports neither SymPy nor a theorem (docs/theory.md, "Importing theory");
every public name still works, loaded on first use. Timings are in benchmarks/symbolic.py."""

from __future__ import annotations

import subprocess
import sys

import theory


def _run(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_import_theory_loads_no_sympy_and_no_theorem():
    code = (
        "import sys, theory; print('sympy' in sys.modules, 'numpy' in sys.modules, "
        "any(m.startswith('theory.theorems') or m == 'theory.catalog' for m in sys.modules))"
    )
    assert _run(code) == ["False", "False", "False"]


def test_a_generic_bound_loads_no_model_and_the_public_names_work():
    code = (
        "import sys, theory; b = theory.bound('generic', 'sgd'); "
        "print(any(m.startswith('theory.models') for m in sys.modules), b.rate())"
    )
    assert _run(code) == ["False", "log(n)/sqrt(n)"]
    for name in theory.__all__:
        assert getattr(theory, name) is not None, name
    assert theory.lhs.UNIFORM.uniform  # any sub-module, loaded on first use


def test_functions_named_like_their_modules_stay_functions():
    """theory.bound and theory.attribution are functions, as they were, even after their
    sub-modules (theory/bound.py, theory/attribution.py) are imported by name."""
    code = (
        "import theory.bound, theory.attribution, theory; b = theory.bound('generic', 'sgd'); "
        "print(callable(theory.bound), callable(theory.attribution), b.variant == '')"
    )
    assert _run(code) == ["True", "True", "True"]
    import theory.attribution  # noqa: F401

    assert callable(theory.attribution) and callable(theory.bound)
