"""The NumPy batch-parallel path: chunking, scheduling, error propagation, and the bench's ceiling helper."""

import importlib

import numpy as np
import pytest

from adago_theory.app.bench.orth import products_only

orth_mod = importlib.import_module("adago_theory.orthogonalize")
par_mod = importlib.import_module("adago_theory.parallel")


@pytest.mark.parametrize("B", [1, 2, 3, 7, 65, 130, 131])
def test_every_matrix_once_in_order(monkeypatch, B):
    """Chunks of uneven size (the last one shorter) cover the batch exactly once, in place."""
    monkeypatch.setattr(par_mod, "CHUNK_BYTES", 2000.0)     # a few matrices per chunk
    W = np.random.default_rng(B).standard_normal((B, 3, 4))
    seen = []

    def fn(Wc, out):
        seen.append(Wc.shape[0])
        np.multiply(Wc, 2.0, out=out)
        return out

    res = par_mod.batch_parallel(fn, W, takes_out=True)
    np.testing.assert_array_equal(res, 2.0 * W)
    assert sum(seen) == B


def test_returning_fn_and_leading_axes(monkeypatch):
    monkeypatch.setattr(par_mod, "CHUNK_BYTES", 2000.0)
    W = np.random.default_rng(0).standard_normal((4, 5, 3, 4))
    res = par_mod.batch_parallel(lambda Wc: Wc[..., ::-1, :].copy(), W)
    np.testing.assert_array_equal(res, W[..., ::-1, :])


def test_error_in_a_chunk_propagates(monkeypatch):
    monkeypatch.setattr(par_mod, "CHUNK_BYTES", 2000.0)
    W = np.zeros((40, 3, 4))
    W[33, 0, 0] = 1.0

    def fn(Wc, out):
        if np.any(Wc):
            raise RuntimeError("chunk failed")
        out[...] = Wc
        return out

    with pytest.raises(RuntimeError, match="chunk failed"):
        par_mod.batch_parallel(fn, W, takes_out=True)
    # the pool is still usable afterwards
    res = par_mod.batch_parallel(lambda Wc, out: np.copyto(out, Wc) or out, W * 0, takes_out=True)
    assert not res.any()


def test_newton_schulz_unchanged_by_chunking(monkeypatch):
    """Small chunks (many workers' turns, a short last chunk) give the same iterate as one chunk."""
    M = np.random.default_rng(1).standard_normal((37, 9, 6))
    monkeypatch.setattr(orth_mod, "use_batch_parallel", lambda xp, W, svd=False: False)
    ref = orth_mod.orthogonalize(M, "newton-schulz")
    monkeypatch.setattr(orth_mod, "use_batch_parallel", lambda xp, W, svd=False: True)
    monkeypatch.setattr(par_mod, "CHUNK_BYTES", 3000.0)
    np.testing.assert_allclose(orth_mod.orthogonalize(M, "newton-schulz"), ref, rtol=0, atol=1e-14)


@pytest.mark.parametrize("shape", [(20, 7, 4), (20, 4, 7)])
def test_products_only_is_the_step_products(shape):
    """The bench's ceiling helper computes (X X^T)^2 X on the wide orientation, matrix by matrix."""
    M = np.random.default_rng(2).standard_normal(shape)
    got = products_only(M, steps=2)
    for b in range(shape[0]):
        X = M[b].T if shape[-2] > shape[-1] else M[b]
        A = X @ X.T
        np.testing.assert_allclose(got[b], A @ A @ X, rtol=1e-12)


def test_nested_call_from_a_pool_thread_does_not_deadlock(monkeypatch):
    """fn itself calling the batch-parallel path (from a pool thread) finishes and gives the right result."""
    monkeypatch.setattr(par_mod, "CHUNK_BYTES", 2000.0)
    W = np.random.default_rng(3).standard_normal((24, 3, 4))

    def inner(Wc, out):
        np.multiply(Wc, 3.0, out=out)
        return out

    def outer(Wc, out):
        return par_mod.batch_parallel(inner, Wc, takes_out=True) if out is None else \
            np.copyto(out, par_mod.batch_parallel(inner, Wc, takes_out=True)) or out

    res = par_mod.batch_parallel(outer, W, takes_out=True)
    np.testing.assert_allclose(res, 3.0 * W)


def test_concurrent_callers_get_their_own_results(monkeypatch):
    """Several user threads in the batch-parallel path at once (shared pool, per-thread buffers)."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(par_mod, "CHUNK_BYTES", 4000.0)
    monkeypatch.setattr(orth_mod, "use_batch_parallel", lambda xp, W, svd=False: True)
    Ms = [np.random.default_rng(10 + i).standard_normal((29 + i, 7, 5)) for i in range(6)]
    with ThreadPoolExecutor(4) as ex:
        got = list(ex.map(lambda M: orth_mod.orthogonalize(M, "newton-schulz"), Ms * 3))
    monkeypatch.setattr(orth_mod, "use_batch_parallel", lambda xp, W, svd=False: False)
    for M, O in zip(Ms * 3, got):
        np.testing.assert_allclose(O, orth_mod.orthogonalize(M, "newton-schulz"), rtol=0, atol=1e-14)
