"""The mutant catalogue: each mutant has its replaced factory's signature, differs from it, and does what its
docstring says (checked against hand-written NumPy loops with an SVD polar factor)."""

import inspect

import numpy as np
import pytest

from adago_theory import optim
from verify import mutants as mm
from verify._factories import NAMES
from verify.mutants import MUTANTS, Mutant

#: Hyperparameters that make every mechanism act within a few steps (||G|| > gamma; the floor eps above the
#: adaptive part from step 3 on, gradient norms that change from step to step; several distinct column norms
#: for NAMO-D).
TYPICAL = {
    "adago": ((0.1,), {"gamma": 0.5, "eps": 0.06, "beta": 0.9, "orth": "svd"}),
    "namo": ((0.05,), {"orth": "svd"}),
    "namo_d": ((0.05,), {"c": 0.75, "orth": "svd"}),
    "polargrad": ((0.02,), {"orth": "svd"}),
}


def _grads(seed=0, R=2, m=6, n=4, T=4):
    rng = np.random.default_rng(seed)
    X0 = rng.standard_normal((R, m, n))
    Gs = [rng.standard_normal((R, m, n)) * np.linspace(0.5, 3.0, n) * (1.0 + 0.7 * t) for t in range(T)]
    return X0, Gs


def _run(opt, X0, Gs):
    X, s = X0, opt.init(X0)
    for G in Gs:
        X, s = opt.step(X, G, s)
    return X, s


def _polar(M):
    U, _, Vt = np.linalg.svd(M, full_matrices=False)
    return U @ Vt


def test_catalogue_shape():
    assert len(MUTANTS) >= 12
    for name, m in MUTANTS.items():
        assert isinstance(m, Mutant) and m.name == name
        assert m.replaces in NAMES
        assert m.violates and m.expected_killers
        doc = m.factory.__doc__ or ""
        assert "Violates" in doc and "Expected killers" in doc, name
        for check, why in m.equivalent_for:
            assert isinstance(check, str) and why
            assert check not in m.expected_killers, (name, check)
        for check in m.expected_killers:  # the docstring names every expected killer
            assert f"``{check}``" in doc, (name, check)


@pytest.mark.parametrize("name", list(MUTANTS))
def test_signature_matches_replaced_factory(name):
    m = MUTANTS[name]
    real = inspect.signature(getattr(optim, m.replaces)).parameters
    mut = inspect.signature(m.factory).parameters
    named = {k: p for k, p in mut.items() if p.kind is not inspect.Parameter.VAR_KEYWORD}
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in mut.values()), "unknown keywords must be forwarded"
    for k, p in named.items():
        assert k in real, f"{name}: parameter {k} is not the real factory's"
        assert p.kind == real[k].kind and p.default == real[k].default, (name, k)
    required = [k for k, p in real.items() if p.default is inspect.Parameter.empty]
    assert all(k in named for k in required)
    # every explicitly named keyword of the real factory except the kernel's plumbing is spelled out
    spelled = set(real) - {"nonfinite"}
    assert spelled <= set(named), (name, spelled - set(named))


@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutant_differs_from_real(name):
    m = MUTANTS[name]
    args, kw = TYPICAL[m.replaces]
    X0, Gs = _grads()
    real = getattr(optim, m.replaces)(*args, **kw)
    mut = m.factory(*args, **kw)
    assert isinstance(mut, optim.Optimizer)
    Xr, _ = _run(real, X0, Gs)
    Xm, sm = _run(mut, X0, Gs)
    assert np.all(np.isfinite(Xm))
    assert np.max(np.abs(Xm - Xr)) > 1e-6 * np.max(np.abs(X0 - Xr)), name
    assert sm.count == len(Gs)


@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutant_validates_like_the_real_factory(name):
    m = MUTANTS[name]
    args, kw = TYPICAL[m.replaces]
    with pytest.raises((ValueError, TypeError)):
        m.factory(-1.0, **kw)
    with pytest.raises((ValueError, TypeError)):
        m.factory(*args, **kw, beta=1.5)


