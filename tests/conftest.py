"""Shared fixtures: the backend fixtures.

* ``xp`` and ``kernel_backend``: NumPy always; array_api_strict, PyTorch and CuPy when usable.
  array_api_strict is the array-API standard and nothing more: the stand-in for CuPy on
  machines without a GPU (as in SciPy's array-API test setup).  The kernel's tests
  (orthogonalize, the optimizers' steps, the run loop) use these.
* ``backend``: NumPy, PyTorch and CuPy (the libraries the problems package supports).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest


def _cupy_usable():
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        import cupy

        cupy.zeros(1).sum()
        return True
    except Exception:
        return False


def _torch_usable():
    return importlib.util.find_spec("torch") is not None


def _strict_usable():
    return importlib.util.find_spec("array_api_strict") is not None


_BACKENDS = [pytest.param("numpy", id="numpy")]
_BACKENDS.append(
    pytest.param("cupy", id="cupy", marks=pytest.mark.skipif(not _cupy_usable(), reason="CuPy not importable or no GPU"))
)
_BACKENDS.append(
    pytest.param("torch", id="torch", marks=pytest.mark.skipif(not _torch_usable(), reason="PyTorch not importable"))
)


_STRICT = pytest.param("array_api_strict", id="strict",
                       marks=pytest.mark.skipif(not _strict_usable(), reason="array_api_strict not installed"))
_KERNEL_BACKENDS = [_BACKENDS[0], _STRICT, *_BACKENDS[1:]]


class Backend:
    """A test backend: its array-api-compat namespace plus host<->backend helpers."""

    def __init__(self, name):
        import array_api_compat

        self.name = name
        if name == "numpy":
            self.xp = array_api_compat.array_namespace(np.zeros(1))
            self.device = None
        elif name == "cupy":
            import cupy

            self.xp = array_api_compat.array_namespace(cupy.zeros(1))
            self.device = None
        elif name == "array_api_strict":
            import array_api_strict

            self.xp = array_api_strict
            self.device = None
        else:
            import torch

            self.xp = array_api_compat.array_namespace(torch.zeros(1))
            self.device = "cuda" if torch.cuda.is_available() else "cpu"

    def asarray(self, a, dtype=None):
        """Host NumPy data -> this backend (dtype given as a numpy dtype or name)."""
        a = np.asarray(a)
        if dtype is not None:
            a = a.astype(dtype)
        if self.name == "numpy":
            return a
        if self.name == "cupy":
            import cupy

            return cupy.asarray(a)
        if self.name == "array_api_strict":
            return self.xp.asarray(a)
        import torch

        return torch.from_numpy(np.ascontiguousarray(a)).to(self.device)

    def dtype(self, name):
        return getattr(self.xp, name)

    def __repr__(self):
        return f"Backend({self.name})"


@pytest.fixture(params=_KERNEL_BACKENDS)
def xp(request):
    """The array-API namespace of each usable backend, array_api_strict included."""
    return Backend(request.param).xp


@pytest.fixture(params=_KERNEL_BACKENDS)
def kernel_backend(request):
    """A :class:`Backend` for each usable backend, array_api_strict included (the kernel's tests)."""
    return Backend(request.param)


@pytest.fixture(params=_BACKENDS)
def backend(request):
    """A :class:`Backend` helper for each usable backend (namespace + host conversion)."""
    return Backend(request.param)
