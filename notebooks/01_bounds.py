# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 — The bounds, symbolically
#
# **What this shows.** `theory/` derives the convergence bounds of SGD and of
# the adaptive methods step by step in SymPy. This notebook walks through the
# SGD theorem (its derivation, its rate in n, the best step constant, the
# iterations needed for a target accuracy at that constant), how the batch
# size B and the number of variational samples K move a model's bound (and
# why no direction in K is claimed for IWAE), the B·K trade-off when the
# number of gradient evaluations B·K·n is fixed, and Adam (seed form and
# Défossez et al.) next to Adagrad at the constants of one real run, with the
# Défossez bound split term by term. It ends with a figure.
#
# Everything here is symbolic and takes a few seconds; `VAEBOUNDS_FULL=1` only
# makes the grids of the final figure finer.

# %%
import os
from pathlib import Path

import numpy as np

import theory
from empirical.report import figures, names
from theory import rates

FULL = os.environ.get("VAEBOUNDS_FULL") == "1"
#: A working folder (ignored by git); only scripts/readme_figures.py writes docs/figures.
FIGURES = Path(os.environ.get("VAEBOUNDS_FIGURES", "figures"))
FIGURES.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## The SGD theorem, derived
#
# `theory.bound(model, optimizer, variant)` returns a frozen `Bound`: the
# expression, the assumptions (with ids), what its left-hand side bounds, and
# every step of the derivation with its justification.

# %%
sgd = theory.bound("generic", "sgd")
print(sgd.explain())

# %% [markdown]
# Its rate in n, the step constant C* that minimises it (SymPy's positive root
# of d bound / dC_gamma = 0, clipped to the step limit 1/L), and the
# iterations needed to reach a target accuracy. Without `C_gamma`,
# `iterations_to_reach` tunes the step to each horizon n: the answer is the
# fewest iterations any step constant needs.

# %%
# The constants estimated on the default digits run of `vaebounds verify`
# (upper ends of their intervals; sigma2 = sigma2_data/B + sigma2_mc/(B K) at B = 32, K = 1).
RUN = {"L": 84.4, "Delta": 15.4, "sigma2_data": 199.1, "sigma2_mc": 400.2}
SIGMA2 = (RUN["sigma2_data"] + RUN["sigma2_mc"]) / 32
generic = {"L": RUN["L"], "Delta": RUN["Delta"], "sigma2": SIGMA2}

print("rate in n:", sgd.rate())
best = rates.optimal_step_constant(sgd)
print("C* =", best)
root = next(arg for arg in best.args if arg != 1 / theory.symbols.get("L"))  # the unclipped minimiser
for n in (2_000, 100_000):
    at = {theory.symbols.get(k): v for k, v in {**generic, "n": n}.items()}
    C_root, limit = float(root.subs(at)), 1 / RUN["L"]
    print(
        f"n = {n:,}: d bound/dC_gamma = 0 at {C_root:.4g}, 1/L = {limit:.4g}, C* = {min(C_root, limit):.4g}"
    )
TARGET = 2.0
tuned = rates.iterations_to_reach(sgd, TARGET, **generic)
fixed_C = 0.1 / RUN["L"]
fixed = rates.iterations_to_reach(sgd, TARGET, C_gamma=fixed_C, **generic)
print(f"iterations to bound <= {TARGET}: {tuned:,} at the optimal C_gamma, {fixed:,} at C_gamma = 0.1/L")

# %% [markdown]
# ## How B and K move a model's bound
#
# A model's bound splits the variance of a step's gradient,
# sigma2 = sigma2_data/B + sigma2_mc/(B K). `derivative_sign` claims a sign
# only when SymPy proves it over the symbols' domains. For IWAE the K draws sit
# inside a log-mean-exp: its Monte-Carlo variance `sigma2_mc_K` is a constant
# of its own, measured at the K used, so the bound has no K in it to
# differentiate, and no direction in K is claimed.

# %%
gaussian = theory.bound("gaussian", "sgd", expand=False)
iwae = theory.bound("iwae", "sgd", expand=False)
print("gaussian/sgd:", gaussian.expr)
print("iwae/sgd:    ", iwae.expr)
for name, b in (("gaussian", gaussian), ("iwae", iwae)):
    signs = rates.batch_sample_signs(b)
    for s in (signs.B, signs.K):
        claim = {1: "increases", -1: "decreases", 0: "is flat"}.get(s.sign, "no sign claimed")
        print(f"{name}: d bound/d{s.symbol}: {claim} ({s.method})")

# %% [markdown]
# ## The B·K trade-off at a fixed budget of gradient evaluations
#
# Spending B·K·n = budget gradient evaluations, n = budget/(B K): a larger
# batch lowers the variance but leaves fewer steps. `budget_tradeoff`
# substitutes n, tunes C_gamma at each point (it is not given) and finds the
# minimiser on a grid of powers of two.

