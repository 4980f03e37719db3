"""Tests of verify._rate_rules and verify.deterministic_rate (issue 12, item 3).

Fast tests check the pieces against independent references (a hand-written Muon loop, the closed form of
eta0, the exact variance of the per-run noise); the check itself runs in quick mode under ``-m slow``.
"""

import math

import numpy as np
import pytest

from verify._factories import resolve
from verify._rate_rules import (RULES, PerRunNoise, average_gradient_grid, eta_unit, make_rule, record_grid,
                                robust_problem)
from verify.deterministic_rate import PREREGISTERED, check_deterministic_rate, plot_deterministic_rate


def test_eta_unit_minimizes_the_normalized_step_bound():
    """eta0 T^-1/2 minimizes Delta/(eta T) + L eta / 2 (checked on a grid, independent of the closed form)."""
    Delta, L, T = 3.0, 2.5, 400
    etas = np.geomspace(1e-3, 10, 20001)
    best = etas[np.argmin(Delta / (etas * T) + L * etas / 2)]
    assert math.isclose(best, eta_unit(Delta, L) / math.sqrt(T), rel_tol=1e-3)
    with pytest.raises(ValueError, match="Delta0 and L_op"):
        eta_unit(0.0, 1.0)


def test_every_rule_builds_and_unknown_rule_is_refused():
    F = resolve()
    for r in RULES:
        assert make_rule(r, 100, 1.0, F) is not None
    with pytest.raises(ValueError, match="rule must be one of"):
        make_rule("sgd", 100, 1.0, F)


def test_average_gradient_grid_matches_a_hand_written_muon_loop():
    """Muon (beta = 0, exact Orth) at sigma = 0: avg and min of ||grad f||_* over t < T, written out in NumPy."""
    P = robust_problem(3)
    seeds = [5, 9]
    eta0, T = 0.7, 40
    out = average_gradient_grid(lambda T_: make_rule("muon_deterministic", T_, eta0, resolve()), P, [T], seeds,
                                stochastic=False)
    eta = eta0 * T ** -0.5
    for i, s in enumerate(seeds):
        X = np.asarray(P.initial_point(s))[0]
        norms = []
        for _ in range(T):
            G = np.asarray(P.grad(X[None]))[0]
            U, sv, Vt = np.linalg.svd(G, full_matrices=False)
            norms.append(sv.sum())
            X = X - eta * U @ Vt
        assert math.isclose(out["avg"][i, 0], np.mean(norms), rel_tol=1e-9)
        assert math.isclose(out["min"][i, 0], np.min(norms), rel_tol=1e-9)


def test_record_grid_is_uniform_beyond_the_cap():
    assert record_grid(500) == "all"
    g = record_grid(10_000, max_records=1000)
    assert np.all(np.diff(g) == 10) and g[0] == 0


def test_per_run_noise_has_the_stated_variance_per_run():
    """E||g - grad f||_F^2 = sigma_r^2 for each run (Monte Carlo, 4000 draws; 5 % tolerance)."""
    P = robust_problem(0)
    sig = np.array([0.0, 0.5, 2.0])
    W = PerRunNoise(P, sig)
    X = np.concatenate([P.initial_point(s) for s in range(3)])
    rng = np.random.default_rng(1)
    G = np.asarray(P.grad(X))
    d2 = np.mean([np.sum((np.asarray(W.stochastic_grad(X, rng)) - G) ** 2, axis=(1, 2)) for _ in range(4000)], axis=0)
    assert d2[0] == 0.0
    np.testing.assert_allclose(d2[1:], sig[1:] ** 2, rtol=0.05)
    with pytest.raises(ValueError, match="sigmas"):
        PerRunNoise(P, [-1.0])


def test_preregistration_is_complete():
    P = PREREGISTERED
    assert P["rate"] == -0.5 and P["delta"] == 0.05 and P["fit_T_min"] == 100
    assert set(P["rules"]) == {"adago", "adago_momentum", "namo", "namo_d"}
    assert min(P["horizons"]["quick"]) >= P["fit_T_min"]


@pytest.mark.slow
def test_quick_check_passes_and_control_fails(tmp_path):
    res = check_deterministic_rate(quick=True, rng=0)
    assert res.verdict, res.verdict_text
    assert res.negative_control["verdict"] is False, res.negative_control["verdict_text"]
    assert res.status == "pass"
    assert res.params["preregistered"] is PREREGISTERED
    fig = plot_deterministic_rate(res)
    assert len(fig.axes) == 2


@pytest.mark.slow
def test_muon_in_place_of_adago_is_killed():
    """A look-alike: Muon on AdaGO's (horizon-free) eta, i.e. AdaGO without its accumulator, stalls."""
    from verify.mutants import MUTANTS

    res = check_deterministic_rate(quick=True, rng=0, factories={"adago": MUTANTS["adago_muon_horizon"].factory})
    assert res.status != "pass"
