"""verify.adago_rate (issue 12, item 1): the real AdaGO passes in quick mode, the mutants are killed, the bound and
its SymPy form agree, the AdaGrad lemma holds by hand, the measuring loop matches a hand-written AdaGO."""

import math

import numpy as np
import pytest

from verify.adago_rate import (PREREGISTERED, adago_schedule, adago_stochastic_bound,
                               adago_stochastic_bound_expressions, check_adago_rate, plot_adago_rate)
from verify.result import CheckResult


@pytest.fixture(scope="module")
def quick():
    return check_adago_rate(quick=True, rng=2024)


def test_real_adago_passes_quick_with_the_adaptive_branch_on(quick):
    assert quick.passed and quick.status == "pass", quick.verdict_text
    frac = np.asarray(quick.measured["adaptive_fraction"])
    Ts = np.asarray(quick.measured["horizons"])
    assert np.all(frac[Ts >= PREREGISTERED["fit_T_min"]] >= 0.5)
    assert np.all(np.asarray(quick.measured["lemma_ratio"]) <= 1.0 + 1e-9)
    assert all(quick.params["eps_below_eta_squared"])
    assert quick.params["preregistered"] is PREREGISTERED
    assert quick.negative_control["verdict"] is False          # Muon on the schedule fails
    assert quick.fit["mean"].boot_method.startswith("hierarchical")
    assert quick.measured["seconds"] < 15


def test_record_round_trips_and_plots(quick, tmp_path):
    back = CheckResult.from_json(quick.to_json())
    assert back.verdict == quick.verdict
    fig = plot_adago_rate(back)
    assert len(fig.axes) == 3


FAST_MUTANTS = ["adago_muon_horizon", "adago_frobenius_direction"]
SLOW_MUTANTS = ["adago_eta_twice", "adago_frozen_accumulator", "adago_reset_accumulator", "adago_no_floor",
                "adago_squared_ratio", "adago_momentum_sign", "adago_ns1"]


def _kill(name):
    from verify.mutants import MUTANTS

    r = check_adago_rate(quick=True, rng=2024, factories={"adago": MUTANTS[name].factory})
    assert not r.passed, f"{name} survived: {r.verdict_text}"


@pytest.mark.parametrize("name", FAST_MUTANTS)
def test_mutants_are_killed_in_quick_mode(name):
    _kill(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW_MUTANTS)
def test_more_mutants_are_killed_in_quick_mode(name):
    _kill(name)


def test_schedule_rule_by_hand():
    s = adago_schedule(256, Delta=8.0, L_op=2.0, sigma=0.5)
    c = math.sqrt(8.0 / 2.0)
    cb = (math.sqrt(16.0) / 0.5) ** (2 / 3)
    assert s["eta"] == pytest.approx(c / 4) and s["eps"] == pytest.approx(c / 64)
    assert s["beta"] == pytest.approx(1 - cb / 16)
    assert s["eps"] < s["eta"] ** 2                      # c T^(1/4) = 8 > 1
    assert adago_schedule(1, Delta=1.0, L_op=1.0, sigma=1e-3)["beta"] == 0.0   # 1 - beta clipped at 1
    for bad in (dict(T=0), dict(T=1.5), dict(Delta=0.0), dict(L_op=-1.0), dict(sigma=math.nan)):
        kw = dict(T=10, Delta=1.0, L_op=1.0, sigma=1.0)
        kw.update(bad)
        T = kw.pop("T")
        with pytest.raises(ValueError, match=next(iter(bad))):
            adago_schedule(T, **kw)


