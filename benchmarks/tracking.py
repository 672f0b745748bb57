"""The cost of following a training loop with ``empirical.track``, measured from outside, in one run.

Four loops, each run without and with the tracker, alternated in pairs whose order alternates
too (plain, tracked, tracked, plain, ...: the second loop of a pair runs slower),
and the ratio tracked / plain of their wall times (the way a user would measure it) as the
median over the pairs, beside the same ratio in CPU time (the process's; with one thread it
equals wall time on a quiet machine and is far less disturbed by other processes on a busy
one) and the tracker's own figure (``result.extras["tracker"]["overhead"]``: the time inside
its hooks and ``tracker.step()`` over the rest), medians too:

* the README's loop (``readme``: its Python block with ``empirical.track``, read from README.md and
  run as written, 4 seeds x 500 steps, B = 32 inferred; the plain side is the same block with
  ``empirical.track`` a tracker that does nothing): the target is at most 1.10x (issue 24);
* the walkthrough's loop (``walkthrough``: scripts/track_example.py's VAE on digits / 16, SGD 0.01
  under StepLR, B = 32 inferred, 2000 steps);
* the default Deep Gaussian VAE (empirical.models.DEFAULTS, digits, as an nn.Module holding the
  same parameters) at the CLI's n = 2000, B = 32;
* the convolutional VAE (empirical.conv, MNIST) at n = 1000, B = 32.

``verify()`` (the final record and the estimation; the README's ``tracker.finish()`` and
``verify_runs``) is timed separately: it is not overhead of the loop. Where the records are
kept for ``finish()`` (empirical.tracking.deferred: a CPU module without buffers, no live
callback) their time is printed too, and the ratio (loop + those records) / plain, the
records' whole cost (and every loop starts after ``gc.collect()``, so that the garbage verify() leaves is
not collected during the next loop's timing); nor is importing the tracker's modules (about a
second, once per process: a short tracked loop runs first, untimed).

    python benchmarks/tracking.py [--repeats 6] [--only readme|walkthrough|mlp|conv] [--threads 1]
"""

from __future__ import annotations

import argparse
import ast
import gc
import importlib.util
import re
import statistics
import time
from pathlib import Path
from types import SimpleNamespace

import torch
from torch import nn

import empirical
from empirical import conv, data, models


class DefaultVAE(nn.Module):
    """The default Deep Gaussian VAE of empirical.models with its parameters held by an nn.Module."""

    def __init__(self, D: int, seed: int) -> None:
        super().__init__()
        self.vae = models.make("gaussian", D)
        init = self.vae.init_params(torch.Generator().manual_seed(seed))
        self.keys = list(init)
        self.params = nn.ParameterList([nn.Parameter(init[k]) for k in self.keys])

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        params = dict(zip(self.keys, self.params, strict=True))
        eps = torch.randn(x.shape[0], self.vae.K, self.vae.latent_dim, dtype=x.dtype)
        return self.vae.batch_losses(params, x, eps)


def _example():
    path = Path(__file__).resolve().parents[1] / "scripts" / "track_example.py"
    spec = importlib.util.spec_from_file_location("vaebounds_track_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def walkthrough_problem(seed: int):
    """The walkthrough's loop: its VAE, digits / 16, SGD 0.01 under StepLR(500, 0.5), B inferred."""
    example = _example()
    X = data.load("digits") / 16.0
    torch.manual_seed(seed)
    model = example.VAE(X.shape[1])
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    return model, example.loss, X, opt, torch.optim.lr_scheduler.StepLR(opt, step_size=500, gamma=0.5), {}


def _sgd(model, C):
    opt = torch.optim.SGD(model.parameters(), lr=C)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda e: (e + 1) ** -0.5)


def mlp_problem(seed: int):
    X = data.split(data.load("digits"), held_out=0.2, seed=0)[0]
    model = DefaultVAE(X.shape[1], seed)
    return model, lambda m, x: m.loss(x), X, *_sgd(model, 0.05), {"batch_size": 32}


def conv_problem(seed: int):
    X = data.split(data.load("mnist"), held_out=0.2, seed=0)[0]
    model, loss = conv.make(X.shape[1], seed=seed)
    return model, loss, X, *_sgd(model, 2e-5), {"batch_size": 32}


