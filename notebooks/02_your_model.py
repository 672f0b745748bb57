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
# # 02 — Your own model: its constants, then its training runs verified
#
# **What this shows.** A VAE written as a plain `torch.nn.Module` (nothing
# from vaebounds inside it: the walkthrough's example, `scripts/track_example.py`,
# shown below), then: the constants of the SGD theorem
# estimated at its initialisation with `empirical.estimators` (L by Lanczos on
# Hessian-vector products of a fixed-noise loss, sigma2_data and sigma2_mc by
# the nested per-example estimator, Delta from a lower bound the model
# proves), the step constant chosen from them with `theory.rates`, R training
# runs in an ordinary loop with `empirical.track` following each, and the
# runs verified together (`empirical.tracking.verify_runs`: the constants
# measured along the runs, the bound, the observed mean over runs with its
# t-interval, the assumption rows, the verdict). It ends with a table of the
# constants (at initialisation and along the runs) and two figures.
#
# Small by default (CI: 200 steps, 3 runs); `VAEBOUNDS_FULL=1`: 2000 steps, 4 runs.

# %%
import inspect
import math
import os
import sys
from pathlib import Path

import torch

import empirical
import theory
from empirical.data import load
from empirical.estimators import module_gradient_variance, smoothness
from empirical.report import figures, verify_figures
from empirical.tracking import verify_runs

FULL = os.environ.get("VAEBOUNDS_FULL") == "1"
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
#: A working folder (ignored by git); only scripts/readme_figures.py writes docs/figures.
FIGURES = Path(os.environ.get("VAEBOUNDS_FIGURES", "figures"))
FIGURES.mkdir(parents=True, exist_ok=True)
STEPS, RUNS, B = (2000, 4, 32) if FULL else (200, 3, 32)

# %% [markdown]
# ## The model
#
# Encoder and decoder with tanh (smooth: bounded first and second
# derivatives), a Gaussian decoder with unit variance. `forward` returns the
# per-example losses, -ELBO up to the constant (D/2) log(2 pi): the squared
# error plus the KL term, both >= 0, so the loss is bounded below by 0, which
# the model states as `loss_lower_bound` (the tracker takes Delta from it).
# The noise comes from torch's global generator, as in most training code.
# It is the one small user model of the project: the walkthrough's tracker example
# (`scripts/track_example.py`), whose source is printed here.

# %%
sys.path.insert(0, str(HERE.parent / "scripts"))
from track_example import VAE, loss  # noqa: E402

print(inspect.getsource(VAE))
print(inspect.getsource(loss))
X = load("digits")  # 1797 x 64, pixel values in [0, 1]


# %% [markdown]
# ## Its constants at initialisation
#
# L: the largest |eigenvalue| of the Hessian of F with the noise held fixed
# (the noise drawn from a seeded generator inside `torch.random.fork_rng`, so
# the global stream is left as it was). sigma2_data and sigma2_mc: the
# variance of one example's gradient split into its data and Monte-Carlo
# parts, so that a minibatch of B has variance (sigma2_data + sigma2_mc)/B.

# %%
with torch.random.fork_rng():
    torch.manual_seed(0)
    model0 = VAE(X.shape[1])
params0 = {k: v.detach() for k, v in model0.named_parameters()}


def fixed_noise_loss(params: dict) -> torch.Tensor:
    with torch.random.fork_rng():
        torch.manual_seed(1)
        return torch.func.functional_call(model0, params, (X,)).mean()


L0 = smoothness(fixed_noise_loss, params0)
var0 = module_gradient_variance(model0, loss, X, n_examples=256, seed=0)
sigma2_0 = var0.total(B)
with torch.no_grad():
    F0 = float(fixed_noise_loss(params0))
Delta0 = F0 - VAE.loss_lower_bound
print(f"L = {L0.value:.4g} [{L0.lo:.4g}, {L0.hi:.4g}] ({L0.method})")
print(f"sigma2_data = {var0.data.value:.4g} [{var0.data.lo:.4g}, {var0.data.hi:.4g}]")
print(f"sigma2_mc   = {var0.mc.value:.4g} [{var0.mc.lo:.4g}, {var0.mc.hi:.4g}]")
print(f"sigma2 at B = {B}: {sigma2_0.value:.4g} [{sigma2_0.lo:.4g}, {sigma2_0.hi:.4g}]")
print(f"Delta <= F(theta_0) - 0 = {Delta0:.4g}")

