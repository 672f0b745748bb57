"""A bound as a vectorised numpy callable, checked like :meth:`theory.Bound.evaluate`.

:class:`NumpyBound` is what ``Bound.numpy()`` returns: a call refuses the first
point that breaks a domain or a constraint, :meth:`NumpyBound.masked` gives NaN
there with a mask, :meth:`NumpyBound.raw` leaves the theorem's conditions aside
(docs/theory.md, "Evaluating a bound").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import sympy as sp

from theory import checks
from theory import symbols as S
from theory.assumptions import Constraint
from theory.errors import AssumptionViolation, MissingConstantError, TheoryError, UnknownNameError


def registered_name(name: str, known: tuple[str, ...]) -> None:
    """Check that a name is a registered symbol.

    Args:
        name: The name given.
        known: The constants of the bound, for the message.

    Raises:
        UnknownNameError: ``name`` is not a registered symbol.
    """
    if not isinstance(name, str) or name not in S.REGISTRY:
        raise UnknownNameError(f"unknown constant {name!r}; this bound needs {', '.join(known)}")


def check_domains(values: Mapping[str, np.ndarray]) -> None:
    """Check every value against its symbol's domain.

    Args:
        values: Symbol name -> array.

    Raises:
        AssumptionViolation: At the first value outside its symbol's domain.
    """
    for name, arr in values.items():
        ok = checks.admits_array(name, arr)
        if not ok.all():
            bad = np.asarray(arr).ravel()[int(np.argmin(ok.ravel()))]
            raise AssumptionViolation(checks.domain_message(name, float(bad)) or name)


def as_array(name: str, value) -> np.ndarray:
    """A value as a float array.

    Args:
        name: The input's name, for the message.
        value: A number or an array-like of numbers.

    Returns:
        ``value`` as an array of floats.

    Raises:
        AssumptionViolation: Bools, strings and other non-real values.
    """
    if isinstance(value, bool | np.bool_):
        raise AssumptionViolation(f"{name} must be real numbers, got {value!r}")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError, OverflowError):
        raise AssumptionViolation(f"{name} must be real numbers, got {value!r}") from None
    if arr.dtype.kind == "O":
        arr = np.asarray([checks.real_value(name, v) for v in arr.ravel()], dtype=float).reshape(arr.shape)
    elif arr.dtype.kind not in "iuf":
        raise AssumptionViolation(f"{name} must be real numbers, got {value!r} (dtype {arr.dtype})")
    return arr.astype(float)


def lambdified(syms: list[sp.Symbol], expr: sp.Expr) -> Callable[..., np.ndarray]:
    """The numpy function of ``expr``, evaluating one piece of a Piecewise when it can.

    ``sympy.lambdify`` turns a Piecewise into ``numpy.select`` over every piece, each piece
    evaluated at every point. When ``expr`` is a Piecewise and the values its conditions read
    are scalars at a call (e.g. alpha_bias, with n an array), the conditions are decided once
    and only the first piece whose condition holds is evaluated, from the same common
    subexpressions as the whole (``sympy.cse``): the values ``select`` gives, to the bit (NaN
    when no condition holds), for a quarter of the work on the biased-gradient bounds' four
    pieces. Otherwise the call is ``select``'s.

    Args:
        syms: The arguments, in the order the function takes them.
        expr: The expression.

    Returns:
        ``f(*values)``.
    """
    reps, reduced = sp.cse(expr, list=False)
    whole = sp.lambdify(syms, expr, modules="numpy", cse=lambda _: (reps, reduced))
    if not isinstance(reduced, sp.Piecewise):
        return whole

    def part(e: sp.Expr) -> Callable[..., np.ndarray]:
        needed, todo = set(), set(e.free_symbols)
        for name, sub in reversed(reps):  # a replacement reads only the ones before it
            if name in todo:
                needed.add(name)
                todo |= sub.free_symbols
        kept = [(name, sub) for name, sub in reps if name in needed]
        return sp.lambdify(syms, e, modules="numpy", cse=lambda _: (kept, e))

    pieces = [(part(piece), None if cond is sp.true else part(cond)) for piece, cond in reduced.args]
    conditions = set().union(*(cond.free_symbols for _, cond in expr.args))
    read = [i for i, x in enumerate(syms) if x in conditions]

    def func(*values):
        if any(np.ndim(values[i]) for i in read):
            return whole(*values)
        shape = np.broadcast_shapes(*(np.shape(v) for v in values))  # select's, whichever piece
        for piece, cond in pieces:
            if cond is None or bool(cond(*values)):
                out = piece(*values)
                return out if np.shape(out) == shape else np.array(np.broadcast_to(out, shape), dtype=float)
        return np.full(shape, np.nan) if shape else np.nan

    return func


#: A constraint of a theorem with the id of its assumption.
Condition = tuple[str, Constraint]


def failures(
    conditions: tuple[Condition, ...], values: Mapping[str, np.ndarray], shape: tuple[int, ...]
) -> list[tuple[str, np.ndarray, Constraint, np.ndarray, np.ndarray]]:
    """Every constraint that fails at some point of the values.

    Args:
        conditions: The constraints with their assumption ids.
        values: Symbol name -> array.
        shape: The shape the values broadcast to.

    Returns:
        (id, failed mask, constraint, lhs, rhs) of each failing constraint;
        constraints missing a value are skipped.
    """
    out = []
    for ident, con in conditions:
        sides = checks.constraint_sides(con.lhs, con.rhs, values)
        if sides is None:
            continue
        left, right = (np.broadcast_to(side, shape) for side in sides)
        bad = ~checks.holds_array(left, right, con.strict)
        if bad.any():
            out.append((ident, bad, con, left, right))
    return out


def outcome_failures(out: np.ndarray) -> tuple[np.ndarray, str]:
    """The points where a bound's value is not a finite number >= 0.

    Args:
        out: The bound's values.

    Returns:
        (mask, reason): True where the value is refused, and why.
    """
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(out) & (out >= 0))
    return bad, "the bound is not a finite number >= 0 (float overflow, or a domain no constraint encodes)"


@dataclass(frozen=True)
class Masked:
    """A bound over arrays with its refusals.

    Attributes:
        value: The bound, NaN where refused.
        valid: True where the value is the bound's.
        reasons: (message, mask) for each check that refused some point: a symbol's
            domain, a constraint, a non-finite value.
    """

    value: np.ndarray
    valid: np.ndarray
    reasons: tuple[tuple[str, np.ndarray], ...] = ()


@dataclass(frozen=True)
class NumpyBound:
    """A vectorised bound, called with keyword arrays (broadcast together) or positionally.

    A call takes the values in the order of :attr:`constants`, checks names, domains
    and every constraint at every point, and raises
    :class:`~theory.errors.AssumptionViolation` at the first point that breaks one, or
    where the value is not a finite number >= 0, like :meth:`theory.Bound.evaluate`.
    :meth:`masked` gives NaN with a mask instead; :meth:`raw` leaves the theorem's
    conditions aside.

    Attributes:
        args: The expression's constants, in the order :attr:`func` takes them.
        func: The unchecked lambdified expression.
        constants: Every value a call needs: ``args`` and those only the theorem's
            conditions use (e.g. gamma_max).
        conditions: The theorem's constraints with their assumption ids.
        name: The bound's name, for messages.
    """

    args: tuple[str, ...]
    func: Callable[..., np.ndarray]
    constants: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = ()
    name: str = "bound"

    def __post_init__(self) -> None:
        if not self.constants:
            object.__setattr__(self, "constants", tuple(sorted(self.args)))

    def _arrays(
        self, positional: tuple, values: dict, needed: tuple[str, ...] | None = None
    ) -> tuple[dict[str, np.ndarray], tuple[int, ...]]:
        needed = self.constants if needed is None else needed
        if positional and values:
            raise TheoryError("pass the constants either positionally or by name, not both")
        if positional:
            if len(positional) != len(self.constants):
                raise TheoryError(f"expected {len(self.constants)} values ({', '.join(self.constants)})")
            values = dict(zip(self.constants, positional, strict=True))
        for key in values:
            registered_name(key, self.constants)
        missing = [a for a in needed if a not in values]
        if missing:
            raise MissingConstantError(f"{self.name}: missing value for {', '.join(missing)}")
        arrays = {key: as_array(key, value) for key, value in values.items()}
        try:
            shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
        except ValueError:
            shapes = ", ".join(f"{k} {a.shape}" for k, a in arrays.items())
            raise TheoryError(f"the values must broadcast together, got shapes {shapes}") from None
        return arrays, shape

    def _value(self, arrays: Mapping[str, np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
        with np.errstate(all="ignore"):
            out = self.func(*(arrays[a] for a in self.args))
        return np.broadcast_to(np.asarray(out, dtype=float), shape)

    def __call__(self, *positional, **values) -> np.ndarray:
        """The bound at every point of the values, checked like :meth:`theory.Bound.evaluate`.

        Args:
            *positional: The values in the order of :attr:`constants` (or none).
            **values: Symbol name -> array (broadcasting), for every name of :attr:`constants`.

        Returns:
            The bound's values (a float for scalar inputs).

        Raises:
            TheoryError: Unknown names, missing constants, shapes that do not broadcast;
                :class:`~theory.errors.AssumptionViolation` at the first point outside a
                domain, breaking a constraint, or where the value is not a finite number >= 0.
        """
        arrays, shape = self._arrays(positional, values)
        check_domains(arrays)
        for ident, bad, con, left, right in failures(self.conditions, arrays, shape):
            at = int(np.argmax(bad.ravel()))
            raise AssumptionViolation(
                f"{self.name}: [{ident}] {con.message(left.ravel()[at], right.ravel()[at])} "
                f"(at flat index {at} of {bad.size})"
            )
        out = self._value(arrays, shape)
        bad, reason = outcome_failures(out)
        if bad.any():
            at = int(np.argmax(bad.ravel()))
            point = {k: float(np.broadcast_to(v, shape).ravel()[at]) for k, v in arrays.items()}
            raise AssumptionViolation(f"{self.name}: {reason}: {out.ravel()[at]} at {point}")
        return out[()] if out.ndim == 0 else out

    def masked(self, **values) -> Masked:
        """The bound with NaN wherever a call would refuse, with the mask and the reasons.

        A point is refused for a value outside its symbol's domain, a constraint broken,
        or a value that is not a finite number >= 0.

        Args:
            **values: Symbol name -> array (broadcasting).

        Returns:
            The values, the mask of valid points and each reason's mask.

        Raises:
            TheoryError: Unknown names, missing constants or shapes that do not broadcast.
        """
        arrays, shape = self._arrays((), values)
        valid = np.ones(shape, dtype=bool)
        reasons = []
        for key, arr in arrays.items():
            ok = np.broadcast_to(checks.admits_array(key, arr), shape)
            if not ok.all():
                reasons.append((f"{key} must be {checks.describe(S.info(key))}", ~ok))
                valid &= ok
        for ident, bad, con, _, _ in failures(self.conditions, arrays, shape):
            reasons.append((f"[{ident}] {con.description}: {sp.sstr(con.relation())}", bad))
            valid &= ~bad
        out = self._value(arrays, shape)
        bad, reason = outcome_failures(out)
        if (bad & valid).any():
            reasons.append((reason, bad & valid))
        valid &= ~bad
        return Masked(np.where(valid, out, np.nan), valid, tuple(reasons))

    def raw(self, **values) -> np.ndarray:
        """The expression where it is defined, the theorem's conditions left aside.

        For a bound examined where the theorem does not apply, e.g. a step above the step limit.

        Args:
            **values: Symbol name -> array (broadcasting), for every name of :attr:`args`.

        Returns:
            The expression's values, NaN where a ``defines`` constraint fails (the
            expression means nothing there).

        Raises:
            TheoryError: Unknown names, missing constants, values outside their symbols'
                domains, or shapes that do not broadcast.
        """
        arrays, shape = self._arrays((), values, self.args)
        check_domains(arrays)
        out = self._value(arrays, shape)
        defining = tuple(c for c in self.conditions if c[1].defines)
        for _, bad, _, _, _ in failures(defining, arrays, shape):
            out = np.where(bad, np.nan, out)
        return out[()] if out.ndim == 0 else out
