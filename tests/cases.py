"""The suite's shared test cases: small data sets and oracles with known answers.

Every builder is a plain function of its sizes and seed (no global random state);
tests/conftest.py exposes the ones tests take as fixtures (``small_npy``,
``digits``, ``digits_train``, ``derivations``). One definition each, so two
tests that say "the small data set" or "the paper's Adam" mean the same thing.

Data sets
- :func:`sigmoid_rows`: ``SMALL_ROWS x SMALL_COLUMNS`` rows in (0, 1) on a
  3-dimensional manifold (the CLI's small data file, ``small_npy``).
- :func:`digits`, :func:`digits_train`: scikit-learn's 8x8 digits (1797 x 64 in
  [0, 1]) and its training split (held out 0.2, split seed 0: 1438 rows).
- :func:`uniform_rows`: n x d uniform [0, 1) rows, a model's input where the data
  does not matter.
- :func:`write_bad_files`: data files of every bad shape and two good ones.
- :func:`fresh`: what a piece of code prints (JSON) in a fresh interpreter.
- :func:`linear_batched`: two batched SGD runs of a small linear VAE with the constants
  along them and the fixed values: what ``empirical.conclusion.conclude`` takes.

User models
- :data:`USER_EXAMPLE`, :func:`user_vae`, :func:`user_loss`: the one small user VAE
  (``VAE`` of scripts/track_example.py, the walkthrough's tracker example; notebook 02 imports it too),
  a ``torch.nn.Module`` with ``loss(model, x)`` the per-example -ELBO; ``USER_MAKE`` its
  ``--model FILE.py:make`` spec; :func:`run_user_loop`, a user's plain loop on it, tracked.

Oracles
- :func:`sgd_oracle`: a noisy quadratic (convex) or noisy cosine (nonconvex) with
  exactly known L, sigma2 and Delta (``empirical.oracles``).
- :class:`QuadraticModule`, :func:`quadratic_truth`, :func:`run_quadratic_loop`: a user's
  ``torch.nn.Module`` whose loss is a noisy quadratic with known L, sigma2, Delta and a
  ``loss_lower_bound``, the exact expected left-hand side of SGD on it, and its tracked loop.
- :func:`cosine_schedule`: the cosine step sequence with a linear warm-up.
- :func:`quadratic`: F(x, y) = x^T A x / 2 + ||y||^2 with A's spectrum given.
- :func:`growth_oracle`: SGD on a quadratic whose gradient noise has variance exactly
  A + G ||grad F||^2, recorded as a TrainRun records it.
- :func:`gradient_sequence`: a fixed gradient sequence for the update rules.
- :func:`paper_adam`, :func:`paper_adagrad`: Défossez, Bottou, Bach, Usunier
  (TMLR 2022), the algorithms as written in the paper, float64.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from empirical import data
from empirical.oracles import NoisyCosine, NoisyQuadratic

F64 = torch.float64

# ------------------------------------------------------------------ user models

#: The example the walkthrough, notebook 02 and the tests share: the one small user VAE.
USER_EXAMPLE = Path(__file__).resolve().parents[1] / "scripts" / "track_example.py"
#: Its ``make`` as the CLI's ``--model FILE.py:make``.
USER_MAKE = f"{USER_EXAMPLE}:make"


@functools.cache
def _user_example():
    spec = importlib.util.spec_from_file_location("vaebounds_track_example", USER_EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def user_vae(D: int, hidden: int = 16, latent: int = 3) -> torch.nn.Module:
    """The small user VAE (scripts/track_example.py), small by default (16 hidden, 3 latent)."""
    return _user_example().VAE(D, hidden, latent)


def user_loss(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Its per-example losses, loss(model, x) of empirical.track."""
    return _user_example().loss(model, x)


def run_user_loop(
    X, make_opt, steps=120, B=32, seed=0, scheduler=None, tracked=True, order="after", **options
):
    """The user's plain loop on the small user VAE: uniform minibatches, zero_grad, backward,
    optimizer.step(), then (with ``tracked``) tracker.step(); ``scheduler(opt)`` steps before or
    after tracker.step(). Returns (model, tracker or None, the step sizes taken)."""
    import empirical

    torch.manual_seed(seed)
    model = user_vae(X.shape[1])
    opt = make_opt(model.parameters())
    sched = scheduler(opt) if scheduler is not None else None
    tracker = empirical.track(model, user_loss, X, opt, seed=seed, **options) if tracked else None
    taken = []
    for _ in range(steps):
        idx = torch.randint(X.shape[0], (B,))
        opt.zero_grad()
        value = user_loss(model, X[idx]).mean()
        value.backward()
        taken.append(opt.param_groups[0]["lr"])
        opt.step()
        if sched is not None and order == "before":
            sched.step()
        if tracker is not None:
            tracker.step(value)
        if sched is not None and order == "after":
            sched.step()
    return model, tracker, taken


