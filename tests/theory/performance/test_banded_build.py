"""The banded programs as theory.performance.chain now builds them (row-wise, with numpy) against
the dict-based construction they replaced (copied below from theory/performance/solvers.py and
chain.py at commit cc4b9bc, their docstrings shortened: the dict twin; its one-at-a-time helpers
``combine``, ``add`` and ``Banded.inner`` are the library's, whose code has not changed). For every
algorithm, horizon and random steps, weights, biases and momentum the arrays handed to CLARABEL
must be the same bit for bit (A's indptr, indices and data, q, b, the cones), and a few small
programs must solve to the same float. benchmarks/banded_build.py times the two constructions
against each other."""

import math
from collections.abc import Sequence

import numpy as np
import pytest

from theory.performance import banded, chain
from theory.performance.forms import add, combine

pytest.importorskip("clarabel", reason='the pep extra is not installed (pip install -e ".[pep]")')

# ----- The dict twin: theory/performance/solvers.py at cc4b9bc (docstrings shortened; the helpers and
# solve it shares with the library are borrowed, their code unchanged) -----

#: A vector as its coordinates over the slots: {slot: coefficient}.
Vector = dict[int, float]
#: A linear form over the program's variables: {variable: coefficient}.
Linear = dict[int, float]


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
        """As at cc4b9bc."""
        return self._first_value + k

    # The one-at-a-time helpers are the library's, unchanged since cc4b9bc (theory.performance.forms,
    # banded.Banded.inner: they use only _index and width).
    inner = banded.Banded.inner
    add = staticmethod(add)

    def at_least_zero(self, form: Linear, constant: float = 0.0) -> None:
        """As at cc4b9bc."""
        self.nonnegative.append((form, constant))

    def describe(self) -> str:
        """As at cc4b9bc."""
        block = self.width + 1
        return (
            f"{max(self.slots - self.width, 1)} PSD blocks {block}x{block} over {self.slots} vectors, "
            f"{len(self.nonnegative)} inequalities, {len(self.zero) - 1} equalities"
        )

    def arrays(self):
        """What its solve handed to CLARABEL (:func:`twin_arrays`)."""
        return twin_arrays(self)

    solve = banded.Banded.solve  # its solve was this one's, given those arrays


# ----- The dict twin: theory/performance/chain.py at cc4b9bc (docstrings shortened) -----


def _smooth(problem: Banded, i: int, j: int, gi: Vector, gj: Vector, dx: Vector) -> None:
    """Both interpolation conditions between iterates i and j, dx = x_i - x_j."""
    for a, b, ga, gb, sign in ((i, j, gi, gj, 1.0), (j, i, gj, gi, -1.0)):
        d = {slot: sign * c for slot, c in dx.items()}
        rhs = Banded.add(
            (-0.25, problem.inner(d, d)),
            (0.5, problem.inner(combine((1.0, ga), (1.0, gb)), d)),
            (0.25, problem.inner(combine((1.0, ga), (-1.0, gb)), combine((1.0, ga), (-1.0, gb)))),
        )
        values: Linear = {problem.value(a): 1.0, problem.value(b): -1.0}
        problem.at_least_zero(Banded.add((1.0, values), (-1.0, rhs)))


def _decrease(problem: Banded, n: int) -> None:
    """f_0 - f_n <= 1."""
    problem.at_least_zero({problem.value(0): -1.0, problem.value(n): 1.0}, 1.0)


def _objective(problem: Banded, weights: Sequence[float], observables: Sequence[Vector]) -> None:
    problem.objective = Banded.add(
        *((float(w), problem.inner(o, o)) for w, o in zip(weights, observables, strict=True))
    )


def gradient_descent(h: Sequence[float], w: Sequence[float], bias: Sequence[float] | None = None) -> Banded:
    """The dict twin of chain.gradient_descent (its code at cc4b9bc)."""
    n = len(h)
    stride = 1 if bias is None else 2
    problem = Banded(stride * n + 1, stride, n + 1)

    def g(k: int) -> Vector:
        return {stride * k: 1.0}

    for k in range(1, n + 1):
        direction = g(k - 1) if bias is None else combine((1.0, g(k - 1)), (1.0, {2 * k - 1: 1.0}))
        _smooth(problem, k - 1, k, g(k - 1), g(k), {s: h[k - 1] * c for s, c in direction.items()})
        if bias is not None:
            b = {2 * k - 1: 1.0}
            problem.at_least_zero(Banded.add((-1.0, problem.inner(b, b))), float(bias[k - 1]) ** 2)
    _decrease(problem, n)
    _objective(problem, w, [g(j) for j in range(n)])
    return problem


