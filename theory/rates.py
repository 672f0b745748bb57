"""Closed-form consequences of a bound: leading order in n, the optimal step
constant, iterations to reach a target accuracy, and the sign of the bound's
derivative in any constant."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import sympy as sp

from theory import symbols as S
from theory.errors import AssumptionViolation, MissingConstantError, TheoryError
from theory.symbols import C_gamma, alpha, n

# --------------------------------------------------------------------------- rates


@dataclass(frozen=True)
class Order:
    """A term's growth in n: n**exponent * log(n)**log_power."""

    exponent: sp.Expr
    log_power: sp.Expr

    def expr(self, var: sp.Symbol = n) -> sp.Expr:
        return var**self.exponent * sp.log(var) ** self.log_power


def _generic(expr: sp.Expr, var: sp.Symbol, keep: set[sp.Symbol]) -> sp.Expr:
    """Replace every constant but ``var`` and ``keep`` by its typical value,
    so the expression is a function of ``var`` alone (constants dropped)."""
    subs = {}
    for sym in expr.free_symbols - {var} - keep:
        typical = S.REGISTRY[sym.name].typical if sym.name in S.REGISTRY else 2.0
        subs[sym] = sp.nsimplify(typical)
    return expr.subs(subs)


def _order_of_term(term: sp.Expr, var: sp.Symbol) -> Order:
    """(p, q) with |term| ~ c n^p log(n)^q as n -> oo."""
    num, den = sp.fraction(sp.factor(sp.together(term)))
    p = sp.Integer(0)
    q = sp.Integer(0)
    other = sp.Integer(1)
    for part, sign in ((num, 1), (den, -1)):
        part = sp.powsimp(sp.expand_power_base(part, force=True), force=True)
        for factor in sp.Mul.make_args(part):
            base, exp = factor.as_base_exp()
            if base == var:
                p += sign * exp
            elif base == sp.log(var):
                q += sign * exp
            elif factor.has(var):
                other *= factor**sign
    if other != 1:
        if other.free_symbols - {var}:
            raise TheoryError(f"cannot take the order of {other} with symbolic exponents")
        pe = sp.limit(sp.log(sp.Abs(other)) / sp.log(var), var, sp.oo)
        qe = sp.limit(sp.log(sp.Abs(other) / var**pe) / sp.log(sp.log(var)), var, sp.oo)
        p += pe
        q += qe
    return Order(sp.simplify(p), sp.simplify(q))


def _dominant(orders: list[Order], assume: sp.Set) -> Order | sp.Expr:
    """The largest order; exponents may depend on alpha in ``assume``."""
    best = orders[0]
    for other in orders[1:]:
        diff = sp.simplify(other.exponent - best.exponent)
        if diff.is_number:
            bigger = diff > 0 or (diff == 0 and other.log_power > best.log_power)
        else:
            # compare over the admissible alpha: decidable only if one sign throughout
            pos = sp.solveset(diff > 0, alpha, assume)
            neg = sp.solveset(diff < 0, alpha, assume)
            if pos == sp.EmptySet:
                bigger = False
            elif neg == sp.EmptySet:
                bigger = True
            else:
                if best.log_power != 0 or other.log_power != 0:
                    raise TheoryError("cannot order log factors with a symbolic exponent")
                best = Order(sp.Max(best.exponent, other.exponent), sp.Integer(0))
                continue
        if bigger:
            best = other
    return best


