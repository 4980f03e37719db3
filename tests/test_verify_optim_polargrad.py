"""Tests of verify.polargrad (issue 5, item 7): quick verdict, rank-factor control, reference loop, floor, plot."""

import numpy as np
import pytest

from verify.polargrad import check_polargrad, muon_floor, plot_polargrad, polargrad_contraction_run
from verify.result import CheckResult


@pytest.fixture(scope="module")
def result():
    return check_polargrad(quick=True, rng=11)


def test_quick_verdict_positive_and_control_negative(result):
    assert result.verdict is True, result.verdict_text
    assert result.negative_control["verdict"] is False, result.negative_control["verdict_text"]
    m, p = result.measured, result.predicted
    v = np.asarray(m["compared"]).astype(bool)
    rho = np.asarray(m["rho"])
    assert np.all(rho[v] <= np.asarray(p["bound_rank"])[v] + 1e-12)
    assert np.all(rho[v] <= np.asarray(p["bound_kappa"])[v] + 1e-12)
    assert result.negative_control["measured"]["n_violations"] > 0


def test_contraction_run_matches_a_reference_loop():
    """The library-driven PolarGrad run equals a numpy loop X -= ||G||_* UV^T / (L r) (independent)."""
    from problems import make_matrix_least_squares

    P = make_matrix_least_squares(6, 4, kappa_A=3.0, kappa_B=2.0, rng=1)
    X0 = np.concatenate([P.initial_point(s) for s in (0, 1, 2)])
    res = polargrad_contraction_run(P, X0, 30)
    A, B, C = P.host["A"], P.host["B"], P.host["C"]
    L = P.constants.L_fro
    X = X0.copy()
    gaps = [0.5 * np.sum((A @ X @ B - C) ** 2, axis=(1, 2)) - P.constants.f_star]
    for _ in range(30):
        G = A.T @ (A @ X @ B - C) @ B.T
        U, s, Vt = np.linalg.svd(G, full_matrices=False)
        X = X - (s.sum(-1) / (L * 4))[:, None, None] * (U @ Vt)
        gaps.append(0.5 * np.sum((A @ X @ B - C) ** 2, axis=(1, 2)) - P.constants.f_star)
    np.testing.assert_allclose(res["gap"], np.array(gaps), rtol=1e-9, atol=1e-12)
    assert np.all(res["rank"] == 4)


def test_muon_floor_is_respected_by_a_reference_loop():
    """max(gap_k, gap_k+1) >= mu gamma^2 r / 8 for fixed-step Muon written out here, for several steps."""
    rng = np.random.default_rng(0)
    n = 3
    h = np.array([1.0, 0.5, 0.2])                  # f(X) = 0.5 sum_j h_j ||X[:, j]||^2 (diagonal Hessian), X 3x3
    mu = h.min()
    for gamma in (0.3, 0.05):
        X = rng.standard_normal((n, n))
        gaps = []
        for _ in range(300):
            gaps.append(0.5 * np.sum(h * X ** 2))
            U, _, Vt = np.linalg.svd(X * h)
            X = X - gamma * (U @ Vt)
        gaps = np.array(gaps)
        assert np.min(np.maximum(gaps[:-1], gaps[1:])) >= muon_floor(mu, gamma, n)


def test_plot_and_json_roundtrip(result, tmp_path):
    from matplotlib.figure import Figure

    from adago_theory.app.plotting import save_figure

    fig = plot_polargrad(CheckResult.from_json(result.to_json()))
    assert isinstance(fig, Figure)
    assert {p.suffix for p in save_figure(fig, tmp_path / "polargrad")} == {".png", ".pdf"}


@pytest.mark.parametrize("kw", [dict(steps=1), dict(seeds=0), dict(muon_step=0.0), dict(backend="np")])
def test_bad_arguments(kw):
    with pytest.raises(ValueError):
        check_polargrad(quick=True, **kw)


def _frobenius_polargrad(eta, **kw):
    """PolarGrad scaled by ||G||_F instead of ||G||_* (a plausible slip); exact polar factor."""
    from adago_theory import orthogonalize
    from adago_theory.optim import Optimizer, polargrad

    base = polargrad(eta, **kw)
    lr = eta if callable(eta) else (lambda t: eta)

    def step(X, G, s):
        _, s2 = base.step(X, G, s)
        return X - lr(s2.count) * np.linalg.norm(G, axis=(-2, -1), keepdims=True) * orthogonalize(G, "svd"), s2

    return Optimizer(base.init, step)


def _muon_as_polargrad(eta, **kw):
    from adago_theory.optim import muon

    return muon(eta, beta=0.0, nesterov=False, orth="svd")


@pytest.mark.parametrize("mutant", [_frobenius_polargrad, _muon_as_polargrad])
def test_mutants_killed(mutant, result):
    """Same setting as the passing real run (the fixture): the mutant fails, on the step criterion (0)."""
    r = check_polargrad(quick=True, rng=11, factories={"polargrad": mutant})
    assert result.status == "pass" and r.status == "fail", r.verdict_text
    assert "(0) step" in r.verdict_text and ": FAIL;" in r.verdict_text.split("max rho")[0]


def test_preregistered_recorded(result):
    assert result.params["preregistered"]["stall"] == 0.5 and result.status == "pass"
