"""The one registry of named SymPy symbols used by every bound.

Each symbol carries SymPy assumptions (``positive`` where it is) and a
:class:`SymbolInfo` with its meaning and the set of admissible values, which
:meth:`theory.bound.Bound.evaluate` checks. Import symbols from here only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache

import sympy as sp

from theory.errors import UnknownNameError


@dataclass(frozen=True)
class SymbolInfo:
    """A registered symbol: its SymPy object, meaning and admissible values.

    Attributes:
        symbol: The SymPy symbol.
        meaning: What it stands for, in words.
        domain: One of ``"positive"`` (> 0), ``"nonnegative"`` (>= 0), ``"unit"``
            (in (0, 1)), ``"unit_closed"`` (in [0, 1)), ``"count"`` (>= 1), ``"real"``.
        typical: A representative admissible value, used where a value is needed only
            to fix generic positions (e.g. dropping constants in
            :func:`theory.rates.leading_order`).
        integer: The symbol takes integral values only.
        varies_with: The symbols this quantity depends on although a bound treats it as
            a free constant (e.g. the IWAE Monte-Carlo variance measured at the K
            used): no sign of a derivative in those symbols is claimed for a bound
            containing it.
    """

    symbol: sp.Symbol
    meaning: str
    domain: str
    typical: float
    integer: bool = False
    varies_with: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The symbol's name."""
        return self.symbol.name


REGISTRY: dict[str, SymbolInfo] = {}

_ASSUMPTIONS = {
    "positive": {"positive": True},
    "nonnegative": {"nonnegative": True, "real": True},
    "unit": {"positive": True},
    "unit_closed": {"nonnegative": True, "real": True},
    "count": {"positive": True},
    "real": {"real": True},
}


def _register(
    name: str,
    meaning: str,
    domain: str,
    typical: float,
    integer: bool = False,
    varies_with: tuple[str, ...] = (),
) -> sp.Symbol:
    extra = {"integer": True} if integer else {}
    sym = sp.Symbol(name, **{**_ASSUMPTIONS[domain], **extra})
    REGISTRY[name] = SymbolInfo(sym, meaning, domain, typical, integer, tuple(varies_with))
    return sym


# Iterations and schedule ---------------------------------------------------
n = _register("n", "number of iterations (bound on an average over iterates 0..n-1)", "count", 1000, True)
k = _register("k", "iteration index, k = 1..n", "count", 10, True)
alpha = _register("alpha", "step-size decay exponent, gamma_k = C_gamma k^(-alpha)", "unit", 0.5)
C_gamma = _register("C_gamma", "step-size constant, gamma_k = C_gamma k^(-alpha)", "positive", 0.01)
S1 = _register("S1", "sum of the step sizes, S1 = gamma_1 + ... + gamma_n", "positive", 1.0)
S2 = _register("S2", "sum of the squared step sizes, S2 = gamma_1^2 + ... + gamma_n^2", "positive", 0.01)
gamma_max = _register("gamma_max", "largest step size, max_k gamma_k", "positive", 0.01)

# The observed side: the weight of iterate theta_j in a bound's left-hand side ---------
j = _register(
    "j", "iterate index j = 0..n-1 of the left-hand side's weighted average", "nonnegative", 10, True
)
gamma_next = _register(
    "gamma_next", "gamma_{j+1}: the step size taken from iterate theta_j", "positive", 0.01
)

# Objective constants ---------------------------------------------------------
L = _register("L", "smoothness: ||grad F(x) - grad F(y)|| <= L ||x - y||", "positive", 10.0)
Delta = _register("Delta", "gap F(theta_0) - inf F", "nonnegative", 5.0)
sigma2 = _register(
    "sigma2", "variance bound E||g - grad F||^2 of the step's gradient (summed)", "nonnegative", 1.0
)
sigma2_data = _register(
    "sigma2_data", "data part of the per-example variance, Var_x E_eps grad", "nonnegative", 1.0
)
sigma2_mc = _register(
    "sigma2_mc",
    "Monte-Carlo part of the per-example variance, E_x Var_eps grad",
    "nonnegative",
    1.0,
)
A_growth = _register(
    "A_growth",
    "growth condition, additive part: E||g - grad F||^2 <= A_growth + G_growth ||grad F||^2 "
    "(Bottou, Curtis, Nocedal 2018: M)",
    "nonnegative",
    1.0,
)
G_growth = _register(
    "G_growth",
    "growth condition, relative part: E||g - grad F||^2 <= A_growth + G_growth ||grad F||^2 "
    "(Bottou, Curtis, Nocedal 2018: M_V; M_G = 1 + G_growth)",
    "nonnegative",
    1.0,
)
M = _register("M", "bound on the stochastic gradient norm ||g||", "positive", 10.0)
R = _register("R", "bound on the stochastic gradient sup-norm ||g||_inf", "positive", 1.0)
d = _register("d", "number of parameters (theta and phi together)", "count", 100, True)