# ------------------------------------------------------------------ data sets

#: The small data set of the CLI tests: rows, columns, latent dimension, seed.
SMALL_ROWS, SMALL_COLUMNS, SMALL_LATENT, SMALL_SEED = 200, 8, 3, 0


def tiny_tracked_run(loss, steps: int, seed: int = 0, **options):
    """The small user VAE (6 columns, 40 uniform rows) trained ``steps`` SGD steps of B = 4 rows,
    followed by ``empirical.track`` with ``loss`` (and ``options``). Returns (the tracker, not
    finished; the wall seconds of track() and the loop)."""
    import time

    import empirical

    torch.manual_seed(seed)
    model, X = user_vae(6), torch.rand(40, 6)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    started = time.perf_counter()
    tracker = empirical.track(model, loss, X, opt, seed=seed, batch_size=4, **options)
    for _ in range(steps):
        opt.zero_grad()
        loss(model, X[torch.randint(40, (4,))]).mean().backward()
        opt.step()
        tracker.step()
    return tracker, time.perf_counter() - started


def sigmoid_rows(
    n: int = SMALL_ROWS, d: int = SMALL_COLUMNS, latent: int = SMALL_LATENT, seed: int = SMALL_SEED
) -> np.ndarray:
    """X = sigmoid(Z W), float32 (n, d): Z (n x latent) then W (latent x d) standard
    normal from ``numpy.random.default_rng(seed)``; rows in (0, 1) near a
    ``latent``-dimensional manifold, what a small VAE fits in a few steps."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, latent))
    W = rng.normal(size=(latent, d))
    return (1 / (1 + np.exp(-(Z @ W)))).astype(np.float32)


def write_small_npy(folder: Path) -> Path:
    """:func:`sigmoid_rows` at its defaults, saved as ``folder/small.npy``."""
    path = Path(folder) / "small.npy"
    np.save(path, sigmoid_rows())
    return path


@functools.cache
def digits() -> torch.Tensor:
    """scikit-learn's digits as ``verify`` loads them: float32 (1797, 64) in [0, 1].
    One tensor for the whole session: tests slice or copy it, never write into it."""
    return data.load("digits")


@functools.cache
def digits_train() -> torch.Tensor:
    """The training rows of :func:`digits` at ``verify``'s default split (held out 0.2,
    split seed 0): float32 (1438, 64)."""
    return data.split(digits(), held_out=0.2, seed=0)[0]


def linear_batched(rows: torch.Tensor, steps: int, C_gamma: float, B: int = 16, runs: int = 2) -> tuple:
    """``runs`` batched SGD runs of the linear VAE (latent 2) on ``rows`` and the constants along them.

    Args:
        rows: The training rows.
        steps: n.
        C_gamma: The step constant (gamma_k = C_gamma k^(-1/2)).
        B: The batch size.
        runs: R.

    Returns:
        (settings, runs, constants, fixed values): the first four arguments of
        ``empirical.conclusion.conclude``.
    """
    from empirical.conclusion.values import fixed_values
    from empirical.estimators import estimate
    from empirical.models import make
    from empirical.settings import Settings
    from empirical.train import train

    model = make("linear", rows.shape[1], latent_dim=2)
    trained = train(model, None, rows, steps=steps, batch_size=B, C_gamma=C_gamma, runs=runs, progress=False)
    constants = estimate(model, rows, run=trained, batch_size=B, seed=0, n_examples=64)
    fixed = fixed_values(trained.step_sizes, batch_size=B, n_params=model.n_params, C_gamma=C_gamma, K=1)
    settings = Settings(model="linear", steps=steps, batch_size=B, runs=runs, C_gamma=C_gamma)
    return settings, trained, constants, fixed


def uniform_rows(n: int, d: int, seed: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(n, d) uniform [0, 1) rows from ``torch.Generator().manual_seed(seed)``."""
    return torch.rand(n, d, generator=torch.Generator().manual_seed(seed), dtype=dtype)


#: Rows of the good files (and of the bad ones cut from them).
GOOD_ROWS = 60