# %% [markdown]
# ## The step constant, from the theory
#
# The SGD theorem with gamma_k = C_gamma k^(-1/2) is minimised at
# C* = sqrt(2 Delta / (L sigma2 (1 + log n))), and needs C_gamma <= 1/L. L
# grows along a run, so, as `vaebounds verify` does, C* is clipped to 1/(2L)
# with the upper ends of the intervals.

# %%
sgd = theory.bound("generic", "sgd")
at = {"L": L0.hi, "sigma2": sigma2_0.hi, "Delta": Delta0, "n": STEPS}
C_star = float(theory.rates.optimal_step_constant(sgd, at))
C_gamma = min(C_star, 1 / (2 * L0.hi))
print(f"C* = {C_star:.4g}, 1/(2L) = {1 / (2 * L0.hi):.4g}: C_gamma = {C_gamma:.4g}")
print(
    f"the bound promises {sgd.evaluate(C_gamma=C_gamma, **at):.4g} after n = {STEPS} steps at these constants"
)

# %% [markdown]
# ## R runs of your own loop, tracked
#
# An ordinary loop: minibatches of B rows, `torch.optim.SGD` with the step
# C_gamma k^(-1/2) from a `LambdaLR` schedule. `empirical.track` hooks the
# optimizer (it reads every step size) and the layers (it infers B);
# `tracker.step()` after every `optimizer.step()` records an unbiased
# estimate of ||grad F(theta_k)||^2 on a log-spaced plan and keeps a few
# snapshots. Each run draws from torch's global generator, seeded per run
# inside `fork_rng`; the tracker's own draws never touch that stream.

# %%
tracked = []
for seed in range(RUNS):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = VAE(X.shape[1])
        opt = torch.optim.SGD(model.parameters(), lr=C_gamma)
        schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1 / math.sqrt(k + 1))
        tracker = empirical.track(model, loss, X, opt, seed=seed)
        for _ in range(STEPS):
            x = X[torch.randint(len(X), (B,))]
            opt.zero_grad()
            minibatch = model(x).mean()
            minibatch.backward()
            opt.step()
            schedule.step()
            tracker.step(minibatch)
        tracked.append(tracker.finish())
result = verify_runs(tracked)
obs = result.observed
print(result.headline)
print(f"theorem {result.theorem.name}: bound {result.bound_value:.4g}; observed mean over {obs.runs} runs "
      f"{obs.value:.4g} [{obs.lo:.4g}, {obs.hi:.4g}]; bound/observed {result.ratio:.3g}")  # fmt: skip
for row in result.assumptions:
    print(f"  [{row.id}] {row.status}: {row.evidence[:110]}")

# %% [markdown]
# The tracker reads the step sizes, not the schedule's formula, so it binds
# SGD under any step sequence (variant `schedule`), whose sums S1 and S2 are
# those of the steps actually taken; its left-hand side is the
# gamma-weighted average of ||grad F(theta_j)||^2.
#
# ## The constants: at initialisation, and along the runs
#
# The tracker measures the constants again along the runs (at every run's
# snapshots) and binds each at the end of its interval that makes the bound
# larger. L and the variances are lower estimates of the suprema the theorem
# needs: the verdict is a check at the estimated constants, not a proof.


# %%
def show(e) -> str:
    return f"{e.value:.4g} [{e.lo:.4g}, {e.hi:.4g}]"


initial = {
    "L": show(L0),
    "sigma2_data": show(var0.data),
    "sigma2_mc_K": show(var0.mc),
    "sigma2": show(sigma2_0),
}
initial["Delta"] = f"{Delta0:.4g} (F(theta_0) - 0, one noise draw)"
print("| constant | at initialisation | along the runs | end bound into the theorem |")
print("|---|---|---|---|")
for name, e in result.constants.named().items():
    used = result.binding.ends.get(name, "not used (enters through sigma2)")
    print(f"| {name} | {initial.get(name, '—')} | {show(e)} | {used} |")

# %%
convergence = FIGURES / "nb02-your-model-convergence.png"
verify_figures.plot_convergence(result, convergence)
figures.show(convergence)
constants = FIGURES / "nb02-your-model-constants.png"
verify_figures.plot_constants(result, constants)
figures.show(constants)