def test_bound_equals_its_sympy_form_and_has_order_minus_quarter():
    import sympy as sp

    E = adago_stochastic_bound_expressions()
    assert E["exponent"] == sp.Rational(-1, 4)
    x = E["symbols"]["x"]
    assert sp.simplify(E["lemma_gap_derivative"] - x / (1 - x)) == 0
    assert E["lemma_gap"].subs(x, 0) == 0
    sy = E["symbols"]
    vals = {sy["c"]: 1.7, sy["c_beta"]: 2.2, sy["Delta"]: 3.0, sy["g0"]: 2.5, sy["L_op"]: 2.0, sy["L_F"]: 1.2,
            sy["sigma"]: 0.8, sy["r"]: 6, sy["gamma"]: 10.0, sy["v0"]: 1e-6}
    for T in (100, 10_000):
        eta, eps = 1.7 * T ** -0.25, 1.7 * T ** -0.75
        beta = 1 - 2.2 / math.sqrt(T)
        num = adago_stochastic_bound(T, Delta=3.0, grad0_fro=2.5, L_op=2.0, L_fro=1.2, sigma2=0.64, r=6, eps=eps,
                                     eta=eta, beta=beta, gamma=10.0, v0=1e-6)
        sym = float(E["B"].subs(vals).subs(sy["T"], T))
        assert num == pytest.approx(sym, rel=1e-10)
    leading = E["leading"]
    assert leading.is_positive and not leading.has(sy["T"])
    with pytest.raises(ValueError, match="beta"):
        adago_stochastic_bound(10, Delta=1, grad0_fro=1, L_op=1, L_fro=1, sigma2=1, r=1, eps=0.1, eta=0.1,
                               beta=1.0, gamma=1.0, v0=1.0)
    with pytest.raises(ValueError, match="v0"):
        adago_stochastic_bound(10, Delta=1, grad0_fro=1, L_op=1, L_fro=1, sigma2=1, r=1, eps=0.1, eta=0.1,
                               beta=0.5, gamma=1.0, v0=0.0)


def test_adagrad_log_lemma_on_random_sequences():
    """sum_t a_t / S_t <= log(S_T / S_0), S_t = S_0 + sum_{s<=t} a_s (the lemma the bound rests on), by hand."""
    g = np.random.default_rng(0)
    for _ in range(200):
        S0 = 10 ** g.uniform(-6, 1)
        a = g.exponential(size=g.integers(1, 300)) * 10 ** g.uniform(-3, 3)
        S = S0 + np.cumsum(a)
        assert np.sum(a / S) <= math.log(S[-1] / S0) * (1 + 1e-12)


def test_measuring_loop_matches_a_hand_written_adago():
    """trajectories' step sizes and lemma right-hand side against AdaGO's recurrence written out here."""
    from adago_theory.optim import adago
    from problems import make_matrix_least_squares
    from verify._stoch_rate import StackedLeastSquares, adagrad_log_lemma_rhs, trajectories

    probs = [make_matrix_least_squares(5, 3, kappa_A=4.0, sigma2=0.5, rng=i) for i in range(2)]
    o = StackedLeastSquares(probs, [3, 4])
    for i, P in enumerate(probs):      # the stacked oracle is the problems' own gradient
        X = o.X0[2 * i:2 * i + 2]
        np.testing.assert_allclose(StackedLeastSquares([P], [3, 4]).grad(X), np.asarray(P.grad(X)), rtol=1e-12)
    eta, eps, beta, gamma, v0, T = 0.3, 0.01, 0.8, 2.0, 1e-6, 40
    tr = trajectories(adago(eta, gamma=gamma, eps=eps, beta=beta, v0=v0), o, T, seed=7)
    # replay by hand with the same noise
    rng = np.random.default_rng(np.random.SeedSequence(7))
    X, M, v2 = o.X0.copy(), np.zeros_like(o.X0), np.full(4, v0 * v0)
    for t in range(T):
        G = o.sgrad(X, rng, o.grad(X))
        M = beta * M + (1 - beta) * G
        n = np.minimum(np.linalg.norm(G, axis=(-2, -1)), gamma)
        v2 = v2 + n * n
        alpha = np.maximum(eps, eta * n / np.sqrt(v2))
        U, _, Vt = np.linalg.svd(M, full_matrices=False)
        X = X - alpha[:, None, None] * (U @ Vt)
        np.testing.assert_allclose(tr["step_op"][t], alpha, rtol=1e-10)
    rhs = adagrad_log_lemma_rhs(tr["gfro"], eps=eps, eta=eta, gamma=gamma, v0=v0)
    np.testing.assert_allclose(rhs, eps * eps * T + eta * eta * np.log(v2 / v0**2), rtol=1e-12)
    assert np.all(np.sum(tr["step_op"] ** 2, axis=0) <= rhs)
