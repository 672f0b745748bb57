"""Défossez et al.'s algorithms as torch optimizers (empirical/optim.py): the optimizers and the
step rules against the paper, the preconditioner's extremes read from an optimizer's state,
and the options they refuse."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cases import gradient_sequence, paper_adagrad, paper_adam

from empirical.errors import ConfigError
from empirical.train import step_rule

# ---- Défossez et al.'s algorithms: the step rules and the torch optimizers against the paper ------


def _gradients(shape, steps, seed=3):
    """cases.gradient_sequence as a list of float64 tensors."""
    return list(torch.from_numpy(gradient_sequence(steps, shape, seed)))


@pytest.mark.parametrize("b1, b2, eps", [(0.9, 0.999, 1e-8), (0.5, 0.9, 1e-3), (0.0, 0.99, 0.1)])
def test_defossez_adam_rule_and_optimizer_are_the_paper(b1, b2, eps):
    from empirical.optim import DefossezAdam
    from theory.algorithms import DEFOSSEZ_ADAM

    alpha, grads = 0.05, _gradients((3, 5), 12)
    x0 = torch.linspace(-1, 1, 15, dtype=torch.float64).reshape(3, 5)
    paper = paper_adam(x0.numpy(), [g.numpy() for g in grads], alpha, b1, b2, eps)[-1]
    rule = step_rule("adam", betas=(b1, b2), eps=eps, variant="defossez")
    state, x = rule.init({"w": x0}), x0.clone()  # 3 runs stacked: the rule is elementwise
    p = x0.clone().requires_grad_()
    opt = DefossezAdam([p], lr=alpha, betas=(b1, b2), eps=eps)
    ref, ref_state = x0.numpy().copy(), DEFOSSEZ_ADAM.initial_state((3, 5))
    for g in grads:
        x = x - alpha * rule.direction(state, {"w": g})["w"]
        p.grad = g.clone()
        opt.step()
        ref, ref_state = DEFOSSEZ_ADAM.update(ref, g.numpy(), ref_state, alpha_step=alpha, beta1=b1,
                                              beta2=b2, eps=eps)  # fmt: skip
    np.testing.assert_allclose(x.numpy(), paper, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(p.detach().numpy(), paper, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ref, paper, rtol=1e-12, atol=1e-14)


def test_defossez_adagrad_rule_and_optimizer_are_the_paper():
    from empirical.optim import DefossezAdagrad

    alpha, eps, grads = 0.1, 1e-4, _gradients((2, 4), 10)
    x0 = torch.zeros(2, 4, dtype=torch.float64)
    paper = paper_adagrad(x0.numpy(), [g.numpy() for g in grads], alpha, eps)[-1]
    rule = step_rule("adagrad", eps=eps, variant="defossez")
    state, x = rule.init({"w": x0}), x0.clone()
    p, q = x0.clone().requires_grad_(), x0.clone().requires_grad_()
    ours = DefossezAdagrad([p], lr=alpha, eps=eps)
    torch_same = torch.optim.Adagrad([q], lr=alpha, initial_accumulator_value=eps, eps=0.0)
    for g in grads:
        x = x - alpha * rule.direction(state, {"w": g})["w"]
        p.grad, q.grad = g.clone(), g.clone()
        ours.step()
        torch_same.step()
    for got in (x, p.detach(), q.detach()):
        np.testing.assert_allclose(got.numpy(), paper, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "make, variant",
    [
        (lambda p: torch.optim.Adam([p], lr=0.01, betas=(0.9, 0.99), eps=1e-6), "torch"),
        (lambda p: torch.optim.Adagrad([p], lr=0.01, eps=1e-6), "adagrad-torch"),
    ],
)
def test_preconditioner_extremes_from_the_optimizer_state(make, variant):
    """The extremes read from a torch optimizer's state are those of the rule's factor, brute force."""
    from empirical.optim import preconditioner_extremes

    grads = _gradients((5,), 4)
    p = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    opt = make(p)
    assert preconditioner_extremes(opt) is None  # before the first step
    for g in grads:
        p.grad = g.clone()
        opt.step()
    b2 = 0.99 if variant == "torch" else 1.0
    v = (
        sum((1 - b2) * b2 ** (3 - i) * g * g for i, g in enumerate(grads))
        if b2 < 1
        else sum(g * g for g in grads)
    )
    factor = 1 / (torch.sqrt(v / (1 - b2**4)) + 1e-6) if b2 < 1 else 1 / (torch.sqrt(v) + 1e-6)
    lo, hi = preconditioner_extremes(opt)
    assert lo == pytest.approx(float(factor.min()), rel=1e-10) and hi == pytest.approx(float(factor.max()))


def test_defossez_optimizers_refuse_bad_options():
    from empirical.optim import DefossezAdagrad, DefossezAdam

    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(ConfigError, match="betas"):
        DefossezAdam([p], betas=(0.9, 1.0))
    with pytest.raises(ConfigError, match="lr"):
        DefossezAdam([p], lr=0.0)
    with pytest.raises(ConfigError, match="eps"):
        DefossezAdagrad([p], eps=-1.0)
