"""Linear forms over the variables of a banded program, one at a time or one per row.

A vector is a dict over the Gram matrix's slots, a linear form a dict over the program's
variables (:data:`Vector`, :data:`Linear`; :func:`combine`, :func:`add`). :data:`Rows` holds
m of them at once as numpy arrays, the r-th in row r, and :func:`combine_rows`,
:func:`add_rows` and :func:`add_over_rows` compute in every row what the dict functions
compute, by the same floating-point operations in the same order (a coefficient first
met is 0.0 + c v, as ``out.get(key, 0.0) + c * v`` makes it), so that a program built
either way is the same to the last bit (tests/theory/performance/test_banded_build.py).
The inner products are :meth:`~theory.performance.banded.Banded.inner` and
:meth:`~theory.performance.banded.Banded.inner_rows` (they need the band's variables).
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np

#: A vector as its coordinates over the slots: {slot: coefficient}.
Vector = dict[int, float]
#: A linear form over the program's variables: {variable: coefficient}.
Linear = dict[int, float]
#: m vectors (or m linear forms) at once, the r-th in row r: {key: (index, coefficient, present)},
#: three arrays of length m (int, float, bool); row r holds the slot (variable) index[r] with
#: coefficient[r] where present[r], and has no such entry elsewhere. A key names the same
#: slot (variable) in every row and distinct keys distinct ones; the keys of vectors are integers.
Rows = dict[Hashable, tuple[np.ndarray, np.ndarray, np.ndarray]]


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


def accumulate(out: Rows, key: Hashable, index: np.ndarray, term: np.ndarray, present: np.ndarray) -> None:
    """Add a term to an entry of every row, in place, as ``out[v] = out.get(v, 0.0) + term`` does.

    Args:
        out: The rows being summed.
        key: The entry's key.
        index: Its slot (variable) in each row.
        term: The term of each row.
        present: Whether row r has the term.
    """
    if key in out:
        old_index, old, seen = out[key]
        out[key] = (np.where(present, index, old_index), np.where(present, old + term, old), seen | present)
    else:
        out[key] = (index, np.where(present, 0.0 + term, 0.0), present)


def combine_rows(*terms: tuple[float | np.ndarray, Rows]) -> Rows:
    """:func:`combine` in every row at once.

    Args:
        *terms: (c_i, v_i) pairs; c_i a number or one per row.

    Returns:
        sum_i c_i v_i in each row, without zero coefficients: row r holds what
        ``combine`` returns for the r-th vectors, each coefficient by the same
        operations in the same order.
    """
    out: Rows = {}
    for coefficient, vector in terms:
        for key, (index, value, present) in vector.items():
            accumulate(out, key, index, coefficient * value, present)
    return {key: (index, value, present & (value != 0.0)) for key, (index, value, present) in out.items()}


def add_rows(*terms: tuple[float | np.ndarray, Rows]) -> Rows:
    """:func:`add` in every row at once.

    Args:
        *terms: (c_i, l_i) pairs; c_i a number or one per row.

    Returns:
        sum_i c_i l_i in each row, each coefficient as ``add`` computes it.
    """
    out: Rows = {}
    for coefficient, form in terms:
        for key, (index, value, present) in form.items():
            accumulate(out, key, index, coefficient * value, present)
    return out


def add_over_rows(coefficients: np.ndarray, forms: Rows) -> Linear:
    """:func:`add` over the rows: ``add((c_0, l_0), (c_1, l_1), ...)``.

    Args:
        coefficients: c_r, one per row.
        forms: l_r, one per row.

    Returns:
        sum_r c_r l_r, the sum of each variable taken in the order of the rows.
    """
    rows, variables, terms = [], [], []
    for index, value, present in forms.values():
        rows.append(np.flatnonzero(present))
        variables.append(index[present])
        terms.append((coefficients * value)[present])
    order = np.argsort(np.concatenate(rows), kind="stable")
    variables_in_order = np.concatenate(variables)[order]
    total = np.zeros(int(variables_in_order.max(initial=-1)) + 1)
    np.add.at(total, variables_in_order, np.concatenate(terms)[order])  # one by one, in order
    used = np.unique(variables_in_order)
    return dict(zip(used.tolist(), total[used].tolist(), strict=True))
