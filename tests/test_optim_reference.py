"""Every optimizer through ``run`` against a hand-written reference loop (float64, exact SVD).

Each reference is a dozen lines of plain NumPy written from the update rule in
the docstring's source (the seed for AdaGO, the official code for NAMO / NAMO-D /
PolarGrad / Muon, the PyTorch algorithm boxes for the baselines); it loops over
seeds and steps one matrix at a time.  ``run`` steps the whole batch of seeds at
once.  They must agree to 1e-12.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from adago_theory import run
from adago_theory.optim import adagrad_norm, adago, adamw, muon, namo, namo_d, polargrad, sgd
from test_optim_lsq import LeastSquares

SEEDS = (0, 1, 2)
T = 25


def orth_ref(M):
    U, _, Vt = np.linalg.svd(M, full_matrices=False)
    return U @ Vt


def fro(A):
    return float(np.sqrt(np.sum(A * A)))


def compare(opt, ref_step, ref_init, *, problem=None, T=T):
    """Run ``opt`` on all seeds as one batch and the reference loop seed by seed; compare."""
    P = problem or LeastSquares(m=6, n=4, p=10, cond=10.0, seed=7)
    tr = run(opt, P, T, seeds=SEEDS, record="all")
    for r, seed in enumerate(SEEDS):
        X = P.initial_point(seed)[0]
        st = ref_init(X)
        fs, alphas = [float(P.value(X[None])[0])], [math.nan]
        for t in range(1, T + 1):
            G = P.grad(X[None])[0]
            X, st, a = ref_step(t, X, G, st)
            fs.append(float(P.value(X[None])[0]))
            alphas.append(a)
        scale = max(1.0, float(np.max(np.abs(X))))
        np.testing.assert_allclose(tr.X_final[r], X, rtol=1e-12, atol=1e-12 * scale)
        np.testing.assert_allclose(tr.f[:, r], fs, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(tr.alpha[1:, r], alphas[1:], rtol=1e-12, atol=1e-15)
    return tr


def test_adago_matches_reference_loop():
    eta, gamma, beta, v0 = 0.3, 2.0, 0.9, 0.5

    def eps(t):
        return 1e-3 / t**0.75

    def step(t, X, G, st):
        M, v2 = st
        M = beta * M + (1 - beta) * G
        v2 = v2 + min(np.linalg.norm(G) ** 2, gamma**2)
        alpha = max(eps(t), eta * min(np.linalg.norm(G), gamma) / math.sqrt(v2))
        return X - alpha * orth_ref(M), (M, v2), alpha

    tr = compare(adago(eta, gamma=gamma, eps=eps, beta=beta, v0=v0), step, lambda X: (0 * X, v0**2))
    assert tr.f[-1].max() < tr.f[0].min()


def test_adago_matches_reference_loop_with_clamp_active_and_v0_zero():
    # gamma below ||G|| at the start: min(||G||, gamma) = gamma; v0 = 0 gives alpha_1 = eta exactly
    eta, gamma, eps = 0.2, 0.5, 1e-4

    def step(t, X, G, st):
        M, v2 = st
        M = 0.95 * M + 0.05 * G
        v2 = v2 + min(fro(G) ** 2, gamma**2)
        alpha = max(eps, eta * min(fro(G), gamma) / math.sqrt(v2))
        return X - alpha * orth_ref(M), (M, v2), alpha

    tr = compare(adago(eta, gamma=gamma, eps=eps, v0=0.0), step, lambda X: (0 * X, 0.0))
    np.testing.assert_allclose(tr.alpha[1], eta, rtol=1e-15)


@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("scale", ["none", "jordan", "rms"])
def test_muon_matches_reference_loop(nesterov, scale):
    beta, wd = 0.9, 0.05

    def eta(t):
        return 0.2 / math.sqrt(t)

    m, n = 6, 4
    s = {"none": 1.0, "jordan": math.sqrt(max(1.0, m / n)), "rms": 0.2 * math.sqrt(max(m, n))}[scale]

    def step(t, X, G, B):
        B = beta * B + (1 - beta) * G
        U = (1 - beta) * G + beta * B if nesterov else B
        X = (1 - eta(t) * wd) * X - eta(t) * s * orth_ref(U)
        return X, B, eta(t) * s

    opt = muon(eta, beta=beta, nesterov=nesterov, orth="svd", scale=scale, weight_decay=wd)
    compare(opt, step, lambda X: 0 * X)


@pytest.mark.parametrize("polar_first", [False, True])
@pytest.mark.parametrize("beta", [0.0, 0.8])
def test_polargrad_matches_reference_loop(polar_first, beta):
    eta, wd = 0.05, 0.1

    def step(t, X, G, M):
        if polar_first:
            U = orth_ref(G)
            nu = np.linalg.svd(G, compute_uv=False).sum()       # ||G||_*
            M = beta * M + (1 - beta) * U
            return (1 - eta * wd) * X - eta * nu * M, M, eta * nu
        M = beta * M + (1 - beta) * G
        nu = np.linalg.svd(M, compute_uv=False).sum()           # ||M||_*
        return (1 - eta * wd) * X - eta * nu * orth_ref(M), M, eta * nu

    opt = polargrad(eta, beta=beta, polar_first=polar_first, weight_decay=wd, orth="svd")
    compare(opt, step, lambda X: 0 * X)


@pytest.mark.parametrize("clamp", [True, False])
def test_namo_matches_reference_loop(clamp):
    eta, b1, b2, eps, wd, sc = 0.05, 0.9, 0.99, 1e-8, 0.1, 0.2 * math.sqrt(6)

    def step(t, X, G, st):
        B, v = st
        B = b1 * B + (1 - b1) * G
        U = (1 - b1) * G + b1 * B
        v = b2 * v + (1 - b2) * fro(G) ** 2
        a = eta * math.sqrt(1 - b2**t) / (1 - b1**t + 1e-12) * fro(U) / (math.sqrt(v) + eps)
        s = min(a * sc, 1.0) if clamp else a * sc
        X = (1 - wd * (min(a, 1.0) if clamp else a)) * X - s * orth_ref(U)
        return X, (B, v), s

    opt = namo(eta, beta=b1, beta2=b2, eps=eps, orth="svd", clamp=clamp, weight_decay=wd)
    compare(opt, step, lambda X: (0 * X, 0.0))


@pytest.mark.parametrize("c", [0.0, 0.5, 1.0])
def test_namo_d_matches_reference_loop(c):
    eta, b1, b2, eps, wd, sc = 0.05, 0.9, 0.99, 1e-8, 0.1, 0.2 * math.sqrt(6)

    def step(t, X, G, st):
        B, V = st
        V = b2 * V + (1 - b2) * np.linalg.norm(G, axis=0) ** 2
        B = b1 * B + (1 - b1) * G
        U = (1 - b1) * G + b1 * B
        base = eta * math.sqrt(1 - b2**t) / (1 - b1**t + 1e-12)
        d = np.linalg.norm(U, axis=0) / (np.sqrt(V) + eps)
        if 0 < c <= 1:
            d = np.clip(d, c * d.mean(), d.mean() / c)
        decay = np.maximum(0.0, 1 - wd * np.minimum(d * base, 1.0))
        u = np.minimum(d * base * sc, 1.0)
        return X * decay - orth_ref(U) * u, (B, V), u.mean()

    opt = namo_d(eta, c=c, beta=b1, beta2=b2, eps=eps, orth="svd", weight_decay=wd)
    compare(opt, step, lambda X: (0 * X, np.zeros(X.shape[1])))


@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.8, False), (0.8, True)])
def test_sgd_matches_reference_loop(momentum, nesterov):
    eta = 0.3

    def step(t, X, G, B):
        if momentum == 0:
            return X - eta * G, B, eta
        B = momentum * B + G
        D = G + momentum * B if nesterov else B
        return X - eta * D, B, eta

    compare(sgd(eta, momentum=momentum, nesterov=nesterov), step, lambda X: 0 * X)


def test_adamw_matches_reference_loop():
    eta, b1, b2, eps, wd = 0.05, 0.9, 0.999, 1e-8, 0.01

    def step(t, X, G, st):
        m, v = st
        X = X * (1 - eta * wd)
        m = b1 * m + (1 - b1) * G
        v = b2 * v + (1 - b2) * G**2
        mhat, vhat = m / (1 - b1**t), v / (1 - b2**t)
        return X - eta * mhat / (np.sqrt(vhat) + eps), (m, v), eta

    compare(adamw(eta, beta1=b1, beta2=b2, eps=eps, weight_decay=wd), step, lambda X: (0 * X, 0 * X))


def test_adagrad_norm_matches_reference_loop():
    eta, b0 = 1.0, 0.1

    def step(t, X, G, b2):
        b2 = b2 + fro(G) ** 2
        return X - eta / math.sqrt(b2) * G, b2, eta / math.sqrt(b2)

    compare(adagrad_norm(eta, b0=b0), step, lambda X: b0**2)
