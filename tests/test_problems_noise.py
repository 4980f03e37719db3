"""Noise models: exact variance sigma2/b, heavy tails with finite variance, true mini-batch sampling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from adago_theory import default_rng, to_numpy
from problems import additive_noise, make_noise, minibatch_indices


def _draw(noise, S, shapes, b, seed, backend=None):
    zeros = tuple(np.zeros((S,) + s) for s in shapes)
    if backend is not None:
        zeros = tuple(backend.asarray(z) for z in zeros)
        rng = default_rng(seed, backend.xp)
    else:
        rng = np.random.default_rng(seed)
    xi = additive_noise(noise, rng, zeros, b)
    return tuple(np.asarray(to_numpy(z)) for z in xi)


@pytest.mark.parametrize("kind, nu", [("gaussian", None), ("student_t", 9.0)])
@pytest.mark.parametrize("b", [1, 4])
def test_variance_is_sigma2_over_b(kind, nu, b, backend):
    sigma2, S = 2.5, 20000
    noise = make_noise(kind, sigma2, nu if nu else 5.0)
    xi = _draw(noise, S, ((3, 2), (2, 4)), b, 11, backend)
    n2 = sum(np.sum(z * z, axis=(-2, -1)) for z in xi)
    # CLT on the S iid values ||xi_s||^2 (finite fourth moment: Gaussian, or t with nu > 4)
    se = np.std(n2) / np.sqrt(S)
    assert abs(n2.mean() - sigma2 / b) <= 5 * se
    for z in xi:  # mean zero per entry, CLT per entry, 5 sigma
        assert np.all(np.abs(z.mean(axis=0)) <= 5 * z.std(axis=0) / np.sqrt(S))
    # isotropic: every entry has variance sigma2 / (b d)
    d = 14
    for z in xi:
        np.testing.assert_allclose(z.var(axis=0), sigma2 / (b * d), rtol=0.1)


def test_runs_get_independent_noise():
    noise = make_noise("gaussian", 1.0)
    xi = _draw(noise, 20000, ((2, 2),), 1, 3)[0].reshape(10000, 2, 4)   # pair runs 2k, 2k+1
    c = np.corrcoef(xi[:, 0, 0], xi[:, 1, 0])[0, 1]
    assert abs(c) <= 5 / np.sqrt(10000)


@pytest.mark.parametrize("b", [1, 3])
def test_student_t_batch_mean_has_the_law_of_b_averaged_samples(b):
    """The scale-mixture shortcut vs an explicit average of b multivariate-t samples (two-sample KS)."""
    nu, sigma2, d, S = 3.0, 1.0, 6, 20000
    ours = _draw(make_noise("student_t", sigma2, nu), S, ((2, 3),), b, 5)[0].reshape(S, d)
    rng = np.random.default_rng(6)
    c = sigma2 * (nu - 2) / (nu * d)
    Z = rng.standard_normal((S, b, d))
    W = rng.chisquare(nu, size=(S, b, 1))
    ref = (np.sqrt(c) * Z / np.sqrt(W / nu)).mean(axis=1)
    for stat in (lambda x: np.sum(x * x, axis=1), lambda x: x[:, 0]):
        assert stats.ks_2samp(stat(ours), stat(ref)).pvalue > 1e-3
    # heavy tails: ||xi||^2 has a much larger kurtosis than in the Gaussian model
    g = _draw(make_noise("gaussian", sigma2), S, ((2, 3),), b, 7)[0].reshape(S, d)
    assert stats.kurtosis(np.sum(ours ** 2, axis=1)) > 3 * stats.kurtosis(np.sum(g ** 2, axis=1))


def test_zero_variance_means_no_noise():
    assert additive_noise(make_noise("gaussian", 0.0), np.random.default_rng(0), (np.zeros((2, 3, 3)),), 1) is None


def test_minibatch_indices_uniform_with_replacement():
    N, R, b = 7, 500, 40
    idx = np.asarray(minibatch_indices(np.random.default_rng(1), N, R, b, np.zeros(1)))
    assert idx.shape == (R * b,) and idx.min() >= 0 and idx.max() < N
    counts = np.bincount(idx, minlength=N)
    assert stats.chisquare(counts).pvalue > 1e-3
    rows = idx.reshape(R, b)
    assert np.mean([len(set(r)) < b for r in rows]) == 1.0   # b > N: repeats in every batch


@pytest.mark.parametrize("kwargs, name", [
    (dict(kind="gaussian", sigma2=-1.0), "sigma2"),
    (dict(kind="gaussian", sigma2=float("inf")), "sigma2"),
    (dict(kind="student_t", sigma2=1.0, nu=2.0), "nu"),
    (dict(kind="cauchy", sigma2=1.0), "noise"),
])
def test_bad_noise_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_noise(**kwargs)


def test_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        additive_noise(make_noise("gaussian", 1.0), np.random.default_rng(0), (np.zeros((1, 2, 2)),), 0)
    with pytest.raises(ValueError, match="batch_size"):
        minibatch_indices(np.random.default_rng(0), 5, 2, 0, np.zeros(1))
