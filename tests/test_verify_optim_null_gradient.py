"""Tests of verify.null_gradient (issue 5 item 5, issue 11 items 4-5): quick verdict, mutant control, plot."""

import numpy as np
import pytest

from verify.null_gradient import PREREGISTERED, STEP_DROP, check_null_gradient, plot_null_gradient
from verify.result import CheckResult


@pytest.fixture(scope="module")
def result():
    return check_null_gradient(quick=True, rng=13)


def test_quick_verdict_positive_and_control_negative(result):
    assert result.status == "pass", result.verdict_text
    assert result.negative_control["verdict"] is False, result.negative_control["verdict_text"]
    for name in ("AdaGO", "PolarGrad"):
        assert np.all(np.asarray(result.measured[name]["update_ratio"]) <= STEP_DROP)
    # Muon's update norm is eta sqrt(r) at every step (exact orthogonalization, full-rank momentum)
    un = np.asarray(result.measured["Muon"]["update_norm"])
    np.testing.assert_allclose(un, result.predicted["Muon update norm"], rtol=1e-9)
    assert result.params["preregistered"]["adago"]["eps"] == PREREGISTERED["adago"]["eps"]


def test_alpha_recomputed_by_a_plain_loop(result):
    """The realized update norm / sqrt(r) equals AdaGO's alpha_t from a plain loop over the gradient norms, and the
    step falls to well above the constant floor (what vanishes is the adaptive term)."""
    a = result.measured["AdaGO"]
    g, u = np.asarray(a["grad_fro"]), np.asarray(a["update_norm"])
    p = result.params["preregistered"]["adago"]
    v2 = np.full(g.shape[1], p["v0"] ** 2)
    for t in range(g.shape[0]):
        c = np.minimum(g[t], p["gamma"])
        v2 = v2 + c * c
        alpha = np.maximum(p["eps"], p["eta"] * c / np.sqrt(v2))
        np.testing.assert_allclose(u[t] / np.sqrt(6), alpha, rtol=1e-8)
    assert np.all(u[-1] / np.sqrt(6) > 10 * p["eps"])


def _eta_twice(eta, **kw):
    from adago_theory.optim import Optimizer, adago

    opt = adago(eta, **kw)
    return Optimizer(opt.init, lambda X, G, s: (lambda Xn, s2: (X - eta * (X - Xn), s2))(*opt.step(X, G, s)))


def _muon_for_polargrad(eta, **kw):
    from adago_theory.optim import muon

    return muon(eta, beta=0.0, nesterov=False, orth="svd")


@pytest.mark.parametrize("name, label, mutant", [("adago", "AdaGO", _eta_twice),
                                                  ("polargrad", "PolarGrad", _muon_for_polargrad)])
def test_mutants_killed(name, label, mutant, result):
    """Same setting as the passing real run (the fixture): the mutant fails, its update off the rule."""
    r = check_null_gradient(quick=True, rng=13, factories={name: mutant})
    assert result.status == "pass" and r.status == "fail", r.verdict_text
    assert np.max(r.measured[label]["rule_error"]) > 1e-3


def test_plot_and_json_roundtrip(result, tmp_path):
    from matplotlib.figure import Figure

    from adago_theory.app.plotting import save_figure

    fig = plot_null_gradient(CheckResult.from_json(result.to_json()))
    assert isinstance(fig, Figure)
    assert {p.suffix for p in save_figure(fig, tmp_path / "null_gradient")} == {".png", ".pdf"}


@pytest.mark.parametrize("kw", [dict(steps=5), dict(seeds=0), dict(backend="jax")])
def test_bad_arguments(kw):
    with pytest.raises(ValueError):
        check_null_gradient(quick=True, **kw)
