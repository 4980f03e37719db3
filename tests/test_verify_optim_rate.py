"""Tests of verify.adago_rate (issue 5, item 1): quick verdict, Muon control, bound vs SymPy, plot, errors."""

import math

import numpy as np
import pytest

from verify.adago_rate import (DELTA, RATE, adago_stochastic_bound, adago_stochastic_bound_expressions,
                               adago_stochastic_schedule, check_adago_rate, plot_adago_rate)
from verify.result import CheckResult


@pytest.fixture(scope="module")
def result():
    return check_adago_rate(quick=True, rng=2024)


def test_quick_verdict_positive_and_control_negative(result):
    assert result.verdict is True, result.verdict_text
    assert result.negative_control["verdict"] is False, result.negative_control["verdict_text"]
    assert result.passed
    # the verdict is the declared criterion, recomputed here from the stored fit
    lo, hi = result.fit["mean"].ci
    assert hi <= RATE + DELTA
    assert result.negative_control["measured"]["ci"][1] > RATE + DELTA


def test_grid_and_seeds_as_declared(result):
    T = np.asarray(result.measured["horizons"])
    assert T[-1] / T[0] >= 100                      # two decades
    assert result.params["S"] >= 8                  # at least 8 common seeds
    assert result.measured["mean_grad_nuc"].shape == (result.params["S"], T.size)
    # min over t never exceeds the average over t (same runs)
    assert np.all(result.measured["min_grad_nuc"] <= result.measured["mean_grad_nuc"] + 1e-15)
    # the measured mean lies below the explicit bound at every horizon
    assert np.all(result.measured["mean_grad_nuc"].mean(0) <= np.asarray(result.predicted["bound"]).mean(0))


def test_alpha_within_eta(result):
    """alpha_t <= max(eps, eta) (theory.md §1.2), checked on the recorded step sizes of every run."""
    assert result.predicted["alpha_max_within_eta"] is True
    eta = np.asarray(result.predicted["eta_max"])
    assert np.all(np.asarray(result.measured["alpha_max"]) <= eta[None, :] * (1 + 1e-12))


def test_schedule_matches_formula():
    for T in (1, 10, 1234, 10**5):
        s = adago_stochastic_schedule(T, scale=2.0, eta_ratio=3.0)
        assert s["eps"] == pytest.approx(2.0 * T ** -0.75)
        assert s["eta"] == pytest.approx(6.0 * T ** -0.75)
        assert s["beta"] == pytest.approx(1 - min(1.0, T ** -0.5))
        assert s["batch_size"] == 1


def test_bound_matches_sympy_and_is_order_quarter():
    import sympy as sp

    E = adago_stochastic_bound_expressions()
    s = E["symbols"]
    assert sp.simplify(E["exponent"] + sp.Rational(1, 4)) == 0
    vals = dict(c=1.7, rho=4.0, c_beta=1.0, Delta=3.0, g0=2.5, L_op=2.0, L_F=1.2, sigma=0.8, r=6, b=1)
    for T in (16, 400, 10**4):
        sym = float(E["B"].subs({s[k]: v for k, v in vals.items()}).subs(s["T"], T))
        h = adago_stochastic_schedule(T, scale=vals["c"], eta_ratio=vals["rho"])
        num = float(adago_stochastic_bound(T, Delta=3.0, grad0_fro=2.5, L_op=2.0, L_fro=1.2, sigma2=0.64, r=6,
                                           eps=h["eps"], eta=h["eta"], beta=h["beta"]))
        assert num == pytest.approx(sym, rel=1e-12)
    # the leading coefficient is the closed form of the module docstring
    lead = E["leading"]
    want = s["Delta"] / s["c"] + 2 * s["rho"] ** 2 * s["r"] * s["L_F"] * s["c"] / s["c_beta"] \
        + s["rho"] * s["sigma"] * sp.sqrt(2 * s["r"] * s["c_beta"] / s["b"])
    assert sp.simplify(lead - want) == 0


def test_bound_holds_on_a_hand_written_run():
    """B(T) bounds the average nuclear norm of a short AdaGO run written out here (not the library's)."""
    rng = np.random.default_rng(5)
    m, n, T, S = 4, 3, 400, 64
    A = rng.standard_normal((m, m)) / 2
    H = A @ A.T + 0.1 * np.eye(m)                 # f(X) = 0.5 tr(X^T H X): L_F = L_op-like constants below
    L_F = float(np.linalg.eigvalsh(H)[-1])
    L_op = float(np.trace(H))                     # sup over ||D||_op <= 1 of tr(D^T H D) <= tr(H)
    sigma2 = 0.5
    h = adago_stochastic_schedule(T, scale=1.0)
    X = rng.standard_normal((S, m, n))
    M = np.zeros_like(X)
    v2 = np.full(S, 1e-12)
    f0 = 0.5 * np.einsum("sij,ik,skj->s", X, H, X)
    g0 = np.linalg.norm(H @ X, axis=(1, 2))
    acc = np.zeros(S)
    for t in range(T):
        G = H @ X
        acc += np.linalg.svd(G, compute_uv=False).sum(-1)
        Gs = G + math.sqrt(sigma2 / (m * n)) * rng.standard_normal(G.shape)
        M = h["beta"] * M + (1 - h["beta"]) * Gs
        c2 = np.minimum((Gs ** 2).sum((1, 2)), 100.0)
        v2 = v2 + c2
        alpha = np.maximum(h["eps"], h["eta"] * np.sqrt(c2 / v2))
        U, _, Vt = np.linalg.svd(M, full_matrices=False)
        X = X - alpha[:, None, None] * (U @ Vt)
    B = adago_stochastic_bound(T, Delta=f0, grad0_fro=g0, L_op=L_op, L_fro=L_F, sigma2=sigma2, r=n,
                               eps=h["eps"], eta=h["eta"], beta=h["beta"])
    assert np.mean(acc / T) <= np.mean(B)


def test_plot_and_json_roundtrip(result, tmp_path):
    from matplotlib.figure import Figure

    from adago_theory.app.plotting import save_figure

    back = CheckResult.from_json(result.to_json())
    assert back.verdict == result.verdict and back.passed == result.passed
    fig = plot_adago_rate(back)
    assert isinstance(fig, Figure)
    files = save_figure(fig, tmp_path / "adago_rate")
    assert {p.suffix for p in files} == {".png", ".pdf"} and all(p.stat().st_size > 1000 for p in files)


@pytest.mark.parametrize("kw", [dict(seeds=1), dict(delta=-0.1), dict(sigma2=0.0), dict(horizons=[10, 20, 30]),
                                dict(horizons=[10, 5, 1000]), dict(backend="jax")])
def test_bad_arguments(kw):
    with pytest.raises(ValueError):
        check_adago_rate(quick=True, rng=0, **kw)


def test_schedule_errors():
    with pytest.raises(ValueError, match="T"):
        adago_stochastic_schedule(0)
    with pytest.raises(ValueError, match="eta_ratio"):
        adago_stochastic_schedule(10, eta_ratio=0.5)
    with pytest.raises(ValueError, match="beta"):
        adago_stochastic_bound(10, Delta=1, grad0_fro=1, L_op=1, L_fro=1, sigma2=1, r=1, eps=0.1, eta=0.1, beta=1.0)
