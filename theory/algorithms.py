"""The adaptive algorithms a theorem analyses, as data, and how each differs from torch's.

So that the empirical side can run exactly the analysed update and name how it differs from
``torch.optim``'s (docs/theory.md, "The analysed algorithms").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from theory.algebra import same, tidy
from theory.assumptions import Assumption
from theory.checks import check_scalar
from theory.errors import MissingConstantError
from theory.symbols import C_gamma, alpha_step, beta1, beta2, eps, get, k, lr_decay, v_init

DEFOSSEZ = "Défossez, Bottou, Bach, Usunier, 'A Simple Convergence Proof of Adam and Adagrad', TMLR 2022"
TORCH_REFERENCE = "PyTorch 2.x, torch.optim (defaults weight_decay=0, amsgrad=False, maximize=False)"
SEED = "Surendran, Godichon-Baggioni, Le Corff, AISTATS 2025 (arXiv 2410.16750); docs/theory.md"


@dataclass(frozen=True)
class Hyperparameter:
    """A hyperparameter: its theory ``symbol`` (registered), ``torch`` keyword ("" if none) and ``role``."""

    symbol: str
    torch: str
    role: str


@dataclass(frozen=True)
class State:
    """The moments after ``k`` steps: ``m`` = m_k and ``v`` = v_k, arrays of the parameters' shape."""

    m: np.ndarray
    v: np.ndarray
    k: int = 0


