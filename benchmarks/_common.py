"""Helpers of benchmarks/verify.py: the CPU clock, a timed child process, a target's verdict,
and one Hessian-vector product against one gradient (the functional built-in VAE and its
nn.Module twin)."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import time


def met(value: float, target: float) -> str:
    return f"target <= {target:g}: {'met' if value <= target else 'NOT met'}"


def cpu_now() -> float:
    """This process's CPU seconds (user + system) since it started."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def run_child(args: list[str], timeout: float = 900) -> tuple[dict | None, float, float]:
    """(the child's JSON line or None, its CPU seconds, its wall seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode not in (0, 1, 2, 3) or (args[-1].startswith("--child") and not lines):
        raise RuntimeError(f"{args} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return (json.loads(lines[-1]) if lines else None), cpu, wall


def hvp_ratios(rounds: int) -> dict[str, float]:
    """Median HVP / gradient, functional built-in model and its nn.Module twin (the gradient graph
    kept, as Lanczos uses it), on the default model and a wide one (MNIST, B = 256)."""
    import torch
    from torch import nn

    from empirical import data, models
    from empirical.estimators.hvp import HessianOperator
    from empirical.threads import torch_threads

    out = {}
    cases = {
        "default (digits, 9,936 parameters)": (data.load("digits")[:256], {}),
        "wide (MNIST, 156,144 parameters)": (data.load("mnist")[:256], {"hidden": (96,), "latent_dim": 16}),
    }
    for name, (X, options) in cases.items():
        model = models.make("gaussian", X.shape[1], **options)
        params = model.init_params(torch.Generator().manual_seed(0))
        eps = model.sample_noise(torch.Generator().manual_seed(1), batch=X.shape[0])

        def loss(p, model=model, X=X, eps=eps):
            return model.batch_loss(p, X, eps)

        module = nn.ParameterDict({k.replace(".", "/"): nn.Parameter(v.clone()) for k, v in params.items()})
        keys = list(params)

        def module_loss(module=module, loss=loss, keys=keys):
            return loss({k: module[k.replace(".", "/")] for k in keys})

        with torch_threads():
            op = HessianOperator(loss, params)
            v = torch.randn(op.dim, generator=torch.Generator().manual_seed(3))
            leaves = list(module.parameters())
            g = torch.autograd.grad(module_loss(), leaves, create_graph=True)
            flat = torch.cat([t.reshape(-1) for t in g])

            def gradient(params=params, loss=loss):
                p = {k: t.detach().requires_grad_(True) for k, t in params.items()}
                return torch.autograd.grad(loss(p), list(p.values()))

            fns = {
                "gradient": gradient,
                "hvp": lambda op=op, v=v: op.matvec(v),
                "module gradient": lambda m=module_loss, ps=leaves: torch.autograd.grad(m(), ps),
                "module hvp": lambda f=flat, ps=leaves, v=v: torch.autograd.grad(f, ps, v, retain_graph=True),
            }
            times = {k: [] for k in fns}
            for fn in fns.values():
                fn()
            for _ in range(rounds):
                for key, fn in fns.items():
                    start = time.process_time()
                    fn()
                    times[key].append(time.process_time() - start)
        med = {k: statistics.median(t) for k, t in times.items()}
        out[name] = (
            med["hvp"] / med["gradient"],
            med["module hvp"] / med["module gradient"],
            med["gradient"],
        )
    return out
