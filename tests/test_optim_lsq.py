"""Small test problems for the optimizer and run tests, and checks that they are right.

The problems package is written elsewhere; the optimizer tests use these two
problems of their own, which implement the Problem protocol of
``docs/design/contracts.md``:

* ``LeastSquares``: :math:`f(X) = \\tfrac12\\|AX - C\\|_F^2` with a prescribed
  spectrum of ``A`` (so :math:`L_F = \\sigma_1(A)^2 = 1`,
  :math:`\\mu = \\sigma_m(A)^2 = 1/\\kappa^2`), :math:`f^\\star` from ``lstsq``, and
  Gaussian gradient noise with :math:`E\\|g - \\nabla f\\|_F^2 = \\sigma^2 / b`.
* ``Factorization``: :math:`f(X, Y) = \\tfrac12\\|XY^\\top - M\\|_F^2`, two matrices.

Other test files import them (``from test_optim_lsq import ...``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pytest

from adago_theory import default_rng, from_numpy
from adago_theory.backend import namespace, standard_normal


class Constants(NamedTuple):
    L_fro: float
    L_op: float | None
    mu: float | None
    sigma2: float
    f_star: float | None
    kappa: dict
    notes: dict


def _xp_of(backend):
    if backend in (None, "numpy"):
        return namespace(np.zeros(1))
    if backend == "torch":
        import torch

        return namespace(torch.zeros(1))
    return backend  # already a namespace


class LeastSquares:
    r"""f(X) = ½‖A X − C‖_F² for X of shape (R, m, n); A (p, m) with singular values geomspace(1, 1/cond)."""

    def __init__(self, m=6, n=4, p=10, *, cond=10.0, sigma2=0.0, backend="numpy", dtype="float64", seed=0):
        rng = np.random.default_rng(seed)
        Ua, _ = np.linalg.qr(rng.standard_normal((p, m)))
        Va, _ = np.linalg.qr(rng.standard_normal((m, m)))
        s = np.geomspace(1.0, 1.0 / cond, m)
        A = (Ua * s) @ Va.T
        C = rng.standard_normal((p, n))
        Xs = np.linalg.lstsq(A, C, rcond=None)[0]
        f_star = 0.5 * float(np.sum((A @ Xs - C) ** 2))
        self.name = "least-squares"
        self.shapes = ((m, n),)
        self.xp = _xp_of(backend)
        self.dtype = getattr(self.xp, dtype)
        self.A_host, self.C_host, self.X_star = A, C, Xs
        self.A = from_numpy(A, xp=self.xp, dtype=self.dtype)
        self.C = from_numpy(C, xp=self.xp, dtype=self.dtype)
        self.At = from_numpy(np.ascontiguousarray(A.T), xp=self.xp, dtype=self.dtype)
        self.sigma2 = float(sigma2)
        self.constants = Constants(L_fro=float(s[0] ** 2), L_op=None, mu=float(s[-1] ** 2), sigma2=self.sigma2,
                                   f_star=f_star, kappa={"A": cond}, notes={})

    def value(self, X):
        Rm = self.A @ X - self.C
        return 0.5 * self.xp.sum(Rm * Rm, axis=(-2, -1))

    def grad(self, X):
        return self.At @ (self.A @ X - self.C)

    def stochastic_grad(self, X, rng, batch_size=None):
        b = 1 if batch_size is None else batch_size
        m, n = self.shapes[0]
        Z = standard_normal(rng, tuple(X.shape), like=X)
        return self.grad(X) + math.sqrt(self.sigma2 / (b * m * n)) * Z

    def initial_point(self, rng, runs=1):
        m, n = self.shapes[0]
        Z = default_rng(rng).standard_normal((runs, m, n))
        return from_numpy(Z, xp=self.xp, dtype=self.dtype)


class Factorization:
    r"""f(X, Y) = ½‖X Yᵀ − M‖_F² with M of rank k; X (R, m, k), Y (R, n, k); f* = 0."""

    def __init__(self, m=6, n=5, k=2, *, seed=0):
        rng = np.random.default_rng(seed)
        self.M = rng.standard_normal((m, k)) @ rng.standard_normal((k, n)) / math.sqrt(k)
        self.name = "factorization"
        self.shapes = ((m, k), (n, k))
        self.xp = namespace(np.zeros(1))
        self.dtype = np.float64
        self.constants = Constants(L_fro=math.nan, L_op=None, mu=None, sigma2=0.0, f_star=0.0, kappa={}, notes={})

    def value(self, XY):
        X, Y = XY
        E = X @ np.swapaxes(Y, -1, -2) - self.M
        return 0.5 * np.sum(E * E, axis=(-2, -1))

    def grad(self, XY):
        X, Y = XY
        E = X @ np.swapaxes(Y, -1, -2) - self.M
        return (E @ Y, np.swapaxes(E, -1, -2) @ X)

    def stochastic_grad(self, XY, rng, batch_size=None):
        return self.grad(XY)

    def initial_point(self, rng, runs=1):
        g = default_rng(rng)
        (m, k), (n, _) = self.shapes
        return (0.5 * g.standard_normal((runs, m, k)), 0.5 * g.standard_normal((runs, n, k)))


# ----------------------------------------------------------------------------- the problems are right


def _fd_directional(f, X, D, h=1e-6):
    return (f(X + h * D) - f(X - h * D)) / (2 * h)


def test_least_squares_gradient_matches_central_differences():
    P = LeastSquares(seed=3)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((3, 6, 4))
    for _ in range(3):
        D = rng.standard_normal(X.shape)
        fd = _fd_directional(P.value, X, D)
        an = np.sum(P.grad(X) * D, axis=(-2, -1))
        np.testing.assert_allclose(an, fd, rtol=1e-7, atol=1e-7)


def test_least_squares_constants_are_realized():
    P = LeastSquares(cond=30.0, seed=2)
    s = np.linalg.svd(P.A_host, compute_uv=False)
    assert s[0] / s[-1] == pytest.approx(30.0, rel=1e-12)
    assert P.constants.L_fro == pytest.approx(s[0] ** 2, rel=1e-12)
    # f* is attained at X*: the gradient vanishes there and f(X*) = f*
    Xs = P.X_star[None]
    assert np.max(np.abs(P.grad(Xs))) < 1e-12
    assert float(P.value(Xs)[0]) == pytest.approx(P.constants.f_star, rel=1e-12)


def test_least_squares_noise_is_unbiased_with_the_stated_variance():
    P = LeastSquares(sigma2=2.0, seed=0)
    X = np.zeros((20000, 6, 4))
    rng = default_rng(5)
    E = P.stochastic_grad(X, rng, batch_size=4) - P.grad(X)
    sq = np.sum(E * E, axis=(-2, -1))
    # mean of ||noise||^2 = sigma2 / b = 0.5; its std per sample is 0.5*sqrt(2/24): CLT 5-sigma band
    assert abs(sq.mean() - 0.5) < 5 * 0.5 * math.sqrt(2 / 24) / math.sqrt(len(sq))
    assert np.max(np.abs(E.mean(axis=0))) < 5 * math.sqrt(0.5 / 24) / math.sqrt(len(sq))


def test_factorization_gradient_matches_central_differences():
    P = Factorization(seed=1)
    rng = np.random.default_rng(2)
    X, Y = P.initial_point(0, runs=2)
    DX, DY = rng.standard_normal(X.shape), rng.standard_normal(Y.shape)
    h = 1e-6
    fd = (P.value((X + h * DX, Y + h * DY)) - P.value((X - h * DX, Y - h * DY))) / (2 * h)
    GX, GY = P.grad((X, Y))
    an = np.sum(GX * DX, axis=(-2, -1)) + np.sum(GY * DY, axis=(-2, -1))
    np.testing.assert_allclose(an, fd, rtol=1e-7, atol=1e-7)