@dataclass(frozen=True)
class Algorithm:
    """One adaptive update, per coordinate, as data.

    m_k = b1 m_{k-1} + c_m g_k, v_k = b2 v_{k-1} + c_v g_k^2 (m_0 = 0, v_0 = ``initial_v``) and
    theta_k = theta_{k-1} - step_k m^ / sqrt(eps + v^) or / (sqrt(v^) + eps), with b1 =
    ``first_moment_decay``, c_m = ``gradient_weight``, b2 = ``second_moment_decay``, c_v =
    ``square_weight``, step_k = ``step_size`` (SymPy in k and the hyperparameters); every field
    is described in docs/theory.md, "The analysed algorithms".
    """

    name: str
    optimizer: str
    title: str
    update_latex: str
    update_text: str
    hyperparameters: tuple[Hyperparameter, ...]
    step_size: sp.Expr
    first_moment_decay: sp.Expr
    gradient_weight: sp.Expr
    second_moment_decay: sp.Expr
    square_weight: sp.Expr
    first_moment_bias_correction: bool
    second_moment_bias_correction: bool
    eps_inside_sqrt: bool
    delayed: bool
    reference: str
    initial_v: sp.Expr = sp.Integer(0)
    notes: tuple[str, ...] = ()

    @property
    def symbols(self) -> tuple[str, ...]:
        """Names of the hyperparameters the update needs."""
        return tuple(h.symbol for h in self.hyperparameters)

    def assumption(self) -> Assumption:
        """The ``algorithm`` assumption of a theorem about this algorithm.

        Returns:
            An assumption whose statement is the update in LaTeX.
        """
        return Assumption("algorithm", self.title, self.update_latex)

    # ------------------------------------------------------------------ comparison
    def normal_form(self) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
        """The update in the raw sums M_k = sum_j b1^(k-j) g_j and V = sum_j b2^(k-j) g_j^2.

        Returns:
            (scale_k, inside_k, outside_k): the step is scale_k M_k / (sqrt(V + inside_k) + outside_k),
            V = V_{k-1} when ``delayed``; equal normal forms, equal steps.
        """
        b2, c_v = self.second_moment_decay, self.square_weight
        used = k - 1 if self.delayed else k
        bc1 = 1 - self.first_moment_decay**k if self.first_moment_bias_correction else sp.Integer(1)
        bc2 = 1 - b2**used if self.second_moment_bias_correction else sp.Integer(1)
        start = b2**used * self.initial_v
        if self.eps_inside_sqrt:
            inside, outside = (start + eps * bc2) / c_v, sp.Integer(0)
        else:
            inside, outside = start / c_v, eps * sp.sqrt(bc2 / c_v)
        scale = self.step_size * self.gradient_weight / (bc1 * sp.sqrt(c_v / bc2))
        return tidy(scale), tidy(inside), tidy(outside)

    @lru_cache(maxsize=64)  # noqa: B019 - computed once per pair (derivation pages: 4 pairs, 38 asks)
    def differences(self, other: Algorithm) -> tuple[str, ...]:
        """Every detail in which another algorithm differs from this one.

        Args:
            other: The other algorithm (e.g. torch's).

        Returns:
            "label: what each does" per detail, then "net effect at equal hyperparameters:
            ..." on the step (:meth:`normal_form`); empty when they are the same.
        """
        out = []
        if self.delayed != other.delayed:
            out.append(
                f"preconditioner: {(self if self.delayed else other).name} uses v_(k-1) (past gradients "
                f"only), {(other if self.delayed else self).name} uses v_k (g_k enters its own step)"
            )
        for field, label, what in (
            ("first_moment_bias_correction", "first-moment bias correction", "divides m_k by 1 - beta1^k"),
            ("second_moment_bias_correction", "second-moment bias correction", "divides v_k by 1 - beta2^k"),
        ):
            if getattr(self, field) != getattr(other, field):
                has = getattr(self, field)
                yes, no = (self, other) if has else (other, self)
                out.append(f"{label}: {yes.name} {what}, {no.name} does not")
        for field, label in (
            ("gradient_weight", "gradient weight c in m_k = beta1 m_(k-1) + c g_k"),
            ("square_weight", "square weight c in v_k = beta2 v_(k-1) + c g_k^2"),
            ("step_size", "step size"),
            ("initial_v", "initial second moment v_0"),
            ("first_moment_decay", "momentum decay"),
            ("second_moment_decay", "second-moment decay"),
        ):
            mine, theirs = getattr(self, field), getattr(other, field)
            if not same(mine, theirs):
                out.append(f"{label}: {self.name} {sp.sstr(mine)}, {other.name} {sp.sstr(theirs)}")
        if self.eps_inside_sqrt != other.eps_inside_sqrt:
            out.append(
                f"eps placement: {(self if self.eps_inside_sqrt else other).name} sqrt(eps + v), "
                f"{(other if self.eps_inside_sqrt else self).name} sqrt(v) + eps"
            )
        if not out:
            return ()
        mine = self.normal_form()
        theirs = tuple(e.subs(_step_symbols(other, self)) for e in other.normal_form())
        ratio = tidy(theirs[0] / mine[0])
        net = [] if same(ratio, 1) else [f"step of {other.name} = step of {self.name} x {sp.sstr(ratio)}"]
        if not (same(mine[1], theirs[1]) and same(mine[2], theirs[2])):
            net.append(
                f"denominator sqrt(V + {sp.sstr(mine[1])}) + {sp.sstr(mine[2])} ({self.name}) against "
                f"sqrt(V + {sp.sstr(theirs[1])}) + {sp.sstr(theirs[2])} ({other.name}), "
                "V = sum_j beta2^(k-j) g_j^2"
            )
        if net:
            out.append("net effect at equal hyperparameters: " + "; ".join(net))
        return tuple(out)

    def difference_labels(self, other: Algorithm) -> tuple[str, ...]:
        """The labels of :meth:`differences`, without the net effect.

        Args:
            other: The other algorithm.

        Returns:
            The labels (e.g. ``"eps placement"``).
        """
        return tuple(d.split(":")[0] for d in self.differences(other) if not d.startswith("net effect"))

    # ------------------------------------------------------------------ reference run
    def initial_state(self, shape: tuple[int, ...], **values: float) -> State:
        """The state before the first step: m_0 = 0, v_0 = ``initial_v``.

        Args:
            shape: The parameters' shape.
            **values: The hyperparameters ``initial_v`` needs.

        Returns:
            The state at k = 0.
        """
        v0 = self._value(self.initial_v, values)
        return State(np.zeros(shape), np.full(shape, v0, dtype=float), 0)

    def update(self, x: np.ndarray, g: np.ndarray, state: State, **values: float) -> tuple[np.ndarray, State]:
        """One step theta_k from theta_{k-1}: the float64 numpy reference of the update.

        Args:
            x: theta_{k-1}.
            g: The gradient g_k.
            state: The state after k - 1 steps.
            **values: The hyperparameters (every name of :attr:`symbols`).

        Returns:
            (theta_k, the state after k steps).

        Raises:
            MissingConstantError: A hyperparameter has no value.
        """
        missing = [name for name in self.symbols if name not in values]
        if missing:
            raise MissingConstantError(f"{self.name}: missing value for {', '.join(missing)}")
        step = state.k + 1
        at = {**values, "k": step}
        b1, b2 = self._value(self.first_moment_decay, at), self._value(self.second_moment_decay, at)
        g = np.asarray(g, dtype=float)
        m = b1 * state.m + self._value(self.gradient_weight, at) * g
        v = b2 * state.v + self._value(self.square_weight, at) * g * g
        m_hat = m / (1 - b1**step) if self.first_moment_bias_correction else m
        used = state.v if self.delayed else v
        if self.second_moment_bias_correction:
            used = used / (1 - b2 ** (step - 1 if self.delayed else step))
        e = self._value(eps, at)
        denom = np.sqrt(e + used) if self.eps_inside_sqrt else np.sqrt(used) + e
        x_new = np.asarray(x, dtype=float) - self._value(self.step_size, at) * m_hat / denom
        return x_new, State(m, v, step)

    def _value(self, expr: sp.Expr, values: dict[str, float]) -> float:
        expr = sp.sympify(expr)
        missing = sorted(s.name for s in expr.free_symbols if s.name not in values)
        if missing:
            raise MissingConstantError(f"{self.name}: missing value for {', '.join(missing)}")
        at = {s: values["k"] if s == k else check_scalar(s.name, values[s.name]) for s in expr.free_symbols}
        return float(expr.subs(at))


