"""The banded program: a semidefinite program over the band of a Gram matrix, solved by CLARABEL.

When only the interpolation conditions between consecutive iterates are kept, only
the band |a - b| <= ``width`` of the Gram matrix enters, and a band has a positive
semidefinite completion iff every principal block of ``width + 1`` consecutive slots
is positive semidefinite (Grone, Johnson, Sá, Wolkowicz 1984: a chordal pattern).
:class:`Banded` builds that program with those small blocks, so that its size grows
linearly in the horizon, and solves it with CLARABEL (docs/theory.md, "Performance
estimation"). Its conditions are linear forms (theory.performance.forms), added one at a
time or one per row of :data:`~theory.performance.forms.Rows`; both give the same program.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from theory.errors import TheoryError
from theory.performance.forms import Linear, Rows, Vector, accumulate, add

if TYPE_CHECKING:
    from scipy.sparse import csc_matrix


class SolverError(TheoryError):
    """The semidefinite solver did not reach a solution."""


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

    Conditions are added as linear forms in the variables that must be >= 0 or == 0,
    one at a time (:meth:`at_least_zero`) or one per row of
    :data:`~theory.performance.forms.Rows` (:meth:`at_least_zero_rows`); :meth:`inner`
    (:meth:`inner_rows`) turns <u, v> into such a form (and refuses a pair of slots
    farther apart than ``width``). Function value 0 is pinned to 0 (the problems only
    involve differences of values). The variables are the band entries (a, b),
    a <= b <= a + ``width``, row by row, then the function values.

    Args:
        slots: The number of vectors of the Gram matrix.
        width: The band's half-width.
        values: The number of function values.

    Attributes:
        slots: The number of vectors.
        width: The band's half-width.
        count: The number of variables.
        zero: The conditions form == 0, (form, 0.0) pairs.
        nonnegative: The conditions form + constant >= 0 in the order added, (form,
            constant) pairs (read-only: a list built on each access).
        objective: The linear form maximised.
    """

    def __init__(self, slots: int, width: int, values: int) -> None:
        self.slots, self.width = slots, width
        lengths = np.minimum(width + 1, slots - np.arange(slots))
        #: The variable of the band entry (a, a) (then (a, a + t) is that + t).
        self._starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.intp)
        self._first_value = int(lengths.sum())
        self.count = self._first_value + values
        #: The inequalities in order: single (form, constant) pairs and blocks of rows.
        self._nonnegative: list[tuple[Linear, float] | _Block] = []
        self._inequalities = 0
        self.zero: list[tuple[Linear, float]] = [({self.value(0): 1.0}, 0.0)]
        self.objective: Linear = {}

    @cached_property
    def _index(self) -> dict[tuple[int, int], int]:
        """{(a, b): the variable of the band entry}, a <= b (built on first use by :meth:`inner`)."""
        return {
            (a, b): int(self._starts[a]) + b - a
            for a in range(self.slots)
            for b in range(a, min(self.slots, a + self.width + 1))
        }

    @property
    def nonnegative(self) -> list[tuple[Linear, float]]:
        """The conditions form + constant >= 0, (form, constant) pairs in the order added."""
        out: list[tuple[Linear, float]] = []
        for part in self._nonnegative:
            out.extend(part.conditions() if isinstance(part, _Block) else [part])
        return out

    def value(self, k: int | np.ndarray) -> int | np.ndarray:
        """The variable of a function value.

        Args:
            k: The index of f_k (or an array of them).

        Returns:
            The variable's index (an array for an array).
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

    def inner_rows(self, u: Rows, v: Rows) -> Rows:
        """:meth:`inner` in every row at once.

        Args:
            u: Vectors over the slots, one per row.
            v: Other vectors over the slots, one per row.

        Returns:
            <u_r, v_r> in each row r, keyed by the pair of keys (lower first): row r holds
            what ``inner`` returns for the r-th vectors, each coefficient by the same
            operations (in each row a band entry gets at most two products, whose sum
            does not depend on their order).

        Raises:
            ValueError: In some row, two slots are farther apart than ``width``.
        """
        out: Rows = {}
        for ka, (ia, ca, pa) in u.items():
            for kb, (ib, cb, pb) in v.items():
                both = pa & pb
                low, high = np.minimum(ia, ib), np.maximum(ia, ib)
                inside = (low >= 0) & (high < self.slots) & (high - low <= self.width)
                if not np.all(inside | ~both):
                    r = int(np.argmin(inside | ~both))
                    raise ValueError(f"slots {ia[r]} and {ib[r]} are more than {self.width} apart")
                variable = self._starts[np.where(both, low, 0)] + np.where(both, high - low, 0)
                accumulate(out, (ka, kb) if ka <= kb else (kb, ka), variable, ca * cb, both)
        return out

    #: A linear combination of linear forms: :func:`~theory.performance.forms.add`.
    add = staticmethod(add)

    def at_least_zero(self, form: Linear, constant: float = 0.0) -> None:
        """Add the condition form + constant >= 0.

        Args:
            form: A linear form.
            constant: Its constant term.
        """
        self._nonnegative.append((form, constant))
        self._inequalities += 1

    def at_least_zero_rows(
        self, conditions: Sequence[tuple[Rows, float | np.ndarray]], exists: np.ndarray | None = None
    ) -> None:
        """Add, for each row r in turn, the conditions form_i[r] + constant_i[r] >= 0, i in order.

        The same as calling :meth:`at_least_zero` for row 0's conditions, then row 1's, ...

        Args:
            conditions: (form_i, constant_i) pairs, constant_i a number or one per row.
            exists: Whether row r has condition i, a bool array (rows, conditions);
                None: every row has each.

        Raises:
            ValueError: ``exists`` is None and no form has an entry to count the rows by.
        """
        if exists is None:
            lengths = [len(index) for form, _ in conditions for index, _, _ in form.values()]
            if not lengths:
                raise ValueError("no form has an entry: give exists, the rows each condition is in")
            exists = np.ones((lengths[0], len(conditions)), dtype=bool)
        row = (np.cumsum(exists.ravel()) - 1).reshape(exists.shape)
        rows, variables, coefficients = [], [], []
        for i, (form, _) in enumerate(conditions):
            for index, value, present in form.values():
                kept = present & exists[:, i]
                rows.append(row[kept, i])
                variables.append(index[kept])
                coefficients.append(value[kept])
        constants = np.stack(
            [np.broadcast_to(np.asarray(c, dtype=float), exists.shape[:1]) for _, c in conditions], 1
        )
        block = _Block(
            np.concatenate(rows), np.concatenate(variables), np.concatenate(coefficients), constants[exists]
        )
        self._nonnegative.append(block)
        self._inequalities += len(block.constants)

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
            f"{self._inequalities} inequalities, {len(self.zero) - 1} equalities"
        )

    def arrays(self) -> tuple[np.ndarray, csc_matrix, np.ndarray, list]:
        """The program as CLARABEL takes it: minimise q.x subject to b - A x in the cones.

        The rows of A and b: the equalities (zero cone), the inequalities in the order added
        (nonnegative cone), then the PSD blocks of ``width + 1`` consecutive slots, each its
        upper triangle column by column with the off-diagonal entries scaled by sqrt(2).

        Returns:
            (q, A, b, cones): q = -objective (length ``count``), A a scipy CSC matrix with no
            duplicate entries (its zeros stored), b the constants, cones CLARABEL's cone list.
        """
        import clarabel
        import scipy.sparse as sparse

        block = min(self.width + 1, self.slots)
        starts = np.arange(max(self.slots - block + 1, 1))
        upper = [(row, column) for column in range(block) for row in range(column + 1)]
        equalities = len(self.zero) + self._inequalities
        rhs = np.zeros(equalities + len(starts) * len(upper))
        rows: list[int] = []  # the single conditions' entries ...
        cols: list[int] = []
        data: list[float] = []
        blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # ... and the blocks'
        row = 0
        for part in [*self.zero, *self._nonnegative]:
            if isinstance(part, _Block):
                blocks.append((row + part.rows, part.variables, -part.coefficients))
                rhs[row : row + len(part.constants)] = part.constants
                row += len(part.constants)
                continue
            form, constant = part
            for var, coefficient in form.items():
                rows.append(row)
                cols.append(var)
                data.append(-coefficient)  # s = constant + form(x) = b - A x
            rhs[row] = constant
            row += 1
        first = starts[:, None] + np.array([r for r, _ in upper])  # entry (first, second) of each block
        second = starts[:, None] + np.array([c for _, c in upper])
        scale = np.array([1.0 if r == c else math.sqrt(2.0) for r, c in upper])
        psd = (self._starts[first] + (second - first)).ravel()
        blocks.append((equalities + np.arange(len(psd)), psd, np.tile(-scale, len(starts))))
        A = sparse.csc_matrix(
            (
                np.concatenate([np.array(data, dtype=float), *(d for _, _, d in blocks)]),
                (
                    np.concatenate([np.array(rows, dtype=np.intp), *(r for r, _, _ in blocks)]),
                    np.concatenate([np.array(cols, dtype=np.intp), *(c for _, c, _ in blocks)]),
                ),
            ),
            shape=(len(rhs), self.count),
        )
        q = np.zeros(self.count)
        variables = np.fromiter(self.objective.keys(), dtype=np.intp, count=len(self.objective))
        q[variables] -= np.fromiter(self.objective.values(), dtype=float, count=len(self.objective))
        cones = [clarabel.ZeroConeT(len(self.zero)), clarabel.NonnegativeConeT(self._inequalities)]
        cones += [clarabel.PSDTriangleConeT(block)] * len(starts)
        return q, A, rhs, cones

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

        q, A, b, cones = self.arrays()
        settings = clarabel.DefaultSettings()
        settings.verbose = False
        settings.max_threads = 1
        start = time.perf_counter()
        solution = clarabel.DefaultSolver(
            sparse.csc_matrix((self.count, self.count)), q, A, b, cones, settings
        ).solve()
        seconds = time.perf_counter() - start
        status = str(solution.status)
        if status not in ("Solved", "AlmostSolved"):
            raise SolverError(f"CLARABEL stopped with status {status} on {self.describe()}")
        values = np.asarray(solution.x)[self._first_value :]
        return Solution(-float(solution.obj_val_dual), status, seconds, self.describe(), values)


@dataclass(frozen=True)
class _Block:
    """Inequalities form_r + constants[r] >= 0, r = 0..R-1, by their entries.

    Entry i is coefficients[i] x[variables[i]] in form_{rows[i]} (no two of a form share a variable).
    """

    rows: np.ndarray
    variables: np.ndarray
    coefficients: np.ndarray
    constants: np.ndarray

    def conditions(self) -> list[tuple[Linear, float]]:
        """The inequalities as (form, constant) pairs."""
        forms: list[Linear] = [{} for _ in range(len(self.constants))]
        for r, var, coefficient in zip(
            self.rows.tolist(), self.variables.tolist(), self.coefficients.tolist(), strict=True
        ):
            forms[r][var] = coefficient
        return list(zip(forms, self.constants.tolist(), strict=True))
