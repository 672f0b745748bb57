"""The assumption rows (empirical/conclusion/rows.py): one row per assumption id of the theorem,
each status from what the runs show; a user's module has its own words for three rows."""

from __future__ import annotations

from types import SimpleNamespace

import theory
from empirical.compare import Binding
from empirical.conclusion.coverage import choose_theorem
from empirical.conclusion.rows import Evidence, assumption_rows
from empirical.pipeline.pilot import StepChoice
from empirical.pipeline.pipeline import optimizer_run
from empirical.settings import Settings
from theory.assumptions import IDS


def _evidence(theorem, **over):
    settings = over.pop("settings_object", None) or Settings(**over.pop("settings", {}))
    model = SimpleNamespace(
        activation=settings.activation, s=1.0, loss_lower_bound=58.8, averages_draws=True,
        **over.pop("model", {}),
    )  # fmt: skip
    runs = SimpleNamespace(
        model=model, param_sup_norm=[[0.3, over.pop("sup", 0.4)]], options=over.pop("run_options", {}),
        grad_sup_norm=over.pop("grad_sup_norm", None),
    )  # fmt: skip
    est = SimpleNamespace(value=2.0, lo=1.9, hi=2.1, method="m")
    constants = SimpleNamespace(
        L=est,
        R=est,
        Delta=est,
        delta_is_upper=over.pop("proven", True),
        where="theta_0",
        named=lambda: {"sigma2_data": est, "sigma2_mc": est},
        route_summary="per-layer norms for 6 parameters",
    )
    binding = Binding(
        over.pop("values", {"C_gamma": 0.1, "L": 2.1}),
        over.pop("ends", {"L": "hi"}),
        1.0,
        over.pop("violations", ()),
    )
    options = over.pop("options", {})
    schedule = "sqrt" if settings.optimizer == "sgd" or options.get("variant") == "delayed" else "constant"
    step = StepChoice(0.1, "test", options, schedule)
    optimizer = optimizer_run(settings, step)
    row = choose_theorem(settings.theorem_model, optimizer).algorithm_row
    return Evidence(settings, runs, optimizer, constants, binding, theorem.variant == "projected", row)


def test_rows_follow_the_assumption_ids_of_the_theorem():
    b = theory.bound("gaussian", "sgd", expand=False)
    rows = assumption_rows(b, _evidence(b))
    assert [r.id for r in rows] == [a.id for a in b.assumptions] + ["smooth-activations", "box"]
    assert all(r.id in IDS for r in rows)
    status = {r.id: r.status for r in rows}
    assert status == {
        "smooth": "estimated",
        "lower-bounded": "holds",
        "unbiased": "holds",
        "bounded-variance": "estimated",
        "algorithm": "holds",
        "step-size": "estimated",
        "variance-split": "holds",
        "smooth-activations": "holds",
        "box": "unchecked",
    }


def test_rows_fail_where_the_theorem_does_not_apply():
    b = theory.bound("gaussian", "sgd", expand=False)
    relu = {r.id: r.status for r in assumption_rows(b, _evidence(b, settings={"activation": "relu"}))}
    assert relu["smooth"] == relu["smooth-activations"] == "fails"
    no_bound = {r.id: r.status for r in assumption_rows(b, _evidence(b, proven=False))}
    assert no_bound["lower-bounded"] == "estimated"
    violation = theory.Violation("step-size", "step size", "C_gamma <= 1/L fails (1 > 0.5)")
    broken = {r.id: r for r in assumption_rows(b, _evidence(b, violations=(violation,)))}
    assert broken["step-size"].status == "fails" and "1 > 0.5" in broken["step-size"].evidence
    adam = theory.bound("gaussian", "adam", expand=False)
    opts = {"betas": (0.9, 0.999), "eps": 1e-8, "variant": "torch"}
    rows = {
        r.id: r.status
        for r in assumption_rows(adam, _evidence(adam, settings={"optimizer": "adam"}, options=opts))
    }
    assert rows["preconditioner"] == rows["momentum"] == "fails" and rows["algorithm"] == "approximate"
    projected_adam = {
        r.id: r.status
        for r in assumption_rows(
            adam, _evidence(adam, settings={"optimizer": "adam", "box": 0.1}, options=opts)
        )
    }
    assert projected_adam["algorithm"] == "fails"


