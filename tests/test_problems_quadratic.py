"""DeepOBS-style quadratic: exact kappa and eigenvalue mixture, f* and sigma2 exact, noise X-independent."""

from __future__ import annotations

import numpy as np
import pytest

from problems import make_ill_conditioned_quadratic
from test_problems_common import clt_check_stochastic, host


@pytest.mark.parametrize("kappa", [1.0, 10.0, 1e4, 1e6])
def test_realized_kappa_and_mixture(kappa):
    P = make_ill_conditioned_quadratic(5, 4, kappa=kappa, L=60.0, outlier_fraction=0.1, rng=0)
    ev = np.linalg.eigvalsh(P.host["Q"])
    assert abs(ev[-1] / ev[0] / kappa - 1) <= 1e-10 * max(1.0, kappa / 1e4)
    # the constants describe the Q built (its eigenvalues), which realizes the request up to rounding
    assert ev[-1] == pytest.approx(60.0, rel=1e-13) and P.constants.L_fro == pytest.approx(ev[-1], rel=1e-14)
    assert P.constants.mu == pytest.approx(ev[0], rel=1e-12)
    assert P.constants.mu == pytest.approx(60.0 / kappa, rel=1e-10 * max(1.0, kappa / 1e4))
    assert P.constants.kappa["H"] == pytest.approx(P.constants.L_fro / P.constants.mu, rel=1e-14)
    if kappa >= 10:
        # DeepOBS mixture: 10 % of the eigenvalues in [L/2, L], the bulk within L/60 of lambda_min
        assert np.sum(ev >= 30.0 - 1e-9) == round(0.1 * 20)
        bulk = ev[ev < 30.0]
        assert np.all(bulk <= 60.0 / kappa + 1.0 + 1e-9)


def test_value_against_the_data_mean_and_f_star():
    P = make_ill_conditioned_quadratic(3, 4, kappa=50.0, n_samples=40, rng=1)
    Q, Xi = P.host["Q"], P.host["Xi"]
    X = P.initial_point(2, runs=3)
    x = X.reshape(3, 12)
    ref = np.array([np.mean([0.5 * (v - xi) @ Q @ (v - xi) for xi in Xi]) for v in x])
    np.testing.assert_allclose(P.value(X), ref, rtol=1e-12)
    xs = Xi.mean(axis=0)
    f_ref = np.mean([0.5 * (xs - xi) @ Q @ (xs - xi) for xi in Xi])
    assert P.constants.f_star == pytest.approx(f_ref, rel=1e-12)
    assert float(P.value(P.minimizer)) == pytest.approx(f_ref, rel=1e-12)
    assert np.abs(P.grad(P.minimizer)).max() <= 1e-14


@pytest.mark.parametrize("b", [1, 7])
def test_sigma2_exact_and_independent_of_X(b):
    P = make_ill_conditioned_quadratic(3, 3, kappa=30.0, n_samples=25, sigma2=1.7, rng=2)
    Q, Xi = P.host["Q"], P.host["Xi"]
    dev = Xi - Xi.mean(axis=0)
    assert np.mean(np.sum((dev @ Q) ** 2, axis=1)) == pytest.approx(1.7, rel=1e-12) == P.constants.sigma2
    S = 20000
    for seed in (3, 4):
        X1 = 10.0 * P.initial_point(seed, runs=1)
        G = host(P.stochastic_grad(np.repeat(X1, S, axis=0), seed, batch_size=b))
        clt_check_stochastic(G, (P.grad(X1),), V_exact=1.7 / b)


def test_L_op_bounds():
    P = make_ill_conditioned_quadratic(4, 3, kappa=100.0, rng=5)
    lo = P.info["L_op_lower"]
    assert P.constants.L_fro <= lo <= P.constants.L_op == 3 * P.constants.L_fro


def test_default_is_deepobs_sized():
    P = make_ill_conditioned_quadratic(rng=0)
    assert P.shapes == ((10, 10),) and P.info["N"] == 1000 and P.default_batch_size == 128


@pytest.mark.parametrize("kwargs, name", [
    (dict(kappa=0.5), "kappa"),
    (dict(m=1, n=1, kappa=2.0), "kappa"),
    (dict(outlier_fraction=1.5), "outlier_fraction"),
    (dict(sigma2=-1.0), "sigma2"),
    (dict(n_samples=0), "n_samples"),
    (dict(bulk_ratio=0.5), "bulk_ratio"),
    (dict(noise_level=-0.1), "noise_level"),
    (dict(L=-1.0), "L"),
])
def test_bad_arguments(kwargs, name):
    args = dict(m=3, n=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        make_ill_conditioned_quadratic(args.pop("m"), args.pop("n"), **args)