def write_bad_files(folder: Path) -> dict[str, Path]:
    """Data files of every bad shape, and the good ones (:func:`sigmoid_rows` with
    ``GOOD_ROWS`` rows, as .npy and .csv), written into ``folder``; name -> path
    (``missing.npy`` is named but not written)."""
    good = sigmoid_rows(GOOD_ROWS)
    files: dict[str, object] = {
        "good.npy": good,
        "empty.npy": np.zeros((0, 8)),
        "one_d.npy": np.ones(50),
        "three_d.npy": np.ones((20, 4, 2)),
        "strings.npy": np.array([["a", "b"]] * 20),
        "nan.npy": np.where(np.eye(20, 8) > 0, np.nan, 1.0),
        "inf.npy": np.full((20, 8), np.inf),
        "huge.npy": np.full((20, 8), 1e30),
        "few_rows.npy": good[:3],
        "one_column.npy": good[:, :1],
        "bool.npy": good > 0.5,
        "complex.npy": good.astype(np.complex64),
    }
    out = {}
    for name, array in files.items():
        path = folder / name
        np.save(path, array)
        out[name] = path
    np.save(folder / "object.npy", np.array([{"a": 1}] * 20, dtype=object), allow_pickle=True)
    out["object.npy"] = folder / "object.npy"
    raw = (folder / "good.npy").read_bytes()
    for name, raw_bytes in {
        "truncated.npy": raw[: len(raw) // 2],
        "zero_bytes.npy": b"",
        "header_only.npy": raw[:80],
    }.items():
        (folder / name).write_bytes(raw_bytes)
        out[name] = folder / name
    header = ",".join(f"c{i}" for i in range(good.shape[1]))
    np.savetxt(folder / "good.csv", good, delimiter=",", header=header, comments="")
    out["good.csv"] = folder / "good.csv"
    texts = {
        "empty.csv": "",
        "header_only.csv": "a,b,c\n",
        "text.csv": "a,b\nc,d\ne,f\n",
        "ragged.csv": "1,2,3\n4,5\n6\n",
        "nan.csv": "\n".join(["1,nan,2"] * 20),
        "two_headers.csv": "a,b\nc,d\n" + "\n".join(["1,2"] * 20),
        "blank_lines.csv": "\n\n\n",
    }
    for name, text in texts.items():
        (folder / name).write_text(text)
        out[name] = folder / name
    (folder / "folder.npy").mkdir(exist_ok=True)
    out["folder.npy"] = folder / "folder.npy"
    (folder / "data.txt").write_text("1,2\n3,4\n")
    out["data.txt"] = folder / "data.txt"
    out["missing.npy"] = folder / "missing.npy"
    return out


# ------------------------------------------------------------------ oracles


class QuadraticModule(torch.nn.Module):
    """A user's module with a noisy quadratic loss: per row x,
    l(theta; x, xi) = (1/2) (theta - x)^T A (theta - x) + sigma <xi, m * theta>, A = diag(a),
    m a 0/1 mask of the noisy coordinates, xi ~ N(0, I) from torch's global RNG. So
    F(theta) = (1/2) (theta - xbar)^T A (theta - xbar) + (1/2) sum_i a_i v_i (v_i the rows'
    variance of coordinate i, ddof 0), grad F = A (theta - xbar), L = max a_i, and a row's
    gradient A (theta - x) + sigma m xi has variance sum_i a_i^2 v_i + sigma^2 sum_i m_i.
    ``loss_lower_bound`` = 0 <= F (the tracker's Delta is then F(theta_0), an upper value)."""

    loss_lower_bound = 0.0

    def __init__(self, theta0, curvatures, mask, sigma: float) -> None:
        super().__init__()
        self.theta = torch.nn.Parameter(torch.as_tensor(theta0, dtype=F64).clone())
        # plain attributes, not buffers: the tracker restores buffers in place after each evaluation
        self.a, self.m = torch.as_tensor(curvatures, dtype=F64), torch.as_tensor(mask, dtype=F64)
        self.sigma = float(sigma)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.theta - x
        xi = torch.randn_like(x)
        return 0.5 * (self.a * e * e).sum(1) + self.sigma * (xi * self.m * self.theta).sum(1)


def quadratic_loss(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """loss(model, x) of :class:`QuadraticModule`: its per-row losses."""
    return model(x)


def quadratic_truth(model: QuadraticModule, X: torch.Tensor, B: int, gamma: float, n: int) -> float:
    """(1/n) sum_{j<n} E||grad F(theta_j)||^2 of SGD with the constant step gamma on B rows drawn
    uniformly with replacement, exactly: with e_j = theta_j - xbar, coordinate by coordinate
    e_{j,i} = (1 - gamma a_i) e_{j-1,i} - gamma zeta_{j,i}, E zeta_i^2 = s_i = (a_i^2 v_i + sigma^2 m_i)/B,
    so E e_{j,i}^2 = r_i^j e_{0,i}^2 + gamma^2 s_i (1 - r_i^j)/(1 - r_i), r_i = (1 - gamma a_i)^2."""
    a, m = model.a.numpy(), model.m.numpy()
    Xn = X.double().numpy()
    e0 = model.theta.detach().numpy() - Xn.mean(0)
    s = (a**2 * Xn.var(0) + model.sigma**2 * m) / B
    r = (1 - gamma * a) ** 2
    j = np.arange(n)[:, None]
    second = r**j * e0**2 + gamma**2 * s * (1 - r**j) / (1 - r)
    return float(np.mean((a**2 * second).sum(1)))


def quadratic_rows(N: int = 256, d: int = 4, spread: float = 0.1, seed: int = 0) -> torch.Tensor:
    """N x d float64 rows, normal with standard deviation ``spread`` about 0."""
    return torch.as_tensor(np.random.default_rng(seed).normal(0.0, spread, (N, d)), dtype=F64)


def run_quadratic_loop(
    model: QuadraticModule, X: torch.Tensor, B: int, gamma: float, n: int, seed: int, growth: float = 1.1
):
    """SGD(lr = gamma) on ``model`` in a plain loop, B rows uniformly with replacement, tracked
    (records growing by ``growth``, each record's gradients over 256 rows); returns the tracker."""
    import empirical

    torch.manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=gamma)
    tracker = empirical.track(
        model, quadratic_loss, X, opt, seed=seed, batch_size=B, record_growth=growth, record_rows=256
    )
    for _ in range(n):
        opt.zero_grad()
        value = quadratic_loss(model, X[torch.randint(X.shape[0], (B,))]).mean()
        value.backward()
        opt.step()
        tracker.step(value)
    return tracker


def sgd_oracle(kind: str, dim: int, L: float, sigma2: float, rng: np.random.Generator):
    """A noisy quadratic ("quadratic", convex) or noisy cosine ("cosine", nonconvex,
    frequency uniform in [0.5, 3]) in ``dim`` dimensions with smoothness L and total
    noise variance sigma2, drawn from ``rng`` (inf F = 0 for both)."""
    if kind == "quadratic":
        return NoisyQuadratic.random(dim, L, sigma2, rng)
    if kind == "cosine":
        return NoisyCosine.random(dim, L, sigma2, rng, frequency=float(rng.uniform(0.5, 3.0)))
    raise ValueError(f"oracle kind must be 'quadratic' or 'cosine', got {kind!r}")


def cosine_schedule(n: int, gamma_max: float, warmup: int = 0) -> np.ndarray:
    """gamma_k = gamma_max (1 + cos(pi (k - 1)/n))/2, k = 1..n, the first ``warmup``
    steps scaled by j/(warmup + 1), j = 1..warmup."""
    k = np.arange(1, n + 1)
    steps = gamma_max * (1 + np.cos(np.pi * (k - 1) / n)) / 2
    if warmup:
        steps[:warmup] *= np.arange(1, warmup + 1) / (warmup + 1)
    return steps


def quadratic(eigs, d_extra: int = 0, seed: int = 0):
    """F(x, y) = x^T A x / 2 + ||y||^2 with A = Q diag(eigs) Q^T, Q a random rotation:
    Hessian blocks A and 2 I, so its largest |eigenvalue| is max(max|eigs|, 2 if y).
    Returns (loss(params), params at a random point, A, Q), float64."""
    g = torch.Generator().manual_seed(seed)
    n = len(eigs)
    Q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=F64))
    A = Q @ torch.diag(torch.as_tensor(eigs, dtype=F64)) @ Q.T

    def loss(p):
        out = 0.5 * p["x"] @ A @ p["x"]
        if d_extra:
            out = out + (p["y"] ** 2).sum()
        return out

    params = {"x": torch.randn(n, generator=g, dtype=F64)}
    if d_extra:
        params["y"] = torch.randn(d_extra, generator=g, dtype=F64)
    return loss, params, A, Q


