"""The analysed algorithms as data: the numpy reference of each update against
its defining formula and against torch.optim, the normal form against the
reference, and the named differences from torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch
from cases import gradient_sequence as gradients
from cases import paper_adagrad, paper_adam

import theory
from theory import algorithms as A

HYPER = {"alpha_step": 0.05, "C_gamma": 0.05, "beta1": 0.8, "beta2": 0.95, "eps": 1e-3, "lr_decay": 0.1}


def run(algorithm: A.Algorithm, grads: np.ndarray, **values) -> np.ndarray:
    x = np.zeros(grads.shape[1])
    state = algorithm.initial_state(x.shape, **values)
    out = [x]
    for g in grads:
        x, state = algorithm.update(x, g, state, **values)
        out.append(x)
    return np.array(out)


def test_defossez_adam_is_the_published_update():
    """x_n = x_{n-1} - alpha (1 - b1) sqrt(sum_{j<n} b2^j) m_n / sqrt(eps + v_n), m, v raw sums."""
    grads, h = gradients(12), HYPER
    want = paper_adam(np.zeros(3), grads, h["alpha_step"], h["beta1"], h["beta2"], h["eps"])
    np.testing.assert_allclose(run(A.DEFOSSEZ_ADAM, grads, **h), want, rtol=1e-13, atol=1e-15)


def test_defossez_adagrad_is_the_published_update():
    """x_n = x_{n-1} - alpha g_n / sqrt(eps + v_n), v_n = v_{n-1} + g_n^2."""
    grads, h = gradients(12), HYPER
    want = paper_adagrad(np.zeros(3), grads, h["alpha_step"], h["eps"])
    np.testing.assert_allclose(run(A.DEFOSSEZ_ADAGRAD, grads, **h), want, rtol=1e-13, atol=1e-15)


def test_delayed_adam_uses_past_gradients_only():
    grads, h = gradients(10), HYPER
    x, m, v, want = np.zeros(3), np.zeros(3), np.zeros(3), [np.zeros(3)]
    for k, g in enumerate(grads, 1):
        m = h["beta1"] * m + (1 - h["beta1"]) * g
        x = x - h["C_gamma"] / math.sqrt(k) * m / (np.sqrt(v) + h["eps"])
        v = h["beta2"] * v + (1 - h["beta2"]) * g * g
        want.append(x)
    np.testing.assert_allclose(run(A.DELAYED_ADAM, grads, **h), np.array(want), rtol=1e-13, atol=1e-15)


def torch_run(make, grads: np.ndarray) -> np.ndarray:
    p = torch.zeros(grads.shape[1], dtype=torch.float64, requires_grad=True)
    opt = make([p])
    out = [p.detach().clone().numpy()]
    for g in grads:
        p.grad = torch.as_tensor(g, dtype=torch.float64)
        opt.step()
        out.append(p.detach().clone().numpy())
    return np.array(out)


def test_torch_adam_description_is_exact():
    grads, h = gradients(15), HYPER
    want = torch_run(
        lambda ps: torch.optim.Adam(ps, lr=h["alpha_step"], betas=(h["beta1"], h["beta2"]), eps=h["eps"]),
        grads,
    )
    np.testing.assert_allclose(run(A.TORCH_ADAM, grads, **h), want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("v0", [0.0, 0.4])
def test_torch_adagrad_description_is_exact(v0):
    grads, h = gradients(15), HYPER
    want = torch_run(
        lambda ps: torch.optim.Adagrad(
            ps, lr=h["alpha_step"], lr_decay=h["lr_decay"], initial_accumulator_value=v0, eps=h["eps"]
        ),
        grads,
    )
    np.testing.assert_allclose(run(A.TORCH_ADAGRAD, grads, **h, v_init=v0), want, rtol=1e-12, atol=1e-15)


def test_torch_adagrad_runs_defossez_adagrad_exactly():
    """torch.optim.Adagrad(lr=alpha, eps=0, initial_accumulator_value=eps) is Défossez's Adagrad."""
    grads, h = gradients(15), HYPER
    want = torch_run(
        lambda ps: torch.optim.Adagrad(ps, lr=h["alpha_step"], initial_accumulator_value=h["eps"], eps=0.0),
        grads,
    )
    np.testing.assert_allclose(run(A.DEFOSSEZ_ADAGRAD, grads, **h), want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("algorithm", [*A.ALGORITHMS.values(), A.TORCH_ADAM, A.TORCH_ADAGRAD])
def test_normal_form_reproduces_the_update(algorithm):
    """theta_k - theta_{k-1} = -scale_k M_k / (sqrt(V + inside_k) + outside_k) in the raw sums."""
    grads, values = gradients(9), {**HYPER, "v_init": 0.3}
    xs = run(algorithm, grads, **values)
    scale, inside, outside = algorithm.normal_form()
    b1 = float(algorithm.first_moment_decay.subs(values_of(values)))
    b2 = float(algorithm.second_moment_decay.subs(values_of(values)))
    M, V, V_prev = np.zeros(3), np.zeros(3), np.zeros(3)
    for k, g in enumerate(grads, 1):
        V_prev = V
        M, V = b1 * M + g, b2 * V + g * g
        at = {**values_of(values), theory.symbols.k: k}
        used = V_prev if algorithm.delayed else V
        step = float(scale.subs(at)) * M / (np.sqrt(used + float(inside.subs(at))) + float(outside.subs(at)))
        np.testing.assert_allclose(xs[k - 1] - xs[k], step, rtol=1e-10, atol=1e-15)


def values_of(values: dict) -> dict:
    return {theory.symbols.get(name): value for name, value in values.items()}


def test_differences_from_torch_are_named():
    adam = A.DEFOSSEZ_ADAM.differences(A.TORCH_ADAM)
    assert any("first-moment bias correction" in d for d in adam)
    assert any(d.startswith("eps placement:") for d in adam)
    assert A.DEFOSSEZ_ADAM.difference_labels(A.TORCH_ADAM) == (
        "first-moment bias correction",
        "second-moment bias correction",
        "gradient weight c in m_k = beta1 m_(k-1) + c g_k",
        "square weight c in v_k = beta2 v_(k-1) + c g_k^2",
        "step size",
        "eps placement",
    )
    assert "x 1/(1 - beta1**k)" in adam[-1]
    assert "eps*sqrt(1 - beta2**k)/sqrt(1 - beta2)" in adam[-1]
    delayed = A.DELAYED_ADAM.differences(A.TORCH_ADAM)
    assert delayed[0].startswith("preconditioner: adam-delayed uses v_(k-1)")
    adagrad = A.DEFOSSEZ_ADAGRAD.differences(A.TORCH_ADAGRAD)
    assert any("initial second moment" in d for d in adagrad)
    for algorithm in A.ALGORITHMS.values():
        assert algorithm.differences(algorithm) == ()


def test_adaptive_bounds_carry_their_algorithm():
    for key in theory.registered():
        b = theory.bound(*key)
        if b.optimizer == "sgd":
            assert b.algorithm is None, key
            continue
        assert b.algorithm is not None and b.algorithm.optimizer == b.optimizer, key
        row = [a for a in b.assumptions if a.id == "algorithm"]
        assert len(row) == 1 and row[0].statement.startswith(b.algorithm.update_latex), key
        assert set(b.algorithm.symbols) <= set(theory.symbols.REGISTRY), key
    assert theory.bound("gaussian", "adam", "defossez").algorithm is A.DEFOSSEZ_ADAM
    assert theory.bound("iwae", "adagrad").algorithm is A.DEFOSSEZ_ADAGRAD
    assert theory.bound("linear", "adam").algorithm is A.DELAYED_ADAM


def test_missing_hyperparameter_is_named():
    with pytest.raises(theory.MissingConstantError, match="beta2"):
        A.DEFOSSEZ_ADAM.update(np.zeros(2), np.ones(2), A.DEFOSSEZ_ADAM.initial_state((2,)), alpha_step=0.1)
    with pytest.raises(theory.AssumptionViolation, match="beta1"):
        A.DEFOSSEZ_ADAM.update(
            np.zeros(2),
            np.ones(2),
            A.State(np.zeros(2), np.zeros(2)),
            alpha_step=0.1,
            beta1=1.5,
            beta2=0.9,
            eps=1,
        )


def test_sum_of_beta2_powers():
    """alpha_k uses sum_{j<k} beta2^j = (1 - beta2^k)/(1 - beta2)."""
    b2, k = theory.symbols.beta2, theory.symbols.k
    for n in range(1, 6):
        assert sp.simplify(sum(b2**j for j in range(n)) - ((1 - b2**k) / (1 - b2)).subs(k, n)) == 0