def _step_symbols(source: Algorithm, target: Algorithm) -> dict[sp.Symbol, sp.Symbol]:
    """``source``'s step hyperparameter renamed to ``target``'s (both are torch's ``lr``)."""
    step = {h.torch: h.symbol for h in target.hyperparameters}.get("lr")
    return {get(h.symbol): get(step) for h in source.hyperparameters if h.torch == "lr" and step}


def _adam_hyper(step: str, torch: str, role: str) -> tuple[Hyperparameter, ...]:
    return (
        Hyperparameter(step, torch, role),
        Hyperparameter("beta1", "betas[0]", "momentum decay"),
        Hyperparameter("beta2", "betas[1]", "second-moment decay"),
        Hyperparameter("eps", "eps", "denominator offset"),
    )


def _adagrad(**fields) -> Algorithm:
    """An Adagrad: no momentum (b1 = 0, c_m = 1), v_k = v_{k-1} + g_k^2, no bias correction."""
    plain = {"first_moment_decay": sp.Integer(0), "gradient_weight": sp.Integer(1)}
    plain |= {"second_moment_decay": sp.Integer(1), "square_weight": sp.Integer(1)}
    plain |= {"first_moment_bias_correction": False, "second_moment_bias_correction": False}
    return Algorithm(optimizer="adagrad", **plain, **fields)


_SUM_BETA2 = (1 - beta2**k) / (1 - beta2)  # sum_{j=0}^{k-1} beta2^j

#: Adam as analysed by Défossez et al. (2022): no bias correction of m or v, eps inside the
#: square root, alpha_k = alpha (1 - beta1) sqrt(sum_{j<k} beta2^j).
DEFOSSEZ_ADAM = Algorithm(
    name="adam-defossez",
    optimizer="adam",
    title="Adam of Défossez et al.",
    update_latex=r"x_k = x_{k-1} - \alpha_k \frac{m_k}{\sqrt{\epsilon + v_k}},\ "
    r"m_k = \beta_1 m_{k-1} + g_k,\ v_k = \beta_2 v_{k-1} + g_k^2,\ "
    r"\alpha_k = \alpha (1 - \beta_1) \sqrt{\textstyle\sum_{j=0}^{k-1} \beta_2^j}",
    update_text="x_k = x_(k-1) - alpha_k m_k / sqrt(eps + v_k), m_k = beta1 m_(k-1) + g_k, "
    "v_k = beta2 v_(k-1) + g_k^2, alpha_k = alpha (1 - beta1) sqrt(sum_(j<k) beta2^j), m_0 = v_0 = 0",
    hyperparameters=_adam_hyper("alpha_step", "lr", "step alpha"),
    step_size=alpha_step * (1 - beta1) * sp.sqrt(_SUM_BETA2),
    first_moment_decay=beta1,
    gradient_weight=sp.Integer(1),
    second_moment_decay=beta2,
    square_weight=sp.Integer(1),
    first_moment_bias_correction=False,
    second_moment_bias_correction=False,
    eps_inside_sqrt=True,
    delayed=False,
    reference=DEFOSSEZ,
)