#: Coordinate scales of :func:`gradient_sequence`, repeated along the last axis: a
#: large, a tiny (below eps) and a mid-sized coordinate.
GRADIENT_SCALES = (1.0, 0.01, 3.0)


def growth_oracle(
    A: float, G: float, seed: int, *, dim: int = 20, steps: int = 2000, runs: int = 4,
    C: float = 0.1, record_noise: float = 0.02, theta_scale: float = 3.0,
):  # fmt: skip
    """SGD theta_k = theta_{k-1} - C k^(-1/2) g_k on F = sum_i lam_i theta_i^2 / 2 (lam evenly in
    [0.1, 1]) with g = grad F + xi, xi ~ N(0, (A + G ||grad F||^2)/dim I): E||g - grad F||^2 =
    A + G ||grad F||^2 exactly. Recorded as a TrainRun: ``grad_norm_sq`` (runs, steps) ||g_k||^2,
    at the default record plan the records ||grad F(theta_k)||^2 plus Gaussian noise of sd
    ``record_noise`` times it, and that noise's variance. Returns (grad_norm_sq, record_steps,
    records, record variances), NumPy, from ``numpy.random.default_rng(seed)``."""
    from empirical.train.recording import record_plan

    rng = np.random.default_rng(seed)
    lam = np.linspace(0.1, 1.0, dim)
    theta = rng.normal(size=(runs, dim)) * theta_scale
    ks = np.array(record_plan(steps))
    y = np.empty((runs, steps))
    x, v = np.empty((runs, ks.size)), np.empty((runs, ks.size))
    t = 0
    for k in range(steps + 1):
        grad = lam * theta
        sq = (grad**2).sum(1)
        if t < ks.size and ks[t] == k:
            v[:, t] = (record_noise * sq) ** 2
            x[:, t] = sq + rng.normal(size=runs) * np.sqrt(v[:, t])
            t += 1
        if k == steps:
            break
        g = grad + rng.normal(size=(runs, dim)) * np.sqrt((A + G * sq) / dim)[:, None]
        y[:, k] = (g**2).sum(1)
        theta = theta - C / math.sqrt(k + 1) * g
    return y, ks, x, v


