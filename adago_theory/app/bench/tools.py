r"""Timing helpers shared by the benchmarks: synchronized wall-clock medians and the matmul ceiling.

Benchmarks report *ratios measured in one run* (these machines are noisy): every
table prints the machine's large matrix-product rate measured by
:func:`matmul_rate` in the same process, next to the measured rates.
"""

from __future__ import annotations

import platform
import statistics
import time

import numpy as np

from adago_theory.backend import from_numpy, synchronize

__all__ = ["time_call", "matmul_rate", "make_array", "machine_summary", "ns_flops", "require_backend"]


_INSTALL_HINT = {"cupy": "pip install 'adago-theory[gpu]'", "torch": "pip install 'adago-theory[torch]'"}


def require_backend(backend):
    """Raise a clear error unless ``backend`` ("numpy", "cupy" or "torch") can run here.

    Raises
    ------
    ValueError
        For an unknown backend name.
    ImportError
        When the backend's package is not installed.
    RuntimeError
        For ``"cupy"`` without a usable CUDA device.
    """
    import importlib.util

    if backend not in ("numpy", "cupy", "torch"):
        raise ValueError(f"backend must be 'numpy', 'cupy' or 'torch', got {backend!r}")
    if backend == "numpy":
        return
    if importlib.util.find_spec(backend) is None:
        raise ImportError(f"backend={backend!r} needs the {backend} package, which is not installed here "
                          f"({_INSTALL_HINT[backend]})")
    if backend == "cupy":
        try:
            import cupy

            n = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # noqa: BLE001 - any CUDA failure means "no usable GPU"
            raise RuntimeError(f"backend='cupy' needs a usable CUDA GPU; CuPy reports: {exc}") from exc
        if n < 1:
            raise RuntimeError("backend='cupy' needs a CUDA GPU; CuPy sees none")


def time_call(fn, *, like=None, repeat=5, warmup=1, min_time=0.0):
    """Median wall-clock seconds of ``fn()`` over ``repeat`` runs, after ``warmup`` runs.

    Parameters
    ----------
    fn : callable
        The work; it may return an array, which is synchronized (GPU) before the clock stops.
    like : array, optional
        An array on the device to synchronize (when ``fn`` returns nothing).
    repeat, warmup : int
    min_time : float
        Keep repeating (up to 10x ``repeat``) until this many seconds were timed in total.
    """
    out = None
    for _ in range(warmup):
        out = fn()
        _sync(out, like)
    times = []
    while len(times) < repeat or (sum(times) < min_time and len(times) < 10 * repeat):
        t0 = time.perf_counter()
        out = fn()
        _sync(out, like)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _sync(out, like):
    ref = like
    if ref is None:
        ref = out[0] if isinstance(out, tuple) else out
    if ref is not None and hasattr(ref, "shape"):
        synchronize(ref)


def make_array(shape, *, backend="numpy", dtype="float64", rng=0, kappa=None):
    """A standard normal (or, with ``kappa``, geometric-spectrum) array on a backend, drawn on the host."""
    rng = np.random.default_rng(rng)
    if kappa is None:
        a = rng.standard_normal(shape)
    else:
        from problems.spectra import matrix_with_spectrum   # the one home (Haar factors, sign-fixed)

        *lead, m, n = shape
        k = min(m, n)
        a = np.empty(shape)
        s = np.geomspace(1.0, 1.0 / kappa, k)
        for idx in np.ndindex(*lead) if lead else [()]:
            a[idx] = matrix_with_spectrum(m, n, s, rng=rng).M
    a = a.astype(dtype) if backend != "torch" else a
    if backend == "numpy":
        return a
    if backend == "cupy":
        import cupy

        return cupy.asarray(a)
    import torch

    dev = "cuda" if torch.cuda.is_available() else "cpu"
    return from_numpy(a, xp=_torch_xp()).to(dev).to(getattr(torch, dtype))


def _torch_xp():
    import array_api_compat.torch as xp

    return xp


def matmul_rate(*, backend="numpy", dtype="float64", n=2048, repeat=5):
    """The large matrix-product rate (GFLOP/s) of this machine: the fastest of ``repeat`` n x n products.

    The fastest, not the median: the rate is the denominator of every ratio the benchmarks print,
    and on a shared machine a probe slowed by a neighbour would make every ratio look better than
    it is.  Taking the best product is the conservative choice.
    """
    A = make_array((n, n), backend=backend, dtype=dtype, rng=1)
    B = make_array((n, n), backend=backend, dtype=dtype, rng=2)
    _sync(A @ B, None)                                   # warm-up (BLAS threads, GPU kernels)
    best = float("inf")
    for _ in range(repeat):
        best = min(best, time_call(lambda: A @ B, repeat=1, warmup=0))
    return 2.0 * n**3 / best / 1e9


def ns_flops(shape, steps):
    """Nominal FLOPs of ``steps`` Newton–Schulz steps: steps * (4 m^2 n + 2 m^3) per matrix, m = min side."""
    *lead, a, b = shape
    m, n = min(a, b), max(a, b)
    batch = int(np.prod(lead)) if lead else 1
    return batch * steps * (4.0 * m * m * n + 2.0 * m**3)


def machine_summary(backend="numpy"):
    """One line naming the machine: processor, cores, BLAS (NumPy) or GPU (CuPy/PyTorch)."""
    import os

    parts = [platform.machine(), f"{os.cpu_count()} cores", f"numpy {np.__version__}"]
    try:
        from threadpoolctl import threadpool_info

        blas = [f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)"
                for i in threadpool_info() if i.get("user_api") == "blas"]
        parts += blas[:1]
    except Exception:  # pragma: no cover - informational only
        pass
    if backend == "cupy":
        import cupy

        parts.append(cupy.cuda.runtime.getDeviceProperties(0)["name"].decode())
    elif backend == "torch":
        import torch

        parts.append(torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"torch {torch.__version__} CPU")
    return ", ".join(parts)
