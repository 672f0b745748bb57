"""The optional solvers, imported only when a worst case is computed, and the banded program.

When only the interpolation conditions between consecutive iterates are kept, only
the band |a - b| <= ``width`` of the Gram matrix enters, and a band has a positive
semidefinite completion iff every principal block of ``width + 1`` consecutive slots
is positive semidefinite (Grone, Johnson, Sá, Wolkowicz 1984: a chordal pattern).
:class:`Banded` builds that program with those small blocks, so that its size grows
linearly in the horizon, and solves it with CLARABEL (docs/theory.md, "Performance
estimation").
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from theory.errors import TheoryError

#: The command that installs the optional solvers.
INSTALL = 'pip install -e ".[pep]"'

#: A vector as its coordinates over the slots: {slot: coefficient}.
Vector = dict[int, float]
#: A linear form over the program's variables: {variable: coefficient}.
Linear = dict[int, float]


class MissingSolverError(TheoryError):
    """The optional performance-estimation extra (PEPit and CLARABEL) is not installed."""


class SolverError(TheoryError):
    """The semidefinite solver did not reach a solution."""


def require() -> dict[str, str]:
    """Find PEPit, cvxpy and CLARABEL (the ``pep`` extra) or refuse.

    Each is imported where it is used (the consecutive-conditions program needs CLARABEL only).

    Returns:
        Their versions, {"PEPit": ..., "clarabel": ..., "cvxpy": ...}.

    Raises:
        MissingSolverError: any of them is missing; the message names them and
            the command that installs the extra.
    """
    from importlib import metadata, util

    versions, missing = {}, []
    for name in ("PEPit", "clarabel", "cvxpy"):  # found, not imported: PEPit and cvxpy cost ~1 s
        try:
            found = util.find_spec(name) is not None
            versions[name] = metadata.version(name) if found else ""
        except (ImportError, ValueError, metadata.PackageNotFoundError):
            found = False
        if not found:
            missing.append(name)
    if missing:
        raise MissingSolverError(
            "performance estimation needs the optional extra (PEPit with the CLARABEL solver); "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed: {INSTALL}"
        )
    return versions


def combine(*terms: tuple[float, Vector]) -> Vector:
    """A linear combination of vectors.

    Args:
        *terms: (c_i, v_i) pairs.

    Returns:
        sum_i c_i v_i, without zero coefficients.
    """
    out: Vector = {}
    for coefficient, vector in terms:
        for slot, value in vector.items():
            out[slot] = out.get(slot, 0.0) + coefficient * value
    return {slot: value for slot, value in out.items() if value != 0.0}


@dataclass(frozen=True)
class Solution:
    """A solved program.

    Attributes:
        value: The maximum (the solver's dual objective, an upper bound of it up to the
            tolerance).
        status: The solver's status.
        seconds: The solver time.
        size: A description of the program.
        values: The function values f_k at the optimum.
    """

    value: float
    status: str
    seconds: float
    size: str
    values: np.ndarray = field(repr=False)


class Banded:
    """A maximisation over the band |a - b| <= ``width`` of a Gram matrix and function values.

    Conditions are added as linear forms in the variables that must be >= 0 or == 0;
    :meth:`inner` turns <u, v> into such a form (and refuses a pair of slots farther
    apart than ``width``). Function value 0 is pinned to 0 (the problems only involve
    differences of values).

    Args:
        slots: The number of vectors of the Gram matrix.
        width: The band's half-width.
        values: The number of function values.
    """

    def __init__(self, slots: int, width: int, values: int) -> None:
        self.slots, self.width = slots, width
        self._index: dict[tuple[int, int], int] = {}
        for a in range(slots):
            for b in range(a, min(slots, a + width + 1)):
                self._index[(a, b)] = len(self._index)
        self._first_value = len(self._index)
        self.count = self._first_value + values
        self.nonnegative: list[tuple[Linear, float]] = []
        self.zero: list[tuple[Linear, float]] = [({self.value(0): 1.0}, 0.0)]
        self.objective: Linear = {}

    def value(self, k: int) -> int:
        """The variable of a function value.

        Args:
            k: The index of f_k.

        Returns:
            The variable's index.
        """
        return self._first_value + k

    def inner(self, u: Vector, v: Vector) -> Linear:
        """An inner product as a linear form in the band entries.

        Args:
            u: A vector over the slots.
            v: Another vector over the slots.

        Returns:
            <u, v>.

        Raises:
            ValueError: Two slots are farther apart than ``width``.
        """
        out: Linear = {}
        for a, ca in u.items():
            for b, cb in v.items():
                key = (min(a, b), max(a, b))
                if key not in self._index:
                    raise ValueError(f"slots {a} and {b} are more than {self.width} apart")
                out[self._index[key]] = out.get(self._index[key], 0.0) + ca * cb
        return out

    @staticmethod
    def add(*terms: tuple[float, Linear]) -> Linear:
        """A linear combination of linear forms.

        Args:
            *terms: (c_i, l_i) pairs.

        Returns:
            sum_i c_i l_i.
        """
        out: Linear = {}
        for coefficient, form in terms:
            for var, value in form.items():
                out[var] = out.get(var, 0.0) + coefficient * value
        return out

    def at_least_zero(self, form: Linear, constant: float = 0.0) -> None:
        """Add the condition form + constant >= 0.

        Args:
            form: A linear form.
            constant: Its constant term.
        """
        self.nonnegative.append((form, constant))

    def equal_zero(self, form: Linear) -> None:
        """Add the condition form == 0.

        Args:
            form: A linear form.
        """
        self.zero.append((form, 0.0))

    def describe(self) -> str:
        """The program's size.

        Returns:
            The number of PSD blocks, vectors, inequalities and equalities, as text.
        """
        block = self.width + 1
        return (
            f"{max(self.slots - self.width, 1)} PSD blocks {block}x{block} over {self.slots} vectors, "
            f"{len(self.nonnegative)} inequalities, {len(self.zero) - 1} equalities"
        )

    def solve(self) -> Solution:
        """Maximise the objective with CLARABEL (one thread).

        Returns:
            The :class:`Solution`; its value is -(the dual objective of the
            minimisation of -objective), an upper bound of the maximum up to the
            solver's tolerance (1e-8).

        Raises:
            SolverError: the solver stopped without a solution.
        """
        import clarabel
        import scipy.sparse as sparse

        rows, cols, data, rhs = [], [], [], []

        def put(form: Linear, constant: float) -> None:
            row = len(rhs)
            for var, coefficient in form.items():
                rows.append(row)
                cols.append(var)
                data.append(-coefficient)  # s = constant + form(x) = b - A x
            rhs.append(constant)

        for form, constant in self.zero:
            put(form, constant)
        for form, constant in self.nonnegative:
            put(form, constant)
        block = min(self.width + 1, self.slots)
        starts = range(max(self.slots - block + 1, 1))
        for start in starts:
            for column in range(block):
                for row in range(column + 1):
                    scale = 1.0 if row == column else math.sqrt(2.0)
                    put({self._index[(start + row, start + column)]: scale}, 0.0)
        A = sparse.csc_matrix((data, (rows, cols)), shape=(len(rhs), self.count))
        q = np.zeros(self.count)
        for var, coefficient in self.objective.items():
            q[var] -= coefficient
        cones = [clarabel.ZeroConeT(len(self.zero)), clarabel.NonnegativeConeT(len(self.nonnegative))]
        cones += [clarabel.PSDTriangleConeT(block)] * len(starts)
        settings = clarabel.DefaultSettings()
        settings.verbose = False
        settings.max_threads = 1
        start = time.perf_counter()
        solution = clarabel.DefaultSolver(
            sparse.csc_matrix((self.count, self.count)), q, A, np.asarray(rhs), cones, settings
        ).solve()
        seconds = time.perf_counter() - start
        status = str(solution.status)
        if status not in ("Solved", "AlmostSolved"):
            raise SolverError(f"CLARABEL stopped with status {status} on {self.describe()}")
        values = np.asarray(solution.x)[self._first_value :]
        return Solution(-float(solution.obj_val_dual), status, seconds, self.describe(), values)
