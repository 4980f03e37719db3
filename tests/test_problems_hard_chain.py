"""problems.hard_chain: r zero chains on r rows, against make_noise_dominated, finite differences and the SVD."""

import math

import numpy as np
import pytest

from problems import make_noise_dominated
from problems.hard_chain import make_hard_chain


def _point(P, seed=0, runs=3, scale=1.0):
    return scale * P.info["lam"] * np.random.default_rng(seed).standard_normal((runs,) + P.shapes[0])


def test_rank_one_is_the_noise_dominated_chain():
    P, N = make_hard_chain(1000, r=1), make_noise_dominated(1000)
    assert P.shapes == N.shapes and P.info["K"] == N.info["K"] and P.info["eps"] == N.info["eps"]
    X = _point(N)
    np.testing.assert_allclose(P.value(X), N.value(X), rtol=1e-13)
    np.testing.assert_allclose(P.grad(X), N.grad(X), rtol=1e-13, atol=1e-16)
    assert P.info["lower_bound"] == pytest.approx(N.info["lower_bound"], rel=1e-13)


@pytest.mark.parametrize("r", [2, 3])
def test_gradient_matches_finite_differences(r):
    P = make_hard_chain(500, r=r)
    X = _point(P, seed=r)
    D = np.random.default_rng(10 + r).standard_normal(X.shape)
    h = 1e-6 * P.info["lam"]
    fd = (P.value(X + h * D) - P.value(X - h * D)) / (2 * h)
    np.testing.assert_allclose(np.sum(P.grad(X) * D, axis=(-2, -1)), fd, rtol=1e-6, atol=1e-12)


def test_singular_values_are_the_row_norms_and_nuclear_exceeds_frobenius():
    r = 3
    P = make_hard_chain(1000, r=r)
    G = np.asarray(P.grad(_point(P, seed=4)))
    s = np.linalg.svd(G, compute_uv=False)
    rows = np.sort(np.linalg.norm(G, axis=-1), axis=-1)[:, ::-1]
    np.testing.assert_allclose(s, rows[:, :s.shape[-1]], rtol=1e-12, atol=1e-15)
    nuc, fro = s.sum(-1), np.linalg.norm(G, axis=(-2, -1))
    assert np.all(nuc > 1.2 * fro) and np.all(nuc <= math.sqrt(r) * fro * (1 + 1e-12))


def test_spectral_smoothness_constant_is_certified_and_nearly_attained():
    r = 2
    P = make_hard_chain(1000, r=r)
    assert P.constants.L_op == 1.0 and P.constants.L_fro == pytest.approx(0.5)
    g = np.random.default_rng(7)
    X = _point(P, seed=1, runs=200)
    worst = 0.0
    for s in (1e-3, 1e-2, 1e-1):
        D = s * P.info["lam"] * g.standard_normal(X.shape)
        gap = P.value(X + D) - P.value(X) - np.sum(P.grad(X) * D, axis=(-2, -1))
        op = np.linalg.svd(D, compute_uv=False)[:, 0]
        worst = max(worst, float(np.max(gap / (0.5 * op**2))))
    assert worst <= P.constants.L_op


def test_oracle_is_unbiased_with_the_certified_variance():
    P = make_hard_chain(400, r=2)
    K, lam = P.info["K"], P.info["lam"]
    n = 40000
    X = np.zeros((n,) + P.shapes[0])
    X[:, 0, :2] = 0.9 * lam          # chain 1 has progressed two links; chain 2 none
    G = np.asarray(P.grad(X[:1]))
    S = np.asarray(P.stochastic_grad(X, np.random.default_rng(0), batch_size=1))   # n independent calls
    mean, var = S.mean(0), np.sum((S - G[0]) ** 2, axis=(-2, -1)).mean()
    sd = np.sqrt(np.sum((S - G[0]) ** 2, axis=0) / n)
    assert np.all(np.abs(mean - G[0]) <= 5 * sd / np.sqrt(n) + 1e-12)
    assert var <= P.constants.sigma2 * 1.05
    # only coordinate prog+1 of each row is noisy (the zero-chain oracle)
    noisy = np.argwhere(np.any(S != G[0], axis=0))
    assert {tuple(ij) for ij in noisy} <= {(0, 2), (1, K)}


def test_orth_of_the_gradient_keeps_the_row_supports():
    from adago_theory import orthogonalize

    P = make_hard_chain(1000, r=2)
    X = np.zeros((1,) + P.shapes[0])
    G = np.asarray(P.grad(X))
    O = np.asarray(orthogonalize(G, "svd"))
    assert np.all(O[G == 0] == pytest.approx(0.0, abs=1e-12))


def test_budgets_are_respected_and_bad_input_is_refused():
    P = make_hard_chain(2000, r=4, sigma2=2.0, L=3.0, Delta=0.5)
    assert P.info["Delta"] <= 0.5 and P.constants.sigma2 <= 2.0 and P.constants.L_op == 3.0
    assert P.info["lower_bound"] == pytest.approx(2 * P.info["lower_bound_fro"], rel=1e-12)
    with pytest.raises(ValueError, match="r"):
        make_hard_chain(100, r=0)
    with pytest.raises(ValueError, match="sigma2"):
        make_hard_chain(100, sigma2=-1.0)
    with pytest.raises(ValueError, match="noise-dominated"):
        make_hard_chain(2, r=2, sigma2=1e-6)
    with pytest.raises(ValueError, match="m"):
        make_hard_chain(1000, r=4, m=2)