# %%
BUDGET = 2_000 * 32
trade = rates.budget_tradeoff(gaussian, BUDGET, [2**i for i in range(13)], [1, 2, 4, 8, 16], **RUN)
print("bound at a fixed budget, as a function of B and K:")
print(trade.expr)
best_point = trade.best
print(f"minimiser: B = {best_point.B}, K = {best_point.K}, n = {best_point.n}, bound {best_point.value:.4g}")
print("| B | K | n | bound |\n|---|---|---|---|")
for p in trade.points[:6]:
    print(f"| {p.B} | {p.K} | {p.n} | {p.value:.4g} |")

# %% [markdown]
# ## Adam, Défossez and Adagrad side by side
#
# At the constants of the default run (d = 9936 parameters, R = 5.14 the
# largest gradient coordinate, lr 1e-3, betas (0.9, 0.999), eps 1e-8,
# n = 2000): each theorem's value, whether its own conditions hold there, and
# its rate. The seed paper's Adam form is preconditioned SGD with a step
# condition C_gamma <= eps^2/(L (R + eps)); Défossez et al.'s bounds have no
# step condition.

# %%
ADAM = {"d": 9936, "R": 5.14, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "n": 2000}
LR = 1e-3
values = {**generic, **ADAM, "alpha_step": LR, "C_gamma": LR}
rows = []
for key in (("adam", None), ("adam", "defossez"), ("adam", "defossez-horizon"), ("adagrad", None)):
    b = theory.bound("generic", *key)
    point = {k: v for k, v in values.items() if k in b.constants}
    if key[1] == "defossez-horizon":
        point["C_gamma"] = LR * np.sqrt(ADAM["n"])  # alpha = C_gamma / sqrt(n) = lr
    broken = [v.assumption for v in b.check(point)]
    value = float(b.numpy().raw(**point))  # the theorem examined where its conditions may fail
    status = "tight" if b.tight else "loose"
    rows.append((b.name, value, ", ".join(broken) or "none", str(b.rate()), status))
print("| theorem | bound at the run's constants | conditions broken | rate | constants |")
print("|---|---|---|---|---|")
for name, value, broken, rate, status in rows:
    print(f"| {name} | {value:.3g} | {broken} | {rate} | {status} |")

# %% [markdown]
# Where Défossez et al.'s Adam bound comes from: its additive terms with their
# share, and the elasticity d log(bound)/d log(c) of every constant.

# %%
defossez = theory.bound("generic", "adam", "defossez")
split = theory.attribution(defossez, **{k: v for k, v in values.items() if k in defossez.constants})
print(split.table())

# %% [markdown]
# ## The figure: bounds against n, and the budget trade-off
#
# Left: SGD at its optimal C_gamma for each n, Défossez's Adam and Adagrad at
# lr 1e-3, all at the same constants. Right: the model's SGD bound at a fixed
# budget of B·K·n gradient evaluations against B, one line per K, the
# minimiser marked.

# %%
ns = np.unique(np.logspace(1, 7, 200 if FULL else 40).astype(int))
curves = {
    "SGD, C_gamma optimal at each n": [
        sgd.evaluate(
            n=int(m), C_gamma=float(rates.optimal_step_constant(sgd, {**generic, "n": int(m)})), **generic
        )
        for m in ns
    ],
    "Adam (Défossez et al.), lr 1e-3": defossez.numpy()(
        **{**{k: v for k, v in values.items() if k in defossez.constants}, "n": ns.astype(float)}
    ),
    "Adagrad (Défossez et al.), lr 1e-3": theory.bound("generic", "adagrad").numpy()(
        **{k: v for k, v in values.items() if k in ("Delta", "L", "R", "alpha_step", "d", "eps")},
        n=ns.astype(float),
    ),
}
path = FIGURES / "nb01-bounds.png"
styles = {
    "SGD": figures.COLOURS["observed"],
    "Adam": figures.COLOURS["bound"],
    "Adagrad": figures.COLOURS["other"],
}
with figures.figure(
    path, 1, 2, size=(11, 4.2), title="the bounds at the constants of the default digits run"
) as (
    left,
    right,
):
    for label, curve in curves.items():
        left.loglog(ns, curve, color=styles[label.split()[0].rstrip(",")], label=label)
    left.set(xlabel="iterations n", ylabel=r"bound on the average $\|\nabla F\|^2$", title="bound against n")
    figures.legend_outside(left, below=True)
    samples = sorted({p.K for p in trade.points})
    for i, K in enumerate(samples):
        pts = sorted((p for p in trade.points if p.K == K), key=lambda p: p.B)
        shade = figures.COLOURS["observed"], 0.3 + 0.7 * (1 - i / max(len(samples) - 1, 1))
        right.loglog(
            [p.B for p in pts],
            [p.value for p in pts],
            "o-",
            ms=3,
            color=shade[0],
            alpha=shade[1],
            label=f"K = {K}",
        )
    right.plot(
        [trade.best.B], [trade.best.value], "*", ms=14, color=figures.COLOURS["bound"], label="minimiser"
    )
    right.set(
        xlabel="batch size B",
        ylabel="bound (C_gamma optimal)",
        title=f"{names.run_name({'model': 'gaussian', 'optimizer': 'sgd'})} at B·K·n = {BUDGET:,}",
    )
    figures.legend_outside(right, below=True, ncol=2)
figures.show(path)
