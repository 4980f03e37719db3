"""Robust regression: loss curvature bounds by sympy, nonconvexity, least-squares limit, outliers."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from problems import LOSS_CURVATURE, ROBUST_LOSSES, make_robust_regression

r, d = sp.symbols("r delta", positive=True)
_RHO = {
    "cauchy": d ** 2 / 2 * sp.log(1 + r ** 2 / d ** 2),
    "geman_mcclure": d ** 2 / 2 * r ** 2 / (d ** 2 + r ** 2),
}


@pytest.mark.parametrize("loss", ROBUST_LOSSES)
def test_curvature_range_derived_with_sympy(loss):
    rho2 = sp.simplify(sp.diff(_RHO[loss], r, 2))
    t = sp.symbols("t", nonnegative=True)                 # t = r^2 / delta^2
    g = sp.simplify(rho2.subs(r, d * sp.sqrt(t)))
    assert sp.simplify(sp.diff(g, d)) == 0               # delta-free
    crit = [c for c in sp.solve(sp.diff(g, t), t) if c.is_real and c >= 0]
    vals = [g.subs(t, 0), sp.limit(g, t, sp.oo)] + [g.subs(t, c) for c in crit]
    lo, hi = min(vals), max(vals)
    assert (float(lo), float(hi)) == pytest.approx(LOSS_CURVATURE[loss], abs=1e-15)


@pytest.mark.parametrize("loss", ROBUST_LOSSES)
def test_value_matches_sympy_loss_and_least_squares_limit(loss):
    P = make_robust_regression(4, 3, loss=loss, delta=0.7, rng=0)
    X = P.initial_point(1, runs=2)
    R = P.host["A"] @ X @ P.host["B"] - P.host["C"]
    rho = sp.lambdify((r, d), _RHO[loss])
    ref = np.sum(rho(np.abs(R), 0.7), axis=(-2, -1))
    np.testing.assert_allclose(P.value(X), ref, rtol=1e-13)
    big = make_robust_regression(4, 3, loss=loss, delta=1e7, rng=0)   # rho -> r^2/2
    np.testing.assert_allclose(big.value(X), 0.5 * np.sum(R ** 2, axis=(-2, -1)), rtol=1e-9)


@pytest.mark.parametrize("loss", ROBUST_LOSSES)
def test_nonconvex_negative_second_difference_far_out(loss):
    P = make_robust_regression(5, 3, loss=loss, rng=1)
    rng = np.random.default_rng(2)
    D = rng.standard_normal((5, 3))
    X0 = P.host["X_true"]
    second = []
    for t in np.logspace(0, 4, 30):                        # the docstring's argument: concave far out
        h = 0.05 * t
        g = [float(P.value(X0 + s * D)) for s in (t - h, t, t + h)]
        second.append(g[0] + g[2] - 2 * g[1])
    assert min(second) < 0                                 # a negative second difference: not convex
    assert second[-1] < 0
    assert P.constants.mu is None and P.constants.f_star is None


def test_outliers_exact_count_and_kappas():
    P = make_robust_regression(6, 4, p=10, q=8, outlier_fraction=0.15, outlier_scale=5.0, kappa_A=40.0,
                               kappa_B=2.0, rng=3)
    S = P.host["C"] - P.host["A"] @ P.host["X_true"] @ P.host["B"]
    assert np.sum(np.abs(S) > 1e-9) == round(0.15 * 80) == P.info["n_outliers"]
    assert abs(P.constants.kappa["A"] / 40.0 - 1) <= 1e-10 and abs(P.constants.kappa["B"] / 2.0 - 1) <= 1e-10


def test_L_fro_is_attained_when_the_data_can_be_fitted():
    """With square A, B and no outliers the residual vanishes at X_true, rho'' = 1 there: L_fro is tight."""
    P = make_robust_regression(4, 3, p=4, q=3, kappa_A=6.0, outlier_fraction=0.0, rng=4)
    A, B = P.host["A"], P.host["B"]
    U, s, Vt = np.linalg.svd(A)
    U2, s2, Vt2 = np.linalg.svd(B)
    D = np.outer(Vt[0], U2[:, 0])                            # top right vector of A, top left of B
    X = P.host["X_true"]
    h = 1e-4
    curv = (float(P.value(X + h * D)) + float(P.value(X - h * D)) - 2 * float(P.value(X))) / h ** 2
    assert curv == pytest.approx(P.constants.L_fro, rel=1e-6)


@pytest.mark.parametrize("kwargs, name", [
    (dict(loss="huber"), "loss"),
    (dict(delta=0.0), "delta"),
    (dict(outlier_fraction=1.0), "outlier_fraction"),
    (dict(outlier_fraction=-0.1), "outlier_fraction"),
    (dict(outlier_scale=-1.0), "outlier_scale"),
    (dict(kappa_A=0.9), "kappa_A"),
    (dict(sigma2=-0.5), "sigma2"),
])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_robust_regression(4, 3, **kwargs)