def test_adago_variant_with_no_mistake_is_adago():
    X0, Gs = _grads(3)
    args, kw = TYPICAL["adago"]
    real = optim.adago(*args, **kw)
    same = mm._adago_variant(args[0], kw["gamma"], kw["eps"], kw["beta"], 1e-6, False, "svd", {})
    Xr, sr = _run(real, X0, Gs)
    Xs, ss = _run(same, X0, Gs)
    np.testing.assert_allclose(Xs, Xr, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ss.v_sq, sr.v_sq, rtol=1e-12)
    np.testing.assert_allclose(ss.alpha, sr.alpha, rtol=1e-12)


def _adago_ref(X0, Gs, eta, gamma, eps, beta, v0=1e-6, *, eta_twice=False, accumulate="sum", clamp=True,
               root=True, floor=True, sign=1.0, direction="polar"):
    """AdaGO by hand, one matrix at a time, with the mistakes as options."""
    X = X0.copy()
    for r in range(X0.shape[0]):
        M = np.zeros(X0.shape[1:])
        vsq = v0 * v0
        for t, Gb in enumerate(Gs, 1):
            G = Gb[r]
            M = beta * sign * M + (1 - beta) * G
            g2 = float(np.sum(G * G))
            c2 = min(g2, gamma * gamma) if clamp else g2
            if accumulate in ("sum", "reset") or t == 1:
                vsq = vsq + c2
            ratio = np.sqrt(c2) / np.sqrt(vsq) if root else c2 / vsq
            alpha = max(eps, eta * ratio) if floor else eta * ratio
            if accumulate == "reset":
                vsq = v0 * v0
            O = _polar(M) if direction == "polar" else M / np.linalg.norm(M)
            X[r] = X[r] - (eta if eta_twice else 1.0) * alpha * O
    return X


@pytest.mark.parametrize("name, options", [
    ("adago_eta_twice", {"eta_twice": True}),
    ("adago_frozen_accumulator", {"accumulate": "first"}),
    ("adago_reset_accumulator", {"accumulate": "reset"}),
    ("adago_no_gamma_clamp", {"clamp": False}),
    ("adago_squared_ratio", {"root": False}),
    ("adago_no_floor", {"floor": False}),
    ("adago_momentum_sign", {"sign": -1.0}),
    ("adago_frobenius_direction", {"direction": "frobenius"}),
])
def test_adago_mutants_against_hand_loop(name, options):
    X0, Gs = _grads(1)
    eta, gamma, eps, beta = 0.1, 0.5, 0.08, 0.9
    got, _ = _run(MUTANTS[name].factory(eta, gamma=gamma, eps=eps, beta=beta, orth="svd"), X0, Gs)
    want = _adago_ref(X0, Gs, eta, gamma, eps, beta, **options)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_adago_no_momentum_against_hand_loop():
    X0, Gs = _grads(2)
    got, _ = _run(MUTANTS["adago_no_momentum"].factory(0.1, gamma=0.5, eps=0.08, beta=0.9), X0, Gs)
    np.testing.assert_allclose(got, _adago_ref(X0, Gs, 0.1, 0.5, 0.08, 0.0), rtol=1e-10, atol=1e-12)


def test_adago_ns1_is_one_cubic_step():
    X0, Gs = _grads(4, T=1)
    eta, gamma, eps = 0.1, 0.5, 0.0
    got, s = _run(MUTANTS["adago_ns1"].factory(eta, gamma=gamma, eps=eps, beta=0.0), X0, Gs)
    for r in range(X0.shape[0]):
        G = Gs[0][r]
        W = G / np.linalg.norm(G)
        O = 1.5 * W - 0.5 * W @ W.T @ W
        c = min(np.linalg.norm(G), gamma)
        alpha = eta * c / np.sqrt(1e-12 + c * c)
        np.testing.assert_allclose(got[r], X0[r] - alpha * O, rtol=1e-10, atol=1e-12)
        sv = np.linalg.svd(X0[r] - got[r], compute_uv=False) / alpha
        assert sv.min() < 0.9  # not orthogonal: the mistake is visible


