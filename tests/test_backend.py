"""adago_theory.backend: namespaces, host transfer, rng normalisation, lazy imports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from adago_theory.backend import backend_name, default_rng, from_numpy, namespace, standard_normal, to_numpy


def test_namespace_numpy_and_errors():
    xp = namespace(np.ones(2), np.zeros((2, 2)), 3.0, None)
    assert xp.__name__ == "array_api_compat.numpy"
    with pytest.raises(TypeError, match="at least one array"):
        namespace(1.0, None)
    with pytest.raises(TypeError, match="unsupported array type"):
        namespace([1.0, 2.0])


def test_mixed_backends_name_both():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="numpy and torch"):
        namespace(np.ones(2), torch.ones(2))


def test_to_numpy_and_from_numpy_roundtrip(kernel_backend):
    a = np.arange(6.0).reshape(2, 3)
    x = kernel_backend.asarray(a)
    assert backend_name(x) == kernel_backend.name
    assert np.array_equal(to_numpy(x), a)
    y = from_numpy(a, like=x)
    assert type(y) is type(x) and np.array_equal(to_numpy(y), a)
    assert to_numpy(2.5) == np.array(2.5)


def test_default_rng_spec7():
    g = default_rng(123)
    assert isinstance(g, np.random.Generator)
    assert default_rng(g) is g
    assert default_rng(5).standard_normal() == default_rng(5).standard_normal()
    with pytest.raises(TypeError, match="rng"):
        default_rng("seed")
    with pytest.raises(TypeError, match="rng"):
        default_rng(True)


def test_standard_normal_on_backend(kernel_backend):
    like = kernel_backend.asarray(np.zeros(2), "float32")
    z = standard_normal(default_rng(0, kernel_backend.xp), (1000,), like=like)
    assert type(z) is type(like) and z.dtype == like.dtype
    zh = to_numpy(z).astype(np.float64)
    assert abs(zh.mean()) < 5 * 1 / np.sqrt(1000) and abs(zh.std() - 1) < 0.1


def test_no_gpu_framework_imported_at_import_time():
    code = (
        "import sys, adago_theory, adago_theory.orthogonalize, adago_theory.norms, adago_theory.polar_error;"
        "bad=[m for m in ('cupy','torch','matplotlib') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_cached_computes_once_stores_nothing_on_error_and_respects_the_limit():
    from adago_theory.backend import cached

    calls = []

    def compute(v):
        def f():
            calls.append(v)
            if v == "bad":
                raise ValueError("refused")
            return v * 2
        return f

    table = {}
    assert cached(table, 1, compute(1)) == 2 and cached(table, 1, compute(1)) == 2
    assert calls == [1]
    with pytest.raises(ValueError, match="refused"):
        cached(table, "k", compute("bad"))
    assert "k" not in table
    assert cached(table, [1], compute(3)) == 6 and cached(table, [1], compute(3)) == 6   # unhashable key
    assert calls == [1, "bad", 3, 3]
    small = {}
    for k in range(5):
        cached(small, k, compute(k), limit=3)
    assert len(small) == 3