#: Adagrad as analysed by Défossez et al. (2022); torch.optim.Adagrad(lr=alpha, eps=0,
#: initial_accumulator_value=eps, lr_decay=0) runs exactly this.
DEFOSSEZ_ADAGRAD = _adagrad(
    name="adagrad-defossez",
    title="Adagrad of Défossez et al.",
    update_latex=r"x_k = x_{k-1} - \alpha \frac{g_k}{\sqrt{\epsilon + v_k}},\ "
    r"v_k = v_{k-1} + g_k^2,\ v_0 = 0",
    update_text="x_k = x_(k-1) - alpha g_k / sqrt(eps + v_k), v_k = v_(k-1) + g_k^2, v_0 = 0",
    hyperparameters=(
        Hyperparameter("alpha_step", "lr", "step alpha"),
        Hyperparameter("eps", "initial_accumulator_value", "offset inside the square root"),
    ),
    step_size=alpha_step,
    eps_inside_sqrt=True,
    delayed=False,
    reference=DEFOSSEZ,
    notes=(
        "torch.optim.Adagrad(lr=alpha, lr_decay=0, initial_accumulator_value=eps, eps=0) is exactly this.",
    ),
)

#: Adam with a delayed preconditioner, beta1 = 0 (the proved case of the seed form and of
#: the a-posteriori variant): theta_k = theta_{k-1} - gamma_k g_k / (sqrt(v_{k-1}) + eps).
DELAYED_ADAM = Algorithm(
    name="adam-delayed",
    optimizer="adam",
    title="Adam with a delayed preconditioner",
    update_latex=r"\theta_k = \theta_{k-1} - \gamma_k A_{k-1} m_k,\ "
    r"A_{k-1} = \mathrm{diag}(1/(\sqrt{v_{k-1}} + \epsilon)),\ "
    r"v_k = \beta_2 v_{k-1} + (1 - \beta_2) g_k^2,\ m_k = \beta_1 m_{k-1} + (1 - \beta_1) g_k,\ "
    r"\gamma_k = C_\gamma k^{-1/2}",
    update_text="theta_k = theta_(k-1) - gamma_k m_k / (sqrt(v_(k-1)) + eps), v_k = beta2 v_(k-1) + "
    "(1 - beta2) g_k^2, m_k = beta1 m_(k-1) + (1 - beta1) g_k, gamma_k = C_gamma k^(-1/2); "
    "proved for beta1 = 0 (m_k = g_k)",
    hyperparameters=_adam_hyper("C_gamma", "lr", "step constant, gamma_k = C_gamma k^(-1/2)"),
    step_size=C_gamma / sp.sqrt(k),
    first_moment_decay=beta1,
    gradient_weight=1 - beta1,
    second_moment_decay=beta2,
    square_weight=1 - beta2,
    first_moment_bias_correction=False,
    second_moment_bias_correction=False,
    eps_inside_sqrt=False,
    delayed=True,
    reference=SEED,
    notes=(
        "Proved for beta1 = 0; v_0 may be any nonnegative vector known at the start (e.g. g_0^2 from an "
        "independent gradient at theta_0): with v_0 = 0 the first preconditioner is I/eps.",
    ),
)

