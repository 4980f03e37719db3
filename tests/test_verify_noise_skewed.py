"""Tests of verify.noise_skewed and the skewed rank-one noise model (issue 12, item 4, second half)."""

import math

import numpy as np
import pytest

from verify._rate_rules import SkewedRankOneNoise, robust_problem
from verify.noise_skewed import PREREGISTERED, check_noise_skewed, plot_noise_skewed


def test_skewed_noise_is_unbiased_rank_one_with_the_stated_variance_and_skew():
    P = robust_problem(0)
    sig = np.array([0.5, 2.0])
    W = SkewedRankOneNoise(P, sig, p=0.05, direction_seed=3)
    X = np.concatenate([P.initial_point(s) for s in range(2)])
    G = np.asarray(P.grad(X))
    rng = np.random.default_rng(0)
    D = np.array([np.asarray(W.stochastic_grad(X, rng)) - G for _ in range(20000)])     # (N, 2, m, n)
    np.testing.assert_allclose(D.mean(axis=0), 0.0, atol=0.05 * sig.max())
    np.testing.assert_allclose(np.mean(np.sum(D**2, axis=(2, 3)), axis=0), sig**2, rtol=0.05)
    assert np.linalg.matrix_rank(D[0, 1]) == 1
    proj = np.sum(D[:, 1] * W.Z0_host, axis=(1, 2)) / sig[1]                           # = s
    assert abs(np.mean(proj > 0) - 0.05) < 0.01                                          # skewed: P(s > 0) = p
    assert math.isclose(np.median(proj), -math.sqrt(0.05 / 0.95), rel_tol=1e-9)
    with pytest.raises(ValueError, match="p must be"):
        SkewedRankOneNoise(P, sig, p=1.0)


def test_quick_mode_is_not_judged_and_runs_nothing():
    r = check_noise_skewed(quick=True)
    assert r.status == "not judged" and r.measured == {}
    assert r.params["preregistered"] is PREREGISTERED
    assert len(plot_noise_skewed(r).axes) == 2


@pytest.mark.slow
def test_full_check_passes_and_muon_tuned_for_sigma0_fails():
    r = check_noise_skewed(quick=False, rng=20261201)
    assert r.verdict, r.verdict_text
    assert r.negative_control["verdict"] is False, r.negative_control["verdict_text"]
    assert r.status == "pass"
