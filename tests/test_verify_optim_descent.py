"""Tests of verify.adago_descent (issue 5, item 2): quick verdict, momentum control, bound vs SymPy, slack, plot."""

import math

import numpy as np
import pytest

from verify.adago_descent import (adago_deterministic_bound, check_adago_descent, descent_slack,
                                  plot_adago_descent)
from verify.result import CheckResult


@pytest.fixture(scope="module")
def result():
    return check_adago_descent(quick=True, rng=7)


def test_quick_verdict_positive_and_control_negative(result):
    assert result.status == "pass", result.verdict_text
    assert set(result.measured) >= {"least_squares", "logistic"}     # quick mode judges both problems
    for n in ("least_squares", "logistic"):
        assert result.measured[n]["slope"] <= result.predicted[n]["slope_at_most"]
    assert result.negative_control["verdict"] is False, result.negative_control["verdict_text"]
    m, p = result.measured["least_squares"], result.predicted["least_squares"]
    assert np.all(np.asarray(m["n_violations"]) == 0)
    assert np.all(np.asarray(m["min_grad_nuc"]) <= np.asarray(p["bound"]))
    # theory.md's version (with "1 +") is larger than ours, so it holds too
    assert np.all(np.asarray(p["bound_theory_md"]) > np.asarray(p["bound"]))
    ctrl = result.negative_control["measured"]["least_squares"]
    assert np.sum(ctrl["n_violations"]) > 0


def test_bound_matches_sympy():
    """Our numeric bound equals the SymPy expression derived in verify.symbolic (independent derivation)."""
    import sympy as sp

    from verify.symbolic import adago_bound_expressions

    E = adago_bound_expressions()
    s = E["symbols"]
    cases = ((10, 2.0, 3.0, 0.3, 0.5, 10.0, 1e-6), (1000, 0.5, 1.0, 0.01, 1.0, 1.0, 1.0))
    for T, Delta, L, eps, eta, gamma, v0 in cases:
        sub = {s["T"]: T, s["Delta"]: Delta, s["L"]: L, s["eps"]: eps, s["eta"]: eta, s["gamma"]: gamma, s["v0"]: v0}
        assert float(adago_deterministic_bound(T, Delta=Delta, L_op=L, eps=eps, eta=eta, gamma=gamma, v0=v0)) \
            == pytest.approx(float(E["ours"].subs(sub)), rel=1e-12)
        assert float(adago_deterministic_bound(T, Delta=Delta, L_op=L, eps=eps, eta=eta, gamma=gamma, v0=v0,
                                               theory_md=True)) == pytest.approx(float(E["theory_md"].subs(sub)),
                                                                                  rel=1e-12)
    assert sp.simplify(E["c_star"] - sp.sqrt(2 * s["Delta"] / s["L"])) == 0


def test_descent_slack_on_a_quadratic_closed_form():
    """For f = 0.5 x^2 h (1x1) a step x -> x - a sign(x): slack = a^2 (h - L)/2 exactly."""
    h, L, x0 = 1.5, 2.0, 3.0
    a = np.array([np.nan, 0.5, 0.25])
    x = np.array([x0, x0 - 0.5, x0 - 0.75])
    f = 0.5 * h * x ** 2
    g = np.abs(h * x)
    slack, tol = descent_slack(f[:, None], a[:, None], g[:, None], L)
    np.testing.assert_allclose(slack[:, 0], a[1:] ** 2 * (h - L) / 2, rtol=1e-12, atol=1e-15)
    assert np.all(tol > 0) and np.all(tol < 1e-12)


def test_bound_on_a_hand_written_adago_loop():
    """The explicit bound holds for a deterministic AdaGO loop written out here (numpy SVD), on a quadratic."""
    rng = np.random.default_rng(3)
    m, n, S = 5, 3, 16
    A = rng.standard_normal((m, m))
    H = A @ A.T / m + 0.05 * np.eye(m)
    L_op = float(np.trace(H))
    for T in (20, 200):
        X = rng.standard_normal((S, m, n))
        Delta = 0.5 * np.einsum("sij,ik,skj->s", X, H, X)
        eps, eta, gamma, v0 = math.sqrt(2 * Delta.mean() / L_op) / math.sqrt(T), 1.0, 10.0, 1e-6
        v2 = np.full(S, v0 ** 2)
        best = np.full(S, np.inf)
        for _ in range(T):
            G = H @ X
            U, sv, Vt = np.linalg.svd(G, full_matrices=False)
            best = np.minimum(best, sv.sum(-1))
            c2 = np.minimum((G ** 2).sum((1, 2)), gamma ** 2)
            v2 += c2
            alpha = np.maximum(eps, eta * np.sqrt(c2 / v2))
            X = X - alpha[:, None, None] * (U @ Vt)
        assert np.all(best <= adago_deterministic_bound(T, Delta=Delta, L_op=L_op, eps=eps, eta=eta, gamma=gamma,
                                                         v0=v0))


def test_plot_and_json_roundtrip(result, tmp_path):
    from matplotlib.figure import Figure

    from adago_theory.app.plotting import save_figure

    back = CheckResult.from_json(result.to_json())
    fig = plot_adago_descent(back)
    assert isinstance(fig, Figure)
    files = save_figure(fig, tmp_path / "adago_descent")
    assert {p.suffix for p in files} == {".png", ".pdf"}


def test_bad_arguments():
    with pytest.raises(ValueError, match="seeds"):
        check_adago_descent(quick=True, seeds=0)
    with pytest.raises(ValueError, match="horizons"):
        check_adago_descent(quick=True, horizons=[5, 10])
    with pytest.raises(ValueError, match="eps"):
        adago_deterministic_bound(10, Delta=1.0, L_op=1.0, eps=0.0, eta=1.0, gamma=1.0, v0=1.0)


def _stalled_adago(eta, **kw):
    """An AdaGO that does not converge: the step is applied to a copy that is thrown away (X never moves)."""
    from adago_theory.optim import Optimizer, adago

    opt = adago(eta, **kw)
    return Optimizer(opt.init, lambda X, G, s: (X, opt.step(X, G, s)[1]))


def _eta_twice(eta, **kw):
    from adago_theory.optim import Optimizer, adago

    opt = adago(eta, **kw)
    return Optimizer(opt.init, lambda X, G, s: (lambda Xn, s2: (X - eta * (X - Xn), s2))(*opt.step(X, G, s)))


@pytest.mark.parametrize("mutant", [_stalled_adago, _eta_twice])
def test_mutants_killed(mutant):
    """Quick mode does not pass an AdaGO that does not converge (slope criterion) or takes eta * alpha_t steps."""
    r = check_adago_descent(quick=True, rng=7, factories={"adago": mutant})
    assert r.status == "fail", r.verdict_text
    assert "fitted slope" in r.verdict_text
