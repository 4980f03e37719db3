"""Matrix least squares: exact kappa, Hessian constants, L_op and f* against independent references."""

from __future__ import annotations

import numpy as np
import pytest

from adago_theory import orthogonalize
from problems import SPECTRA, make_bilinear, make_matrix_least_squares, worst_direction


@pytest.mark.parametrize("kind", SPECTRA)
@pytest.mark.parametrize("kA, kB", [(1.0, 1.0), (10.0, 3.0), (1e3, 20.0)])
def test_realized_kappas(kind, kA, kB):
    P = make_matrix_least_squares(6, 4, kappa_A=kA, kappa_B=kB, spectrum=kind, rng=0)
    A, B = P.host["A"], P.host["B"]
    sA = np.linalg.svd(A, compute_uv=False)
    sB = np.linalg.svd(B, compute_uv=False)
    assert abs(sA[0] / sA[-1] / kA - 1) <= 1e-10 and abs(sB[0] / sB[-1] / kB - 1) <= 1e-10
    assert abs(P.constants.kappa["H"] / (kA * kB) ** 2 - 1) <= 1e-10


def test_hessian_constants_are_its_extreme_eigenvalues():
    P = make_matrix_least_squares(5, 3, p=8, q=6, kappa_A=7.0, kappa_B=2.0, L=3.0, rng=1)
    A, B = P.host["A"], P.host["B"]
    # vec_row(A X B) = (A kron B^T) vec_row(X): Hessian = A^T A kron B B^T, built explicitly
    H = np.kron(A.T @ A, B @ B.T)
    ev = np.linalg.eigvalsh(H)
    c = P.constants
    assert c.L_fro == pytest.approx(ev[-1], rel=1e-12) and c.L_fro == pytest.approx(3.0, rel=1e-14)
    assert c.mu == pytest.approx(ev[0], rel=1e-10)
    assert c.kappa["H"] == pytest.approx(ev[-1] / ev[0], rel=1e-9)


def test_L_op_is_attained_and_never_exceeded():
    P = make_matrix_least_squares(6, 4, p=9, q=7, kappa_A=5.0, kappa_B=3.0, spectrum="linear", rng=2)
    A, B = P.host["A"], P.host["B"]
    L_op = P.constants.L_op

    def Q(D):
        return float(np.sum((A @ D @ B) ** 2))

    # attained by the partial isometry D* (rebuilt from the same seed's factors)
    bl = make_bilinear(6, 4, 9, 7, kappa_A=5.0, kappa_B=3.0, a_max=1.0, b_max=1.0, kind="linear",
                       rng=np.random.default_rng(2))
    np.testing.assert_allclose(bl.A, A)
    D = worst_direction(bl)
    assert np.linalg.norm(D, 2) == pytest.approx(1.0, rel=1e-14)
    assert Q(D) == pytest.approx(L_op, rel=1e-12)
    # f is quadratic: f(X+D) - f(X) - <grad, D> = Q(D)/2 exactly
    X = P.initial_point(0, runs=1)
    gap = P.value(X + D) - P.value(X) - np.sum(P.grad(X) * D)
    assert float(gap[0]) == pytest.approx(0.5 * L_op, rel=1e-10)
    # an independent maximizer of the convex form on the spectral ball (Orth ascent, 30 random starts)
    rng = np.random.default_rng(3)
    best = 0.0
    for _ in range(30):
        D = orthogonalize(rng.standard_normal((6, 4)), "svd")
        for _ in range(100):
            D = orthogonalize(A.T @ A @ D @ B @ B.T, "svd")
        best = max(best, Q(D))
    assert best <= L_op * (1 + 1e-12)
    assert best >= 0.999 * L_op
    # and L_op is well below the crude min(m, n) L_fro
    assert L_op < 4 * P.constants.L_fro


@pytest.mark.parametrize("f_star", [0.0, 0.37])
def test_f_star_and_minimizer_against_lstsq(f_star):
    P = make_matrix_least_squares(5, 3, p=8, q=5, kappa_A=30.0, kappa_B=4.0, f_star=f_star, rng=4)
    A, B, C = P.host["A"], P.host["B"], P.host["C"]
    M = np.kron(A, B.T)                                      # vec_row(A X B) = M vec_row(X)
    x, *_ = np.linalg.lstsq(M, C.ravel(), rcond=None)
    f_ls = 0.5 * np.sum((M @ x - C.ravel()) ** 2)
    assert P.constants.f_star == pytest.approx(f_star, rel=1e-12, abs=1e-20)
    assert f_ls == pytest.approx(P.constants.f_star, rel=1e-9, abs=1e-18)
    np.testing.assert_allclose(P.minimizer, x.reshape(5, 3), rtol=1e-8, atol=1e-10)
    assert float(P.value(P.minimizer)) == pytest.approx(f_star, rel=1e-10, abs=1e-18)
    assert np.linalg.norm(P.grad(P.minimizer)) <= 1e-12 * (1 + np.linalg.norm(C))
    # benchopt's perturbation test: nothing nearby is lower
    rng = np.random.default_rng(5)
    Xs = P.minimizer[None] + 1e-4 * rng.standard_normal((100, 5, 3))
    assert np.all(P.value(Xs) >= P.constants.f_star)


def test_noise_variance_is_exactly_sigma2():
    P = make_matrix_least_squares(4, 3, sigma2=0.8, rng=6)
    assert P.constants.sigma2 == 0.8 and "exact" in P.constants.notes["sigma2"]