# Sampling ----------------------------------------------------------------------
B = _register("B", "minibatch size", "count", 32, integer=True)
K = _register("K", "number of variational (importance) samples per example", "count", 5, integer=True)
sigma2_mc_K = _register(
    "sigma2_mc_K",
    "Monte-Carlo variance of one example's K-sample IWAE gradient, E_x Var_eps g_K; "
    "measured at the K used (the largest over the K_k used for a sample schedule); depends on K",
    "nonnegative",
    1.0,
    varies_with=("K",),
)

# Adaptive methods ---------------------------------------------------------------
beta1 = _register("beta1", "Adam momentum parameter", "unit_closed", 0.9)
beta2 = _register("beta2", "Adam second-moment parameter", "unit", 0.999)
eps = _register("eps", "Adam/Adagrad denominator offset epsilon", "positive", 1e-8)
lambda_min = _register("lambda_min", "smallest eigenvalue of the preconditioner", "positive", 0.5)
lambda_max = _register("lambda_max", "largest eigenvalue of the preconditioner", "positive", 2.0)
lr_decay = _register(
    "lr_decay", "torch.optim.Adagrad learning-rate decay: step lr/(1 + (k - 1) lr_decay)", "nonnegative", 0.0
)
v_init = _register(
    "v_init",
    "initial second-moment accumulator v_0 (torch.optim.Adagrad initial_accumulator_value)",
    "nonnegative",
    0.0,
)

# Architecture (Deep Gaussian VAE, seed paper A1-A2) -------------------------------
a = _register("a", "box radius (A2): every parameter entry in [-a, a]", "positive", 1.0)
N_layers = _register("N_layers", "number of layers of each network", "count", 3, integer=True)
c = _register("c", "decoder standard deviation, p(x|z) = N(G(z), c^2 I)", "positive", 1.0)
C_G = _register("C_G", "bound on the decoder mean ||G_theta||", "positive", 10.0)
C_mu = _register("C_mu", "bound on the encoder mean ||mu_phi||", "positive", 10.0)
c_Sigma = _register("c_Sigma", "lower bound on lambda_min(Sigma_phi)", "positive", 0.1)
width = _register("width", "largest layer width", "count", 64, integer=True)
D = _register("D", "data dimension", "count", 64, integer=True)
d_z = _register("d_z", "latent dimension", "count", 8, integer=True)
beta = _register("beta", "beta-VAE weight of the KL term", "nonnegative", 1.0)

# Soft-clip activation ----------------------------------------------------------------
s = _register("s", "soft-clip sharpness", "positive", 1.0)
s1 = _register("s1", "soft-clip lower bound", "real", 0.0)
s2 = _register("s2", "soft-clip upper bound", "real", 50.0)