def projected(h: Sequence[float], w: Sequence[float]) -> Banded:
    """The dict twin of chain.projected (its code at cc4b9bc)."""
    n = len(h)
    problem = Banded(2 * n + 1, 2, n + 1)

    def g(k: int) -> Vector:
        return {2 * k: 1.0}

    def s(k: int) -> Vector:
        return {2 * k - 1: 1.0}

    mappings = []
    for k in range(1, n + 1):
        mapping = combine((1.0, g(k - 1)), (1.0, s(k)))
        step = {slot: h[k - 1] * c for slot, c in mapping.items()}  # theta_{k-1} - theta_k
        _smooth(problem, k - 1, k, g(k - 1), g(k), step)
        problem.at_least_zero(Banded.add((-1.0, problem.inner(s(k), step))))
        if k >= 2:
            problem.at_least_zero(problem.inner(s(k - 1), step))
        mappings.append(mapping)
    _decrease(problem, n)
    _objective(problem, w, mappings)
    return problem


def heavy_ball(h: Sequence[float], w: Sequence[float], momentum: float) -> Banded:
    """The dict twin of chain.heavy_ball (its code at cc4b9bc)."""
    n = len(h)
    problem = Banded(n + 1, 2, n + 1)

    def g(k: int) -> Vector:
        return {k: 1.0} if k == 0 else combine((1.0, {k: 1.0}), (-momentum, {k - 1: 1.0}))

    for k in range(n):
        _smooth(problem, k, k + 1, g(k), g(k + 1), {k: float(h[k])})
    _decrease(problem, n)
    _objective(problem, w, [g(j) for j in range(n)])
    return problem


def twin_arrays(self: Banded):
    """(q, A, b, cones) as the twin's Banded.solve hands them to CLARABEL: its lines, verbatim, up to
    the solver's call (``np.asarray(rhs)`` is its b)."""
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
    return q, A, np.asarray(rhs), cones


# ----- The tests -----

ALGORITHMS = ("gradient", "biased", "projected", "heavy-ball")
SEEDS = range(8)  # seed % 4: the kind of steps (see case)


def case(n: int, seed: int):
    """Random steps, weights, biases and momentum; the steps as a numpy array, a list of floats,
    constant with exact zeros, or small Python integers (zeros among them)."""
    rng = np.random.default_rng(1000 * n + seed)
    kind = seed % 4
    if kind == 0:
        h = rng.uniform(0.01, 2.0, n)
    elif kind == 1:
        h = rng.uniform(0.0, 1.5, n).tolist()
    elif kind == 2:
        h = np.full(n, 0.5)
        h[rng.random(n) < 0.3] = 0.0
    else:
        h = rng.integers(0, 3, n).tolist()
    w = rng.uniform(0.0, 1.0, n)
    w[rng.random(n) < 0.2] = 0.0
    w = (w / max(w.sum(), 1.0)).tolist() if seed % 2 else w
    bias = rng.uniform(0.0, 0.5, n)
    bias[rng.random(n) < 0.2] = 0.0
    momentum = (0.0, 0.5, float(rng.uniform(0.0, 1.0)), 0, 0.9)[seed % 5]
    return h, w, bias, momentum


def pair(algorithm: str, h, w, bias, momentum):
    """(the program as chain builds it, the twin's)."""
    if algorithm == "heavy-ball":
        return chain.heavy_ball(h, w, momentum), heavy_ball(h, w, momentum)
    if algorithm == "projected":
        return chain.projected(h, w), projected(h, w)
    b = bias if algorithm == "biased" else None
    return chain.gradient_descent(h, w, bias=b), gradient_descent(h, w, bias=b)


def same_bits(x: np.ndarray, y: np.ndarray) -> bool:
    """Equal arrays of float64 to the bit (signs of zeros included)."""
    return x.dtype == y.dtype == np.float64 and np.array_equal(x.view(np.uint64), y.view(np.uint64))


