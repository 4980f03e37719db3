"""The noise-dominated chain: its derived constants, the chain lemmas, the oracle, and the T^-1/4 design."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from scipy import integrate

from problems import CHAIN_CONSTANTS, make_noise_dominated

x = sp.symbols("x", real=True)
_PSI = sp.exp(1 - 1 / (2 * x - 1) ** 2)          # for x > 1/2


def test_psi_sup_bounds_by_sympy_and_grid():
    """Derive sup Psi' and sup |Psi''| symbolically in w = (2x - 1)^-2 (x > 1/2 <-> w > 0)."""
    w = sp.symbols("w", positive=True)
    d1, d2 = sp.diff(_PSI, x), sp.diff(_PSI, x, 2)
    back = (1 + 1 / sp.sqrt(w)) / 2
    g1 = sp.simplify(d1.subs(x, back))
    g2 = sp.simplify(d2.subs(x, back))
    assert sp.simplify(g2 - sp.exp(1 - w) * (16 * w ** 3 - 24 * w ** 2)) == 0
    c1 = [c for c in sp.solve(sp.diff(g1, w), w) if c > 0]
    assert c1 == [sp.Rational(3, 2)]                                   # 2x - 1 = sqrt(2/3)
    assert float(g1.subs(w, c1[0])) == pytest.approx(CHAIN_CONSTANTS["psi1_max"], rel=1e-14)
    c2 = [c for c in sp.solve(sp.diff(g2, w), w) if c > 0]
    assert sorted(c2, key=float) == sorted([(9 - sp.sqrt(33)) / 4, (9 + sp.sqrt(33)) / 4], key=float)
    best = max(abs(float(g2.subs(w, c))) for c in c2)                  # g2 -> 0 at w -> 0 and w -> oo
    assert best == pytest.approx(CHAIN_CONSTANTS["psi2_max"], rel=1e-14)
    grid = np.linspace(0.5 + 1e-4, 20, 400001)
    f2 = sp.lambdify(x, d2, "numpy")(grid)
    assert np.max(np.abs(f2)) <= CHAIN_CONSTANTS["psi2_max"] and np.max(np.abs(f2)) >= 0.9999 * best
    assert CHAIN_CONSTANTS["gamma_inf"] == pytest.approx(math.e ** 1.5 + math.sqrt(108 * math.pi), rel=1e-14)
    assert CHAIN_CONSTANTS["gamma_inf"] < 23 and CHAIN_CONSTANTS["ell1"] < 152


def _reference_chain(u):
    """F_K(u) by a plain loop, Phi by numerical quadrature (independent of erfc)."""
    def Psi(v):
        return math.exp(1 - 1 / (2 * v - 1) ** 2) if v > 0.5 else 0.0

    def Phi(v):
        return math.sqrt(math.e) * integrate.quad(lambda t: math.exp(-t * t / 2), -np.inf, v, epsabs=1e-14)[0]

    prev, total = 1.0, 0.0
    for ui in u:
        total += Psi(-prev) * Phi(-ui) - Psi(prev) * Phi(ui)
        prev = ui
    return total


def test_value_matches_the_chain_definition():
    P = make_noise_dominated(200, m=2)
    K, lam = P.info["K"], P.info["lam"]
    rng = np.random.default_rng(0)
    U = rng.uniform(-1.5, 1.5, size=(3, K))
    X = np.zeros((3,) + P.shapes[0])
    X[:, 0, :K] = lam * U
    X[:, 1, :] = rng.standard_normal(P.shapes[0][1])          # other rows do not matter
    ref = [P.info["scale_f"] * _reference_chain(u) for u in U]
    np.testing.assert_allclose(P.value(X), ref, rtol=1e-10)


def _points(P, U):
    X = np.zeros((len(U),) + P.shapes[0])
    X[:, 0, :P.info["K"]] = P.info["lam"] * U
    return X