# Model constants and the adaptive and biased theorems ------------------------------------
C_x = _register("C_x", "bound on the data norm ||x||", "positive", 10.0)
C_Sigma = _register(
    "C_Sigma", "upper bound on the eigenvalues of Sigma_phi (encoder variance)", "positive", 1.0
)
C_eps = _register("C_eps", "bound on the norm ||eps|| of one reparameterisation noise draw", "positive", 3.0)
alpha_step = _register(
    "alpha_step", "constant step size alpha of Adam/Adagrad (Defossez et al. 2022)", "positive", 1e-3
)
C_bias = _register(
    "C_bias", "IWAE gradient bias constant: ||grad ELBO_K - grad log p|| <= C_bias/K", "nonnegative", 1.0
)
C_alpha = _register(
    "C_alpha",
    "bias constant of biased SA: ||E[g_k] - grad F|| <= C_alpha k^(-alpha_bias)",
    "nonnegative",
    1.0,
)
alpha_bias = _register(
    "alpha_bias",
    "bias-decay exponent of biased SA: ||E[g_k] - grad F|| <= C_alpha k^(-alpha_bias)",
    "unit_closed",
    0.5,
)
K_growth = _register(
    "K_growth", "IWAE sample-growth exponent: K_k = K k^K_growth samples at step k", "unit_closed", 0.5
)
L_p = _register("L_p", "BBVI: smoothness of the negative log joint z -> -log p(x, z)", "positive", 10.0)
M_p = _register("M_p", "BBVI: bound on ||grad_z log p(x, z)||", "positive", 10.0)
J_T = _register(
    "J_T", "BBVI: bound on the Jacobian of the parameterisation lambda -> T_lambda(eps)", "positive", 1.0
)
H_T = _register("H_T", "BBVI: bound on the second derivative of lambda -> T_lambda(eps)", "nonnegative", 1.0)
L_H = _register("L_H", "BBVI: smoothness of the negative entropy of q_lambda in lambda", "nonnegative", 1.0)
M_H = _register("M_H", "BBVI: bound on the gradient of the negative entropy of q_lambda", "nonnegative", 1.0)


#: LaTeX of symbols whose default rendering misleads (sigma2 would print as sigma_2).
LATEX_NAMES: dict[sp.Symbol, str] = {
    sigma2: r"\sigma^2",
    sigma2_data: r"\sigma^2_{\mathrm{data}}",
    sigma2_mc: r"\sigma^2_{\mathrm{MC}}",
    A_growth: r"A_{\mathrm{growth}}",
    G_growth: r"G_{\mathrm{growth}}",
    C_gamma: r"C_\gamma",
    S1: "S_1",
    S2: "S_2",
    gamma_max: r"\gamma_{\max}",
    gamma_next: r"\gamma_{j+1}",
    sigma2_mc_K: r"\sigma^2_{\mathrm{MC},K}",
    N_layers: "N",
    c_Sigma: r"c_\Sigma",
    d_z: "d_z",
    lambda_min: r"\lambda_{\min}",
    lambda_max: r"\lambda_{\max}",
    lr_decay: r"\mathrm{lr\_decay}",
    v_init: "v_0",
    eps: r"\epsilon",
    beta1: r"\beta_1",
    alpha_bias: r"\alpha_{\mathrm{bias}}",
    K_growth: r"\kappa",
    beta2: r"\beta_2",
}


def get(name: str) -> sp.Symbol:
    """The registered symbol of a name.

    Args:
        name: The symbol's name.

    Returns:
        The SymPy symbol.

    Raises:
        UnknownNameError: ``name`` is not registered.
    """
    try:
        return REGISTRY[name].symbol
    except (KeyError, TypeError):  # TypeError: an unhashable name
        raise UnknownNameError(
            f"unknown symbol {name!r}; registered symbols: {', '.join(sorted(REGISTRY))}"
        ) from None


def info(symbol: sp.Symbol | str) -> SymbolInfo:
    """The :class:`SymbolInfo` of a registered symbol.

    Args:
        symbol: The symbol or its name.

    Returns:
        Its registry entry.

    Raises:
        UnknownNameError: The symbol is not registered.
    """
    name = symbol if isinstance(symbol, str) else symbol.name
    get(name)
    return REGISTRY[name]