def loop(
    problem, steps: int, tracked: bool, B: int = 32, seed: int = 0
) -> tuple[float, float, float, object]:
    """(wall seconds of the loop, its CPU seconds, seconds of verify(), the result or None)."""
    model, loss, X, opt, sched, options = problem(seed)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    # Each loop starts from a collected heap: the objects the previous verify() left (SymPy's,
    # the estimators') are otherwise collected in a full pass (0.15 s) during whichever loop
    # allocates next, the tracked one, charging it a cost that is not the tracker's.
    gc.collect()
    c0 = time.process_time()
    t0 = time.perf_counter()
    tracker = empirical.track(model, loss, X, opt, seed=seed, **options) if tracked else None
    for _ in range(steps):
        x = X[torch.randint(X.shape[0], (B,), generator=gen)]
        opt.zero_grad()
        minibatch = loss(model, x).mean()
        minibatch.backward()
        opt.step()
        sched.step()
        if tracker is not None:
            tracker.step(minibatch)
    train, cpu = time.perf_counter() - t0, time.process_time() - c0
    if tracker is None:
        return train, cpu, 0.0, None
    t0 = time.perf_counter()
    result = tracker.verify()
    return train, cpu, time.perf_counter() - t0, result


def measure(name: str, problem, steps: int, repeats: int) -> tuple[float, float, float]:
    """:func:`_pairs` of ``problem``'s loop over ``steps`` steps."""
    loop(problem, min(steps, 20), True)  # warm-up: the tracker's modules imported once, not timed
    return _pairs(name, lambda: loop(problem, steps, False), lambda: loop(problem, steps, True), repeats)


def _pairs(name: str, plain_loop, tracked_loop, repeats: int) -> tuple[float, float, float]:
    """Medians over alternated pairs: (wall ratio tracked / plain, CPU ratio, the tracker's own
    figure as a ratio)."""
    wall, cpu, own, verify, plain, whole = [], [], [], [], [], []
    for i in range(repeats):  # ABBA: the order alternates too (the second of a pair runs ~2 % slower)
        if i % 2 == 0:
            t_plain, c_plain, _, _ = plain_loop()
            t, c, v, result = tracked_loop()
        else:
            t, c, v, result = tracked_loop()
            t_plain, c_plain, _, _ = plain_loop()
        wall.append(t / t_plain)
        cpu.append(c / c_plain)
        plain.append(t_plain)
        own.append(1 + result.extras["tracker"]["overhead"])
        verify.append(v)
        kept = result.timings.get("deferred records", 0.0)
        whole.append((t + kept) / t_plain)
    ratio, cpu_ratio, figure = statistics.median(wall), statistics.median(cpu), statistics.median(own)
    run, info = result.runs, result.extras["tracker"]
    print(
        f"{name}: {run.runs} x {run.steps} steps, B = {info['batch_size']}, {run.record_steps.size} records "
        f"({info['record_gradients']} gradients each), {run.snapshot_steps.size} snapshots of "
        f"{run.snapshots.shape[2]} parameters"
    )
    print(
        f"  tracked / plain: wall {ratio:.3f}x, CPU {cpu_ratio:.3f}x (medians of {repeats} alternated "
        f"pairs; plain {statistics.median(plain):.2f} s); the tracker's own figure {figure:.3f}x; "
        f"verify() {statistics.median(verify):.1f} s (not overhead)"
    )
    if kept > 0:
        print(
            f"  records kept for finish(): {kept:.3f} s (the last pair's); (loop + those records) / plain "
            f"{statistics.median(whole):.3f}x"
        )
    obs = result.observed
    print(f"  observed {obs.value:.4g} [{obs.lo:.4g}, {obs.hi:.4g}] (the last pair's), "
          f"bound {result.bound:.4g}, {result.verdict.value}")  # fmt: skip
    return ratio, cpu_ratio, figure


README = Path(__file__).resolve().parents[1] / "README.md"


def readme_block(text: str) -> str:
    """The README's Python block that calls ``empirical.track``, as written."""
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "empirical.track(" in b]
    if len(blocks) != 1:
        raise SystemExit(f"README.md has {len(blocks)} Python blocks calling empirical.track (expected 1)")
    return blocks[0]