def test_adago_muon_horizon_steps_eta():
    X0, Gs = _grads(5)
    got, _ = _run(MUTANTS["adago_muon_horizon"].factory(0.1, gamma=0.5, eps=0.08, beta=0.9), X0, Gs)
    X = X0.copy()
    M = np.zeros_like(X0)
    for G in Gs:
        M = 0.9 * M + 0.1 * G
        X = X - 0.1 * np.stack([_polar(Mi) for Mi in M])
    np.testing.assert_allclose(got, X, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, nu", [("polargrad_frobenius", "fro"), ("polargrad_no_scale", "one")])
def test_polargrad_mutants_against_hand_loop(name, nu):
    X0, Gs = _grads(6)
    eta = 0.02
    got, _ = _run(MUTANTS[name].factory(eta), X0, Gs)
    X = X0.copy()
    for G in Gs:
        for r in range(X.shape[0]):
            scale = np.linalg.norm(G[r]) if nu == "fro" else 1.0
            X[r] = X[r] - eta * scale * _polar(G[r])
    np.testing.assert_allclose(got, X, rtol=1e-10, atol=1e-12)


def test_namo_no_adaptation_is_clamped_muon_with_rms_scale():
    X0, Gs = _grads(7)
    for eta in (0.05, 2.0):  # 2.0: eta * 0.2 * sqrt(6) > 1, the clamp acts
        got, _ = _run(MUTANTS["namo_no_adaptation"].factory(eta, orth="svd"), X0, Gs)
        X, B = X0.copy(), np.zeros_like(X0)
        step = min(eta * 0.2 * np.sqrt(6), 1.0)
        for G in Gs:
            B = 0.95 * B + 0.05 * G
            U = 0.05 * G + 0.95 * B
            X = X - step * np.stack([_polar(Ui) for Ui in U])
        np.testing.assert_allclose(got, X, rtol=1e-10, atol=1e-12)


def test_namo_d_no_clamp_breaks_the_condition_bound():
    rng = np.random.default_rng(8)
    X0 = rng.standard_normal((2, 6, 4))
    signal = rng.standard_normal((2, 6, 4)) * np.array([1.0, 1.0, 0.0, 0.0])  # columns 0, 1: a steady gradient
    Gs = [signal + rng.standard_normal((2, 6, 4)) * np.array([0.01, 0.01, 1.0, 1.0]) for _ in range(6)]
    c = 0.75
    _, s = _run(MUTANTS["namo_d_no_clamp"].factory(0.05, c=c, orth="svd"), X0, Gs)
    u = np.asarray(s.alpha_cols)
    kappa = u.max(-1) / u.min(-1)
    assert np.max(kappa) > 1.0 / c**2  # the real NAMO-D keeps kappa <= 1/c^2
    _, s_real = _run(optim.namo_d(0.05, c=c, orth="svd"), X0, Gs)
    u = np.asarray(s_real.alpha_cols)
    assert np.max(u.max(-1) / u.min(-1)) <= 1.0 / c**2 * (1 + 1e-12)


def test_mutants_for_and_equivalence_reason():
    ad = mm.mutants_for("adago")
    assert ad and all(m.replaces == "adago" for m in ad.values())
    m = Mutant("x", "adago", optim.adago, "v", ("adago_rate",), (("ns_error", "never runs an optimizer"),))
    assert mm.equivalence_reason(m, "ns_error") == "never runs an optimizer"
    assert mm.equivalence_reason(m, "adago_rate") is None


@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutant_takes_per_run_hyperparameters(name):
    """Array hyperparameters over the run axis (as the kernel's factories take them): run r of the batch equals
    a run with the scalar hyperparameters of r."""
    m = MUTANTS[name]
    args, kw = TYPICAL[m.replaces]
    arr = {k: np.array([v, 1.5 * v]) for k, v in kw.items() if k in ("gamma", "eps")}
    eta = np.array([args[0], 1.5 * args[0]])
    X0, Gs = _grads(9, T=3)
    Xb, _ = _run(m.factory(eta, **{**kw, **arr}), X0, Gs)
    for r in range(2):
        kr = {**kw, **{k: float(v[r]) for k, v in arr.items()}}
        Xr, _ = _run(m.factory(float(eta[r]), **kr), X0[r], [G[r] for G in Gs])
        np.testing.assert_allclose(Xb[r], Xr, rtol=1e-12, atol=1e-13)
