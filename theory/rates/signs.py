"""The sign of d bound / d x for a constant x: the one sign routine.

A sign is claimed only when SymPy proves it, over the symbols' domains or over the
step constraint; otherwise it "depends", with the region where it changes sign when
SymPy can solve for it and sampled evidence, never claimed as a sign (docs/theory.md,
"Which way a constant moves a bound").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from theory import checks
from theory import symbols as S
from theory.bound import Bound
from theory.optimum import positive_at_typical
from theory.rates.step_constant import clean_values, require_bound
from theory.symbols import C_gamma

#: Derivatives larger than this (nodes of the expression tree) are not sent to the assumption
#: system; factoring and solving for the region are tried below SMALL only (they are costly).
PROOF_SIZE = 2250
SMALL = 60


@dataclass(frozen=True)
class DerivativeSign:
    """The sign of d(bound)/d(symbol).

    Attributes:
        symbol: The constant's name.
        sign: +1, -1 or 0 only when proved (``proved`` True) or, with a point, the local
            sign there (``proved`` False, ``method`` says so); None means it depends.
        proved: The sign is proved over the admissible domain.
        method: How the sign was found, in words.
        threshold: A root x* of d bound/dx = 0 with proved signs on each side (None when
            not found).
        below: The proved sign for x < x*.
        above: The proved sign for x > x*.
        evidence: The signs seen at random admissible points (evidence, not a claim).
        checked: The number of points those signs were seen at.
    """

    symbol: str
    sign: int | None
    proved: bool
    method: str
    threshold: sp.Expr | None = None
    below: int | None = None
    above: int | None = None
    evidence: tuple[int, ...] = ()
    checked: int = 0

    @property
    def depends(self) -> bool:
        """Whether no sign is claimed (``sign`` is None)."""
        return self.sign is None


@lru_cache(maxsize=4096)
def _size(expr: sp.Expr) -> int:
    return sum(1 for _ in sp.preorder_traversal(expr))


def _decide(expr: sp.Expr) -> int | None:
    """+1 / -1 when SymPy proves expr >= 0 / <= 0 (strict or not), else None."""
    size = _size(expr)
    if size > PROOF_SIZE:
        return None
    candidates = [expr] + ([sp.factor(expr)] if size < SMALL else [])
    for candidate in candidates:
        shifted = S.domain_form(candidate)[0]
        if shifted.is_nonnegative:
            return 1
        if shifted.is_nonpositive:
            return -1
    return None


#: Most sampled points of the evidence of a sign.
MAX_SAMPLES = 10**6


def _varying(bound: Bound, name: str) -> list[str]:
    return [c for c in bound.constants if name in S.info(c).varies_with]


def derivative_sign(
    bound: Bound,
    symbol: str,
    values: Mapping[str, float] | None = None,
    samples: int = 200,
    seed: int = 0,
) -> DerivativeSign:
    """The sign of d(bound)/d(symbol).

    Without ``values`` the sign is proved by SymPy over the admissible domain, or
    "depends" (``sign`` None) with the region where it changes sign if SymPy can solve
    for it, and sampled evidence. No sign in x is claimed for a bound containing a
    constant that varies with x (e.g. sigma2_mc_K with K).

    Args:
        bound: The bound.
        symbol: The constant's name.
        values: Every constant of the bound: then the local sign at that point.
        samples: The number of random admissible points for the evidence.
        seed: The seed of those points.

    Returns:
        The sign with how it was found.

    Raises:
        TheoryError: An unknown symbol, bad samples or seed; at a point, a missing
            constant or a derivative that is not finite.
    """
    require_bound(bound, "derivative_sign")
    sym = S.get(symbol)
    varying = _varying(bound, symbol)
    if values is not None:
        return _local(bound, sym, clean_values(values), varying)
    samples = checks.require_integer("samples", samples, 0, MAX_SAMPLES)
    return _global(bound, symbol, samples, checks.require_integer("seed", seed, 0, 2**63 - 1))


def _local(bound: Bound, sym: sp.Symbol, values: dict[str, float], varying: list[str]) -> DerivativeSign:
    if varying:
        return DerivativeSign(
            sym.name, None, False, f"{', '.join(varying)} varies with {sym.name}: no sign is claimed"
        )
    deriv = _derivative(bound, sym)
    missing = sorted(x.name for x in deriv.free_symbols if x.name not in values)
    if missing:
        from theory.errors import MissingConstantError

        raise MissingConstantError(f"d {bound.name}/d {sym.name} needs a value for {', '.join(missing)}")
    with np.errstate(all="ignore"):
        val = float(_lambdified(deriv)(*(values[x.name] for x in _args(deriv))))
    if not math.isfinite(val):
        from theory.errors import AssumptionViolation

        raise AssumptionViolation(f"d bound/d {sym.name} is not finite at {dict(values)}")
    return DerivativeSign(sym.name, int(np.sign(val)), False, "evaluated at the given point")


@lru_cache(maxsize=4096)
def _derivative(bound: Bound, sym: sp.Symbol) -> sp.Expr:
    return sp.diff(bound.expr, sym)


def _args(expr: sp.Expr) -> list[sp.Symbol]:
    return sorted(expr.free_symbols, key=lambda x: x.name)


@lru_cache(maxsize=256)
def _lambdified(expr: sp.Expr):
    return sp.lambdify(_args(expr), expr, "numpy", cse=True)


@lru_cache(maxsize=4096)
def _global(bound: Bound, symbol: str, samples: int, seed: int) -> DerivativeSign:
    sym = S.get(symbol)
    varying = _varying(bound, symbol)
    if varying:
        ev, checked = _evidence(bound, sym, samples, seed)
        return DerivativeSign(
            symbol,
            None,
            False,
            f"{', '.join(varying)} varies with {symbol} (measured at the {symbol} used): the direction "
            f"in {symbol} is an empirical question, no sign is claimed",
            evidence=ev,
            checked=checked,
        )
    deriv = _derivative(bound, sym)
    if deriv == 0:
        return DerivativeSign(symbol, 0, True, "identically zero")
    sign = _decide(deriv)
    if sign is not None:
        return DerivativeSign(symbol, sign, True, "proved by sympy assumptions over the symbols' domains")
    if bound.step_limit is not None and C_gamma in deriv.free_symbols and _size(deriv) <= PROOF_SIZE:
        w = sp.Symbol("w_step", nonnegative=True)
        sign = _decide(deriv.xreplace({C_gamma: bound.step_limit / (1 + w)}))
        if sign is not None:
            return DerivativeSign(
                symbol, sign, True, "proved by sympy assumptions for C_gamma = step limit/(1 + w), w >= 0"
            )
    ev, checked = _evidence(bound, sym, samples, seed)
    threshold, below, above = _region(deriv, sym)
    if threshold is not None:
        method = (
            f"depends: d bound/d {symbol} = 0 at {symbol} = {sp.sstr(threshold)}; "
            f"sign {below} below, {above} above (proved)"
        )
    else:
        method = "depends: no sign proved over the admissible domain"
    if checked:
        method += f"; signs seen at {checked} random admissible points: {sorted(set(ev))} (evidence only)"
    return DerivativeSign(symbol, None, False, method, threshold, below, above, ev, checked)


def _region(deriv: sp.Expr, sym: sp.Symbol) -> tuple[sp.Expr | None, int | None, int | None]:
    """A unique positive root x* of d/dx = 0 with proved signs below and above."""
    if _size(deriv) > SMALL:
        return None, None, None
    numerator = sp.numer(sp.together(deriv))
    try:
        poly = sp.Poly(numerator, sym)
    except sp.PolynomialError:
        return None, None, None
    if poly.degree() < 1 or poly.degree() > 4:
        return None, None, None
    roots = [r for r in sp.solve(numerator, sym) if positive_at_typical(r)]
    if len(roots) != 1:
        return None, None, None
    root = roots[0]
    w = sp.Symbol("w_root", nonnegative=True)
    below = _decide(deriv.subs(sym, root / (1 + w)))
    above = _decide(deriv.subs(sym, root * (1 + w)))
    if below is None or above is None:
        return None, None, None
    return root, below, above


def sample_points(bound: Bound, count: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random admissible points of every constant of a bound.

    Log-uniform within a factor e of the typical values, inside the domains; a constant x
    with a constraint x <= rhs is drawn as a fraction of rhs, rhs first; points still
    breaking a constraint are dropped.

    Args:
        bound: The bound.
        count: The number of points drawn.
        rng: The random generator.

    Returns:
        Constant name -> array, all of equal length, at most ``count``.
    """
    names = sorted(set(bound.constants) | {x.name for a in bound.assumptions for x in a.constants})
    points: dict[str, np.ndarray] = {}
    for name in names:
        info = S.info(name)
        typical = float(info.typical) or 1.0
        if info.domain in ("unit", "unit_closed"):
            points[name] = rng.uniform(0.01, 0.99, count)
        elif info.domain == "real":
            points[name] = typical + rng.normal(size=count)
        else:
            points[name] = abs(typical) * np.exp(rng.uniform(-1, 1, count))
            if info.domain == "count":
                points[name] = np.maximum(1.0, points[name])
        if info.integer:
            points[name] = np.round(points[name])
    for x, rhs in bound.upper_limits(set(points)):
        top = checks.expression_values(rhs, points)
        info = S.info(x)
        if info.domain == "real":
            points[x] = top - rng.uniform(0, 10, count)
        elif not info.integer and info.domain != "count":
            points[x] = top * rng.uniform(0.01, 1.0, count)
    keep = np.ones(count, dtype=bool)
    for name, arr in points.items():
        keep &= checks.admits_array(name, arr)
    for assumption in bound.assumptions:
        for con in assumption.constraints:
            sides = checks.constraint_sides(con.lhs, con.rhs, points)
            if sides is not None:
                keep &= np.broadcast_to(checks.holds_array(*sides), keep.shape)
    return {name: arr[keep] for name, arr in points.items()}


