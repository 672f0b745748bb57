"""What every VAE model shares: the variance split and the specialisation of a generic theorem.

The one definition of the variance of a (B, K) step's gradient,
sigma2 = sigma2_data/B + sigma2_mc/(B K) (IWAE: sigma2_data/B + sigma2_mc_K/B), and
of how a generic theorem takes a model's explicit constants (docs/theory.md,
"Objectives" and "Models").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import sympy as sp

from theory.assumptions import Assumption
from theory.bound import Bound, Named, Step
from theory.symbols import B, K, L, M, R, a, n, sigma2, sigma2_data, sigma2_mc, sigma2_mc_K

#: sigma2 = sigma2_data/B + sigma2_mc/(B K): the variance of a (B, K) ELBO gradient.
variance_split: sp.Expr = sigma2_data / B + sigma2_mc / (B * K)
#: sigma2 = sigma2_data/B + sigma2_mc_K/B: the variance of a (B, K) IWAE gradient.
iwae_variance: sp.Expr = sigma2_data / B + sigma2_mc_K / B

VARIANCE_SPLIT = Assumption(
    "variance-split",
    "variance split",
    r"\sigma^2 = \frac{\sigma^2_{\mathrm{data}}}{B} + \frac{\sigma^2_{\mathrm{MC}}}{B K}"
    r" \text{ (B examples, K draws each, independent)}",
    (sigma2_data, sigma2_mc, B, K),
)
#: A2: the parameters stay in the box (by projection, or checked along the run).
PARAMETER_BOX = Assumption(
    "box",
    "parameters in a box (A2)",
    r"\text{every weight and bias entry in } [-a, a]",
    (a,),
)
IWAE_VARIANCE = Assumption(
    "variance-split",
    "variance split (IWAE)",
    r"\sigma^2 = \frac{\sigma^2_{\mathrm{data}}}{B} + \frac{\sigma^2_{\mathrm{MC},K}}{B}"
    r" \text{ (B examples, independent; } \sigma^2_{\mathrm{MC},K} \text{ measured at the K used)}",
    (sigma2_data, sigma2_mc_K, B, K),
)


@dataclass(frozen=True)
class ModelConstants:
    """Explicit constants of one model, in architecture constants.

    Attributes:
        model: The model's name.
        L: Bound on the Hessian norm of the loss (smoothness).
        M: Bound on the stochastic gradient norm (root mean square under Gaussian noise).
        R: An almost-sure bound of the gradient's sup-norm, as the adaptive theorems
            need; None when the model has none (with Gaussian reparameterisation noise the
            gradient is unbounded, so R stays a symbol to be measured).
        assumptions: The model's assumptions (architecture, activations, box).
        reference: Where the constants come from.
        tight: False when a step was loosened (all of them here: explicit upper bounds
            of order-only statements of the seed paper).
        steps: The derivation of the constants.
        notes: Remarks added to the bound's.
        variance: The variance of a (B, K) step's gradient (the ELBO split by default,
            :data:`iwae_variance` for IWAE).
        variance_assumption: The assumption stating that variance.
        named: The derivation's sub-expressions with their names, in derivation order,
            and display forms of L, M, R in them (e.g. L = Subs(L_rec + L_kl, C_eps,
            sqrt(d_z))): for writing the bounds readably only.
    """

    model: str
    L: sp.Expr
    M: sp.Expr
    R: sp.Expr | None
    assumptions: tuple[Assumption, ...]
    reference: str
    tight: bool
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()
    variance: sp.Expr = variance_split
    variance_assumption: Assumption = VARIANCE_SPLIT
    named: tuple[Named, ...] = ()

    def substitutions(self) -> dict[sp.Symbol, sp.Expr]:
        """The model's L, M and R as substitutions.

        Returns:
            Symbol -> expression for L, M and (when the model has one) R.
        """
        out = {L: self.L, M: self.M, R: self.R}
        return {k: v for k, v in out.items() if v is not None}


def unfold(named: Iterable[Named]) -> dict[sp.Symbol, sp.Expr]:
    """Every named sub-expression in the model's constants.

    Args:
        named: The named sub-expressions in derivation order (a name may only use names
            defined before it).

    Returns:
        Each name -> its expression with the earlier names substituted.
    """
    full: dict[sp.Symbol, sp.Expr] = {}
    for piece in named:
        full[piece.symbol] = sp.sympify(piece.expr).xreplace(full)
    return full


def _sub(expr: sp.Expr, subs: Mapping[sp.Symbol, sp.Expr]) -> sp.Expr:
    # every key is a plain symbol, so a structural replacement is exact (and much
    # faster than subs)
    return sp.sympify(expr).xreplace(dict(subs))


def substitute_assumption(assumption: Assumption, subs: Mapping[sp.Symbol, sp.Expr]) -> Assumption:
    """An assumption with substitutions made in its constraints.

    Args:
        assumption: The assumption.
        subs: Symbol -> expression.

    Returns:
        The assumption with ``subs`` made in its constraints, and each substituted
        constant replaced by the symbols of what it became (itself when nothing changes).
    """
    if not any(sym in subs for sym in assumption.constants) and not any(
        (con.lhs.free_symbols | con.rhs.free_symbols) & set(subs) for con in assumption.constraints
    ):
        return assumption
    constants: list[sp.Symbol] = []
    for sym in assumption.constants:
        new = sorted(_sub(sym, subs).free_symbols, key=lambda x: x.name) if sym in subs else [sym]
        constants += [x for x in new if x not in constants]
    constraints = tuple(
        replace(con, lhs=_sub(con.lhs, subs), rhs=_sub(con.rhs, subs)) for con in assumption.constraints
    )
    return Assumption(assumption.id, assumption.name, assumption.statement, tuple(constants), constraints)


def specialise(
    generic: Bound,
    model: str,
    constants: ModelConstants | None,
    expand: bool = True,
    extra: Mapping[sp.Symbol, sp.Expr] | None = None,
    variant: str | None = None,
    variance: tuple[sp.Expr, Assumption] | None = None,
) -> Bound:
    """A generic theorem specialised to a model.

    Always splits sigma2 (if the bound has it) by the model's variance and makes the
    ``extra`` substitutions; with ``expand`` also replaces L, M, R by the model's explicit
    constants. The substitutions are recorded in ``definitions`` and as a derivation step.

    Args:
        generic: The generic bound.
        model: The model's name.
        constants: The model's explicit constants (None: none, e.g. IWAE's biased form).
        expand: Substitute L, M, R (False keeps them, and Delta, as symbols to bind
            measured values).
        extra: Further substitutions (e.g. C_alpha = C_bias/K).
        variant: The new variant's name (None: the generic bound's).
        variance: (variance, its assumption); default ``constants.variance``, else the
            ELBO split sigma2_data/B + sigma2_mc/(B K).

    Returns:
        The model's bound, named ``model/optimizer[/variant]``.
    """
    if variance is None:
        variance = (
            (constants.variance, constants.variance_assumption)
            if constants is not None
            else (variance_split, VARIANCE_SPLIT)
        )
    subs: dict[sp.Symbol, sp.Expr] = dict(extra or {})
    split = sigma2 in generic.expr.free_symbols
    if split:
        subs[sigma2] = variance[0]
    steps = list(generic.steps)
    tight = generic.tight
    notes = list(generic.notes)
    model_assumptions: list[Assumption] = []
    named = tuple(generic.named)
    if expand and constants is not None:
        named += tuple(constants.named)
        subs.update({k: v for k, v in constants.substitutions().items() if _uses(generic, k)})
        steps += list(constants.steps)
        # an assumption the theorem already makes (the projected theorem's box) is not repeated
        model_assumptions = [
            a for a in constants.assumptions if a.id not in {g.id for g in generic.assumptions}
        ]
        tight = tight and constants.tight
        notes += list(constants.notes)
    elif constants is not None:
        notes.append(
            f"expand=False: L, M, R and Delta stay plain symbols (bind measured values); "
            f"expand=True substitutes the explicit {model} constants."
        )
    assumptions = [substitute_assumption(a, subs) for a in generic.assumptions]
    assumptions += ([variance[1]] if split else []) + model_assumptions
    definitions = tuple(generic.definitions) + tuple((sym, subs[sym]) for sym in subs)
    expr = _sub(generic.expr, subs)
    limit = None if generic.step_limit is None else _sub(generic.step_limit, subs)
    unexpanded = generic.expr if generic.unexpanded is None else generic.unexpanded
    steps.append(
        Step(
            f"specialise to the {model} model",
            "substitute "
            + ", ".join(s.name for s in subs)
            + " (their expressions are the bound's definitions)",
            sp.Le(sp.Symbol("A_n", nonnegative=True), unexpanded),
        )
    )
    # Substituting n-free constants does not change the leading order in n.
    keeps_order = not any(v.has(n) for v in subs.values())
    new_variant = generic.variant if variant is None else variant
    name = f"{model}/{generic.optimizer}" + (f"/{new_variant}" if new_variant else "")
    return replace(
        generic,
        name=name,
        expr=expr,
        assumptions=tuple(assumptions),
        tight=tight,
        steps=tuple(steps),
        step_limit=limit,
        definitions=definitions,
        notes=tuple(notes),
        model=model,
        variant=new_variant,
        reference=generic.reference
        + ("" if constants is None or not expand else f"; model constants: {constants.reference}"),
        order=generic.order if keeps_order else None,
        same_order_as=generic if keeps_order and generic.has_rate and generic.order is None else None,
        named=named,
        unexpanded=unexpanded if subs else None,
    )


def _uses(bound: Bound, sym: sp.Symbol) -> bool:
    if sym in bound.expr.free_symbols:
        return True
    if bound.step_limit is not None and sym in bound.step_limit.free_symbols:
        return True
    return any(
        sym in (con.lhs.free_symbols | con.rhs.free_symbols)
        for a in bound.assumptions
        for con in a.constraints
    )
