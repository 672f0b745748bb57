"""The one registry of named SymPy symbols used by every bound.

Each symbol carries SymPy assumptions (``positive`` where it is) and a
:class:`SymbolInfo` with its meaning and the set of admissible values, which
:meth:`theory.bound.Bound.evaluate` checks. Import symbols from here only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy as sp


@dataclass(frozen=True)
class SymbolInfo:
    """A registered symbol: its SymPy object, meaning and admissible values.

    ``domain`` is one of ``"positive"`` (> 0), ``"nonnegative"`` (>= 0),
    ``"unit"`` (in (0, 1)), ``"unit_closed"`` (in [0, 1)), ``"count"`` (>= 1),
    ``"real"``. ``typical`` is a representative admissible value, used where
    a value is needed only to fix generic positions (e.g. dropping constants
    in :func:`theory.rates.leading_order`).
    """

    symbol: sp.Symbol
    meaning: str
    domain: str
    typical: float

    @property
    def name(self) -> str:
        return self.symbol.name

    def admits(self, value: float) -> bool:
        """True when ``value`` is finite and lies in the symbol's domain."""
        if not math.isfinite(value):
            return False
        return {
            "positive": value > 0,
            "nonnegative": value >= 0,
            "unit": 0 < value < 1,
            "unit_closed": 0 <= value < 1,
            "count": value >= 1,
            "real": True,
        }[self.domain]

    def describe_domain(self) -> str:
        return {
            "positive": "a finite number > 0",
            "nonnegative": "a finite number >= 0",
            "unit": "a number in (0, 1)",
            "unit_closed": "a number in [0, 1)",
            "count": "a finite number >= 1",
            "real": "a finite real number",
        }[self.domain]


REGISTRY: dict[str, SymbolInfo] = {}

_ASSUMPTIONS = {
    "positive": {"positive": True},
    "nonnegative": {"nonnegative": True, "real": True},
    "unit": {"positive": True},
    "unit_closed": {"nonnegative": True, "real": True},
    "count": {"positive": True},
    "real": {"real": True},
}


def _register(name: str, meaning: str, domain: str, typical: float, **extra) -> sp.Symbol:
    sym = sp.Symbol(name, **{**_ASSUMPTIONS[domain], **extra})
    REGISTRY[name] = SymbolInfo(sym, meaning, domain, typical)
    return sym


# Iterations and schedule ---------------------------------------------------
n = _register("n", "number of iterations (bound on the average over k = 0..n-1)", "count", 1000)
k = _register("k", "iteration index, k = 1..n", "count", 10)
alpha = _register("alpha", "step-size decay exponent, gamma_k = C_gamma k^(-alpha)", "unit", 0.5)
C_gamma = _register("C_gamma", "step-size constant, gamma_k = C_gamma k^(-alpha)", "positive", 0.01)

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
M = _register("M", "bound on the stochastic gradient norm ||g||", "positive", 10.0)
R = _register("R", "bound on the stochastic gradient sup-norm ||g||_inf", "positive", 1.0)
d = _register("d", "number of parameters (theta and phi together)", "count", 100)

# Sampling ----------------------------------------------------------------------
B = _register("B", "minibatch size", "count", 32, integer=True)
K = _register("K", "number of variational (importance) samples per example", "count", 5, integer=True)

# Adaptive methods ---------------------------------------------------------------
beta1 = _register("beta1", "Adam momentum parameter", "unit_closed", 0.9)
beta2 = _register("beta2", "Adam second-moment parameter", "unit", 0.999)
eps = _register("eps", "Adam/Adagrad denominator offset epsilon", "positive", 1e-8)
lambda_min = _register("lambda_min", "smallest eigenvalue of the preconditioner", "positive", 0.5)
lambda_max = _register("lambda_max", "largest eigenvalue of the preconditioner", "positive", 2.0)

# Architecture (Deep Gaussian VAE, seed paper A1-A2) -------------------------------
a = _register("a", "weight box: ||theta||_inf + ||phi||_inf <= a", "positive", 1.0)
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