def domain_form(expr: sp.Expr) -> tuple[sp.Expr, dict[sp.Symbol, sp.Expr]]:
    """An expression in new variables whose SymPy assumptions encode the registered symbols' domains.

    A count x >= 1 becomes 1 + x_m (x_m >= 0, and log(x) a symbol log_x >= 0), a unit
    x in (0, 1) or [0, 1) becomes x_u/(1 + x_u) (x_u > 0 or >= 0), and a Max, Min or
    Abs whose sign is known becomes a symbol of that sign. SymPy can then decide signs
    that hold on the domains only (e.g. 1 - beta1 > 0).

    Args:
        expr: The expression.

    Returns:
        (the expression in the new variables, the map from each new variable back to
        the original symbols).
    """
    expr = sp.sympify(expr)
    back: dict[sp.Symbol, sp.Expr] = {}
    # Max/Min/Abs with a known sign become symbols of that sign (rebuilding them is costly)
    opaque = {}
    for i, node in enumerate(sorted(expr.atoms(sp.Max, sp.Min, sp.Abs), key=sp.default_sort_key)):
        if isinstance(node, sp.Abs):
            sign = {"nonnegative": True}
        elif isinstance(node, sp.Max):
            sign = (
                {"positive": True}
                if any(a.is_positive for a in node.args)
                else {"nonnegative": True}
                if any(a.is_nonnegative for a in node.args)
                else None
            )
        else:
            sign = (
                {"positive": True}
                if all(a.is_positive for a in node.args)
                else {"nonnegative": True}
                if all(a.is_nonnegative for a in node.args)
                else None
            )
        if sign is not None:
            opaque[node] = sp.Symbol(f"_opaque{i}", **sign)
            back[opaque[node]] = node
    expr = expr.xreplace(opaque)
    logs = {}
    for lg in expr.atoms(sp.log):
        arg = lg.args[0]
        if arg.is_Symbol and arg.name in REGISTRY and REGISTRY[arg.name].domain == "count":
            logs[lg] = sp.Symbol(f"log_{arg.name}", nonnegative=True)
            back[logs[lg]] = lg
    expr = expr.xreplace(logs)
    subs = {}
    for sym in expr.free_symbols:
        shifted = _shift(sym)
        if shifted is not None:
            subs[sym] = shifted[0]
            back[shifted[1]] = shifted[2]
    units = {sym for sym, v in subs.items() if not v.is_Add}
    # 1 - u/(1 + u) -> 1/(1 + u): small sums over a unit are brought to one fraction
    sums = {
        add: _one_fraction(add)
        for add in expr.atoms(sp.Add)
        if len(add.args) <= 4 and add.free_symbols & units and _nodes(add) <= SMALL_SUM
    }
    out = expr.xreplace(sums).xreplace(subs)
    return out, back


#: The largest sum (nodes of its expression tree) domain_form brings to one fraction: a larger
#: one costs up to 0.3 s of sp.together and decided no sign of the catalogue's bounds.
SMALL_SUM = 200


@lru_cache(maxsize=2**16)
def _nodes(expr: sp.Expr) -> int:
    return sum(1 for _ in sp.preorder_traversal(expr))


@cache
def _shift(sym: sp.Symbol) -> tuple[sp.Expr, sp.Symbol, sp.Expr] | None:
    """What a registered count (1 + x_m) or unit (x_u/(1 + x_u)) becomes.

    Returns (what ``sym`` becomes, the new variable, the new variable in terms of
    ``sym``), or None for any other symbol.
    """
    registered = REGISTRY.get(sym.name)
    domain = registered.domain if registered is not None and registered.symbol == sym else None
    if domain == "count":
        new = sp.Symbol(f"{sym.name}_m", nonnegative=True)
        return 1 + new, new, sym - 1
    if domain in ("unit", "unit_closed"):
        new = sp.Symbol(
            f"{sym.name}_u", **({"positive": True} if domain == "unit" else {"nonnegative": True})
        )
        return new / (1 + new), new, sym / (1 - sym)
    return None


@lru_cache(maxsize=2**16)
def _one_fraction(add: sp.Expr) -> sp.Expr:
    """A sum with its registered symbols shifted (:func:`_shift`), brought to one fraction.

    The same small sums recur in the derivatives of every bound, so each is computed once.
    """
    subs = {sym: shifted[0] for sym in add.free_symbols if (shifted := _shift(sym)) is not None}
    return sp.together(add.xreplace(subs))


def to_latex(expr: sp.Basic, names: Mapping[sp.Basic, str] | None = None) -> str:
    """LaTeX of an expression with the registry's symbol names; use this, not sp.latex.

    Args:
        expr: The expression.
        names: LaTeX for further symbols (e.g. the placeholders of a derivation).

    Returns:
        The LaTeX string.
    """
    return sp.latex(expr, symbol_names={**LATEX_NAMES, **(names or {})})
