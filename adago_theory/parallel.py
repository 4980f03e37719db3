r"""Threads over a stacked NumPy batch: the one home of the kernel's CPU parallelism.

NumPy evaluates a stacked matmul of small matrices (and a stacked SVD) as a
sequential loop of tiny BLAS/LAPACK calls that multithreaded BLAS cannot speed
up; :func:`batch_parallel` splits the batch over threads instead (NumPy releases
the GIL in matmul and linalg), BLAS limited to one thread each.  Used for NumPy
only (other backends batch on their own): by ``orthogonalize`` (Newton–Schulz,
SVD) and the norms (singular values).
"""

from __future__ import annotations

import functools
import os

from .backend import is_numpy_namespace

__all__ = ["batch_parallel", "use_batch_parallel", "numpy_threads", "CHUNK_BYTES", "NS_THREAD_WORK"]

_POOL = None
_CONTROLLER = None
CHUNK_BYTES = 3e6  # per-task working set of the batch-parallel path (cache blocking)
NS_THREAD_WORK = 2e7  # least batch * min(m, n)^2 * max(m, n) for which Newton–Schulz uses threads


def _forget_pool():
    """In a forked child: the parent's pool threads do not exist there (a pool copied by ``fork``
    would queue work that no thread runs); the next call creates a fresh pool."""
    global _POOL, _CONTROLLER
    _POOL = None
    _CONTROLLER = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


@functools.lru_cache(maxsize=1)
def numpy_threads():
    return max(1, min(os.cpu_count() or 1, 16))


def batch_parallel(fn, W, takes_out=False, tail=None):
    """Run ``fn`` on chunks of a stacked NumPy batch in threads, BLAS limited to one thread each.

    Parameters
    ----------
    fn : callable
        ``fn(chunk) -> result`` or, with ``takes_out``, ``fn(chunk, out)`` writing into ``out``;
        ``chunk`` has shape ``(k, m, n)``, the result ``(k,) + tail``.
    W : numpy.ndarray, shape (..., m, n)
    takes_out : bool, default False
    tail : tuple of int, optional
        The per-matrix shape of the result (default ``(m, n)``; ``(min(m, n),)`` for
        singular values).

    Returns
    -------
    numpy.ndarray, shape ``W.shape[:-2] + tail``
        Every matrix processed once, in order; an exception in any chunk is re-raised.
    """
    global _POOL, _CONTROLLER
    import threading
    from concurrent.futures import ThreadPoolExecutor, wait

    import numpy as np
    from threadpoolctl import ThreadpoolController

    k = numpy_threads()
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=k, thread_name_prefix="adago-theory")
        _CONTROLLER = ThreadpoolController()
    flat = np.reshape(W, (-1,) + W.shape[-2:])
    tail = tuple(W.shape[-2:]) if tail is None else tuple(tail)
    B = flat.shape[0]
    m, n = sorted(flat.shape[-2:])
    # Cache blocking: each task's working set (the iterate twice plus three m x m matrices) stays
    # within a few MB, so the iteration runs from cache instead of streaming the whole batch
    # through memory at every element-wise step (measured 2.2x on 1024 x 50 x 30, one thread).
    footprint = (2 * m * n + 3 * m * m) * flat.dtype.itemsize
    size = max(1, min(int(CHUNK_BYTES // footprint), -(-B // k)))
    res = np.empty((B,) + tail, dtype=flat.dtype)
    # Dynamic scheduling with one task per thread: each worker takes the next chunk from a shared
    # iterator until none is left, and the calling thread is one of the workers.  (One pool task per
    # chunk cost ~50-100 us of hand-off each on the 2-vCPU machine of docs/performance.md.)
    chunks = iter(range(0, B, size))
    lock = threading.Lock()
    failed = threading.Event()

    def worker():
        while not failed.is_set():
            with lock:
                i = next(chunks, None)
            if i is None:
                return
            try:
                part = fn(flat[i:i + size], res[i:i + size]) if takes_out else fn(flat[i:i + size])
            except BaseException:
                failed.set()
                raise
            if not takes_out:
                res[i:i + size] = part

    # A call from one of the pool's own threads (nested use) gets no helpers: waiting on tasks queued
    # behind the waiting threads themselves could deadlock.
    nested = threading.current_thread().name.startswith("adago-theory")
    with _CONTROLLER.limit(limits=1, user_api="blas"):
        helpers = [] if nested else [_POOL.submit(worker) for _ in range(min(k, -(-B // size)) - 1)]
        try:
            worker()
        finally:
            wait(helpers)
    for f in helpers:
        f.result()
    return np.reshape(res, tuple(W.shape[:-2]) + tail)


def use_batch_parallel(xp, W, svd=False):
    if not is_numpy_namespace(xp) or W.ndim < 3:
        return False
    batch = 1
    for d in W.shape[:-2]:
        batch *= d
    m, n = W.shape[-2], W.shape[-1]
    if svd:  # LAPACK runs matrix by matrix: threads over the batch always help
        return batch >= 4 * numpy_threads() and batch * m * n >= 2e4
    # Newton–Schulz: threads only when a call holds enough work to hide waking a second thread.
    # Measured 2026-12-01 on the 2-vCPU VM (docs/performance.md, "the thread rule"): below
    # batch * min(m,n)^2 * max(m,n) ~ 2e7 (e.g. Muon's 64 x 50x30 at 2.9e6, ~3-5 ms a call) the
    # second thread gave 0.8-1.2x under moderate load and lost up to 1.4x end to end under heavy
    # load; 1024 x 50x30 (4.6e7) keeps the threads (bench orth).
    k = min(m, n)
    return batch >= 2 and batch * k * k * max(m, n) >= NS_THREAD_WORK