def test_projected_theorem_rows_check_the_box_exactly():
    b = theory.bound("gaussian", "sgd", "projected", expand=False)
    values = {"gamma_max": 0.1, "L": 2.1}
    inside = {
        r.id: r for r in assumption_rows(b, _evidence(b, settings={"box": 0.5}, sup=0.5, values=values))
    }
    assert inside["box"].status == "holds" and "a = 0.5" in inside["box"].evidence
    assert inside["algorithm"].status == "holds" and "box" in [a.id for a in b.assumptions]
    outside = {
        r.id: r for r in assumption_rows(b, _evidence(b, settings={"box": 0.5}, sup=0.6, values=values))
    }
    assert outside["box"].status == "fails"


def test_a_user_module_has_its_own_rows():
    """The CLI's loop says how it drew its minibatches (unbiased holds by construction); a user's
    own loop does not (unchecked); the per-example route and B's origin are named."""
    b = theory.bound("generic", "sgd", "schedule", expand=False)
    own = Settings.own_loop("TinyVAE (user module)", "torch.optim.SGD", "user data (4 rows x 2)", 10, 4, 0, 1)
    rows = {
        r.id: r
        for r in assumption_rows(b, _evidence(b, settings_object=own, run_options={"batch_how": "given"}))
    }
    assert rows["unbiased"].status == "unchecked" and "your loop" in rows["unbiased"].evidence
    assert (
        "B = 4 (given)" in rows["bounded-variance"].evidence
        and "per-layer norms" in rows["bounded-variance"].evidence
    )
    sampled = {"batch_how": "given", "sampling": "the CLI's loop draws B rows uniformly"}
    cli = Settings(model="conv", batch_size=4)
    rows = {r.id: r for r in assumption_rows(b, _evidence(b, settings_object=cli, run_options=sampled))}
    assert rows["unbiased"].status == "holds" and "the CLI's loop" in rows["unbiased"].evidence


def test_bounded_gradients_are_estimated_only_under_bounded_noise():
    """||g||_inf <= R almost surely: Gaussian noise (a built-in model without a noise bound, a user's
    module that declares none) makes the row approximate, R a quantile; truncated noise (the CLI's
    Adam and Adagrad) or a declared noise_bound makes it estimated, a lower estimate of a finite sup."""
    import numpy as np

    adam = theory.bound("gaussian", "adam", "defossez", expand=False)
    opts = {"betas": (0.9, 0.999), "eps": 1e-8, "variant": "defossez"}
    base = {"settings": {"optimizer": "adam"}, "options": opts}

    def row(**over):
        return {r.id: r for r in assumption_rows(adam, _evidence(adam, **base, **over))}["bounded-sup"]

    gaussian = row(model={"noise_sup": None})
    assert gaussian.status == "approximate" and "quantile" in gaussian.evidence
    truncated = row(model={"noise_sup": 5.00004}, grad_sup_norm=np.array([[1.0, 3.5, 2.0]]))
    assert truncated.status == "estimated" and "|eps_j| <= 5.00004" in truncated.evidence
    assert "over the 3 minibatch gradients the runs used: 3.5" in truncated.evidence
    generic = theory.bound("generic", "adam", "defossez", expand=False)
    own = Settings.own_loop(
        "TinyVAE (user module)", "torch.optim.Adam", "user data (4 rows x 2)", 10, 4, 0, 1
    )

    def user_row(**model):
        ev = _evidence(generic, settings_object=own, options=opts, model=model)
        return {r.id: r for r in assumption_rows(generic, ev)}["bounded-sup"]

    assert user_row().status == "approximate"
    assert user_row(noise_bound=3.0).status == "estimated" and user_row(noise_bound=0).status == "estimated"
    assert "draws no noise" in user_row(noise_bound=0).evidence
    assert user_row(noise_bound=float("nan")).status == "approximate"
