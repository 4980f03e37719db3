"""Tests of verify.polarsgd_rate (issue 12, item 6): schedule, bound (against the recursion it solves),
assumption (A) (against closed forms), the schedule's clock (against a hand-written loop), the quick check."""

import math

import numpy as np
import pytest

from verify.polarsgd_rate import (PREREGISTERED, assumption_A, check_polarsgd_rate, plot_polarsgd_rate,
                                  polarsgd_bound, polarsgd_schedule)


def test_schedule_values_and_errors():
    s = polarsgd_schedule(0.25, 1.5, 2)
    assert s["beta"] == 8.0 and s["k0"] == 24
    assert s["gamma"](1) == 8.0 / 24 and s["gamma"](11) == 8.0 / 34
    with pytest.raises(ValueError, match="mu must be"):
        polarsgd_schedule(0.0, 1.0, 2)
    with pytest.raises(ValueError, match="r must be"):
        polarsgd_schedule(1.0, 1.0, 0)


@pytest.mark.parametrize("e0", [0.1, 10.0, 1e3])
def test_bound_dominates_the_recursion_it_solves(e0):
    """e_{k+1} = (1 - mu c1 g_k) e_k + (L_op r s2 / 2) g_k^2 stays below nu / (k + k0) for every k."""
    mu, L_op, r, s2 = 0.2, 1.7, 3, 0.8
    sch = polarsgd_schedule(mu, L_op, r)
    beta, k0 = sch["beta"], sch["k0"]
    e, es = e0, [e0]
    for k in range(20000):
        g = beta / (k + k0)
        e = (1 - mu * g) * e + 0.5 * L_op * r * s2 * g * g
        es.append(e)
    K = np.arange(len(es))
    b = polarsgd_bound(K, e0=e0, mu=mu, L_op=L_op, r=r, sigma2=s2, beta=beta, k0=k0)
    assert np.all(np.array(es) <= b * (1 + 1e-12))
    with pytest.raises(ValueError, match="beta mu c1 > 1"):
        polarsgd_bound(K, e0=e0, mu=mu, L_op=L_op, r=r, sigma2=s2, beta=1.0, k0=k0)


def test_assumption_A_closed_forms():
    # 1 x 1: D(g) = |g| sign(g) = g, so c1 = 1 exactly at every noise ratio
    c = assumption_A((1, 1), ratios=(0.0, 1.0, 100.0), directions=2, samples=2000, rng=0)
    np.testing.assert_allclose(c, 1.0, rtol=1e-12)
    # negligible noise: c1 -> ||g||_*^2 / ||g||_F^2 of the direction (>= 1)
    c = assumption_A((4, 2), ratios=(1e4,), directions=2, samples=200, rng=5)
    assert np.all(c >= 1.0 - 1e-6) and np.all(c <= 2.0 + 1e-6)    # 1 <= ||g||_*^2/||g||_F^2 <= rank = 2


def test_schedule_clock_matches_a_hand_written_polargrad_loop():
    """gamma passed as t -> beta/(t-1+k0) makes step k (0-based) use beta/(k+k0): checked at sigma = 0."""
    from adago_theory import run
    from adago_theory.optim import polargrad
    from problems import make_matrix_least_squares

    P = make_matrix_least_squares(4, 2, kappa_A=3.0, rng=3)
    c = P.constants
    sch = polarsgd_schedule(c.mu, c.L_op, 2)
    tr = run(polargrad(sch["gamma"], orth="svd"), P, 25, seeds=[7], record="all")
    A, B, C = P.host["A"], P.host["B"], P.host["C"]
    X = np.asarray(P.initial_point(7))[0]
    for k in range(25):
        G = A.T @ (A @ X @ B - C) @ B.T
        U, s, Vt = np.linalg.svd(G, full_matrices=False)
        X = X - sch["beta"] / (k + sch["k0"]) * s.sum() * (U @ Vt)
    assert math.isclose(float(tr.f[-1, 0]), 0.5 * np.sum((A @ X @ B - C) ** 2), rel_tol=1e-10)


def test_preregistration():
    P = PREREGISTERED
    assert P["rate"] == -1.0 and P["delta"] == 0.1 and P["window"] == (10, 100) and P["c1"] == 1.0
    assert P["fit_variable"] == "K + k0"


@pytest.mark.slow
def test_quick_check_passes_and_control_fails():
    r = check_polarsgd_rate(quick=True, rng=0)
    assert r.verdict, r.verdict_text
    assert r.negative_control["verdict"] is False
    assert r.status == "pass"
    assert np.all(np.asarray(r.measured["ratio_to_bound"]) <= 1.0)
    assert len(plot_polarsgd_rate(r).axes) == 2
