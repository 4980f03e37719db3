"""Matrix logistic regression: exact L at X = 0, mu = lam, exact mini-batch variance, f* by an independent solver."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.stats import norm

from problems import make_bilinear, make_matrix_logistic, worst_direction
from test_problems_common import clt_check_stochastic, host


def _second_difference(P, X, D, h):
    v = [float(P.value(X + s * D)) for s in (-h, 0.0, h)]
    return (v[0] + v[2] - 2 * v[1]) / h ** 2


def test_value_at_zero_is_q_log2_and_labels_follow_the_threshold():
    P = make_matrix_logistic(4, 3, n_samples=2000, n_outputs=8, rng=0)
    assert float(P.value(np.zeros((4, 3)))) == pytest.approx(8 * np.log(2.0), rel=1e-14)   # mean over rows
    C = P.host["C"]
    p = norm.sf(0.5)                                         # P(z > 0.5)
    frac = np.mean(C == 1.0)
    assert abs(frac - p) <= 5 * np.sqrt(p * (1 - p) / C.size)


@pytest.mark.parametrize("lam", [0.0, 0.3])
def test_L_fro_and_L_op_are_attained_at_zero(lam):
    P = make_matrix_logistic(5, 3, n_samples=30, n_outputs=7, kappa_A=4.0, kappa_B=2.0, L=2.0, lam=lam, rng=1)
    A, B = P.host["A"], P.host["B"]
    D1 = np.outer(np.linalg.svd(A)[2][0], np.linalg.svd(B)[0][:, 0])     # top pair, ||D1||_F = 1
    Z = np.zeros((5, 3))
    assert _second_difference(P, Z, D1, 1e-4) == pytest.approx(P.constants.L_fro, rel=1e-6)
    assert P.constants.L_fro == pytest.approx(2.0 + lam, rel=1e-12)
    bl = make_bilinear(5, 3, 30, 7, kappa_A=4.0, kappa_B=2.0, a_max=np.sqrt(30), b_max=2 * np.sqrt(2.0),
                       kind="geometric", rng=np.random.default_rng(1))
    np.testing.assert_allclose(bl.A, A)
    Dstar = worst_direction(bl)                              # ||D*||_op = 1
    assert _second_difference(P, Z, Dstar, 1e-4) == pytest.approx(P.constants.L_op, rel=1e-6)


def test_mu_is_the_infimum_of_the_curvature():
    lam = 0.2
    P = make_matrix_logistic(4, 3, n_samples=40, lam=lam, rng=2)
    rng = np.random.default_rng(3)
    X0 = rng.standard_normal((4, 3))
    D = rng.standard_normal((4, 3))
    D /= np.linalg.norm(D)
    curv = [_second_difference(P, t * X0, D, 0.1) for t in (0.0, 10.0, 1e3)]   # h large vs rounding of f ~ 1e6
    assert all(c >= lam * (1 - 1e-4) for c in curv)
    assert curv[0] > lam + 1e-1 and lam * (1 - 1e-4) <= curv[-1] <= lam + 1e-3   # sigma' -> 0 far out: only lam remains
    assert P.constants.mu == lam


def _per_row_gradients(P, X):
    """Independent reference: gradient of each row's loss, a_i (l_i B^T), by a plain loop."""
    A, B, C = P.host["A"], P.host["B"], P.host["C"]
    out = []
    for a, c in zip(A, C):
        z = a @ X @ B
        lp = -c / (1.0 + np.exp(c * z))                      # d/dz softplus(-c z)
        out.append(np.outer(a, B @ lp))
    return np.array(out)


@pytest.mark.parametrize("b", [1, 5])
def test_minibatch_variance_is_exactly_V_over_b(b):
    P = make_matrix_logistic(3, 2, n_samples=25, n_outputs=4, kappa_A=3.0, lam=0.1, rng=4)
    X1 = P.initial_point(5, runs=1)
    Gi = _per_row_gradients(P, X1[0])
    G_data = Gi.mean(axis=0)
    np.testing.assert_allclose(P.grad(X1)[0], G_data + 0.1 * X1[0], rtol=1e-12, atol=1e-14)
    V = float(np.mean(np.sum((Gi - G_data) ** 2, axis=(1, 2))))
    assert V <= P.constants.sigma2
    S = 20000
    G = host(P.stochastic_grad(np.repeat(X1, S, axis=0), 6, batch_size=b))
    clt_check_stochastic(G, (P.grad(X1),), V_exact=V / b)


def test_f_star_certified_and_checked_by_an_independent_solver():
    lam = 0.05
    P = make_matrix_logistic(4, 3, n_samples=40, n_outputs=6, kappa_A=5.0, lam=lam, rng=7)
    c = P.constants
    gap = P.info["f_star_gap"]
    assert gap <= 1e-20 and P.info["grad_norm_at_X_hat"] <= 1e-9
    assert float(P.value(P.minimizer)) == pytest.approx(c.f_star, rel=1e-14)
    rng = np.random.default_rng(8)
    for _ in range(3):   # BFGS from random starts on the problem's own value/grad (a different algorithm)
        res = minimize(lambda x: float(P.value(x.reshape(4, 3))), rng.uniform(-2, 2, 12),
                       jac=lambda x: P.grad(x.reshape(4, 3)).ravel(), method="BFGS", options={"gtol": 1e-10})
        assert res.fun >= c.f_star - gap - 1e-13
        assert res.fun == pytest.approx(c.f_star, rel=1e-9)
    Xs = P.minimizer[None] + 1e-3 * rng.standard_normal((100, 4, 3))
    assert np.all(P.value(Xs) >= c.f_star)
    assert make_matrix_logistic(4, 3, lam=0.0, rng=7).constants.f_star is None


@pytest.mark.parametrize("kwargs, name", [
    (dict(n_samples=3), "n_samples"),
    (dict(n_outputs=2), "n_outputs"),
    (dict(lam=-1.0), "lam"),
    (dict(batch_size=0), "batch_size"),
    (dict(kappa_B=0.0), "kappa_B"),
    (dict(label_threshold=float("nan")), "label_threshold"),
])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_matrix_logistic(4, 3, **kwargs)