@pytest.mark.parametrize("kwargs, name", [
    (dict(kappa_A=0.5), "kappa_A"),
    (dict(kappa_B=-2.0), "kappa_B"),
    (dict(sigma2=-1.0), "sigma2"),
    (dict(noise="student_t", nu=2.0), "nu"),
    (dict(noise="laplace"), "noise"),
    (dict(p=3), "p"),
    (dict(q=2), "q"),
    (dict(f_star=-0.1), "f_star"),
    (dict(p=4, q=3, f_star=1.0), "f_star"),
    (dict(spectrum="flat"), "spectrum"),
    (dict(L=0.0), "L"),
    (dict(m=0), "m"),
    (dict(backend="jax"), "backend"),
    (dict(dtype="int8"), "dtype"),
])
def test_bad_arguments(kwargs, name):
    args = dict(m=4, n=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        make_matrix_least_squares(args.pop("m"), args.pop("n"), **args)


# ---------------------------------------------------------------------------
# the Gram form of value and gradient against the residual form, written out here
# ---------------------------------------------------------------------------


def _residual_form(P, X):
    """Today's per-run formulas: f = 0.5||A X B - C||_F^2, grad = A^T (A X B - C) B^T, run by run."""
    A, B, C = P.host["A"], P.host["B"], P.host["C"]
    f = np.empty(X.shape[0])
    G = np.empty_like(X)
    for r in range(X.shape[0]):
        Rm = A @ X[r] @ B - C
        f[r] = 0.5 * np.sum(Rm * Rm)
        G[r] = A.T @ Rm @ B.T
    return f, G


@pytest.mark.parametrize("kw", [dict(m=7, n=5), dict(m=6, n=6, p=6, q=9, kappa_A=30.0, kappa_B=4.0, f_star=2.5),
                                dict(m=4, n=9, p=12, q=9, spectrum="clustered", L=5.0, f_star=0.1)])
def test_value_and_grad_equal_the_residual_form(kw):
    kw = dict(kw)
    P = make_matrix_least_squares(kw.pop("m"), kw.pop("n"), rng=3, **kw)
    X = P.initial_point(4, runs=11)
    f_ref, G_ref = _residual_form(P, X)
    np.testing.assert_allclose(P.value(X), f_ref, rtol=1e-12, atol=0)
    assert np.max(np.abs(P.grad(X) - G_ref)) <= 1e-12 * np.max(np.abs(G_ref))
    # unbatched input, and a point close to the minimizer (gradient small, value near f*)
    Xn = P.host["X_star"] + 1e-6 * X[0]
    f1, G1 = _residual_form(P, Xn[None])
    scale = P.constants.L_fro * np.max(np.abs(Xn))
    assert np.max(np.abs(P.grad(Xn) - G1[0])) <= 1e-12 * scale
    assert abs(float(P.value(Xn)) - f1[0]) <= 1e-12 * (1.0 + f1[0])


def test_gram_form_is_float32_on_float32():
    P = make_matrix_least_squares(5, 3, rng=1, dtype="float32", f_star=0.3)
    X = P.initial_point(2, runs=3)
    f_ref, G_ref = _residual_form(P, X.astype(np.float64))
    assert P.grad(X).dtype == np.float32 and P.value(X).dtype == np.float32
    np.testing.assert_allclose(P.value(X), f_ref, rtol=1e-5)
    assert np.max(np.abs(P.grad(X) - G_ref)) <= 1e-5 * np.max(np.abs(G_ref))


# ---------------------------------------------------------------------------
# conditioning the dtype can realize; constants of the instance built
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kw, dtype", [(dict(kappa_A=1e20), "float64"), (dict(kappa_A=1e300), "float64"),
                                       (dict(kappa_A=1e4, kappa_B=1e4), "float64"),
                                       (dict(kappa_A=1e3), "float32"), (dict(kappa_A=20.0), "float16")])
def test_conditioning_beyond_the_dtype_is_refused(kw, dtype):
    with pytest.raises(ValueError, match=r"\(kappa_A\*kappa_B\)\^2 must be in \[1, [0-9.e+]+\] for dtype " + dtype):
        make_matrix_least_squares(6, 4, rng=0, dtype=dtype, **kw)


def test_moving_to_a_dtype_that_cannot_realize_the_conditioning_is_refused():
    P = make_matrix_least_squares(6, 4, kappa_A=1e3, rng=0)
    with pytest.raises(ValueError, match="kappa_A"):
        P.to(dtype="float32")
    make_matrix_least_squares(6, 4, kappa_A=10.0, rng=0).to(dtype="float32")   # within the limit: accepted


def test_constants_describe_the_instance_built_and_agree():
    # near the float64 limit the realized spectrum differs from the request; the constants follow the build
    P = make_matrix_least_squares(8, 5, kappa_A=2e7, rng=4, f_star=0.2)
    A, B, C, Xs = P.host["A"], P.host["B"], P.host["C"], P.host["X_star"]
    a = np.linalg.svd(A, compute_uv=False)
    b = np.linalg.svd(B, compute_uv=False)
    c = P.constants
    assert c.L_fro == a[0] ** 2 * b[0] ** 2 and c.mu == a[-1] ** 2 * b[-1] ** 2
    assert c.kappa["H"] == pytest.approx(c.L_fro / c.mu, rel=1e-14)
    assert c.kappa["A"] == pytest.approx(a[0] / a[-1], rel=1e-14)
    assert c.f_star == pytest.approx(0.5 * np.sum((C - A @ Xs @ B) ** 2), rel=1e-14)


@pytest.mark.parametrize("rng", ["abc", 1.5, -3, True])
def test_bad_rng_is_named(rng):
    with pytest.raises(TypeError, match="rng must be"):
        make_matrix_least_squares(4, 3, rng=rng)
