"""Properties every optimizer must have: purity, dtype, batch = single runs, descent, non-finite input.

(Skipping non-finite gradients, the ``skip_nonfinite`` wrapper, is tested in ``test_optim_skip_nonfinite.py``.)

One table of optimizers (optax ``_common_test.py`` style) runs through every test.
Closed forms checked by hand: Muon's shape factors, AdaGO's first step and its
step-size interval, NAMO-D's two extreme clamps.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adago_theory import run, to_numpy
from adago_theory.optim import (
    NonFiniteGradientError,
    adagrad_norm,
    adago,
    adamw,
    NonFiniteParameterError,
    init_all,
    muon,
    namo,
    namo_d,
    polargrad,
    sgd,
    step_all,
)
from test_optim_lsq import Factorization, LeastSquares

# name -> factory of an optimizer tuned loosely for LeastSquares(6, 4, cond=10): L_fro = 1
TABLE = {
    "muon-ns": lambda **k: muon(0.1, **k),
    "muon-svd-rms": lambda **k: muon(0.2, orth="svd", scale="rms", weight_decay=0.01, **k),
    "adago": lambda **k: adago(2.0, gamma=5.0, eps=1e-4, **k),
    "adago-ns-nesterov": lambda **k: adago(2.0, gamma=5.0, eps=1e-4, nesterov=True,
                                           orth=("newton-schulz", {"coeffs": "polar-express"}), **k),
    "namo": lambda **k: namo(0.3, **k),
    "namo_d": lambda **k: namo_d(0.3, c=0.5, weight_decay=0.01, **k),
    "polargrad": lambda **k: polargrad(0.1, **k),
    "polargrad-m-polar-first": lambda **k: polargrad(0.1, beta=0.5, polar_first=True, **k),
    "sgd": lambda **k: sgd(0.5, **k),
    "sgd-nesterov": lambda **k: sgd(0.3, momentum=0.5, nesterov=True, **k),
    "adamw": lambda **k: adamw(0.05, weight_decay=0.0, **k),
    "adagrad_norm": lambda **k: adagrad_norm(1.0, b0=0.5, **k),
}
NAMES = sorted(TABLE)


def _arrays(state):
    return {f: to_numpy(v).copy() for f, v in zip(state._fields, state) if hasattr(v, "shape")}


@pytest.mark.parametrize("name", NAMES)
def test_step_leaves_X_G_and_state_untouched(name, backend):
    opt = TABLE[name]()
    rng = np.random.default_rng(0)
    X = backend.asarray(rng.standard_normal((3, 6, 4)))
    G = backend.asarray(rng.standard_normal((3, 6, 4)))
    s0 = opt.init(X)
    X1, s1 = opt.step(X, G, s0)                    # a non-trivial state (momentum, accumulators)
    X1c, G_c, s1c = to_numpy(X1).copy(), to_numpy(G).copy(), _arrays(s1)
    count = s1.count
    opt.step(X1, G, s1)
    opt.step(X1, G, s1)
    np.testing.assert_array_equal(to_numpy(X1), X1c)
    np.testing.assert_array_equal(to_numpy(G), G_c)
    assert s1.count == count
    for f, v in _arrays(s1).items():
        np.testing.assert_array_equal(v, s1c[f], err_msg=f)


@pytest.mark.parametrize("name", NAMES)
def test_float32_stays_float32(name, kernel_backend):
    opt = TABLE[name]()
    rng = np.random.default_rng(1)
    X = kernel_backend.asarray(rng.standard_normal((2, 6, 4)), dtype="float32")
    s = opt.init(X)
    for _ in range(3):
        X, s = opt.step(X, 0.5 * X + 0.1, s)
    f32 = kernel_backend.dtype("float32")
    assert X.dtype == f32
    for f, v in zip(s._fields, s):
        if hasattr(v, "dtype") and f != "skipped":
            assert v.dtype == f32, f
    assert tuple(s.alpha.shape) == (2,)


@pytest.mark.parametrize("name", NAMES)
def test_a_batch_equals_single_runs(name):
    opt = TABLE[name]()
    rng = np.random.default_rng(2)
    R = 4
    X = rng.standard_normal((R, 6, 4))
    Gs = [rng.standard_normal((R, 6, 4)) for _ in range(4)]
    s = opt.init(X)
    Xb = X
    for G in Gs:
        Xb, s = opt.step(Xb, G, s)
    for r in range(R):
        x, sr = X[r], opt.init(X[r])
        for G in Gs:
            x, sr = opt.step(x, G[r], sr)
        np.testing.assert_allclose(Xb[r], x, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(s.alpha[r], sr.alpha, rtol=1e-12, atol=1e-15)
        assert sr.alpha.shape == ()


@pytest.mark.parametrize("name", NAMES)
def test_each_optimizer_decreases_f_on_least_squares(name):
    P = LeastSquares(m=6, n=4, p=10, cond=10.0, seed=0)
    tr = run(TABLE[name](), P, 150, seeds=(0, 1))
    gap0, gapT = tr.gap[0], tr.gap[-1]
    assert np.all(gapT < 0.2 * gap0), (gap0, gapT)


def test_step_all_decreases_a_two_matrix_problem_and_keeps_one_state_per_matrix():
    P = Factorization(seed=0)
    opt = adago(0.1, gamma=5.0, eps=1e-4)
    tr = run(opt, P, 200, seeds=(0, 1, 2))
    assert tr.alpha.shape == (201, 3, 2)
    assert np.all(tr.f[-1] < 0.05 * tr.f[0])
    # one optimizer per matrix gives the same as a shared one with the same hyperparameters
    tr2 = run((opt, adago(0.1, gamma=5.0, eps=1e-4)), P, 20, seeds=(0,))
    np.testing.assert_allclose(tr2.f[:, 0], tr.f[:21, 0], rtol=1e-12)


def test_step_all_equals_stepping_each_matrix_alone():
    rng = np.random.default_rng(3)
    opt = muon(0.1, orth="svd")
    Xs = (rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 4, 3)))
    Gs = (rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 4, 3)))
    out, states = step_all(opt, Xs, Gs, init_all(opt, Xs))
    for i in range(2):
        Xi, si = opt.step(Xs[i], Gs[i], opt.init(Xs[i]))
        np.testing.assert_array_equal(out[i], Xi)
        np.testing.assert_array_equal(states[i].M, si.M)


# ----------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("scale,m,n,expected", [
    ("none", 8, 2, 1.0), ("jordan", 8, 2, 2.0), ("jordan", 2, 8, 1.0),
    ("rms", 8, 2, 0.2 * math.sqrt(8)), ("rms", 3, 12, 0.2 * math.sqrt(12)),
])
def test_muon_shape_factor(scale, m, n, expected):
    # from X = 0 with beta = 0, X_1 = -eta * s * Orth(G); G = [I; 0] (or its transpose) is its own Orth
    G = np.eye(m, n)
    opt = muon(0.3, beta=0.0, nesterov=False, orth="svd", scale=scale)
    X1, s = opt.step(np.zeros((m, n)), G, opt.init(np.zeros((m, n))))
    np.testing.assert_allclose(X1, -0.3 * expected * G, rtol=1e-14)
    assert float(s.alpha) == pytest.approx(0.3 * expected, rel=1e-14)


@given(
    eta=st.floats(1e-3, 10.0), eps=st.floats(0.0, 1.0), gamma=st.floats(1e-2, 10.0),
    v0=st.floats(0.0, 3.0), scales=st.lists(st.floats(0.0, 20.0), min_size=1, max_size=6),
)
@settings(max_examples=40, deadline=None)
def test_adago_step_size_lies_in_eps_and_max_eps_eta(eta, eps, gamma, v0, scales):
    # [DERIVED, theory.md 1.2]: v_t >= min(||G_t||, gamma), so alpha_t in [eps, max(eps, eta)]
    opt = adago(eta, gamma=gamma, eps=eps, v0=v0, orth="svd")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 4, 3))
    s = opt.init(X)
    for c in scales:
        X, s = opt.step(X, c * rng.standard_normal(X.shape), s)
        a = np.asarray(s.alpha)
        assert np.all(a >= eps * (1 - 1e-15)) and np.all(a <= max(eps, eta) * (1 + 1e-15))


def test_adago_first_step_from_empty_accumulator_is_eta():
    # v0 = 0: v_1 = min(||G_1||, gamma), so alpha_1 = max(eps, eta) whatever ||G_1|| and gamma
    for g in (1e-3, 1.0, 1e3):
        opt = adago(0.7, gamma=2.0, eps=1e-5, v0=0.0, orth="svd")
        X = np.zeros((2, 5, 3))
        G = g * np.random.default_rng(1).standard_normal(X.shape)
        _, s = opt.step(X, G, opt.init(X))
        np.testing.assert_allclose(s.alpha, 0.7, rtol=1e-14)
        np.testing.assert_allclose(s.v_sq, np.minimum(np.sum(G * G, axis=(1, 2)), 4.0), rtol=1e-14)


def test_adago_zero_gradient_with_v0_zero_gives_eps_and_no_nan():
    opt = adago(0.7, gamma=2.0, eps=1e-3, v0=0.0)
    X = np.ones((2, 3, 3))
    X1, s = opt.step(X, np.zeros_like(X), opt.init(X))
    np.testing.assert_array_equal(X1, X)           # Orth(0) = 0
    np.testing.assert_allclose(s.alpha, 1e-3)


def test_namo_d_clamp_c1_gives_equal_columns_and_c0_gives_raw_ratios():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((7, 5))
    G = rng.standard_normal((7, 5)) * np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    _, s1 = namo_d(1e-3, c=1.0, orth="svd").step(X, G, namo_d(1e-3, c=1.0).init(X))
    np.testing.assert_allclose(s1.alpha_cols, s1.alpha_cols[0], rtol=1e-14)
    opt0 = namo_d(1e-3, c=0.0, beta=0.9, beta2=0.99, eps=0.0, nesterov=False, orth="svd", scale="none")
    _, s0 = opt0.step(X, G, opt0.init(X))
    # first step, no Nesterov: U = (1-b1) G, V = (1-b2) colnorm^2, base = eta sqrt(1-b2)/(1-b1+1e-12)
    # so d_j * base = eta * (1-b1)/(1-b1+1e-12) for every column: the bias correction cancels the scale
    np.testing.assert_allclose(s0.alpha_cols, 1e-3 * 0.1 / (0.1 + 1e-12), rtol=1e-12)


# ----------------------------------------------------------------------------- non-finite gradients


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nonfinite_gradient_raises(name, bad):
    opt = TABLE[name]()
    X = np.ones((3, 6, 4))
    G = np.ones_like(X)
    G[1, 2, 3] = bad
    with pytest.raises(NonFiniteGradientError, match=r"NaN or Inf.*\[\[1\]\]"):
        opt.step(X, G, opt.init(X))
    with pytest.raises(ValueError):                   # it is a ValueError
        opt.step(X[1], G[1], opt.init(X[1]))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_nonfinite_parameter_raises_like_a_gradient(name, bad):
    opt = TABLE[name]()
    X = np.ones((3, 6, 4))
    s = opt.init(X)
    X[2, 0, 1] = bad
    with pytest.raises(NonFiniteParameterError, match=r"X contains NaN or Inf.*\[\[2\]\]"):
        opt.step(X, np.ones_like(X), s)
    assert issubclass(NonFiniteParameterError, ValueError)
