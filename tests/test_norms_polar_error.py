"""Batched norms and polar_error against scipy / numpy references."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from adago_theory import frobenius_norm, matrix_norms, nuclear_norm, orthogonalize, polar_error, spectral_norm, to_numpy


def test_norms_batched_against_scipy(kernel_backend):
    rng = np.random.default_rng(0)
    M = rng.standard_normal((3, 2, 7, 5))
    x = kernel_backend.asarray(M)
    s = np.array([[scipy.linalg.svdvals(M[i, j]) for j in range(2)] for i in range(3)])
    assert np.allclose(to_numpy(nuclear_norm(x)), s.sum(-1), rtol=1e-12)
    assert np.allclose(to_numpy(spectral_norm(x)), s[..., 0], rtol=1e-12)
    assert np.allclose(to_numpy(frobenius_norm(x)), np.sqrt((M**2).sum((-2, -1))), rtol=1e-12)
    assert to_numpy(nuclear_norm(x)).shape == (3, 2)
    x32 = kernel_backend.asarray(M, "float32")
    assert nuclear_norm(x32).dtype == x32.dtype and spectral_norm(x32).dtype == x32.dtype


def test_norm_errors():
    with pytest.raises(ValueError, match="2 dimensions"):
        nuclear_norm(np.ones(3))


def test_polar_error_of_exact_factor_is_zero_and_of_scaled_factor_is_known():
    rng = np.random.default_rng(1)
    M = rng.standard_normal((4, 9, 6))
    O = orthogonalize(M, "svd")
    e = polar_error(M, O)
    assert e.rel_fro.shape == (4,)
    assert np.all(e.rel_fro < 1e-14) and np.all(e.sigma_dev < 1e-14) and np.all(e.orth_residual < 1e-14)
    assert np.allclose(e.alignment, 1.0, atol=1e-14)
    # O = 0.9 * Orth(M): every error is known in closed form
    e = polar_error(M, 0.9 * O)
    assert np.allclose(e.rel_fro, 0.1) and np.allclose(e.spectral, 0.1) and np.allclose(e.sigma_dev, 0.1)
    assert np.allclose(e.orth_residual, 1 - 0.81) and np.allclose(e.alignment, 0.9)
    assert np.all(e.rank == 6)


def test_polar_error_rank_deficient_uses_range_only():
    rng = np.random.default_rng(2)
    U, _ = np.linalg.qr(rng.standard_normal((8, 3)))
    V, _ = np.linalg.qr(rng.standard_normal((5, 3)))
    M = (U * np.array([2.0, 1.0, 0.0])) @ V.T
    O = U[:, :2] @ V[:, :2].T
    e = polar_error(M, O)
    assert int(e.rank) == 2 and float(e.rel_fro) < 1e-14 and float(e.orth_residual) < 1e-14


def test_polar_error_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        polar_error(np.ones((3, 2)), np.ones((2, 3)))


def test_gpu_branches_of_norms_and_polar_on_numpy(monkeypatch):
    """The GPU code paths (Gram eigensolver, QDWH-based nuclear norm and polar) run on NumPy here."""
    import adago_theory.norms as norms
    import importlib

    orth = importlib.import_module("adago_theory.orthogonalize")

    monkeypatch.setattr(norms, "on_gpu", lambda x: True)
    monkeypatch.setattr(orth, "on_gpu", lambda x: True)
    rng = np.random.default_rng(5)
    M = rng.standard_normal((6, 11, 7))
    s = np.array([scipy.linalg.svdvals(Mi) for Mi in M])
    assert np.allclose(norms.spectral_norm(M), s[:, 0], rtol=1e-12)
    assert np.allclose(norms.nuclear_norm(M), s.sum(-1), rtol=1e-12)
    P = np.stack([scipy.linalg.polar(Mi)[0] for Mi in M])
    assert np.abs(orth.orthogonalize(M, "polar") - P).max() < 1e-13


def test_matrix_norms_equal_the_three_norms_and_integers_give_float64(kernel_backend):
    M = np.random.default_rng(7).standard_normal((4, 6, 5))
    fro, nuc, op = (to_numpy(a) for a in matrix_norms(kernel_backend.asarray(M)))
    np.testing.assert_allclose(fro, np.linalg.norm(M, axis=(-2, -1)), rtol=1e-13)
    np.testing.assert_allclose(nuc, np.linalg.norm(M, "nuc", axis=(-2, -1)), rtol=1e-13)
    np.testing.assert_allclose(op, np.linalg.norm(M, 2, axis=(-2, -1)), rtol=1e-13)
    Mi = np.array([[3, 0], [0, 4]])
    for f, want in ((frobenius_norm, 5.0), (nuclear_norm, 7.0), (spectral_norm, 4.0)):
        v = f(Mi)
        assert v.dtype == np.float64 and float(v) == want
