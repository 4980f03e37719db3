"""Matrix completion: rank, kappa(M*), observed fraction, f* = 0, the saddle at 0, the region of the constants."""

from __future__ import annotations

import numpy as np
import pytest

from problems import SPECTRA, make_matrix_completion


@pytest.mark.parametrize("kind", SPECTRA)
@pytest.mark.parametrize("rank, kappa", [(1, 1.0), (3, 10.0), (5, 1e3)])
def test_rank_kappa_and_scale_of_M(kind, rank, kappa):
    P = make_matrix_completion(20, 12, rank, kappa=kappa, spectrum=kind, rng=0)
    sv = np.linalg.svd(P.host["M"], compute_uv=False)
    assert np.sum(sv > 1e-12 * sv[0]) == rank
    assert abs(sv[0] / sv[rank - 1] / kappa - 1) <= 1e-10
    assert abs(P.constants.kappa["M"] / kappa - 1) <= 1e-10
    assert np.sum(P.host["M"] ** 2) == pytest.approx(20 * 12, rel=1e-12)


@pytest.mark.parametrize("frac", [0.01, 0.3, 0.777, 1.0])
def test_observed_fraction_is_realized(frac):
    P = make_matrix_completion(15, 11, 2, observed_fraction=frac, rng=1)
    mask = P.host["mask"]
    assert set(np.unique(mask)) <= {0.0, 1.0}
    assert mask.sum() == round(frac * 165) == P.info["n_obs"]
    assert abs(P.info["observed_fraction"] - frac) <= 0.5 / 165 + 1e-12


def test_f_star_zero_at_the_balanced_factors():
    P = make_matrix_completion(12, 9, 3, kappa=5.0, factor_rank=4, observed_fraction=0.4, rng=2)
    Xs, Ys = P.minimizer
    np.testing.assert_allclose(Xs @ Ys.T, P.host["M"], atol=1e-12)
    assert P.constants.f_star == 0.0
    assert float(P.value((Xs, Ys))) <= 1e-28
    for g in P.grad((Xs, Ys)):
        assert np.abs(g).max() <= 1e-13


def test_value_against_a_direct_loop():
    P = make_matrix_completion(7, 5, 2, observed_fraction=0.5, rng=3)
    X, Y = P.initial_point(4, runs=1)
    obs = np.argwhere(P.host["mask"] == 1)
    ref = sum((X[0, i] @ Y[0, j] - P.host["M"][i, j]) ** 2 for i, j in obs) / len(obs)
    assert float(P.value((X, Y))[0]) == pytest.approx(ref, rel=1e-13)


def test_strict_saddle_at_zero_hence_nonconvex():
    P = make_matrix_completion(10, 8, 2, observed_fraction=0.6, rng=5)
    Xs, Ys = P.minimizer
    Z = (np.zeros((1,) + P.shapes[0]), np.zeros((1,) + P.shapes[1]))
    assert all(np.abs(g).max() == 0 for g in P.grad(Z))
    f0 = float(P.value(Z)[0])
    for t in (1e-2, 1e-1, 0.5):       # f(tX*, tY*) = (1 - t^2)^2 f(0) < f(0): negative curvature at 0
        ft = float(P.value((t * Xs, t * Ys)))
        assert ft == pytest.approx((1 - t * t) ** 2 * f0, rel=1e-12)
        assert ft < f0
    assert P.constants.mu is None


def test_constants_hold_in_the_region_only():
    P = make_matrix_completion(10, 8, 2, observed_fraction=0.6, rng=6)
    rho = P.info["radius"]
    Xs, Ys = P.minimizer
    assert bool(P.contains((Xs, Ys))) and not bool(P.contains((3 * rho * Xs / np.linalg.norm(Xs, 2), Ys)))
    # outside the region the quartic's curvature exceeds the certified L_fro
    X = 5 * rho * Xs / np.linalg.norm(Xs, 2)
    Y = 5 * rho * Ys / np.linalg.norm(Ys, 2)
    D = (Xs / np.linalg.norm(Xs), np.zeros_like(Ys))
    h = 1e-3
    vals = [float(P.value((X + s * D[0], Y + s * D[1]))) for s in (-h, 0.0, h)]
    assert (vals[0] + vals[2] - 2 * vals[1]) / h ** 2 > P.constants.L_fro


@pytest.mark.parametrize("kwargs, name", [
    (dict(rank=9), "rank"),
    (dict(rank=0), "rank"),
    (dict(observed_fraction=0.0), "observed_fraction"),
    (dict(observed_fraction=1.5), "observed_fraction"),
    (dict(observed_fraction=1e-4), "observed_fraction"),
    (dict(kappa=0.5), "kappa"),
    (dict(rank=1, kappa=2.0), "kappa"),
    (dict(factor_rank=1), "factor_rank"),
    (dict(radius=-1.0), "radius"),
    (dict(sigma2=-1.0), "sigma2"),
])
def test_bad_arguments(kwargs, name):
    args = dict(m=10, n=8, rank=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        make_matrix_completion(args.pop("m"), args.pop("n"), args.pop("rank"), **args)