def test_large_gradient_and_zero_chain_lemmas():
    P = make_noise_dominated(3000, m=1)
    K, eps = P.info["K"], P.info["eps"]
    rng = np.random.default_rng(1)
    # large gradient: if some |u_j| < 1 then ||grad f|| > eps  (try points where exactly one coordinate is short)
    U = rng.choice([-1, 1], size=(400, K)) * rng.uniform(1.0, 3.0, size=(400, K))
    j = rng.integers(0, K, size=400)
    U[np.arange(400), j] = rng.uniform(-0.999, 0.999, size=400)
    G = P.grad(_points(P, U))
    assert np.all(np.linalg.norm(G[:, 0, :], axis=1) > eps)
    # zero chain: with u_i = 0 beyond k (and |u| <= 1/2 at k), the gradient vanishes beyond k + 1
    for k in (0, 3, K // 2):
        U = np.zeros((5, K))
        U[:, :k] = rng.uniform(0.6, 2.0, size=(5, k))
        g = P.grad(_points(P, U))[:, 0, :K]
        assert np.all(g[:, k + 1:] == 0.0) and np.all(np.abs(g[:, k]) > 0)
    assert np.all(P.grad(np.zeros((1,) + P.shapes[0]))[0, 0, 1:] == 0.0)


def test_hessian_norm_below_L():
    P = make_noise_dominated(500, m=1, L=2.0)
    K, lam = P.info["K"], P.info["lam"]
    rng = np.random.default_rng(2)
    U = rng.uniform(-1.5, 1.5, size=(8, K))
    U[:, ::2] = rng.uniform(0.55, 0.9, size=U[:, ::2].shape)   # where Psi'' is large
    X = _points(P, U)
    h = 1e-6 * lam
    worst = 0.0
    for r in range(len(U)):
        H = np.empty((K, K))
        for i in range(K):
            E = np.zeros((2,) + P.shapes[0])
            E[0, 0, i], E[1, 0, i] = h, -h
            g = P.grad(X[r:r + 1] + E)[:, 0, :K]
            H[i] = (g[0] - g[1]) / (2 * h)
        worst = max(worst, np.linalg.norm(0.5 * (H + H.T), 2))
    assert worst <= 2.0 * (1 + 1e-6)
    assert worst >= 0.05 * 2.0                                  # the bound is not vacuous


def test_delta_certifies_the_initial_gap_and_is_nearly_tight():
    P = make_noise_dominated(1000, m=1, Delta=3.0)
    K, lam = P.info["K"], P.info["lam"]
    f0 = float(P.value(np.zeros((1,) + P.shapes[0]))[0])
    far = float(P.value(_points(P, np.full((1, K), 40.0)))[0])     # u -> infinity: Psi -> e, Phi -> sqrt(2 pi e)
    assert f0 - far <= P.info["Delta"] <= 3.0
    assert f0 - far >= 0.99 * P.info["Delta"]
    rng = np.random.default_rng(3)
    vals = P.value(_points(P, rng.uniform(-5, 5, size=(500, K))))
    assert np.all(f0 - vals <= P.info["Delta"])


def test_oracle_variance_is_exact_and_below_sigma2():
    P = make_noise_dominated(100, m=1)
    K, lam, p = P.info["K"], P.info["lam"], P.info["p"]
    assert p == K / 200
    U = np.zeros((1, K))
    U[0, :2] = [1.3, 0.8]                                      # prog_1/4 = 2: coordinate 3 is the noisy one
    X1 = _points(P, U)
    g = P.grad(X1)[0, 0, :K]
    S = 60000
    for b in (1, 5):
        G = P.stochastic_grad(np.repeat(X1, S, axis=0), 10 + b, batch_size=b)[:, 0, :K]
        assert np.all(G[:, [0, 1, 3]] == g[[0, 1, 3]])         # only coordinate 3 is random
        V = g[2] ** 2 * (1 - p) / (p * b)
        dev2 = (G[:, 2] - g[2]) ** 2
        assert abs(dev2.mean() - V) <= 5 * dev2.std() / np.sqrt(S)
        assert abs(G[:, 2].mean() - g[2]) <= 5 * G[:, 2].std() / np.sqrt(S)
        assert V <= P.constants.sigma2 / b


def test_design_scales_as_T_to_the_minus_quarter():
    Ts = np.array([1e3, 1e4, 1e5, 1e6])
    Ps = [make_noise_dominated(int(T), m=1, sigma2=2.0, L=0.5, Delta=4.0) for T in Ts]
    eps = np.array([P.info["eps"] for P in Ps])
    K = np.array([P.info["K"] for P in Ps])
    slope_eps = np.polyfit(np.log(Ts), np.log(eps), 1)[0]
    slope_K = np.polyfit(np.log(Ts), np.log(K), 1)[0]
    assert slope_eps == pytest.approx(-0.25, abs=0.02)
    assert slope_K == pytest.approx(0.5, abs=0.05)
    for P in Ps:
        assert P.constants.sigma2 <= 2.0 and P.info["Delta"] <= 4.0 and P.info["p"] <= 0.5
        assert P.constants.sigma2 >= 0.5 * 2.0 and P.info["Delta"] >= 0.5 * 4.0   # the budgets are used
        assert P.info["p"] * P.info["T"] <= P.info["K"] / 2 + 1e-9


def test_adago_stays_above_the_gradient_floor_until_the_chain_is_solved():
    """The lower-bound mechanism, measured: AdaGO (zero-respecting) never gets ||grad f|| <= eps
    while the last chain coordinate is untouched, and rarely touches it within T calls."""
    run_mod = pytest.importorskip("adago_theory.run")
    optim = pytest.importorskip("adago_theory.optim")
    T = 400
    P = make_noise_dominated(T, m=2)
    K, eps = P.info["K"], P.info["eps"]
    lam = P.info["lam"]
    seeds = tuple(range(24))
    tr = run_mod.run(optim.adago(2.0 * lam, beta=0.0, gamma=1e6, eps=1e-3 * lam), P, T, seeds=seeds,
                     stochastic=True, record="all")
    untouched = np.abs(tr.X_final[:, 0, K - 1]) < 0.25 * lam      # never revealed (|u_K| <= 1/4)
    assert np.all(np.min(tr.grad_fro[:, untouched], axis=0) > eps)
    assert np.all(np.min(tr.grad_nuc[:, untouched], axis=0) > eps)
    # P(all K found) <= (e/4)^(K/2); allow 5 binomial standard deviations
    q = (math.e / 4) ** (K / 2)
    assert np.sum(~untouched) <= len(seeds) * q + 5 * math.sqrt(len(seeds) * q * (1 - q)) + 1


@pytest.mark.parametrize("kwargs, name", [
    (dict(T=0), "T"),
    (dict(sigma2=0.0), "sigma2"),
    (dict(L=-1.0), "L"),
    (dict(Delta=0.0), "Delta"),
    (dict(n=2), "n"),
    (dict(m=0), "m"),
    (dict(T=10, sigma2=1e-12), "noise-dominated"),
])
def test_bad_arguments(kwargs, name):
    args = dict(T=1000)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        make_noise_dominated(**args)
