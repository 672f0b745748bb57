"""Without the pep extra, theory.tightness and friends refuse with the command
that installs it, and the rest of theory works. Runs whether or not PEPit is
installed: the import is blocked here."""

import sys

import pytest

import theory

INSTALL = 'pip install -e ".[pep]"'


@pytest.mark.parametrize("blocked", ["PEPit", "clarabel"])
def test_refused_with_the_install_command_when_a_solver_is_missing(monkeypatch, blocked):
    monkeypatch.setitem(sys.modules, blocked, None)  # `import PEPit` now raises ImportError
    schedule = theory.bound("generic", "sgd", "schedule")
    with pytest.raises(theory.MissingSolverError) as caught:
        theory.tightness(schedule, 1, L=1.0, Delta=1.0, steps=[1.0])
    assert INSTALL in str(caught.value) and blocked in str(caught.value)
    assert isinstance(caught.value, theory.TheoryError) and isinstance(caught.value, ValueError)
    with pytest.raises(theory.MissingSolverError, match=r"pip install -e \"\.\[pep\]\""):
        theory.momentum_worst_case(2, 1.0, 1.0, 0.5, 0.5)
    with pytest.raises(theory.MissingSolverError, match="PEPit with the CLARABEL solver"):
        theory.proof_slack(schedule, [1.0], L=1.0, Delta=1.0)
    assert theory.bound("generic", "sgd").evaluate(n=4, L=1.0, Delta=1.0, C_gamma=1.0, sigma2=0.0) == 1.0


def test_importing_theory_does_not_import_the_solvers():
    import subprocess

    solvers = "('PEPit', 'cvxpy', 'clarabel')"
    code = f"import sys, theory; print(any(sys.modules.get(m) is not None for m in {solvers}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
