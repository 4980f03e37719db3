"""Tests of verify.noise_adaptivity (issue 12, item 4).

Fast tests: the SymPy algebra of the interpolation against hand-derived limits, and the judge on synthetic
tables built from closed forms (an adaptive table must pass, a fixed-step table must fail).  Slow tests: the
quick check passes with the real optimizers, and the three mutants of issue 11 that the noise-adaptivity
check must kill are killed.
"""

import numpy as np
import pytest

from verify.noise_adaptivity import (PREREGISTERED, _band_fit, check_noise_adaptivity, interpolation_expressions,
                                     judge_rule, plot_noise_adaptivity)


def test_interpolation_algebra():
    import sympy as sp

    e = interpolation_expressions()
    T, s, A, B, w = (e["symbols"][k] for k in ("T", "sigma", "A", "B", "w"))
    assert e["slope_sigma0"] == sp.Rational(-1, 2)
    assert e["slope_Tinf"] == sp.Rational(-1, 4)
    assert sp.simplify(e["sigma_exponent"] - sp.Rational(1, 2)) == 0
    # hand-derived: slope = -1/2 + (1/4) w / (1 + w)
    assert sp.simplify(e["slope_w"] - (sp.Rational(-1, 2) + w / (4 * (1 + w)))) == 0
    # at the crossover the two terms are equal, so the slope is the mean of -1/2 and -1/4
    at = sp.simplify(e["slope"].subs(s, e["crossover"]))
    assert at == sp.Rational(-3, 8)


def _table(Ts, sig, S, A, Bc, det_rate, sto_rate, rng, noise=0.01):
    """(n_sigma, S, K) synthetic table: A T^det + Bc sigma^0.5 T^sto, lognormal seed noise."""
    G = A * Ts[None, :] ** det_rate + Bc * np.sqrt(sig)[:, None] * Ts[None, :] ** sto_rate
    return G[:, None, :] * np.exp(noise * rng.standard_normal((sig.size, S, Ts.size)))


def test_judge_passes_the_predicted_shape_and_fails_a_fixed_step():
    rng = np.random.default_rng(0)
    Ts = np.array([100, 316, 1000, 3162])
    sig = np.array([0.0, 0.01, 0.03, 0.1, 0.3, 1.0])
    ok, parts = judge_rule(Ts, sig, _table(Ts, sig, 4, 3.0, 1.0, -0.5, -0.25, rng), np.random.default_rng(1))
    assert ok, {k: v["text"] for k, v in parts.items()}
    # a stochastic-tuned schedule: T^-1/4 even without noise -> (a) fails
    ok, parts = judge_rule(Ts, sig, _table(Ts, sig, 4, 3.0, 1.0, -0.25, -0.25, rng), np.random.default_rng(1))
    assert not ok and not parts["deterministic"]["ok"]
    # a fixed step: noise floor proportional to sigma (exponent 1), no decay at large sigma -> (b), (c) fail
    G = 3.0 * Ts[None, :] ** -0.5 + 1.0 * sig[:, None] * Ts[None, :] ** 0.0
    ok, parts = judge_rule(Ts, sig, np.repeat(G[:, None, :], 3, axis=1), np.random.default_rng(1))
    assert not parts["stochastic"]["ok"] and not parts["sigma_exponent"]["ok"]
    # a diverged run is a failure, not a crash
    bad = _table(Ts, sig, 2, 3.0, 1.0, -0.5, -0.25, rng)
    bad[2, 0, 1] = np.inf
    assert judge_rule(Ts, sig, bad, np.random.default_rng(1))[0] is False


def test_band_fit_recovers_B():
    Ts = np.array([100.0, 316.0, 1000.0])
    sig = np.array([0.0, 0.1, 1.0])
    G = 2.0 * Ts ** -0.5 + 0.7 * np.sqrt(sig)[:, None] * Ts ** -0.25
    B, resid = _band_fit(Ts, sig, G)
    assert abs(B - 0.7) < 0.01
    assert np.nanmax(np.abs(resid)) < 1e-2


def test_preregistration():
    P = PREREGISTERED
    assert P["sigma_rel"][0] == 0.0 and P["sigma_rel"][-1] == 1.0
    assert P["rate_deterministic"] == -0.5 and P["rate_stochastic"] == -0.25
    assert set(P["rules"]) == {"adago", "namo", "namo_d"}


@pytest.fixture(scope="module")
def quick_result():
    return check_noise_adaptivity(quick=True, rng=0)


@pytest.mark.slow
def test_quick_check_passes_and_control_fails(quick_result):
    r = quick_result
    assert r.verdict, r.verdict_text
    assert r.negative_control["verdict"] is False
    assert r.status == "pass"
    assert r.measured["mean_grad_nuc_adago"].shape == (6, 3, 3)
    assert len(plot_noise_adaptivity(r).axes) == 3


@pytest.mark.slow
@pytest.mark.parametrize("mutant", ["adago_muon_horizon", "adago_frozen_accumulator", "namo_no_adaptation"])
def test_mutants_fail(mutant):
    from verify.mutants import MUTANTS

    mt = MUTANTS[mutant]
    r = check_noise_adaptivity(quick=True, rng=0, factories={mt.replaces: mt.factory})
    assert r.status != "pass", r.verdict_text
    assert r.measured[f"criteria_{'adago' if mt.replaces == 'adago' else mt.replaces}"]["stochastic"] is False