def assert_same_arrays(new, twin) -> None:
    q, A, b, cones = new.arrays()
    q0, A0, b0, cones0 = twin_arrays(twin)
    assert A.format == A0.format == "csc" and A.shape == A0.shape
    for name in ("indptr", "indices"):
        x, y = getattr(A, name), getattr(A0, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    assert np.array_equal(A.data, A0.data) and same_bits(A.data, A0.data)
    assert np.array_equal(q, q0) and same_bits(q, q0)
    assert np.array_equal(b, b0) and same_bits(b, b0)
    assert [type(c) for c in cones] == [type(c) for c in cones0]
    assert [c.dim for c in cones] == [c.dim for c in cones0]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 50])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_same_program_as_the_dict_twin(algorithm, n, seed):
    new, twin = pair(algorithm, *case(n, seed))
    assert_same_arrays(new, twin)
    assert (new.slots, new.width, new.count, new.describe()) == (
        twin.slots,
        twin.width,
        twin.count,
        twin.describe(),
    )
    assert new.zero == twin.zero and new.objective == twin.objective
    assert new.nonnegative == twin.nonnegative  # the same conditions in the same order


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_same_program_as_the_dict_twin_at_2000_steps(algorithm, seed):
    new, twin = pair(algorithm, *case(2000, seed))
    assert_same_arrays(new, twin)


def test_same_program_on_the_default_report():
    """The steps of the default run (C_gamma k^(-1/2), L = 1), uniform and step weights."""
    h = np.arange(1, 2001) ** -0.5
    for w in (np.full(2000, 1 / 2000), h / h.sum()):
        assert_same_arrays(chain.gradient_descent(h, w), gradient_descent(h, w))


@pytest.mark.parametrize(
    "algorithm, n, seed", [("gradient", 3, 0), ("biased", 4, 0), ("projected", 3, 0), ("heavy-ball", 4, 1)]
)
def test_same_solution_as_the_dict_twin(algorithm, n, seed):
    h, w, bias, momentum = case(n, seed)
    h = np.arange(1, n + 1) ** -0.5  # positive steps: a bounded worst case
    new, twin = pair(algorithm, h, w, bias, momentum)
    ours, theirs = new.solve(), twin.solve()
    assert ours.value == theirs.value
    assert ours.status == theirs.status and np.array_equal(ours.values, theirs.values)


def test_single_conditions_give_the_same_arrays():
    """The twin's conditions added one at a time to the new Banded (between rows of conditions)."""
    h, w, bias, momentum = case(7, 2)
    new, twin = pair("biased", h, w, bias, momentum)
    rebuilt = banded.Banded(twin.slots, twin.width, twin.count - twin._first_value)
    conditions = twin.nonnegative
    for form, constant in conditions[:5]:
        rebuilt.at_least_zero(form, constant)
    rebuilt.at_least_zero_rows(
        [
            ({v: (np.array([v]), np.array([c]), np.array([True])) for v, c in f.items()}, k)
            for f, k in conditions[5:9]
        ]
    )
    for form, constant in conditions[9:]:
        rebuilt.at_least_zero(form, constant)
    rebuilt.objective = twin.objective
    assert rebuilt.nonnegative == conditions
    assert_same_arrays(rebuilt, twin)


def test_rows_refuse_slots_outside_the_band():
    problem = banded.Banded(5, 1, 3)
    everywhere = np.ones(2, dtype=bool)
    u = {0: (np.array([0, 1]), np.ones(2), everywhere)}
    v = {2: (np.array([2, 3]), np.ones(2), everywhere)}
    with pytest.raises(ValueError, match="slots 0 and 2 are more than 1 apart"):
        problem.inner_rows(u, v)
    with pytest.raises(ValueError, match="more than 1 apart"):
        problem.inner({0: 1.0}, {2: 1.0})
    absent = {2: (np.array([2, 3]), np.ones(2), np.array([False, False]))}
    assert not problem.inner_rows(u, absent)[(0, 2)][2].any()  # no product where v has no entry


def test_float32_steps_and_momentum_are_read_as_float64():
    """The one known difference from the twin: under NumPy 2 (NEP 50) the twin computed the
    coefficients of float32 steps or momentum partly in float32; chain reads them as float64 (as the
    twin did under NumPy 1). The API passes float64 only."""
    h = np.random.default_rng(0).uniform(0.1, 1.5, 7).astype(np.float32)
    w = np.full(7, 1 / 7)
    assert_same_arrays(chain.gradient_descent(h, w), gradient_descent(h.astype(float), w))
    assert_same_arrays(chain.projected(h, w), projected(h.astype(float), w))
    momentum = np.float32(0.3)
    assert_same_arrays(chain.heavy_ball(h, w, momentum), heavy_ball(h.astype(float), w, float(momentum)))


def test_weights_of_the_wrong_length_are_refused():
    with pytest.raises(ValueError, match="3 weights expected"):
        chain.gradient_descent([0.5, 0.5, 0.5], [0.5, 0.5])
