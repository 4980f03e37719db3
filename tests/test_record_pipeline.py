"""Cheap recording: the Gram route of ``matrix_norms`` and ``run``'s recording thread (issue 13 item 4).

References are independent: ``numpy.linalg.svd`` for the norms, and ``run`` with the recording
thread switched off (every row computed in the loop, as before) for the pipeline.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import importlib
from adago_theory import DivergedRunError, matrix_norms, run
from adago_theory.norms import GRAM_TOL
from adago_theory.optim import adago, muon, polargrad, skip_nonfinite
from test_optim_lsq import LeastSquares

run_mod = importlib.import_module("adago_theory.run")   # the module (``adago_theory.run`` is the function)


def _svd_norms(M):
    s = np.linalg.svd(np.asarray(M, dtype=np.float64), compute_uv=False)
    return np.sqrt(np.sum(s * s, axis=-1)), np.sum(s, axis=-1), s[..., 0]


def _with_kappa(rng, B, m, n, kappa):
    k = min(m, n)
    U = np.linalg.qr(rng.standard_normal((B, m, k)))[0]
    V = np.linalg.qr(rng.standard_normal((B, n, k)))[0]
    s = np.geomspace(1.0, 1.0 / kappa, k)
    return (U * s) @ np.swapaxes(V, -1, -2)


@pytest.mark.parametrize("shape", [(64, 50, 30), (7, 30, 50), (3, 2, 5, 4), (9, 1, 6), (5, 6, 1)])
@pytest.mark.parametrize("kappa", [1.0, 1e2, 1e4])
def test_gram_route_equals_the_svd_norms(shape, kappa):
    rng = np.random.default_rng(0)
    *B, m, n = shape
    M = _with_kappa(rng, int(np.prod(B)), m, n, kappa).reshape(shape)
    ref = _svd_norms(M)
    got = matrix_norms(M, method="gram")
    for g, r in zip(got, ref):
        assert g.shape == tuple(B) and g.dtype == np.float64
        np.testing.assert_allclose(g, r, rtol=GRAM_TOL)
    # the route is exact to a few units of roundoff in practice, far inside its bound
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-13 if kappa <= 1e2 else GRAM_TOL)


def test_gram_route_falls_back_to_the_svd_where_its_bound_fails():
    rng = np.random.default_rng(1)
    M = _with_kappa(rng, 6, 20, 10, 1e12)                      # sigma_min^2 is below the Gram's rounding
    M[2] = np.outer(rng.standard_normal(20), rng.standard_normal(10))   # rank 1
    M[3] = 0.0
    ref = _svd_norms(M)
    got = matrix_norms(M, method="gram")
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-13, atol=0)
    # without the fallback the plain Gram route is visibly off on these matrices
    lam = np.linalg.eigvalsh(np.swapaxes(M, -1, -2) @ M)
    naive = np.sum(np.sqrt(np.maximum(lam, 0)), axis=-1)
    assert np.max(np.abs(naive[[0, 1, 4, 5]] - ref[1][[0, 1, 4, 5]]) / ref[1][[0, 1, 4, 5]]) > GRAM_TOL


@pytest.mark.parametrize("scale", [1e-300, 1e-160, 1.0, 1e160, 1e300])
def test_gram_route_is_scale_safe(scale):
    rng = np.random.default_rng(2)
    M = _with_kappa(rng, 4, 12, 8, 30.0)
    ref = _svd_norms(M)
    got = matrix_norms(M * scale, method="gram")
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r * scale, rtol=1e-13)


def test_gram_route_float32_and_bad_method():
    rng = np.random.default_rng(3)
    M = _with_kappa(rng, 5, 16, 9, 10.0).astype(np.float32)
    got = matrix_norms(M, method="gram")
    ref = _svd_norms(M)
    for g, r in zip(got, ref):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, r, rtol=1e-5)
    with pytest.raises(ValueError, match="method must be 'svd' or 'gram'"):
        matrix_norms(M, method="eig")


def _lsq():
    return LeastSquares(m=12, n=7, p=20, cond=30.0, seed=0)


@pytest.fixture
def no_thread(monkeypatch):
    """``run`` with the recording thread off: every row computed in the loop (the reference)."""
    monkeypatch.setattr(run_mod, "_record_pool", lambda: None)


@pytest.mark.parametrize("make", [lambda: muon(0.05, beta=0.9, nesterov=True),
                                  lambda: adago(0.3, gamma=10.0, eps=1e-3, orth="newton-schulz"),
                                  lambda: polargrad(0.2)])
@pytest.mark.parametrize("record", ["all", [0, 3, 4, 5, 40], 7])
def test_the_recording_thread_gives_the_rows_of_the_loop(make, record, monkeypatch):
    P = _lsq()
    assert run_mod.RECORD_AHEAD >= 1
    monkeypatch.setattr(run_mod, "RECORD_AHEAD", 2)            # the loop waits for the thread too
    got = run(make(), P, 40, seeds=(0, 1, 2), record=record)
    monkeypatch.setattr(run_mod, "_record_pool", lambda: None)
    ref = run(make(), P, 40, seeds=(0, 1, 2), record=record)
    np.testing.assert_array_equal(got.steps, ref.steps)
    for field in ("f", "gap", "grad_fro", "grad_nuc", "grad_op", "alpha", "update_norm"):
        np.testing.assert_array_equal(getattr(got, field), getattr(ref, field), err_msg=field)


def test_update_norm_is_the_distance_between_recorded_iterates():
    # an independent reference: a hand-written loop of the same optimizer
    P = _lsq()
    opt = muon(0.05, beta=0.9, nesterov=True)
    tr = run(opt, P, 6, seeds=(4,), record="all")
    X = P.initial_point(4)
    st = opt.init(X)
    for t in range(6):
        G = P.grad(X)
        Xn, st = opt.step(X, G, st)
        assert tr.update_norm[t + 1, 0] == pytest.approx(np.linalg.norm(Xn - X), rel=1e-12)
        assert tr.f[t, 0] == pytest.approx(float(P.value(X)[0]), rel=1e-12)
        assert tr.grad_nuc[t, 0] == pytest.approx(np.linalg.norm(G[0], "nuc"), rel=1e-12)
        X = Xn


@pytest.mark.parametrize("record", ["all", "log", [0, 100, 350], 9])
def test_divergence_is_reported_at_the_same_step_with_and_without_the_thread(record, monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(DivergedRunError) as a:
            run(polargrad(5.0), _lsq(), 700, seeds=(3, 4), record=record)
        monkeypatch.setattr(run_mod, "_record_pool", lambda: None)
        with pytest.raises(DivergedRunError) as b:
            run(polargrad(5.0), _lsq(), 700, seeds=(3, 4), record=record)
    assert a.value.step == b.value.step and str(a.value) == str(b.value)


class _NaNGradAt:
    """Least squares whose gradient of run 1 is NaN from step ``t0`` on (counted in ``grad`` calls)."""

    def __init__(self, t0):
        self.P, self.t0, self.calls = _lsq(), t0, 0
        for k in ("name", "shapes", "xp", "dtype", "constants", "value", "initial_point"):
            setattr(self, k, getattr(self.P, k))

    def grad(self, X):
        G = self.P.grad(X)
        self.calls += 1
        if self.calls > self.t0:
            G = G.copy()
            G[1] = np.nan
        return G


def test_skipped_steps_record_nan_norms_for_that_run_only():
    tr = run(skip_nonfinite(muon(0.05)), _NaNGradAt(5), 12, seeds=(0, 1, 2), record="all")
    assert np.all(np.isfinite(tr.grad_nuc[:, [0, 2]]))
    assert np.all(np.isfinite(tr.grad_nuc[:5, 1])) and np.all(np.isnan(tr.grad_nuc[5:, 1]))
    assert tr.skipped[1] == 7 and tr.skipped[0] == 0