def get(name: str) -> sp.Symbol:
    """The registered symbol called ``name``; unknown names raise ``UnknownNameError``."""
    from theory.errors import UnknownNameError

    try:
        return REGISTRY[name].symbol
    except KeyError:
        raise UnknownNameError(
            f"unknown symbol {name!r}; registered symbols: {', '.join(sorted(REGISTRY))}"
        ) from None


def info(symbol: sp.Symbol | str) -> SymbolInfo:
    """The :class:`SymbolInfo` of a registered symbol (by object or name)."""
    name = symbol if isinstance(symbol, str) else symbol.name
    get(name)
    return REGISTRY[name]


def register(name: str, meaning: str, domain: str, typical: float, **extra) -> sp.Symbol:
    """Register a further symbol (for model modules); re-registering must agree."""
    if name in REGISTRY:
        existing = REGISTRY[name]
        if existing.domain != domain:
            raise ValueError(f"symbol {name!r} already registered with domain {existing.domain}")
        return existing.symbol
    return _register(name, meaning, domain, typical, **extra)


#: LaTeX of symbols whose default rendering misleads (sigma2 would print as sigma_2).
LATEX_NAMES: dict[sp.Symbol, str] = {
    sigma2: r"\sigma^2",
    sigma2_data: r"\sigma^2_{\mathrm{data}}",
    sigma2_mc: r"\sigma^2_{\mathrm{MC}}",
    C_gamma: r"C_\gamma",
    N_layers: "N",
    c_Sigma: r"c_\Sigma",
    d_z: "d_z",
    lambda_min: r"\lambda_{\min}",
    lambda_max: r"\lambda_{\max}",
    eps: r"\epsilon",
    beta1: r"\beta_1",
    beta2: r"\beta_2",
}


def latex_name(symbol: sp.Symbol, tex: str) -> sp.Symbol:
    """Declare how ``symbol`` is written in LaTeX; returns the symbol."""
    LATEX_NAMES[symbol] = tex
    return symbol


def to_latex(expr: sp.Basic) -> str:
    """LaTeX of ``expr`` with the registry's symbol names (use this, not sp.latex)."""
    return sp.latex(expr, symbol_names=LATEX_NAMES)


# Model constants and adaptive/biased theorems (issue 4) ----------------------------------
C_x = register("C_x", "bound on the data norm ||x||", "positive", 10.0)
C_Sigma = register(
    "C_Sigma", "upper bound on the eigenvalues of Sigma_phi (encoder variance)", "positive", 1.0
)
C_eps = register("C_eps", "bound on the norm ||eps|| of one reparameterisation noise draw", "positive", 3.0)
alpha_step = register(
    "alpha_step", "constant step size alpha of Adam/Adagrad (Defossez et al. 2022)", "positive", 1e-3
)
C_bias = register(
    "C_bias", "IWAE gradient bias constant: ||grad ELBO_K - grad log p|| <= C_bias/K", "nonnegative", 1.0
)
C_alpha = register(
    "C_alpha", "bias constant of biased SA: ||E[g_k] - grad F|| <= C_alpha k^(-alpha)", "nonnegative", 1.0
)
L_p = register("L_p", "BBVI: smoothness of the negative log joint z -> -log p(x, z)", "positive", 10.0)
M_p = register("M_p", "BBVI: bound on ||grad_z log p(x, z)||", "positive", 10.0)
J_T = register(
    "J_T", "BBVI: bound on the Jacobian of the parameterisation lambda -> T_lambda(eps)", "positive", 1.0
)
H_T = register("H_T", "BBVI: bound on the second derivative of lambda -> T_lambda(eps)", "nonnegative", 1.0)
L_H = register("L_H", "BBVI: smoothness of the negative entropy of q_lambda in lambda", "nonnegative", 1.0)
M_H = register("M_H", "BBVI: bound on the gradient of the negative entropy of q_lambda", "nonnegative", 1.0)