def leading_order(expr: sp.Expr, var: sp.Symbol = n, assume: sp.Set | None = None) -> sp.Expr:
    """Leading order of ``expr`` as ``var`` -> oo with constants dropped,
    e.g. ``log(n)/sqrt(n)`` for the SGD bound at alpha = 1/2.

    Constants are replaced by typical values, the expression is expanded into
    terms, each term's order n^p log(n)^q is found (exactly for products of
    powers and logs, by limits otherwise), and the largest is kept. A
    Piecewise (e.g. in alpha) gives a Piecewise of leading orders; exponents
    depending on alpha are compared over ``assume`` (default (0, 1)).
    """
    assume = sp.Interval.open(0, 1) if assume is None else assume
    expr = sp.sympify(expr)
    if isinstance(expr, sp.Piecewise):
        pieces = []
        for piece, cond in expr.args:
            region = assume if cond == sp.true else assume.intersect(cond.as_set())
            if isinstance(region, sp.FiniteSet) and len(region) == 1:
                value = next(iter(region))
                inner = leading_order(piece.subs(alpha, value), var, assume)
            else:
                inner = leading_order(piece, var, region)
            pieces.append((inner, cond))
        return sp.Piecewise(*pieces)
    generic = _generic(expr, var, {alpha})
    terms = [t for t in sp.Add.make_args(sp.expand(generic)) if t != 0]
    if not terms:
        return sp.Integer(1)
    # a term free of n is of order n^0: a bound tending to a constant has rate 1
    orders = [_order_of_term(t, var) if t.has(var) else Order(sp.Integer(0), sp.Integer(0)) for t in terms]
    return _dominant(orders, assume).expr(var)


def rate_exponent(expr: sp.Expr, var: sp.Symbol = n) -> tuple[sp.Expr, sp.Expr]:
    """(p, q) of the leading order n^p log(n)^q of ``expr`` (p may be a
    Piecewise in alpha)."""
    lead = leading_order(expr, var)
    if isinstance(lead, sp.Piecewise):
        ps = [(rate_exponent(piece, var)[0], cond) for piece, cond in lead.args]
        qs = [(rate_exponent(piece, var)[1], cond) for piece, cond in lead.args]
        return sp.Piecewise(*ps), sp.Piecewise(*qs)
    order = _order_of_term(lead, var)
    return order.exponent, order.log_power


# ----------------------------------------------------------------- step constant


def optimal_step_constant(bound, values: Mapping[str, float] | None = None) -> sp.Expr:
    """The C_gamma minimising the bound, clipped to the theorem's step limit.

    For the SGD bound (2 Delta + L sigma2 C^2 (1 + log n)) / (C sqrt(n)):
    C* = sqrt(2 Delta / (L sigma2 (1 + log n))), then min(C*, 1/L). Solved in
    closed form by SymPy (d bound / dC = 0, positive root); with ``values``
    the result is substituted and returned as a number.
    """
    if "c_star" not in bound._cache:
        bound._cache["c_star"] = _symbolic_optimum(bound)
    best = bound._cache["c_star"]
    if values:
        best = best.subs({S.get(k): v for k, v in values.items()})
    return best


def _symbolic_optimum(bound) -> sp.Expr:
    expr = bound.expr
    if C_gamma not in expr.free_symbols:
        raise TheoryError(f"{bound.name} does not depend on C_gamma")
    shifted = _shifted(expr)  # counts x >= 1 as 1 + x_m: lets SymPy drop negative roots
    back = {sym: S.get(sym.name[:-2]) - 1 for sym in shifted.free_symbols if sym.name.endswith("_m")}
    roots = [
        r.subs(back)
        for r in sp.solve(sp.Eq(sp.diff(shifted, C_gamma), 0), C_gamma)
        if r.is_nonpositive is not True and _positive_at_typical(r)
    ]
    if len(roots) != 1:
        raise TheoryError(f"no unique stationary C_gamma for {bound.name}: {roots}")
    best = roots[0]
    if bound.step_limit is not None:
        best = sp.Min(best, bound.step_limit)
    return best


def _positive_at_typical(expr: sp.Expr) -> bool:
    value = complex(_generic(expr, sp.Symbol("_none"), set()).evalf())
    return abs(value.imag) < 1e-12 and value.real > 0


# --------------------------------------------------------------- iterations


