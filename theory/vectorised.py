"""A bound as a vectorised numpy callable, checked like :meth:`theory.Bound.evaluate`
(docs/theory.md, "Evaluating a bound").

:class:`NumpyBound` is what ``Bound.numpy()`` returns. Calling it checks every
value against its symbol's domain and every constraint of the theorem at every
point, and raises :class:`~theory.errors.AssumptionViolation` at the first point
that breaks one (or where the bound is not a finite number >= 0): the same
refusal as ``evaluate``, never a silent number. Two other views, for arrays that
are meant to reach outside:

* :meth:`NumpyBound.masked`: NaN at the refused points, with the mask and the
  reasons (nothing raised for a violation);
* :meth:`NumpyBound.raw`: the theorem's conditions not checked (a bound examined
  where the theorem does not apply, e.g. a step above its limit), NaN only where
  the expression itself is undefined (a ``defines`` constraint fails).

:attr:`NumpyBound.func` is the unchecked lambdified expression.
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
    """Raise :class:`UnknownNameError` unless ``name`` is a registered symbol."""
    if not isinstance(name, str) or name not in S.REGISTRY:
        raise UnknownNameError(f"unknown constant {name!r}; this bound needs {', '.join(known)}")


def check_domains(values: Mapping[str, np.ndarray]) -> None:
    """Raise :class:`AssumptionViolation` at the first value outside its symbol's domain."""
    for name, arr in values.items():
        ok = checks.admits_array(name, arr)
        if not ok.all():
            bad = np.asarray(arr).ravel()[int(np.argmin(ok.ravel()))]
            raise AssumptionViolation(checks.domain_message(name, float(bad)) or name)


def as_array(name: str, value) -> np.ndarray:
    """``value`` as a float array; bools, strings and other non-reals raise."""
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


#: A constraint of a theorem with the id of its assumption.
Condition = tuple[str, Constraint]


def failures(
    conditions: tuple[Condition, ...], values: Mapping[str, np.ndarray], shape: tuple[int, ...]
) -> list[tuple[str, np.ndarray, Constraint, np.ndarray, np.ndarray]]:
    """(id, failed mask, constraint, lhs, rhs) of every constraint that fails at some point of
    ``values`` (broadcast to ``shape``); constraints missing a value are skipped."""
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
    """(mask, reason) of the points where a bound's value is not a finite number >= 0."""
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(out) & (out >= 0))
    return bad, "the bound is not a finite number >= 0 (float overflow, or a domain no constraint encodes)"


@dataclass(frozen=True)
class Masked:
    """A bound over arrays with its refusals: ``value`` (NaN where refused), ``valid``
    (True where the value is the bound's) and ``reasons`` ((message, mask) for each
    check that refused some point: a symbol's domain, a constraint, a non-finite value)."""

    value: np.ndarray
    valid: np.ndarray
    reasons: tuple[tuple[str, np.ndarray], ...] = ()


@dataclass(frozen=True)
class NumpyBound:
    """A vectorised bound: call with keyword arrays (broadcast together) or positionally
    in the order of :attr:`constants`.

    ``args`` are the expression's constants, in the order :attr:`func` (the unchecked
    lambdified expression) takes them; ``constants`` every value a call needs (``args``
    and those only the theorem's conditions use, e.g. gamma_max); ``conditions`` the
    theorem's constraints with their assumption ids; ``name`` the bound's name.

    A call checks names, domains and every constraint at every point and raises
    :class:`AssumptionViolation` at the first point that breaks one, or where the value
    is not a finite number >= 0, like :meth:`theory.Bound.evaluate`. :meth:`masked`
    gives NaN with a mask instead; :meth:`raw` leaves the theorem's conditions aside.
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
        """The bound with NaN wherever a call would refuse (a value outside its symbol's
        domain, a constraint broken, a value that is not a finite number >= 0), the
        mask of valid points and the reasons; unknown names, missing constants and
        shapes that do not broadcast still raise."""
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
        """The expression where it is defined, the theorem's conditions left aside (a
        bound examined where the theorem does not apply, e.g. a step above the step
        limit): names and symbols' domains are checked (raise), NaN where a
        ``defines`` constraint fails (the expression means nothing there)."""
        arrays, shape = self._arrays((), values, self.args)
        check_domains(arrays)
        out = self._value(arrays, shape)
        defining = tuple(c for c in self.conditions if c[1].defines)
        for _, bad, _, _, _ in failures(defining, arrays, shape):
            out = np.where(bad, np.nan, out)
        return out[()] if out.ndim == 0 else out
