"""Prescribed spectra and Haar factors: the realized condition number is the requested one."""

from __future__ import annotations

import numpy as np
import pytest

from problems import SPECTRA, condition_number, haar_orthogonal, matrix_with_spectrum, spectrum


@pytest.mark.parametrize("kind", SPECTRA)
@pytest.mark.parametrize("kappa", [1.0, 3.0, 1e2, 1e4])
def test_spectrum_endpoints_and_shape(kind, kappa):
    s = spectrum(7, kappa, kind, s_max=2.5)
    assert s.shape == (7,) and s[0] == 2.5
    assert s[0] / s[-1] == pytest.approx(kappa, rel=1e-15)
    assert np.all(np.diff(s) <= 0)
    if kind == "geometric" and kappa > 1:
        np.testing.assert_allclose(s[1:] / s[:-1], kappa ** (-1 / 6), rtol=1e-13)
    if kind == "linear":
        np.testing.assert_allclose(np.diff(s), (s[-1] - s[0]) / 6, rtol=1e-12, atol=1e-15)
    if kind == "clustered" and kappa > 1:
        levels, counts = np.unique(s, return_counts=True)
        assert len(levels) == 2 and sorted(counts) == [3, 4]


def test_clustered_levels():
    s = spectrum(10, 1e3, "clustered", n_clusters=4)
    levels, counts = np.unique(s, return_counts=True)
    np.testing.assert_allclose(levels[::-1], 1e3 ** (-np.arange(4) / 3), rtol=1e-13)
    assert sorted(counts.tolist()) == [2, 2, 3, 3]


@pytest.mark.parametrize("shape", [(6, 6), (9, 4), (4, 9), (30, 20)])
@pytest.mark.parametrize("kappa", [1.0, 10.0, 1e3, 1e4])
@pytest.mark.parametrize("kind", SPECTRA)
def test_realized_condition_number_matches_request(shape, kappa, kind):
    m, n = shape
    r = min(m, n)
    S = matrix_with_spectrum(m, n, spectrum(r, kappa, kind), rng=0)
    sv = np.linalg.svd(S.M, compute_uv=False)          # independent: LAPACK on the built matrix
    assert abs(sv[0] / sv[r - 1] / kappa - 1.0) <= 1e-10
    np.testing.assert_allclose(sv[:r], S.s, rtol=1e-10 * kappa, atol=0)
    assert condition_number(S.M) == pytest.approx(kappa, rel=1e-10)


def test_low_rank_matrix_has_the_requested_rank():
    S = matrix_with_spectrum(12, 9, spectrum(3, 50.0), rng=1)
    sv = np.linalg.svd(S.M, compute_uv=False)
    assert np.sum(sv > 1e-12 * sv[0]) == 3
    assert condition_number(S.M, rank=3) == pytest.approx(50.0, rel=1e-10)
    np.testing.assert_allclose(S.U.T @ S.U, np.eye(3), atol=1e-14)
    np.testing.assert_allclose(S.V.T @ S.V, np.eye(3), atol=1e-14)


def test_haar_orthogonal_is_orthonormal_and_haar():
    Q = haar_orthogonal(7, 4, rng=3)
    np.testing.assert_allclose(Q.T @ Q, np.eye(4), atol=1e-14)
    # Haar moments of a 3x3 orthogonal matrix: E Q_00 = 0, E Q_00^2 = 1/3, E Q_00 Q_11 = 0.
    # Without the sign fix of diag(R), LAPACK's QR gives a biased Q_00 (a fixed sign).
    rng = np.random.default_rng(4)
    S = 4000
    q = np.array([haar_orthogonal(3, rng=rng)[[0, 1], [0, 1]] for _ in range(S)])
    se = 1.0 / np.sqrt(3 * S)                       # sd(Q_00) = 1/sqrt(3)
    assert abs(q[:, 0].mean()) <= 5 * se
    sd2 = np.sqrt(np.var(q[:, 0] ** 2) / S)
    assert abs(np.mean(q[:, 0] ** 2) - 1 / 3) <= 5 * sd2
    assert abs(np.mean(q[:, 0] * q[:, 1])) <= 5 * np.sqrt(np.var(q[:, 0] * q[:, 1]) / S)


def test_same_seed_same_matrix():
    a = matrix_with_spectrum(5, 4, spectrum(4, 8.0), rng=7).M
    b = matrix_with_spectrum(5, 4, spectrum(4, 8.0), rng=7).M
    c = matrix_with_spectrum(5, 4, spectrum(4, 8.0), rng=8).M
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("call, name", [
    (lambda: spectrum(3, 0.5), "kappa"),
    (lambda: spectrum(3, float("nan")), "kappa"),
    (lambda: spectrum(1, 2.0), "kappa"),
    (lambda: spectrum(0, 2.0), "r"),
    (lambda: spectrum(3, 2.0, "cubic"), "spectrum"),
    (lambda: spectrum(3, 2.0, s_max=0.0), "s_max"),
    (lambda: spectrum(3, 2.0, "clustered", n_clusters=4), "n_clusters"),
    (lambda: matrix_with_spectrum(3, 2, [1.0, 0.5, 0.1]), "rank"),
    (lambda: matrix_with_spectrum(3, 2, [1.0, -0.5]), "s"),
    (lambda: haar_orthogonal(3, 4), "k"),
    (lambda: haar_orthogonal(0), "n"),
])
def test_bad_arguments_name_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