def iterations_to_reach(bound, target: float, **values: float) -> int:
    """The smallest n with bound(n') <= target for every n' >= n.

    Uses that the bound is eventually decreasing in n: an exponential search
    for a point past the peak where the bound is below ``target``, then a
    bisection on the monotone predicate ``bound(m) <= target and
    d bound/dn (m) <= 0``. Where the assumptions themselves depend on n (e.g.
    N~ = n - beta1/(1 - beta1) > 0 for Défossez's Adam), the search starts at
    the smallest n at which they hold.
    """
    if not (math.isfinite(target) and target > 0):
        raise AssumptionViolation(f"target accuracy must be a finite number > 0, got {target}")
    if "n" in values:
        raise TheoryError("iterations_to_reach solves for n: do not pass n")
    missing = [c for c in bound.constants if c != "n" and c not in values]
    if missing:
        raise MissingConstantError(f"{bound.name}: missing value for {', '.join(missing)}")
    far = 2**60
    if bound.check({**values, "n": far}):
        bound.evaluate(n=far, **values)  # raises, naming the broken assumption

    def admissible(m: int) -> bool:
        return not bound.check({**values, "n": m})

    start = 1
    while not admissible(start):
        start *= 2
    start = _bisect(admissible, max(1, start // 2), start)
    f = bound.numpy()
    df = S_derivative_numpy(bound)
    fixed = {a: np.float64(values[a]) for a in set(f.args) | set(df.args) if a != "n"}

    def ok(m: int) -> bool:
        if m < start:
            return False
        with np.errstate(all="ignore"):  # numpy scalars: a pole gives inf/nan, not an exception
            v = float(f(**{a: fixed[a] for a in f.args if a != "n"}, n=np.float64(m)))
            slope = float(df(**{a: fixed[a] for a in df.args if a != "n"}, n=np.float64(m)))
        return math.isfinite(v) and math.isfinite(slope) and v <= target and slope <= 0

    hi = start
    while not ok(hi):
        hi *= 2
        if hi > 2**200:
            raise TheoryError(f"{bound.name} does not reach {target} within 2^200 iterations")
    return _bisect(ok, max(start, hi // 2), hi)


def _bisect(ok, lo: int, hi: int) -> int:
    """Smallest m in (lo, hi] with ok(m), given ok(hi) and a monotone ok."""
    if ok(lo):
        return lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


def S_derivative_numpy(bound):
    """d bound / dn as a vectorised numpy callable."""
    from theory.bound import NumpyBound

    deriv = sp.diff(bound.expr, n)
    syms = sorted(deriv.free_symbols | {n}, key=lambda x: x.name)
    return NumpyBound(tuple(x.name for x in syms), sp.lambdify(syms, deriv, "numpy"))


# ------------------------------------------------------------------ monotonicity


@dataclass(frozen=True)
class DerivativeSign:
    """Sign of d(bound)/d(symbol): +1, -1, 0, or None when it changes sign.

    ``proved`` is True when SymPy decided it from the symbols' assumptions
    (counts >= 1 written as 1 + m, m >= 0); False when it was only checked
    numerically (``method`` says where).
    """

    symbol: str
    sign: int | None
    proved: bool
    method: str


def _shifted(expr: sp.Expr) -> sp.Expr:
    """Write every count symbol x >= 1 as 1 + x_m with x_m >= 0."""
    subs = {}
    for sym in expr.free_symbols:
        if sym.name in S.REGISTRY and S.REGISTRY[sym.name].domain == "count":
            subs[sym] = 1 + sp.Symbol(f"{sym.name}_m", nonnegative=True)
    return expr.subs(subs)


def derivative_sign(
    bound,
    symbol: str,
    values: Mapping[str, float] | None = None,
    samples: int = 200,
    seed: int = 0,
) -> DerivativeSign:
    """The sign of d(bound)/d(symbol).

    With ``values`` (a full set of constants): the local sign at that point.
    Without: proved from the symbols' assumptions if SymPy can; otherwise
    checked on ``samples`` random points (log-uniform around the typical
    values, inside the assumptions) and marked ``proved=False``.
    """
    sym = S.get(symbol)
    deriv = sp.diff(bound.expr, sym)
    if values is not None:
        subs = {S.get(k): v for k, v in values.items()}
        val = float(deriv.subs(subs))
        if not math.isfinite(val):
            raise AssumptionViolation(f"d bound/d {symbol} is not finite at {dict(values)}")
        return DerivativeSign(symbol, int(np.sign(val)), False, "evaluated at the given point")
    if deriv == 0:
        return DerivativeSign(symbol, 0, True, "identically zero")
    for candidate in (deriv, sp.factor(deriv)):
        shifted = _shifted(candidate)
        if shifted.is_positive:
            return DerivativeSign(symbol, 1, True, "sympy assumptions")
        if shifted.is_negative:
            return DerivativeSign(symbol, -1, True, "sympy assumptions")
    signs = set()
    rng = np.random.default_rng(seed)
    syms = sorted(deriv.free_symbols | set(bound.expr.free_symbols), key=lambda x: x.name)
    f = sp.lambdify(syms, deriv, "numpy")
    tried = 0
    while tried < samples * 20 and sum(1 for _ in signs) < 3:
        point = _random_point(syms, rng)
        tried += 1
        if bound.check(point):
            continue
        val = float(f(*[point[s.name] for s in syms]))
        if math.isfinite(val) and val != 0:
            signs.add(int(np.sign(val)))
        if tried >= samples and signs:
            break
    if len(signs) == 1:
        return DerivativeSign(
            symbol, signs.pop(), False, f"numerical check on {tried} random admissible points"
        )
    return DerivativeSign(symbol, None, False, "changes sign over admissible points")


def _random_point(syms, rng) -> dict[str, float]:
    point = {}
    for sym in syms:
        info = S.REGISTRY.get(sym.name)
        typical = info.typical if info else 1.0
        domain = info.domain if info else "positive"
        if domain in ("unit", "unit_closed"):
            point[sym.name] = float(rng.uniform(0.01, 0.99))
        elif domain == "count":
            point[sym.name] = float(max(1, round(typical * math.exp(rng.uniform(-2, 2)))))
        elif domain == "real":
            point[sym.name] = float(typical + rng.normal())
        else:
            point[sym.name] = float(abs(typical) * math.exp(rng.uniform(-2, 2)) or 1.0)
    # keep C_gamma feasible when the bound has a step limit through L
    if "C_gamma" in point and "L" in point:
        point["C_gamma"] = min(point["C_gamma"], 1.0 / point["L"])
    return point


# ------------------------------------------------- exploration over B and K (issue 4)


@dataclass(frozen=True)
class BatchSampleSigns:
    """Signs of d(bound)/dB and d(bound)/dK (each a :class:`DerivativeSign`)."""

    B: DerivativeSign
    K: DerivativeSign


def batch_sample_signs(bound, samples: int = 200, seed: int = 0) -> BatchSampleSigns:
    """d(bound)/dB and d(bound)/dK: proved from the symbols' assumptions when SymPy
    can (counts written 1 + m, m >= 0), else checked at random admissible points
    whose C_gamma is a random fraction of the bound's step limit."""
    return BatchSampleSigns(*(_sign(bound, name, samples, seed) for name in ("B", "K")))


def _sign(bound, symbol: str, samples: int, seed: int) -> DerivativeSign:
    sym = S.get(symbol)
    deriv = sp.diff(bound.expr, sym)
    if deriv == 0:
        return DerivativeSign(symbol, 0, True, "identically zero")
    # the assumption system is too slow on the expanded model bounds: prove small derivatives only
    small = sp.count_ops(deriv) < 400
    for candidate in (deriv, sp.factor(deriv)) if small else ():
        # counts x >= 1 as 1 + x_m; log(x) >= 0 for a count x
        logs = {
            lg: sp.Symbol(f"log_{lg.args[0].name}", nonnegative=True)
            for lg in candidate.atoms(sp.log)
            if lg.args[0].is_Symbol
            and S.REGISTRY.get(lg.args[0].name, None) is not None
            and S.REGISTRY[lg.args[0].name].domain == "count"
        }
        shifted = _shifted(candidate.subs(logs))
        if shifted.is_positive:
            return DerivativeSign(symbol, 1, True, "sympy assumptions")
        if shifted.is_negative:
            return DerivativeSign(symbol, -1, True, "sympy assumptions")
        if shifted.is_nonnegative:
            return DerivativeSign(symbol, 1, True, "sympy assumptions (>= 0: nondecreasing)")
        if shifted.is_nonpositive:
            return DerivativeSign(symbol, -1, True, "sympy assumptions (<= 0: nonincreasing)")
    rng = np.random.default_rng(seed)
    syms = sorted(deriv.free_symbols | bound.expr.free_symbols, key=lambda x: x.name)
    f = sp.lambdify(syms, deriv, "numpy", cse=True)
    limit = None
    if bound.step_limit is not None:
        lsyms = sorted(bound.step_limit.free_symbols, key=lambda x: x.name)
        limit = (lsyms, sp.lambdify(lsyms, bound.step_limit, "numpy"))
    admissible = _fast_checker(bound)
    signs: set[int] = set()
    checked = 0
    for _ in range(samples * 5):
        point = _random_point(syms, rng)
        if limit is not None and "C_gamma" in point:
            with np.errstate(all="ignore"):
                cap = float(limit[1](*[point[s.name] for s in limit[0]]))
            point["C_gamma"] = cap * float(rng.uniform(0.01, 1.0))
        if not admissible(point):
            continue
        with np.errstate(all="ignore"):
            val = float(f(*[point[s.name] for s in syms]))
        if math.isfinite(val) and val != 0:
            signs.add(int(np.sign(val)))
            checked += 1
        if checked >= samples:
            break
    if len(signs) == 1:
        return DerivativeSign(
            symbol, signs.pop(), False, f"numerical check on {checked} random admissible points"
        )
    if not signs:
        return DerivativeSign(symbol, None, False, "no admissible point found")
    return DerivativeSign(symbol, None, False, "changes sign over admissible points")


def _fast_checker(bound):
    """point -> True when every domain and every constraint of ``bound`` holds
    (constraints lambdified once; same tolerance as Constraint.violation)."""
    cons = []
    for assumption in bound.assumptions:
        for con in assumption.constraints:
            syms = sorted(con.lhs.free_symbols | con.rhs.free_symbols, key=lambda x: x.name)
            cons.append((syms, sp.lambdify(syms, con.lhs, "math"), sp.lambdify(syms, con.rhs, "math")))

    def ok(point: Mapping[str, float]) -> bool:
        if any(not S.info(name).admits(v) for name, v in point.items() if name in S.REGISTRY):
            return False
        for syms, lhs, rhs in cons:
            if any(x.name not in point for x in syms):
                continue
            args = [point[x.name] for x in syms]
            try:
                left, right = float(lhs(*args)), float(rhs(*args))
            except (ValueError, ZeroDivisionError, OverflowError):
                return False
            if not left <= right * (1 + 1e-12):
                return False
        return True

    return ok


def iterations_grid(
    bound, target: float, batch_sizes, samples, **values: float
) -> dict[tuple[int, int], int]:
    """Iterations needed to reach ``target`` for every (B, K) in the grid
    (:func:`iterations_to_reach` at each point; other constants from ``values``)."""
    for key in ("B", "K"):
        if key in values:
            raise TheoryError(f"iterations_grid varies {key}: do not pass it in values")
    return {
        (int(b), int(kk)): iterations_to_reach(bound, target, B=b, K=kk, **values)
        for b in batch_sizes
        for kk in samples
    }


@dataclass(frozen=True)
class ComputeSplit:
    """One way to spend a per-step budget B K = compute: iterations to reach the
    target and the total gradient evaluations n B K."""

    B: int
    K: int
    iterations: int
    total: int


def compute_tradeoff(bound, compute: int, target: float, **values: float) -> tuple[ComputeSplit, ...]:
    """Every split B K = ``compute`` (B, K integers), sorted by total cost n B K.

    For the SGD bound with the variance split, at fixed B K = c the variance is
    sigma2_data/B + sigma2_mc/c, decreasing in B: with constants that do not
    depend on K the best split is B = c, K = 1.
    """
    if not (isinstance(compute, int | np.integer) and compute >= 1):
        raise AssumptionViolation(f"compute must be an integer >= 1, got {compute!r}")
    splits = []
    for b in range(1, int(compute) + 1):
        if compute % b:
            continue
        kk = compute // b
        its = iterations_to_reach(bound, target, B=b, K=kk, **values)
        splits.append(ComputeSplit(b, kk, its, its * int(compute)))
    return tuple(sorted(splits, key=lambda sp_: (sp_.total, -sp_.B)))