def gradient_sequence(steps: int, shape: tuple[int, ...] = (3,), seed: int = 0) -> np.ndarray:
    """A fixed gradient sequence, float64 (steps, *shape): standard normal from
    ``numpy.random.default_rng(seed)`` times GRADIENT_SCALES along the last axis
    (the update rules do not depend on where g comes from)."""
    scales = np.resize(np.array(GRADIENT_SCALES), shape[-1])
    return np.random.default_rng(seed).normal(size=(steps, *shape)) * scales


def paper_adam(x0: np.ndarray, grads, alpha: float, beta1: float, beta2: float, eps: float) -> np.ndarray:
    """Défossez et al. 2022, Adam as written there: m_n = beta1 m_{n-1} + g_n,
    v_n = beta2 v_{n-1} + g_n^2, alpha_n = alpha (1 - beta1) sqrt(sum_{j<n} beta2^j),
    x_n = x_{n-1} - alpha_n m_n / sqrt(eps + v_n). The iterates x_0..x_N, float64."""
    x = np.array(x0, dtype=float)
    m, v, out = np.zeros_like(x), np.zeros_like(x), [x]
    for n, g in enumerate(grads, 1):
        m, v = beta1 * m + g, beta2 * v + g * g
        alpha_n = alpha * (1 - beta1) * math.sqrt(sum(beta2**j for j in range(n)))
        x = x - alpha_n * m / np.sqrt(eps + v)
        out.append(x)
    return np.array(out)


def paper_adagrad(x0: np.ndarray, grads, alpha: float, eps: float) -> np.ndarray:
    """Défossez et al. 2022, Adagrad: v_n = v_{n-1} + g_n^2, x_n = x_{n-1} - alpha g_n /
    sqrt(eps + v_n). The iterates x_0..x_N, float64."""
    x = np.array(x0, dtype=float)
    v, out = np.zeros_like(x), [x]
    for g in grads:
        v = v + g * g
        x = x - alpha * g / np.sqrt(eps + v)
        out.append(x)
    return np.array(out)


def fresh(code: str) -> object:
    """What ``code`` prints last, as JSON, run in a fresh interpreter (nothing imported before it).

    Args:
        code: Python source whose last printed line is JSON.

    Returns:
        That line, decoded.
    """
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def pep_installed() -> bool:
    """Whether the optional ``pep`` extra (PEPit, cvxpy, CLARABEL) is installed."""
    from theory.performance.solvers import MissingSolverError, require

    try:
        require()
    except MissingSolverError:
        return False
    return True


@functools.cache
def walkthrough_script():
    """scripts/walkthrough.py loaded as a module (the doc blocks, the template, the stored numbers)."""
    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location(
        "vaebounds_walkthrough", root / "scripts" / "walkthrough.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module
