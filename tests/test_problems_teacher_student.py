"""Teacher-student regression: teacher spectra, interpolation f* = 0, exact mini-batch variance, tanh curvature."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from problems import SPECTRA, TANH_CURVATURE, make_teacher_student
from test_problems_common import clt_check_stochastic, host


def test_tanh_curvature_constant_by_sympy():
    x = sp.symbols("x", real=True)
    t2 = sp.diff(sp.tanh(x), x, 2)
    crit = sp.nsolve(sp.diff(t2, x), x, -0.6)
    assert float(abs(t2.subs(x, crit))) == pytest.approx(TANH_CURVATURE, rel=1e-14)
    grid = np.linspace(-6, 6, 200001)
    assert np.max(np.abs(-2 * np.tanh(grid) / np.cosh(grid) ** 2)) <= TANH_CURVATURE


@pytest.mark.parametrize("kind", SPECTRA)
@pytest.mark.parametrize("k1, k2", [(1.0, 1.0), (10.0, 3.0), (300.0, 20.0)])
def test_teacher_spectra(kind, k1, k2):
    P = make_teacher_student(8, 6, 3, n_samples=10, kappa_1=k1, kappa_2=k2, spectrum=kind, rng=0)
    for key, k in (("W1_star", k1), ("W2_star", k2)):
        sv = np.linalg.svd(P.host[key], compute_uv=False)
        assert abs(sv[0] / sv[-1] / k - 1) <= 1e-10
    assert np.sum(P.host["W1_star"] ** 2) == pytest.approx(6, rel=1e-12)
    assert np.sum(P.host["W2_star"] ** 2) == pytest.approx(3, rel=1e-12)


@pytest.mark.parametrize("hidden", [None, 7])
def test_zero_padded_teacher_interpolates(hidden):
    P = make_teacher_student(5, 4, 2, n_samples=50, hidden=hidden, kappa_1=5.0, kappa_2=2.0, rng=1)
    Y = np.tanh(P.host["Xin"] @ P.host["W1_star"].T) @ P.host["W2_star"].T
    np.testing.assert_array_equal(P.host["Y"], Y)
    assert P.constants.f_star == 0.0
    W = P.minimizer
    assert float(P.value(W)) <= 1e-30
    assert max(np.abs(g).max() for g in P.grad(W)) <= 1e-15
    assert make_teacher_student(5, 4, 2, label_noise=0.1, kappa_2=2.0, rng=1).constants.f_star is None
    assert make_teacher_student(5, 4, 2, hidden=3, kappa_2=2.0, rng=1).constants.f_star is None


def test_value_against_a_per_sample_loop():
    P = make_teacher_student(4, 3, 2, n_samples=20, kappa_2=2.0, rng=2)
    W1, W2 = (a[0] for a in P.initial_point(3, runs=1))
    ref = np.mean([0.5 * np.sum((W2 @ np.tanh(W1 @ x) - y) ** 2) for x, y in zip(P.host["Xin"], P.host["Y"])])
    W = P.initial_point(3, runs=1)
    assert float(P.value(W)[0]) == pytest.approx(ref, rel=1e-13)


def _per_sample_grads(P, W1, W2):
    G1, G2 = [], []
    for x, y in zip(P.host["Xin"], P.host["Y"]):
        a = np.tanh(W1 @ x)
        r = W2 @ a - y
        G2.append(np.outer(r, a))
        G1.append(np.outer((W2.T @ r) * (1 - a * a), x))
    return np.array(G1), np.array(G2)


@pytest.mark.parametrize("b", [1, 4])
def test_minibatch_variance_is_exactly_V_over_b(b):
    P = make_teacher_student(4, 3, 2, n_samples=15, kappa_1=3.0, kappa_2=2.0, label_noise=0.2, rng=4)
    W = P.initial_point(5, runs=1)
    G1, G2 = _per_sample_grads(P, W[0][0], W[1][0])
    g1, g2 = G1.mean(0), G2.mean(0)
    np.testing.assert_allclose(P.grad(W)[0][0], g1, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(P.grad(W)[1][0], g2, rtol=1e-12, atol=1e-14)
    V = float(np.mean(np.sum((G1 - g1) ** 2, axis=(1, 2)) + np.sum((G2 - g2) ** 2, axis=(1, 2))))
    assert V <= P.constants.sigma2
    S = 20000
    G = host(P.stochastic_grad(tuple(np.repeat(w, S, axis=0) for w in W), 6, batch_size=b))
    clt_check_stochastic(G, P.grad(W), V_exact=V / b)


def test_curvature_bound_holds_for_saturated_first_layer():
    """W1 is unrestricted: huge W1 (saturated tanh) with ||W2||_op = rho still respects L_fro."""
    P = make_teacher_student(5, 4, 1, n_samples=40, kappa_1=4.0, rng=5)
    rng = np.random.default_rng(6)
    rho = P.info["radius"]
    for scale in (1.0, 30.0):
        W1 = scale * rng.standard_normal((20, 4, 5))
        W2 = rng.standard_normal((20, 1, 4))
        W2 *= 0.999 * rho / np.linalg.norm(W2, 2, axis=(-2, -1))[:, None, None]
        assert np.all(P.contains((W1, W2)))
        D1, D2 = 1e-3 * rng.standard_normal(W1.shape), 1e-3 * rng.standard_normal(W2.shape)
        h = 1.0
        v = [P.value((W1 + s * D1, W2 + s * D2)) for s in (-h, 0.0, h)]
        n2 = np.sum(D1 ** 2, axis=(1, 2)) + np.sum(D2 ** 2, axis=(1, 2))
        assert np.all(np.abs(v[0] + v[2] - 2 * v[1]) <= P.constants.L_fro * n2 * (1 + 1e-6))


@pytest.mark.parametrize("kwargs, name", [
    (dict(d=0), "d"),
    (dict(kappa_1=0.5), "kappa_1"),
    (dict(kappa_2=2.0), "kappa_2"),
    (dict(label_noise=-1.0), "label_noise"),
    (dict(hidden=0), "hidden"),
    (dict(n_samples=0), "n_samples"),
    (dict(radius=0.0), "radius"),
    (dict(batch_size=0), "batch_size"),
    (dict(spectrum="step"), "spectrum"),
])
def test_bad_arguments(kwargs, name):
    args = dict(d=5, h=4, k=1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        make_teacher_student(args.pop("d"), args.pop("h"), args.pop("k"), **args)
