"""Step sizes against theory.schedules, and the step rules against torch.optim
and their definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch
from cases import gradient_sequence

from empirical.errors import ConfigError
from empirical.train import SCHEDULES, AdamState, adam_direction, step_rule, step_size, step_sizes
from theory.schedules import StepSchedule
from theory.symbols import k as k_symbol
from theory.symbols import n as n_symbol


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
@pytest.mark.parametrize("C", [1e-3, 0.05, 2.0])
def test_every_schedule_is_the_theory_schedule(schedule, C):
    """gamma_k of the loop = C_gamma k^(-alpha) of theory.schedules, k = 1..n,
    and the sums of the steps taken lie between the theory's integral bounds."""
    theory_schedule = StepSchedule(sp.Float(C), sp.nsimplify(SCHEDULES[schedule]))
    gamma = theory_schedule.gamma()
    n = 500
    steps = step_sizes(n, C, schedule)
    for k in (1, 2, 3, 10, 499, 500):
        assert steps[k - 1] == pytest.approx(float(gamma.subs(k_symbol, k)), rel=1e-12)
        assert step_size(k, C, schedule) == steps[k - 1]
    if SCHEDULES[schedule] > 0:
        for power in (1, 2):
            total = float(np.sum(steps**power))
            lo = float(theory_schedule.sum_lower(power).subs(n_symbol, n))
            hi = float(theory_schedule.sum_upper(power).subs(n_symbol, n))
            assert lo <= total * (1 + 1e-12) and total <= hi * (1 + 1e-12)


def test_unknown_schedule_and_optimizer():
    with pytest.raises(ConfigError, match="schedule"):
        step_size(1, 0.1, "cosine")
    with pytest.raises(ConfigError, match="optimizer"):
        step_rule("rmsprop")


def test_sgd_rule_is_the_gradient():
    rule = step_rule("sgd")
    g = {"w": torch.tensor([1.0, -2.0])}
    assert rule.direction(rule.init(g), g) is g and not rule.needs_initial_gradient


def test_adam_torch_variant_matches_torch_optim():
    gen = torch.Generator().manual_seed(0)
    theta = torch.randn(7, generator=gen, dtype=torch.float64)
    ref = theta.clone().requires_grad_()
    opt = torch.optim.Adam([ref], lr=0.1, betas=(0.8, 0.99), eps=1e-6)
    state = AdamState(m={"w": torch.zeros(7, dtype=torch.float64)}, v={"w": torch.zeros_like(theta)})
    for _ in range(5):
        g = torch.randn(7, generator=gen, dtype=torch.float64)
        ref.grad = g.clone()
        opt.step()
        theta = theta - 0.1 * adam_direction(state, {"w": g}, (0.8, 0.99), 1e-6)["w"]
    assert torch.allclose(theta, ref.detach(), atol=1e-12)


def test_adam_on_stacked_runs_is_adam_on_each_run():
    """The rule is elementwise: R runs stacked along a leading axis step as R separate runs."""
    gen = torch.Generator().manual_seed(1)
    rule = step_rule("adam", betas=(0.9, 0.99), eps=1e-8)
    grads = [torch.randn(3, 4, generator=gen) for _ in range(4)]
    stacked_state = rule.init({"w": grads[0]})
    singles = [rule.init({"w": grads[0][i]}) for i in range(3)]
    for g in grads:
        d = rule.direction(stacked_state, {"w": g})["w"]
        for i in range(3):
            assert torch.allclose(d[i], rule.direction(singles[i], {"w": g[i]})["w"])


def test_adam_delayed_uses_past_gradients_only():
    g1, g2 = torch.tensor([3.0]), torch.tensor([-1.0])
    v0 = torch.tensor([4.0])
    state = AdamState(m={"w": torch.zeros(1)}, v={"w": v0.clone()})
    d1 = adam_direction(state, {"w": g1}, (0.0, 0.5), 0.0, "delayed")["w"]
    assert torch.allclose(d1, g1 / 2.0)  # sqrt(v_0) = 2, g_1 not in it
    d2 = adam_direction(state, {"w": g2}, (0.0, 0.5), 0.0, "delayed")["w"]
    assert torch.allclose(d2, g2 / math.sqrt(0.5 * 4.0 + 0.5 * 9.0))
    rule = step_rule("adam", variant="delayed")
    assert rule.needs_initial_gradient
    state = rule.init({"w": g1})
    rule.initialise(state, {"w": g1})
    assert torch.equal(state.v["w"], g1 * g1)


def test_adagrad_torch_variant_matches_torch_optim():
    grads, x0 = _gradients((6,), 8), torch.zeros(6, dtype=torch.float64)
    rule = step_rule("adagrad", eps=1e-6, variant="torch")
    state, x = rule.init({"w": x0}), x0.clone()
    ref = x0.clone().requires_grad_()
    opt = torch.optim.Adagrad([ref], lr=0.2, eps=1e-6)
    for g in grads:
        x = x - 0.2 * rule.direction(state, {"w": g})["w"]
        ref.grad = g.clone()
        opt.step()
    assert torch.allclose(x, ref.detach(), atol=1e-12)


def _gradients(shape, steps, seed=3):
    """cases.gradient_sequence as a list of float64 tensors."""
    return list(torch.from_numpy(gradient_sequence(steps, shape, seed)))