def _evidence(bound: Bound, sym: sp.Symbol, samples: int, seed: int) -> tuple[tuple[int, ...], int]:
    """Signs of central differences of the bound in ``sym`` at random admissible points."""
    if samples <= 0:
        return (), 0
    points = sample_points(bound, samples, np.random.default_rng(seed))
    f = bound.numpy()
    if sym.name not in f.args or any(a not in points for a in f.args):
        return (), 0
    x = points[sym.name]
    h = 1e-4 * np.where(x != 0, np.abs(x), 1e-12)
    with np.errstate(all="ignore"):
        up = f.func(*(x + h if a == sym.name else points[a] for a in f.args))
        low = x if S.info(sym.name).domain in ("nonnegative", "unit_closed") else x - h
        down = f.func(*(low if a == sym.name else points[a] for a in f.args))
    diff = np.asarray(up - down, dtype=float)
    diff = diff[np.isfinite(diff) & (diff != 0)]
    return tuple(sorted({int(v) for v in np.sign(diff)})), int(diff.size)


@dataclass(frozen=True)
class BatchSampleSigns:
    """The signs of d(bound)/dB and d(bound)/dK.

    Attributes:
        B: The sign in the batch size.
        K: The sign in the samples per example.
    """

    B: DerivativeSign
    K: DerivativeSign


def batch_sample_signs(bound: Bound, samples: int = 200, seed: int = 0) -> BatchSampleSigns:
    """The signs of d(bound)/dB and d(bound)/dK by :func:`derivative_sign`.

    Args:
        bound: The bound.
        samples: The number of random admissible points for the evidence.
        seed: The seed of those points.

    Returns:
        Both signs.
    """
    require_bound(bound, "batch_sample_signs")
    return BatchSampleSigns(
        *(derivative_sign(bound, name, samples=samples, seed=seed) for name in ("B", "K"))
    )