class _Plain:
    """What ``empirical.track`` returns on the plain side: a tracker that does nothing."""

    def step(self, loss: object = None) -> None:
        pass

    def finish(self) -> None:
        return None

    def __getattr__(self, name: str) -> _Plain:  # the README's print of the result: nothing to read
        return self


class ReadmeLoop:
    """The README's block in a namespace of its own, its ``empirical.track`` real or plain.

    The block runs as written up to the first top-level statement that calls ``run``; the rest
    (the runs and ``verify_runs``, then ``print``) runs per measurement with ``verify_runs``
    stamping the end of the loops and ``tracker.finish()`` (the final record) timed and taken
    out: both are timed apart, as ``verify()`` is in the other cases.
    """

    def __init__(self, tracked: bool, **options: object) -> None:
        self.options = options  # more options of empirical.track (record_growth, ...)
        tree = ast.parse(readme_block(README.read_text()))
        calls_run = [
            any(isinstance(n, ast.Call) and getattr(n.func, "id", None) == "run" for n in ast.walk(stmt))
            for stmt in tree.body
        ]
        cut = calls_run.index(True)
        self.head = compile(ast.Module(tree.body[:cut], []), "README.md", "exec")
        self.tail = compile(ast.Module(tree.body[cut:], []), "README.md", "exec")
        self.ns: dict = {"__name__": "readme_block"}
        exec(self.head, self.ns)
        self.tracked, self.finish_wall, self.finish_cpu = tracked, 0.0, 0.0
        self.real_verify = self.ns["verify_runs"]
        self.ns["empirical"] = SimpleNamespace(track=self._track if tracked else lambda *a, **k: _Plain())
        self.ns["verify_runs"] = self._verify_runs
        self.ns["print"] = lambda *a, **k: None

    def _track(self, *args, **kwargs):
        tracker = empirical.track(*args, **kwargs, **self.options)
        finish = tracker.finish

        def timed_finish():
            t, c = time.perf_counter(), time.process_time()
            out = finish()
            self.finish_wall += time.perf_counter() - t
            self.finish_cpu += time.process_time() - c
            return out

        tracker.finish = timed_finish
        return tracker

    def _verify_runs(self, runs):
        self.end = time.perf_counter(), time.process_time()
        if not self.tracked:
            return _Plain()
        return self.real_verify(runs)

    def __call__(self) -> tuple[float, float, float, object]:
        """(wall seconds of the loops, their CPU seconds, seconds of finish() and verify_runs, the result)."""
        self.finish_wall = self.finish_cpu = 0.0
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        exec(self.tail, self.ns)
        t1 = time.perf_counter()
        wall, cpu = self.end[0] - t0 - self.finish_wall, self.end[1] - c0 - self.finish_cpu
        result = self.ns["result"] if self.tracked else None
        return wall, cpu, t1 - self.end[0] + self.finish_wall, result


def measure_readme(name: str, repeats: int, **options: object) -> tuple[float, float, float]:
    """:func:`measure` of the README's block (:class:`ReadmeLoop`; ``options`` go to its
    ``empirical.track``)."""
    plain, tracked = ReadmeLoop(False), ReadmeLoop(True, **options)
    tracked.ns["run"](0, steps=20)  # warm-up: the tracker's modules imported once, not timed
    return _pairs(name, lambda: plain(), lambda: tracked(), repeats)


def main(argv: list[str] | None = None) -> dict[str, tuple[float, float, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--walkthrough-steps", type=int, default=2000)
    parser.add_argument("--mlp-steps", type=int, default=2000)
    parser.add_argument("--conv-steps", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", choices=("readme", "walkthrough", "mlp", "conv"), default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cases = {
        "walkthrough": ("the walkthrough's loop (scripts/track_example.py)", walkthrough_problem,
                        args.walkthrough_steps, args.repeats),
        "mlp": ("default Deep Gaussian VAE, digits", mlp_problem, args.mlp_steps, args.repeats),
        "conv": ("conv VAE, MNIST", conv_problem, args.conv_steps, max(1, args.repeats - 2)),
    }  # fmt: skip
    out = {}
    if args.only in (None, "readme"):
        out["readme"] = measure_readme(
            "the README's loop (README.md, empirical.track), target <= 1.10x", args.repeats
        )
    return out | {key: measure(*case) for key, case in cases.items() if args.only in (None, key)}


if __name__ == "__main__":
    main()