#: Adagrad with a delayed preconditioner and a constant step (the a-posteriori Adagrad).
DELAYED_ADAGRAD = _adagrad(
    name="adagrad-delayed",
    title="Adagrad with a delayed preconditioner",
    update_latex=r"\theta_k = \theta_{k-1} - \alpha A_{k-1} g_k,\ "
    r"A_{k-1} = \mathrm{diag}(1/(\sqrt{v_{k-1}} + \epsilon)),\ v_k = v_{k-1} + g_k^2",
    update_text="theta_k = theta_(k-1) - alpha g_k / (sqrt(v_(k-1)) + eps), v_k = v_(k-1) + g_k^2",
    hyperparameters=(
        Hyperparameter("alpha_step", "lr", "constant step alpha"),
        Hyperparameter("eps", "eps", "denominator offset"),
    ),
    step_size=alpha_step,
    eps_inside_sqrt=False,
    delayed=True,
    reference="derived here (docs/theory.md, A-posteriori preconditioned SGD)",
    notes=("v_0 may be any nonnegative vector known at the start (e.g. g_0^2 from an independent draw).",),
)

#: torch.optim.Adam(lr, betas, eps) with its defaults otherwise.
TORCH_ADAM = Algorithm(
    name="torch.optim.Adam",
    optimizer="adam",
    title="torch.optim.Adam",
    update_latex=r"\theta_k = \theta_{k-1} - \mathrm{lr} "
    r"\frac{m_k/(1 - \beta_1^k)}{\sqrt{v_k/(1 - \beta_2^k)} + \epsilon},\ "
    r"m_k = \beta_1 m_{k-1} + (1 - \beta_1) g_k,\ v_k = \beta_2 v_{k-1} + (1 - \beta_2) g_k^2",
    update_text="theta_k = theta_(k-1) - lr (m_k/(1 - beta1^k)) / (sqrt(v_k/(1 - beta2^k)) + eps), "
    "m_k = beta1 m_(k-1) + (1 - beta1) g_k, v_k = beta2 v_(k-1) + (1 - beta2) g_k^2",
    hyperparameters=_adam_hyper("alpha_step", "lr", "learning rate"),
    step_size=alpha_step,
    first_moment_decay=beta1,
    gradient_weight=1 - beta1,
    second_moment_decay=beta2,
    square_weight=1 - beta2,
    first_moment_bias_correction=True,
    second_moment_bias_correction=True,
    eps_inside_sqrt=False,
    delayed=False,
    reference=TORCH_REFERENCE,
)

#: torch.optim.Adagrad(lr, lr_decay, initial_accumulator_value, eps) with weight_decay = 0.
TORCH_ADAGRAD = _adagrad(
    name="torch.optim.Adagrad",
    title="torch.optim.Adagrad",
    update_latex=r"\theta_k = \theta_{k-1} - \frac{\mathrm{lr}}{1 + (k-1)\,\mathrm{lr\_decay}} "
    r"\frac{g_k}{\sqrt{v_k} + \epsilon},\ v_k = v_{k-1} + g_k^2,\ v_0 = \mathrm{initial\_accumulator\_value}",
    update_text="theta_k = theta_(k-1) - lr/(1 + (k-1) lr_decay) g_k / (sqrt(v_k) + eps), "
    "v_k = v_(k-1) + g_k^2, v_0 = initial_accumulator_value",
    hyperparameters=(
        Hyperparameter("alpha_step", "lr", "learning rate"),
        Hyperparameter("lr_decay", "lr_decay", "learning-rate decay"),
        Hyperparameter("v_init", "initial_accumulator_value", "initial accumulator"),
        Hyperparameter("eps", "eps", "denominator offset"),
    ),
    step_size=alpha_step / (1 + (k - 1) * lr_decay),
    eps_inside_sqrt=False,
    delayed=False,
    reference=TORCH_REFERENCE,
    initial_v=v_init,
)

ALGORITHMS = {a.name: a for a in (DEFOSSEZ_ADAM, DEFOSSEZ_ADAGRAD, DELAYED_ADAM, DELAYED_ADAGRAD)}
#: The torch optimizer each adaptive theorem is compared with, by optimizer name.
TORCH = {"adam": TORCH_ADAM, "adagrad": TORCH_ADAGRAD}
